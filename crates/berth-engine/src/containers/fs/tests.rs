use super::*;

#[test]
fn archive_names_follow_docker() {
    assert_eq!(archive_name("/etc/passwd"), "passwd");
    assert_eq!(archive_name("/etc/"), "etc");
    assert_eq!(archive_name("/etc/."), ".");
    assert_eq!(archive_name("/"), ".");
    assert_eq!(archive_name("rel/x"), "x");
}

#[test]
fn a_directory_with_a_mount_below_it_holds_mounts() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipping: needs root (mount)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let below = dir.path().join("bundle/rootfs");
    std::fs::create_dir_all(&below).unwrap();
    assert!(!holds_mounts(dir.path()));
    nix::mount::mount(
        Some("tmpfs"),
        &below,
        Some("tmpfs"),
        nix::mount::MsFlags::empty(),
        None::<&str>,
    )
    .unwrap();
    let held = holds_mounts(dir.path());
    let sibling = holds_mounts(&dir.path().join("bund"));
    nix::mount::umount2(&below, nix::mount::MntFlags::MNT_DETACH).unwrap();
    assert!(held);
    assert!(!sibling, "a name sharing a prefix is not below");
}
