//! The attach socket: framed output, stdin, tty with resize, slow clients.

mod common;

use std::io::{Read, Write};
use std::net::Shutdown;

use berth_shim::{attach, read_frame, AttachMode, Control, Stream};
use common::Fixture;

/// Reads frames until EOF.
fn frames(sock: &mut impl Read) -> Vec<(Stream, String)> {
    let mut out = Vec::new();
    while let Some(frame) = read_frame(sock).expect("read frame") {
        out.push((
            frame.stream,
            String::from_utf8_lossy(&frame.data).into_owned(),
        ));
    }
    out
}

fn stream_text(frames: &[(Stream, String)], stream: Stream) -> String {
    frames
        .iter()
        .filter(|(s, _)| *s == stream)
        .map(|(_, t)| t.as_str())
        .collect()
}

#[test]
fn attach_receives_framed_output() {
    let Some(f) = Fixture::new("attach", &["sh", "-c", "echo out; echo err >&2; echo more"]) else {
        return;
    };
    f.command().spawn().expect("spawn shim");
    // Attached before start, as docker does: nothing is missed.
    let mut sock = attach(&f.state_dir(), AttachMode::Output).expect("attach");
    f.start();
    let got = frames(&mut sock);
    assert_eq!(stream_text(&got, Stream::Stdout), "out\nmore\n");
    assert_eq!(stream_text(&got, Stream::Stderr), "err\n");
    assert_eq!(f.wait_exit().code, 0);
}

#[test]
fn stdin_from_attach_reaches_cat_and_eof_closes_it() {
    let Some(f) = Fixture::new("stdin", &["cat"]) else {
        return;
    };
    let mut cmd = f.command();
    cmd.stdin = true;
    cmd.spawn().expect("spawn shim");
    let mut sock = attach(&f.state_dir(), AttachMode::StdinOnce).expect("attach");
    f.start();
    sock.write_all(b"hello from stdin\n").expect("write stdin");
    // stdin-once: shutting down our side closes cat's stdin, so it exits.
    sock.shutdown(Shutdown::Write).expect("shutdown");
    let got = frames(&mut sock);
    assert_eq!(stream_text(&got, Stream::Stdout), "hello from stdin\n");
    assert_eq!(f.wait_exit().code, 0);
    assert_eq!(
        f.logged(),
        vec![("stdout".into(), "hello from stdin\n".into())]
    );
}

#[test]
fn tty_mode_streams_raw_output_and_resizes() {
    let Some(mut f) = Fixture::new("tty", &["sh", "-c", "read x; stty size; echo got-$x"]) else {
        return;
    };
    f.terminal();
    let mut cmd = f.command();
    cmd.terminal = true;
    cmd.stdin = true;
    cmd.spawn().expect("spawn shim");
    let mut control = Control::connect(&f.state_dir()).expect("control");
    let mut sock = attach(&f.state_dir(), AttachMode::Stdin).expect("attach");
    f.start();
    control.resize(40, 100).expect("resize");
    sock.write_all(b"go\n").expect("write stdin");
    let mut raw = String::new();
    sock.read_to_string(&mut raw).expect("read tty output");
    // Raw pty bytes, no frame headers: the echo of our input, then the program's output.
    assert!(raw.contains("40 100\r\n"), "tty output: {raw:?}");
    assert!(raw.contains("got-go\r\n"), "tty output: {raw:?}");
    assert_eq!(f.wait_exit().code, 0);
    control.wait_closed().expect("control EOF after exit");
    // A tty has one stream; Docker logs it as stdout, \r and all.
    let logged = f.logged();
    assert!(
        logged.contains(&("stdout".into(), "40 100\r\n".into())),
        "{logged:?}"
    );
}

#[test]
fn control_rejects_resize_without_tty_and_unknown_commands() {
    let Some(f) = Fixture::new("ctl", &["sh", "-c", "read x"]) else {
        return;
    };
    let mut cmd = f.command();
    cmd.stdin = true;
    cmd.spawn().expect("spawn shim");
    let mut control = Control::connect(&f.state_dir()).expect("control");
    assert!(matches!(
        control.resize(10, 10),
        Err(berth_shim::ClientError::Refused { .. })
    ));
    control.reopen_log().expect("reopen log");
    f.start();
    // close-stdin gives `read` EOF, so the shell exits 1.
    control.close_stdin().expect("close stdin");
    control.wait_closed().expect("EOF once the shim exits");
    assert_eq!(f.wait_exit().code, 1);
}

#[test]
fn a_client_that_stops_reading_is_dropped_not_waited_for() {
    // 4 MB of output against a client that reads nothing until the end: its buffer overflows,
    // the shim drops it, and the container is never blocked.
    let Some(f) = Fixture::new(
        "slow",
        &["sh", "-c", "head -c 4000000 /dev/zero; echo done"],
    ) else {
        return;
    };
    let mut cmd = f.command();
    cmd.log = None;
    cmd.spawn().expect("spawn shim");
    let mut slow = attach(&f.state_dir(), AttachMode::Output).expect("attach");
    f.start();
    assert_eq!(f.wait_exit().code, 0);
    let mut got = Vec::new();
    slow.read_to_end(&mut got).expect("read until dropped");
    assert!(
        got.len() < 1_000_000,
        "slow client was not dropped: {} bytes",
        got.len()
    );
}
