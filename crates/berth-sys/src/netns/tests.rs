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
