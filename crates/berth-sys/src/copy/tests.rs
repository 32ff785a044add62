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

#[test]
fn keeps_mtimes_and_xattrs() {
    let src = tempfile::tempdir().unwrap();
    let dst = tempfile::tempdir().unwrap();
    let s = src.path();
    std::fs::create_dir(s.join("dir")).unwrap();
    std::fs::write(s.join("dir/file"), "x").unwrap();
    symlink("file", s.join("dir/link")).unwrap();
    for p in ["dir/file", "dir/link", "dir"] {
        set_times(&s.join(p), (1_000_000_000, 123), (1_000_000_000, 123)).unwrap();
    }
    let file = c_path(&s.join("dir/file")).unwrap();
    let name = CString::new("user.berth").unwrap();
    // SAFETY: valid strings and buffer.
    let xattrs =
        unsafe { libc::lsetxattr(file.as_ptr(), name.as_ptr(), b"v1".as_ptr().cast(), 2, 0) } == 0;

    copy_tree(s, dst.path()).unwrap();

    let d = dst.path();
    for p in ["dir/file", "dir/link", "dir"] {
        let m = std::fs::symlink_metadata(d.join(p)).unwrap();
        assert_eq!((m.mtime(), m.mtime_nsec()), (1_000_000_000, 123), "{p}");
    }
    if xattrs {
        let copied = c_path(&d.join("dir/file")).unwrap();
        let mut buf = [0u8; 8];
        // SAFETY: valid strings and buffer.
        let n = unsafe {
            libc::lgetxattr(
                copied.as_ptr(),
                name.as_ptr(),
                buf.as_mut_ptr().cast(),
                buf.len(),
            )
        };
        assert_eq!(n, 2);
        assert_eq!(&buf[..2], b"v1");
    }
}
