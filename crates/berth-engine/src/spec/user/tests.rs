use super::*;

const PASSWD: &str = "root:x:0:0:root:/root:/bin/sh\n\
    daemon:x:2:2:daemon:/sbin:/sbin/nologin\n\
    app:x:1000:1000:App:/home/app:/bin/sh\n\
    broken line\n";
const GROUP: &str = "root:x:0:root\n\
    bin:x:1:root,bin,daemon\n\
    daemon:x:2:root,bin,daemon\n\
    wheel:x:10:root\n\
    app:x:1000:\n\
    docker:x:999:app\n\
    audio:x:29:\n";

fn fake_rootfs() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("etc")).unwrap();
    std::fs::write(dir.path().join("etc/passwd"), PASSWD).unwrap();
    std::fs::write(dir.path().join("etc/group"), GROUP).unwrap();
    dir
}

fn resolve(user: &str, add: &[&str]) -> Result<(u32, u32, Vec<u32>), SpecError> {
    let root = fake_rootfs();
    let add: Vec<String> = add.iter().map(|s| s.to_string()).collect();
    resolve_user(user, &add, GroupPolicy::Merge, root.path())
        .map(|u| (u.uid, u.gid, u.additional_gids))
}

#[test]
fn user_forms() {
    // Default user: root with root's supplementary groups, as `docker run alpine id` shows.
    assert_eq!(resolve("", &[]).unwrap(), (0, 0, vec![0, 0, 1, 2, 10]));
    assert_eq!(resolve("app", &[]).unwrap(), (1000, 1000, vec![1000, 999]));
    assert_eq!(resolve("1000", &[]).unwrap(), (1000, 1000, vec![1000, 999]));
    // Explicit group: no supplementary groups.
    assert_eq!(resolve("app:audio", &[]).unwrap(), (1000, 29, vec![29]));
    assert_eq!(resolve("1000:5", &[]).unwrap(), (1000, 5, vec![5]));
    // Unknown numeric uid: fine, gid 0.
    assert_eq!(resolve("4242", &[]).unwrap(), (4242, 0, vec![0]));
    assert_eq!(resolve("4242:4242", &[]).unwrap(), (4242, 4242, vec![4242]));
}

#[test]
fn group_add() {
    assert_eq!(
        resolve("app", &["audio", "777"]).unwrap(),
        (1000, 1000, vec![1000, 999, 29, 777])
    );
    assert!(matches!(
        resolve("app", &["nosuch"]),
        Err(SpecError::GroupNotFound { .. })
    ));
}

/// The CRI's Strict policy: the image's /etc/group memberships are left out, the requested
/// groups stay.
#[test]
fn strict_policy_keeps_only_the_primary_and_requested_groups() {
    let root = fake_rootfs();
    let strict = |user: &str, add: &[&str]| {
        let add: Vec<String> = add.iter().map(|s| s.to_string()).collect();
        resolve_user(user, &add, GroupPolicy::Strict, root.path())
            .map(|u| (u.uid, u.gid, u.additional_gids))
            .unwrap()
    };
    assert_eq!(strict("1000", &["1234"]), (1000, 1000, vec![1000, 1234]));
    assert_eq!(strict("app", &[]), (1000, 1000, vec![1000]));
    assert_eq!(
        resolve("1000", &["1234"]).unwrap(),
        (1000, 1000, vec![1000, 999, 1234])
    );
}

#[test]
fn unknown_names_fail() {
    assert!(matches!(
        resolve("nosuch", &[]),
        Err(SpecError::UserNotFound { .. })
    ));
    assert!(matches!(
        resolve("app:nosuch", &[]),
        Err(SpecError::GroupNotFound { .. })
    ));
}

#[test]
fn missing_files_allow_numeric_ids_only() {
    let empty = tempfile::tempdir().unwrap();
    let r = resolve_user("12:34", &[], GroupPolicy::Merge, empty.path()).unwrap();
    assert_eq!((r.uid, r.gid), (12, 34));
    assert!(resolve_user("app", &[], GroupPolicy::Merge, empty.path()).is_err());
}

#[test]
fn symlinks_cannot_escape_the_rootfs() {
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("passwd"), "evil:x:0:0::/:/bin/sh\n").unwrap();
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir(root.path().join("etc")).unwrap();
    // Both an absolute and a climbing relative link stay inside the rootfs.
    let abs = outside.path().join("passwd");
    std::os::unix::fs::symlink(&abs, root.path().join("etc/passwd")).unwrap();
    assert!(matches!(
        resolve_user("evil", &[], GroupPolicy::Merge, root.path()),
        Err(SpecError::UserNotFound { .. })
    ));
    std::fs::remove_file(root.path().join("etc/passwd")).unwrap();
    let climbing = PathBuf::from("../../../../../../..").join(abs.strip_prefix("/").unwrap());
    std::os::unix::fs::symlink(&climbing, root.path().join("etc/passwd")).unwrap();
    assert!(resolve_user("evil", &[], GroupPolicy::Merge, root.path()).is_err());

    // A link that stays inside is followed.
    std::fs::remove_file(root.path().join("etc/passwd")).unwrap();
    std::fs::write(root.path().join("etc/passwd.real"), PASSWD).unwrap();
    std::os::unix::fs::symlink("/etc/passwd.real", root.path().join("etc/passwd")).unwrap();
    assert_eq!(
        resolve_user("app", &[], GroupPolicy::Merge, root.path())
            .unwrap()
            .uid,
        1000
    );
}

#[test]
fn symlink_loops_are_reported() {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir(root.path().join("etc")).unwrap();
    std::os::unix::fs::symlink("/etc/passwd", root.path().join("etc/passwd")).unwrap();
    assert!(matches!(
        resolve_user("", &[], GroupPolicy::Merge, root.path()),
        Err(SpecError::SymlinkLoop { .. })
    ));
}
