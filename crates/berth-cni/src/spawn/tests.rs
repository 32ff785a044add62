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
