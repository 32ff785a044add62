use super::*;

#[test]
fn paths_split_like_docker_cp() {
    assert_eq!(
        split(Path::new("/etc/passwd")),
        (vec![&b"etc"[..], b"passwd"], false)
    );
    assert_eq!(split(Path::new("/etc/.")), (vec![&b"etc"[..]], true));
    assert_eq!(split(Path::new("/")), (vec![], true));
    assert_eq!(base_name(Path::new("/etc/")), "etc");
    assert_eq!(base_name(Path::new("/")), "/");
}

#[test]
fn real_paths_stay_inside_the_root() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    std::fs::create_dir_all(root.join("usr/share")).unwrap();
    std::os::unix::fs::symlink("/usr/share", root.join("share")).unwrap();
    std::os::unix::fs::symlink("../../..", root.join("up")).unwrap();
    let real = |p: &str| real_path_in_root(&root, Path::new(p));
    assert_eq!(real("usr/share").unwrap(), root.join("usr/share"));
    // An absolute symlink is the root's path, not the host's.
    assert_eq!(real("share").unwrap(), root.join("usr/share"));
    // `..` and a symlink climbing out are clamped at the root.
    assert_eq!(real("../../usr").unwrap(), root.join("usr"));
    assert_eq!(real("up").unwrap(), root);
    assert_eq!(real("").unwrap(), root);
    let missing = real("not-there").unwrap_err();
    assert!(missing.to_string().contains("not-there"), "{missing}");
}
