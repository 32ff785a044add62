//! berthd's start-up as an operator sees it: a refused configuration is one message on stderr
//! and a failed exit, not a crash report.
#![allow(clippy::unwrap_used)]

mod common;

use std::process::Command;

/// `berthd -H tcp://…`, a configuration it refuses before touching anything.
fn refused_start(backtrace: Option<&str>) -> common::Out {
    let root = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(berth_testkit::berthd());
    cmd.args(["-H", "tcp://127.0.0.1:1234", "--data-root"])
        .arg(root.path().join("data"))
        .arg("--exec-root")
        .arg(root.path().join("exec"))
        .env_remove("RUST_LIB_BACKTRACE");
    match backtrace {
        Some(v) => cmd.env("RUST_BACKTRACE", v),
        None => cmd.env_remove("RUST_BACKTRACE"),
    };
    common::run(cmd, None)
}

#[test]
fn startup_error_is_a_message_without_a_backtrace() {
    let out = refused_start(None);
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(
        out.stderr,
        "berthd: -H tcp://127.0.0.1:1234: only unix:// sockets are supported (the API is \
         root-only by design)\n"
    );
    assert!(out.stdout.is_empty(), "{out:?}");
    // Asked for, the backtrace follows the message.
    let traced = refused_start(Some("1"));
    assert_eq!(traced.code, 1, "{traced:?}");
    assert!(traced.stderr.starts_with("berthd: -H tcp://"), "{traced:?}");
    assert!(traced.stderr.contains("Stack backtrace:"), "{traced:?}");
}
