use super::*;
use berth_types::ErrorKind;

fn open() -> (tempfile::TempDir, Snapshotter) {
    let dir = tempfile::tempdir().unwrap();
    let s = Snapshotter::open(dir.path().join("overlay")).unwrap();
    (dir, s)
}

fn option<'m>(m: &'m Mount, name: &str) -> Option<&'m str> {
    m.options
        .iter()
        .find_map(|o| o.strip_prefix(name)?.strip_prefix('='))
}

#[test]
fn prepare_commit_chain_and_mounts() {
    let (_d, s) = open();
    let m = s.prepare("extract-1", None).unwrap();
    assert_eq!(m.len(), 1);
    assert_eq!(m[0].fs_type, "bind");
    assert!(m[0].options.contains(&"rw".to_string()));
    s.commit("layer-1", "extract-1").unwrap();
    assert!(matches!(
        s.stat("extract-1"),
        Err(Error::SnapshotNotFound(_))
    ));
    s.prepare("extract-2", Some("layer-1")).unwrap();
    s.commit("layer-2", "extract-2").unwrap();

    let m = s.prepare("ctr", Some("layer-2")).unwrap();
    assert_eq!(m[0].fs_type, "overlay");
    let lowers: Vec<&str> = option(&m[0], "lowerdir").unwrap().split(':').collect();
    assert_eq!(lowers.len(), 2);
    // Nearest parent first, each a short link resolving to that layer's fs directory.
    for l in &lowers {
        let name = Path::new(l).file_name().unwrap().to_str().unwrap();
        assert_eq!(name.len(), 26);
        assert!(Path::new(l).join(".").is_dir());
    }
    assert!(option(&m[0], "upperdir").is_some());
    assert!(option(&m[0], "workdir").is_some());
    assert_eq!(s.mounts("ctr").unwrap(), m);

    let info = s.stat("ctr").unwrap();
    assert_eq!(info.kind, Kind::Active);
    assert_eq!(info.parent.as_deref(), Some("layer-2"));
    let keys: Vec<String> = s.walk().unwrap().into_iter().map(|i| i.key).collect();
    assert_eq!(keys, ["layer-1", "layer-2", "ctr"]);
}

#[test]
fn layers_unpacked_apart_are_stacked_at_commit() {
    let (_d, s) = open();
    s.prepare("extract-a", None).unwrap();
    s.prepare("extract-b", None).unwrap();
    std::fs::write(s.upper_dir("extract-b").unwrap().join("f"), "b").unwrap();
    // The parent must be committed first.
    assert!(matches!(
        s.commit_onto("b", "extract-b", "a"),
        Err(Error::SnapshotNotFound(_))
    ));
    s.commit("a", "extract-a").unwrap();
    s.commit_onto("b", "extract-b", "a").unwrap();
    assert_eq!(s.stat("b").unwrap().parent.as_deref(), Some("a"));
    let m = s.view("v", Some("b")).unwrap();
    assert_eq!(option(&m[0], "lowerdir").unwrap().split(':').count(), 2);
    s.prepare("extract-c", Some("a")).unwrap();
    assert!(matches!(
        s.commit_onto("c", "extract-c", "b"),
        Err(Error::HasParent { .. })
    ));
}

#[test]
fn views_of_zero_one_and_many_layers() {
    let (_d, s) = open();
    let empty = s.view("v0", None).unwrap();
    assert_eq!(empty[0].fs_type, "bind");
    assert!(empty[0].options.contains(&"ro".to_string()));
    s.prepare("a", None).unwrap();
    s.commit("l1", "a").unwrap();
    let one = s.view("v1", Some("l1")).unwrap();
    assert_eq!(one[0].fs_type, "bind");
    assert!(one[0].options.contains(&"ro".to_string()));
    s.prepare("b", Some("l1")).unwrap();
    s.commit("l2", "b").unwrap();
    let two = s.view("v2", Some("l2")).unwrap();
    assert_eq!(two[0].fs_type, "overlay");
    assert!(option(&two[0], "upperdir").is_none());
    assert_eq!(option(&two[0], "lowerdir").unwrap().split(':').count(), 2);
    // A view is not a parent and cannot be committed.
    assert!(matches!(
        s.prepare("x", Some("v2")),
        Err(Error::ParentNotCommitted { .. })
    ));
    let err = s.commit("y", "v2").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict);
    assert!(matches!(s.mounts("l2"), Err(Error::WrongKind { .. })));
}

#[test]
fn remove_refuses_parents() {
    let (_d, s) = open();
    s.prepare("a", None).unwrap();
    s.commit("base", "a").unwrap();
    s.prepare("child", Some("base")).unwrap();
    let err = s.remove("base").unwrap_err();
    assert!(matches!(
        err,
        Error::SnapshotHasChildren { children: 1, .. }
    ));
    assert_eq!(err.kind(), ErrorKind::Conflict);
    s.remove("child").unwrap();
    s.remove("base").unwrap();
    assert!(s.walk().unwrap().is_empty());
    assert!(s.cleanup().unwrap().is_empty(), "remove left files behind");
    assert!(matches!(s.remove("base"), Err(Error::SnapshotNotFound(_))));
}

#[test]
fn duplicate_and_empty_keys_are_refused() {
    let (_d, s) = open();
    s.prepare("k", None).unwrap();
    assert_eq!(
        s.prepare("k", None).unwrap_err().kind(),
        ErrorKind::AlreadyExists
    );
    assert!(matches!(s.prepare("", None), Err(Error::EmptyKey)));
    assert!(matches!(
        s.prepare("z", Some("missing")),
        Err(Error::SnapshotNotFound(_))
    ));
    s.prepare("k2", None).unwrap();
    assert!(matches!(s.commit("k2", "k"), Err(Error::SnapshotExists(_))));
    // The failed creates left nothing on disk.
    assert!(s.cleanup().unwrap().is_empty());
}

#[test]
fn usage_counts_own_files_once() {
    let (_d, s) = open();
    s.prepare("u", None).unwrap();
    let fs_dir = s.root().join("snapshots/1/fs");
    fs::write(fs_dir.join("a"), vec![1u8; 10_000]).unwrap();
    fs::hard_link(fs_dir.join("a"), fs_dir.join("b")).unwrap();
    fs::create_dir(fs_dir.join("d")).unwrap();
    let u = s.usage("u").unwrap();
    assert_eq!(u.inodes, 3); // fs/, a (= b), d/
    assert!(u.size >= 10_000, "{u:?}");
}

#[test]
fn labels_round_trip() {
    let (_d, s) = open();
    s.prepare("k", None).unwrap();
    let labels = BTreeMap::from([("containerd.io/gc.root".to_string(), "x".to_string())]);
    s.set_labels("k", &labels).unwrap();
    assert_eq!(s.stat("k").unwrap().labels, labels);
    assert!(matches!(
        s.set_labels("nope", &labels),
        Err(Error::SnapshotNotFound(_))
    ));
}

#[test]
fn crash_leftovers_are_cleaned_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("overlay");
    {
        let s = Snapshotter::open(&root).unwrap();
        s.prepare("keep", None).unwrap();
        // A second open of the same root is refused while the first holds the lock.
        assert!(matches!(
            Snapshotter::open(&root),
            Err(Error::Locked { .. })
        ));
    }
    // Crash before rename, after rename but before the row committed, and a dangling link.
    fs::create_dir_all(root.join("snapshots/tmp-123-0-0/fs")).unwrap();
    fs::create_dir_all(root.join("snapshots/77/fs")).unwrap();
    std::os::unix::fs::symlink(
        "../snapshots/77/fs",
        root.join("l/ABCDEFGHIJKLMNOPQRSTUVWXYZ"),
    )
    .unwrap();
    let s = Snapshotter::open(&root).unwrap();
    assert!(!root.join("snapshots/tmp-123-0-0").exists());
    assert!(!root.join("snapshots/77").exists());
    assert!(fs::symlink_metadata(root.join("l/ABCDEFGHIJKLMNOPQRSTUVWXYZ")).is_err());
    assert_eq!(s.walk().unwrap().len(), 1);
    assert_eq!(s.mounts("keep").unwrap().len(), 1);
    assert!(root.join("snapshots/1/fs").is_dir());
}

#[test]
fn roots_with_option_separators_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    assert!(matches!(
        Snapshotter::open(dir.path().join("a:b")),
        Err(Error::InvalidRoot { .. })
    ));
}
