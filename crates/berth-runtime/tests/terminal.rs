//! `terminal: true` with `--console-socket`: the runtime hands the pty master to our socket over
//! SCM_RIGHTS, and the container's stdio is the pty slave.
#![allow(clippy::unwrap_used)]

mod common;

use common::{read_all_lossy, Container};
use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};
use serde_json::json;
use std::fs::File;
use std::io::{ErrorKind, IoSliceMut};
use std::os::fd::{AsRawFd, FromRawFd, RawFd};
use std::os::unix::net::UnixListener;
use std::sync::mpsc;
use std::time::{Duration, Instant};

const TIMEOUT: Duration = Duration::from_secs(20);

/// Accepts one connection and returns the first fd it passes (the pty master).
fn receive_master(listener: &UnixListener) -> File {
    // Non-blocking accept with a deadline: a runtime that never connects fails the test
    // instead of hanging it.
    listener.set_nonblocking(true).unwrap();
    let start = Instant::now();
    let stream = loop {
        match listener.accept() {
            Ok((stream, _)) => break stream,
            Err(e) if e.kind() == ErrorKind::WouldBlock && start.elapsed() < TIMEOUT => {
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(e) => panic!("no connection on the console socket: {e}"),
        }
    };
    stream.set_nonblocking(false).unwrap();
    let mut buf = [0u8; 4096];
    let mut iov = [IoSliceMut::new(&mut buf)];
    let mut cmsg = nix::cmsg_space!([RawFd; 1]);
    let msg = recvmsg::<()>(
        stream.as_raw_fd(),
        &mut iov,
        Some(&mut cmsg),
        MsgFlags::empty(),
    )
    .unwrap();
    let fd = msg
        .cmsgs()
        .unwrap()
        .find_map(|c| match c {
            ControlMessageOwned::ScmRights(fds) => fds.first().copied(),
            _ => None,
        })
        .expect("no fd passed over the console socket");
    // SAFETY: SCM_RIGHTS installed a new fd in this process that nothing else owns.
    unsafe { File::from_raw_fd(fd) }
}

/// Reads the pty until the container side closes, failing after a timeout instead of hanging
/// if something keeps the slave open.
fn read_until_closed(master: File) -> String {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(read_all_lossy(master));
    });
    rx.recv_timeout(TIMEOUT).expect("pty output did not end")
}

#[test]
fn console_socket_receives_pty_master() {
    let Some(mut c) = Container::new(
        "tty",
        &["sh", "-c", "tty; echo hi; test -t 0 && echo stdin-tty"],
    ) else {
        return;
    };
    c.set("/process/terminal", json!(true));
    let socket = c.bundle().join("console.sock");
    let listener = UnixListener::bind(&socket).unwrap();

    // The runtime connects and sends the fd during create; the kernel queues the connection,
    // so accepting afterwards is fine.
    c.create_with(&["--console-socket", socket.to_str().unwrap()])
        .ok();
    let master = receive_master(&listener);
    c.start().ok();

    let output = read_until_closed(master);
    // The pty's line discipline turns "\n" into "\r\n".
    let lines: Vec<&str> = output.lines().map(|l| l.trim_end_matches('\r')).collect();
    assert_eq!(lines, ["/dev/pts/0", "hi", "stdin-tty"], "{output:?}");
    assert!(c.wait_status("stopped"));
}

#[test]
fn terminal_without_console_socket_is_refused_on_create() {
    // A detached container with a terminal has nowhere to send the pty master.
    let Some(mut c) = Container::new("tty-nosock", &["true"]) else {
        return;
    };
    c.set("/process/terminal", json!(true));
    c.create().failed();
    c.assert_nothing_left();
}

#[test]
fn exec_tty_sends_its_pty_master_to_the_console_socket() {
    let Some(c) = Container::new("exec-tty", &["sleep", "1000"]) else {
        return;
    };
    c.start_sleeping();
    let socket = c.bundle().join("exec-console.sock");
    let listener = UnixListener::bind(&socket).unwrap();
    c.exec(
        &[
            "--tty",
            "--detach",
            "--console-socket",
            socket.to_str().unwrap(),
        ],
        &["sh", "-c", "tty; test -t 1 && echo stdout-tty"],
    )
    .ok();
    let output = read_until_closed(receive_master(&listener));
    let lines: Vec<&str> = output.lines().map(|l| l.trim_end_matches('\r')).collect();
    assert_eq!(lines.len(), 2, "{output:?}");
    assert!(lines[0].starts_with("/dev/pts/"), "{output:?}");
    assert_eq!(lines[1], "stdout-tty", "{output:?}");
}
