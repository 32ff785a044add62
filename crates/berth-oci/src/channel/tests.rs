use super::*;

#[test]
fn messages_round_trip_and_close_is_detected() {
    let (a, b) = pair().unwrap();
    a.send(&Message::InitPid(42)).unwrap();
    assert!(matches!(b.recv().unwrap(), Message::InitPid(42)));
    a.send(&Message::Ready).unwrap();
    assert!(b.expect("Go").is_err());
    drop(a);
    assert!(matches!(b.recv(), Err(ChannelError::Closed)));
}

#[test]
fn an_fd_rides_along() {
    let (a, b) = pair().unwrap();
    let file = std::fs::File::open("/proc/self/status").unwrap();
    a.send_with_fd(&Message::SeccompListener, std::os::fd::AsFd::as_fd(&file))
        .unwrap();
    let (msg, fd) = b.recv_with_fd().unwrap();
    assert!(matches!(msg, Message::SeccompListener));
    let mut text = String::new();
    std::io::Read::read_to_string(&mut std::fs::File::from(fd.unwrap()), &mut text).unwrap();
    assert!(text.contains("Pid:"));
}
