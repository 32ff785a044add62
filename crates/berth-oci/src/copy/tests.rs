use super::*;

#[test]
fn copies_dirs_files_symlinks_and_modes() {
    let src = tempfile::tempdir().unwrap();
    let dst = tempfile::tempdir().unwrap();
    let s = src.path();
    std::fs::create_dir_all(s.join("a/b")).unwrap();
    std::fs::write(s.join("a/b/file"), "content").unwrap();
    std::fs::set_permissions(s.join("a/b/file"), PermissionsExt::from_mode(0o640)).unwrap();
    symlink("../passwd", s.join("a/link")).unwrap();
    std::fs::set_permissions(s.join("a"), PermissionsExt::from_mode(0o555)).unwrap();
    nix::unistd::mkfifo(&s.join("fifo"), Mode::from_bits_truncate(0o600)).unwrap();

    copy_tree(s, dst.path()).unwrap();

    let d = dst.path();
    assert_eq!(
        std::fs::read_to_string(d.join("a/b/file")).unwrap(),
        "content"
    );
    let mode = |p: &str| std::fs::symlink_metadata(d.join(p)).unwrap().mode() & 0o7777;
    assert_eq!(mode("a/b/file"), 0o640);
    assert_eq!(mode("a"), 0o555);
    assert_eq!(
        std::fs::read_link(d.join("a/link")).unwrap(),
        Path::new("../passwd")
    );
    assert!(std::fs::symlink_metadata(d.join("fifo"))
        .unwrap()
        .file_type()
        .is_fifo());
    // Let the temp dirs clean up.
    for root in [s, d] {
        std::fs::set_permissions(root.join("a"), PermissionsExt::from_mode(0o755)).unwrap();
    }
}
