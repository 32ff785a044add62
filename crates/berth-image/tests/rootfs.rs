//! `docker cp` support: paths resolved inside a root, archives of one path, extraction into a
//! directory of the root with `noOverwriteDirNonDir` and an owner override. Needs root (chown);
//! without it each test prints `skipping` and passes.
#![allow(clippy::unwrap_used)]

mod common;

use std::fs;
use std::os::unix::fs::{symlink, MetadataExt};
use std::path::Path;

use berth_image::{
    open_dir_in_root, open_file_in_root, stat_in_root, unpack_layer_at, write_tar_of_path, Error,
    UnpackOptions,
};
use common::{is_root, Arena, RawTar, Spec};

macro_rules! require_root {
    () => {
        if !is_root() {
            eprintln!("skipping: needs root");
            return;
        }
    };
}

/// A root with symlinks aimed at `/`, far above it, and at the sentinel's absolute path.
fn hostile_root(a: &Arena) {
    fs::create_dir_all(a.dest.join("etc")).unwrap();
    fs::write(a.dest.join("etc/passwd"), "inside\n").unwrap();
    symlink("/", a.dest.join("rootlink")).unwrap();
    symlink("../../../../../..", a.dest.join("uplink")).unwrap();
    symlink(a.sentinel_str(), a.dest.join("abs")).unwrap();
}

fn names(tar: &[u8]) -> Vec<String> {
    let mut ar = tar::Archive::new(tar);
    ar.entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().display().to_string())
        .collect()
}

#[test]
fn resolution_stays_inside_the_root() {
    require_root!();
    let a = Arena::new();
    hostile_root(&a);
    let sentinel_in_root = format!("{}/canary", a.sentinel_str());
    for via in ["/rootlink", "/uplink", "/../../..", "/abs/.."] {
        let p = format!("{via}{sentinel_in_root}");
        assert!(
            stat_in_root(&a.dest, Path::new(&p)).is_err(),
            "{p} resolved"
        );
        assert!(
            open_file_in_root(&a.dest, Path::new(&p)).is_err(),
            "{p} opened"
        );
    }
    let p = Path::new("/uplink/etc/passwd");
    let mut s = String::new();
    std::io::Read::read_to_string(&mut open_file_in_root(&a.dest, p).unwrap(), &mut s).unwrap();
    assert_eq!(s, "inside\n");
    // The last component is not followed: a symlink is reported as one.
    let st = stat_in_root(&a.dest, Path::new("/abs")).unwrap();
    assert_eq!(st.mode & libc::S_IFMT, libc::S_IFLNK);
    assert_eq!(st.link_target, a.sentinel_str());
    let mut out = Vec::new();
    write_tar_of_path(&a.dest, Path::new("/abs"), b"abs", &mut out, None).unwrap();
    assert_eq!(names(&out), ["abs"]);
    // Extracting through a link lands inside the root.
    let tar = RawTar::default().file("canary", b"pwned").finish();
    let dir = open_dir_in_root(&a.dest, Path::new("/abs")).unwrap_err();
    assert!(matches!(dir, Error::Io { .. }), "{dir:?}");
    let dir = open_dir_in_root(&a.dest, Path::new("/rootlink/etc")).unwrap();
    unpack_layer_at(&tar[..], dir, &UnpackOptions::flattened()).unwrap();
    assert_eq!(fs::read(a.dest.join("etc/canary")).unwrap(), b"pwned");
    a.assert_untouched("extract through symlinks");
}

#[test]
fn archives_of_a_directory_are_named_after_it() {
    require_root!();
    let a = Arena::new();
    fs::create_dir_all(a.dest.join("d/sub")).unwrap();
    fs::write(a.dest.join("d/sub/f"), "x").unwrap();
    let mut out = Vec::new();
    write_tar_of_path(&a.dest, Path::new("/d"), b"d", &mut out, None).unwrap();
    assert_eq!(names(&out), ["d/", "d/sub/", "d/sub/f"]);
    let mut out = Vec::new();
    write_tar_of_path(&a.dest, Path::new("/d/."), b".", &mut out, None).unwrap();
    assert_eq!(names(&out), ["./", "./sub/", "./sub/f"]);
}

#[test]
fn archives_of_a_directory_leave_out_what_skip_names() {
    require_root!();
    let a = Arena::new();
    fs::create_dir_all(a.dest.join("d/sub")).unwrap();
    fs::create_dir_all(a.dest.join("d/gone")).unwrap();
    fs::write(a.dest.join("d/sub/f"), "x").unwrap();
    fs::write(a.dest.join("d/sub/f.txt"), "x").unwrap();
    fs::write(a.dest.join("d/gone/g"), "x").unwrap();
    let skip = |p: &Path| p == Path::new("gone") || p.extension().is_some_and(|e| e == "txt");
    let mut out = Vec::new();
    write_tar_of_path(&a.dest, Path::new("/d"), b"x/d", &mut out, Some(&skip)).unwrap();
    let mut got = names(&out);
    got.sort();
    assert_eq!(got, ["x/d/", "x/d/sub/", "x/d/sub/f"]);
}

#[test]
fn no_overwrite_dir_non_dir_and_owner_override() {
    require_root!();
    let a = Arena::new();
    fs::create_dir_all(a.dest.join("dir")).unwrap();
    fs::write(a.dest.join("file"), "x").unwrap();
    let mut opts = UnpackOptions::flattened();
    opts.no_overwrite_dir_non_dir = true;
    let open = || open_dir_in_root(&a.dest, Path::new("/")).unwrap();
    let tar = RawTar::default().file("dir", b"not a dir").finish();
    let err = unpack_layer_at(&tar[..], open(), &opts).unwrap_err();
    assert!(matches!(err, Error::WouldOverwrite { .. }), "{err:?}");
    let tar = RawTar::default().dir("file").finish();
    let err = unpack_layer_at(&tar[..], open(), &opts).unwrap_err();
    assert!(matches!(err, Error::WouldOverwrite { .. }), "{err:?}");
    assert!(a.dest.join("dir").is_dir() && a.dest.join("file").is_file());

    let mut tar = RawTar::default();
    tar.add(Spec {
        name: b"owned",
        data: b"y",
        uid: 1234,
        gid: 4321,
        ..Spec::default()
    });
    let tar = tar.finish();
    opts.owner = Some((0, 0));
    unpack_layer_at(&tar[..], open(), &opts).unwrap();
    let m = fs::metadata(a.dest.join("owned")).unwrap();
    assert_eq!((m.uid(), m.gid()), (0, 0));
    a.assert_untouched("cp extraction");
}

#[test]
fn remove_no_follow_never_leaves_the_root() {
    use berth_image::{remove_no_follow, Removal};
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("hosts"), "host's").unwrap();
    let root = tempfile::tempdir().unwrap();
    // A step made /etc a symlink to the host's directory, and /proc one to a file there.
    std::os::unix::fs::symlink(outside.path(), root.path().join("etc")).unwrap();
    std::os::unix::fs::symlink(outside.path().join("hosts"), root.path().join("proc")).unwrap();
    assert!(!remove_no_follow(root.path(), Path::new("etc/hosts"), Removal::All).unwrap());
    assert!(outside.path().join("hosts").exists());
    // The link itself goes, not what it points to.
    assert!(remove_no_follow(root.path(), Path::new("proc"), Removal::All).unwrap());
    assert!(outside.path().join("hosts").exists());
    // IfEmpty keeps what is not empty.
    std::fs::create_dir_all(root.path().join("a/b")).unwrap();
    std::fs::write(root.path().join("a/f"), "x").unwrap();
    assert!(!remove_no_follow(root.path(), Path::new("a"), Removal::IfEmpty).unwrap());
    assert!(!remove_no_follow(root.path(), Path::new("a/f"), Removal::IfEmpty).unwrap());
    assert!(remove_no_follow(root.path(), Path::new("a/b"), Removal::IfEmpty).unwrap());
    assert!(remove_no_follow(root.path(), Path::new("a"), Removal::All).unwrap());
    assert!(!root.path().join("a").exists());
}
