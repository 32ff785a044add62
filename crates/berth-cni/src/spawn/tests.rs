use std::os::unix::process::ExitStatusExt;
use std::path::Path;

use super::{spawn, wait};

#[test]
fn a_failed_exec_is_the_spawns_error() {
    let missing = spawn(Path::new("/nonexistent/plugin"), &[]).err();
    assert_eq!(missing.and_then(|e| e.raw_os_error()), Some(libc::ENOENT));
    let plain = tempfile::NamedTempFile::new().expect("temp file");
    let not_executable = spawn(plain.path(), &[]).err();
    assert_eq!(
        not_executable.and_then(|e| e.raw_os_error()),
        Some(libc::EACCES)
    );
}

#[test]
fn the_plugin_dies_with_the_thread_that_started_it() {
    // sh reads its stdin, whose other end we keep: only the parent-death signal ends it.
    let child = std::thread::spawn(|| spawn(Path::new("/bin/sh"), &[]).map_err(|e| e.to_string()))
        .join()
        .expect("spawning thread")
        .expect("spawn sh");
    let status = wait(child.pid).expect("wait for sh");
    assert_eq!(status.signal(), Some(libc::SIGKILL), "{status:?}");
}

#[test]
fn the_plugin_starts_with_sigpipe_at_its_default() {
    // Rust's runtime ignores SIGPIPE in this process; a plugin (or the iptables it runs) must
    // not inherit that. SigIgn in /proc/<pid>/status is the mask of ignored signals.
    let child = spawn(Path::new("/bin/sh"), &[]).unwrap();
    let status = std::fs::read_to_string(format!("/proc/{}/status", child.pid)).unwrap();
    let ignored = status
        .lines()
        .find_map(|l| l.strip_prefix("SigIgn:"))
        .map(|m| u64::from_str_radix(m.trim(), 16).unwrap())
        .unwrap();
    drop(child.stdin);
    wait(child.pid).unwrap();
    assert_eq!(
        ignored & (1 << (libc::SIGPIPE - 1)),
        0,
        "SigIgn {ignored:#x}"
    );
}
