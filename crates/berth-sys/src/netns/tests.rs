#![allow(clippy::unwrap_used)]

use super::*;

#[test]
fn pinned_namespace_has_loopback_up_and_goes_away() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipping: needs root");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ns");
    create_pinned(&path).unwrap();
    let ours = std::fs::metadata("/proc/self/ns/net").unwrap();
    let pinned = std::fs::metadata(&path).unwrap();
    use std::os::unix::fs::MetadataExt;
    assert_ne!(ours.ino(), pinned.ino(), "a new namespace, not ours");
    let out = std::process::Command::new("nsenter")
        .arg(format!("--net={}", path.display()))
        .args(["ip", "-o", "link", "show", "lo"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains(",UP"));
    remove_pinned(&path).unwrap();
    assert!(!path.exists());
    remove_pinned(&path).unwrap();
}

#[test]
fn sockets_made_in_a_namespace_keep_it() {
    use std::io::{Read, Write};
    use std::net::{Ipv4Addr, TcpListener, TcpStream};
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipping: needs root");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ns");
    create_pinned(&path).unwrap();
    let listener = run_in(&path, || TcpListener::bind((Ipv4Addr::LOCALHOST, 0)))
        .unwrap()
        .unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        let mut buf = [0u8; 4];
        conn.read_exact(&mut buf).unwrap();
        conn.write_all(&buf).unwrap();
    });
    let mut conn = run_in(&path, || TcpStream::connect((Ipv4Addr::LOCALHOST, port)))
        .unwrap()
        .unwrap();
    // Used from this thread, which never left the host's namespace.
    conn.write_all(b"ping").unwrap();
    let mut back = [0u8; 4];
    conn.read_exact(&mut back).unwrap();
    assert_eq!(&back, b"ping");
    server.join().unwrap();
    assert!(run_in(&dir.path().join("none"), || ()).is_err());
    remove_pinned(&path).unwrap();
}
