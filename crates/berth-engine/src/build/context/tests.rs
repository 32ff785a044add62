use super::*;

#[test]
fn secrets_leave_the_context_and_only_declared_ids_are_read() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("ctx");
    std::fs::create_dir_all(root.join(SECRETS_DIR)).unwrap();
    std::fs::write(root.join(SECRETS_DIR).join("token"), "t").unwrap();
    std::fs::write(root.join(SECRETS_DIR).join("other"), "o").unwrap();
    std::os::unix::fs::symlink("/etc/hostname", root.join(SECRETS_DIR).join("link")).unwrap();
    std::fs::write(root.join("kept"), "k").unwrap();
    let ids = ["token", "link", "missing"].map(String::from).to_vec();
    let secrets = take_secrets(&root, tmp.path(), ids).unwrap();
    assert!(!root.join(SECRETS_DIR).exists());
    assert!(root.join("kept").exists());
    let file = secrets.file("token").unwrap();
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "t");
    // Not declared, not sent, or not a file inside the secrets directory.
    assert!(secrets.file("other").is_none());
    assert!(secrets.file("missing").is_none());
    assert!(secrets.file("link").is_none());
    assert!(secrets.file("../ctx").is_none());
    let private = file.parent().unwrap().parent().unwrap().to_path_buf();
    let mode = std::fs::metadata(&private).unwrap().permissions();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777,
        0o700
    );
    drop(secrets);
    assert!(!private.exists());
}

#[test]
fn a_context_without_secrets_has_none() {
    let tmp = tempfile::tempdir().unwrap();
    let secrets = take_secrets(tmp.path(), tmp.path(), vec!["a".into()]).unwrap();
    assert!(secrets.file("a").is_none());
}
