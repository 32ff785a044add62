//! CVE-2019-5736: a container that gets hold of a runtime process's `/proc/<pid>/exe` can write
//! the host binary through it (the classic route is an entrypoint `#!/proc/self/exe`; this kernel
//! already refuses to follow that magic link from inside a container, so the tests check the two
//! defences directly). Until `start`, the container's init is a runtime process inside the
//! container: it must be unreachable from the container (non-dumpable), and its exe must be a
//! file nobody can write, even from the host. (The fd-leak CVE-2024-21626 is tested in
//! process.rs.)
#![allow(clippy::unwrap_used)]

mod common;

use common::{check_except_known_gaps, runtime, runtime_name, Container};
use std::io::Write;

#[test]
fn container_cannot_reach_the_runtime_binary() {
    let Some(c) = Container::new("cve-2019-5736-ns", &["true"]) else {
        return;
    };
    c.create().ok();
    let script = "readlink /proc/1/exe; cat /proc/1/exe >/dev/null && echo READABLE";
    let out = c.exec(&[], &["sh", "-c", script]);
    check_except_known_gaps(
        if out.stdout.trim().is_empty() {
            Ok(())
        } else {
            Err(format!("the runtime's exe is reachable: {out:?}"))
        },
        &[(
            "runc",
            "runc 1.1 leaves its waiting init dumpable; its sealed memfd copy is the defence",
        )],
    );
}

#[test]
fn runtime_binary_behind_a_container_process_is_read_only() {
    let Some(c) = Container::new("cve-2019-5736-host", &["true"]) else {
        return;
    };
    let original = std::fs::read(runtime()).unwrap();
    c.create().ok();
    let exe = format!("/proc/{}/exe", c.pid());
    // A write through the link, as the exploit does once it holds it, must fail at open
    // (read-only overlay) or at write (sealed memfd).
    let written = std::fs::OpenOptions::new()
        .append(true)
        .open(&exe)
        .and_then(|mut f| f.write_all(b"pwned"));
    assert!(written.is_err(), "{exe} is writable");
    assert_eq!(std::fs::read(runtime()).unwrap(), original);
    assert_ne!(
        std::fs::canonicalize(&exe).ok(),
        std::fs::canonicalize(runtime()).ok(),
        "the container process runs the host binary itself"
    );
}

/// berth-runtime's protected copy is a read-only overlayfs view of its binary on every kernel
/// it supports (`lowerdir+` on 6.8+, one `lowerdir` string before); the sealed memfd copy is
/// only for hosts without overlayfs, and costs a copy of the binary per container.
#[test]
fn berth_runtime_runs_from_a_read_only_overlay_view() {
    if runtime_name() != "berth-runtime" {
        return;
    }
    let Some(c) = Container::new("sealed-overlay", &["true"]) else {
        return;
    };
    c.create().ok();
    let exe = std::fs::File::open(format!("/proc/{}/exe", c.pid())).unwrap();
    let fs = nix::sys::statfs::fstatfs(&exe).unwrap();
    assert_eq!(
        fs.filesystem_type(),
        nix::sys::statfs::OVERLAYFS_SUPER_MAGIC,
        "the runtime re-executed from a memfd copy"
    );
}
