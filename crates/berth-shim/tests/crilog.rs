//! The CRI log format (`--log-format cri`): what the kubelet and `crictl logs` read, and
//! `reopen-log` after the kubelet renamed the file.

mod common;

use std::io::Write;
use std::net::Shutdown;
use std::os::unix::fs::PermissionsExt;

use berth_shim::{attach, AttachMode, ClientError, Control, LogFormat};
use common::{cri_entries_of, poll_until, Fixture};

/// `(stream, tag, content)` of every entry.
fn entries(f: &Fixture) -> Vec<(String, String, String)> {
    cri_entries_of(&f.log_path())
        .into_iter()
        .map(|e| (e.stream.clone(), e.tag.clone(), e.text()))
        .collect()
}

fn entry(stream: &str, tag: &str, log: &str) -> (String, String, String) {
    (stream.to_owned(), tag.to_owned(), log.to_owned())
}

#[test]
fn stdout_and_stderr_are_logged_with_containerds_line_rules() {
    let Some(f) = Fixture::new(
        "cri",
        &[
            "sh",
            "-c",
            "echo out1; echo err1 >&2; head -c 40000 /dev/zero | tr '\\0' a; echo; \
             printf 'crlf\\r\\n\\nbare\\rcr\\n'; printf tail",
        ],
    ) else {
        return;
    };
    let mut cmd = f.command();
    cmd.log_format = LogFormat::Cri;
    cmd.spawn().expect("spawn shim");
    f.start();
    assert_eq!(f.wait_exit().code, 0);

    let got = entries(&f);
    let of = |stream: &str| -> Vec<(String, String, String)> {
        got.iter().filter(|e| e.0 == stream).cloned().collect()
    };
    assert_eq!(of("stderr"), [entry("stderr", "F", "err1\n")]);
    let a = |n| "a".repeat(n);
    assert_eq!(
        of("stdout"),
        [
            entry("stdout", "F", "out1\n"),
            entry("stdout", "P", &a(16_384)),
            entry("stdout", "P", &a(16_384)),
            entry("stdout", "F", &(a(40_000 - 2 * 16_384) + "\n")),
            entry("stdout", "F", "crlf\n"),
            entry("stdout", "F", "\n"),
            entry("stdout", "F", "bare\rcr\n"),
            entry("stdout", "P", "tail"),
        ]
    );
    let mode = std::fs::metadata(f.log_path())
        .expect("log")
        .permissions()
        .mode();
    assert_eq!(mode & 0o137, 0, "log mode {mode:o}");
}

#[test]
fn a_tty_is_logged_as_stdout_without_its_crlf() {
    let Some(mut f) = Fixture::new("critty", &["sh", "-c", "echo hi; echo there; printf x"]) else {
        return;
    };
    f.terminal();
    let mut cmd = f.command();
    cmd.terminal = true;
    cmd.log_format = LogFormat::Cri;
    cmd.spawn().expect("spawn shim");
    f.start();
    assert_eq!(f.wait_exit().code, 0);
    assert_eq!(
        entries(&f),
        [
            entry("stdout", "F", "hi\n"),
            entry("stdout", "F", "there\n"),
            entry("stdout", "P", "x"),
        ]
    );
}

#[test]
fn reopen_after_a_rename_continues_in_a_new_file() {
    let Some(f) = Fixture::new(
        "crireopen",
        &[
            "sh",
            "-c",
            "echo before; read x; echo after-$x; echo err >&2",
        ],
    ) else {
        return;
    };
    let mut cmd = f.command();
    cmd.log_format = LogFormat::Cri;
    cmd.stdin = true;
    cmd.spawn().expect("spawn shim");
    let mut control = Control::connect(&f.state_dir()).expect("control");
    let mut stdin = attach(&f.state_dir(), AttachMode::StdinOnce).expect("attach");
    f.start();
    assert!(
        poll_until(|| !cri_entries_of(&f.log_path()).is_empty()),
        "nothing logged before the rename"
    );
    // The kubelet's rotation: rename, then ReopenContainerLog.
    let rotated = f.path("container.log.20240101-000000");
    std::fs::rename(f.log_path(), &rotated).expect("rename log");
    control.reopen_log().expect("reopen log");
    stdin.write_all(b"go\n").expect("write stdin");
    stdin.shutdown(Shutdown::Write).expect("shutdown");
    assert_eq!(f.wait_exit().code, 0);

    let texts = |p: &std::path::Path| -> Vec<(String, String)> {
        cri_entries_of(p)
            .into_iter()
            .map(|e| (e.stream.clone(), e.text()))
            .collect()
    };
    assert_eq!(texts(&rotated), [("stdout".into(), "before\n".into())]);
    assert_eq!(
        texts(&f.log_path()),
        [
            ("stdout".into(), "after-go\n".into()),
            ("stderr".into(), "err\n".into())
        ]
    );
    let mode = |p: &std::path::Path| std::fs::metadata(p).expect("log").permissions().mode();
    assert_eq!(mode(&f.log_path()), mode(&rotated));
}

#[test]
fn rotation_flags_are_refused_with_cri() {
    let Some(f) = Fixture::new("crirot", &["true"]) else {
        return;
    };
    let mut cmd = f.command();
    cmd.log_format = LogFormat::Cri;
    if let Some(log) = cmd.log.as_mut() {
        log.max_size = 1 << 20;
    }
    let args = cmd.args();
    assert!(
        args.windows(2)
            .any(|w| w[0] == "--log-format" && w[1] == "cri"),
        "{args:?}"
    );
    match cmd.spawn() {
        Err(ClientError::ShimFailed { stderr, .. }) => {
            assert!(stderr.contains("--log-format cri"), "{stderr}")
        }
        other => panic!("expected the shim to refuse, got {other:?}"),
    }
    assert!(!f.state_dir().exists() && !f.log_path().exists());
}
