//! Layer unpacking and writing against the real filesystem. Needs root (mknod, chown, trusted.*
//! xattrs); without it each test prints `skipping` and passes.
#![allow(clippy::unwrap_used)]

mod common;

use std::fs;
use std::io::Write;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use berth_image::{
    changes, unpack_layer, write_layer_from_dir, write_tar_from_dir, Change, ChangeKind,
    Compression, Error, UnpackOptions,
};
use common::{is_root, mknod, set_xattr, snapshot, xattrs, Arena, RawTar, Spec};
use tar::EntryType;

macro_rules! require_root {
    () => {
        if !is_root() {
            eprintln!("skipping: needs root");
            return;
        }
    };
}

fn unpack(tar: &[u8], dest: &Path) -> berth_image::Result<berth_image::UnpackStats> {
    unpack_layer(tar, dest, &UnpackOptions::default())
}

fn unpack_flat(tar: &[u8], dest: &Path) -> berth_image::Result<berth_image::UnpackStats> {
    unpack_layer(tar, dest, &UnpackOptions::flattened())
}

fn assert_unsafe(r: berth_image::Result<berth_image::UnpackStats>, context: &str) {
    match r {
        Err(Error::UnsafePath { .. }) => {}
        other => panic!("{context}: expected UnsafePath, got {other:?}"),
    }
}

// ---- escapes: one test per class ----

#[test]
fn escape_dotdot_is_refused() {
    require_root!();
    let a = Arena::new();
    for name in [
        "../sentinel/canary",
        "a/../../sentinel/canary",
        "./../sentinel/x",
    ] {
        let tar = RawTar::default().file(name, b"pwned").finish();
        assert_unsafe(unpack(&tar, &a.dest), name);
        a.assert_untouched(name);
    }
    // A `..` in a whiteout name or a hardlink target is refused the same way.
    let tar = RawTar::default()
        .file("../sentinel/.wh.canary", b"")
        .finish();
    assert_unsafe(unpack_flat(&tar, &a.dest), "whiteout");
    let tar = RawTar::default().file("a/.wh...", b"").finish();
    assert_unsafe(unpack_flat(&tar, &a.dest), "whiteout of ..");
    a.assert_untouched("whiteouts");
}

#[test]
fn escape_absolute_path_lands_inside() {
    require_root!();
    let a = Arena::new();
    let name = format!("{}/canary", a.sentinel_str());
    let tar = RawTar::default().file(&name, b"pwned").finish();
    unpack(&tar, &a.dest).unwrap();
    a.assert_untouched("absolute");
    let inside = a.dest.join(name.trim_start_matches('/'));
    assert_eq!(fs::read(inside).unwrap(), b"pwned");
}

#[test]
fn escape_symlink_to_root_then_file_through_it() {
    require_root!();
    let a = Arena::new();
    let s = a.sentinel_str();
    let tar = RawTar::default()
        .symlink("root", "/")
        .file(&format!("root{s}/canary"), b"pwned")
        .symlink("sent", &s)
        .dir("sent/")
        .file("sent/canary", b"pwned")
        .finish();
    let r = unpack(&tar, &a.dest);
    a.assert_untouched(&format!("{r:?}"));
    // Through `root` the file landed at dest/<sentinel>/canary, inside.
    let inside = a.dest.join(s.trim_start_matches('/')).join("canary");
    assert_eq!(fs::read(inside).unwrap(), b"pwned");
}

#[test]
fn escape_symlink_parent_chain() {
    require_root!();
    let a = Arena::new();
    // Naively, d/l is dest/d/../.. = the temp dir, so d/l/sentinel/canary is the canary.
    let tar = RawTar::default()
        .dir("d/")
        .symlink("d/l", "../..")
        .symlink("x", "d/l")
        .symlink("y", "x/../../../..")
        .file("d/l/sentinel/canary", b"pwned")
        .file("y/sentinel/canary2", b"pwned")
        .file("x/sentinel/canary3", b"pwned")
        .finish();
    unpack(&tar, &a.dest).unwrap();
    a.assert_untouched("chain");
    assert_eq!(fs::read(a.dest.join("sentinel/canary")).unwrap(), b"pwned");
    assert_eq!(fs::read(a.dest.join("sentinel/canary3")).unwrap(), b"pwned");
}

#[test]
fn escape_hardlink_to_outside() {
    require_root!();
    let a = Arena::new();
    let s = a.sentinel_str();
    let tar = RawTar::default()
        .hardlink("h", "../sentinel/canary")
        .finish();
    assert_unsafe(unpack(&tar, &a.dest), "relative");
    let tar = RawTar::default()
        .hardlink("h", &format!("{s}/canary"))
        .finish();
    assert!(matches!(unpack(&tar, &a.dest), Err(Error::Entry { .. })));
    a.assert_untouched("hardlink");
}

#[test]
fn escape_hardlink_through_symlink() {
    require_root!();
    let a = Arena::new();
    let s = a.sentinel_str();
    for tar in [
        RawTar::default()
            .symlink("s", &s)
            .hardlink("h", "s/canary")
            .finish(),
        RawTar::default()
            .symlink("s", "../sentinel")
            .hardlink("h", "s/canary")
            .finish(),
        RawTar::default()
            .symlink("s", "/")
            .hardlink("h", &format!("s/{s}/canary"))
            .finish(),
    ] {
        let r = unpack(&tar, &a.dest);
        assert!(r.is_err(), "{r:?}");
        a.assert_untouched(&format!("{r:?}"));
    }
    // A hardlink *to* a symlink links the symlink itself; writing through it stays inside.
    let tar = RawTar::default()
        .symlink("s2", &s)
        .hardlink("h2", "s2")
        .file("h2/canary", b"pwned")
        .finish();
    let _ = unpack(&tar, &a.dest);
    a.assert_untouched("hardlink to symlink");
    assert!(fs::symlink_metadata(a.dest.join("h2"))
        .unwrap()
        .is_symlink());
}

#[test]
fn escape_dir_replaced_by_symlink_collision() {
    require_root!();
    let a = Arena::new();
    let s = a.sentinel_str();
    // The tar CVE shape: a directory, then a symlink of the same name, then files "in" it;
    // and the reverse, a symlink then a directory entry that a naive extractor skips.
    let tar = RawTar::default()
        .dir("d/")
        .symlink("d", &s)
        .file("d/canary", b"pwned")
        .finish();
    let r = unpack(&tar, &a.dest);
    assert!(matches!(r, Err(Error::Entry { .. })), "{r:?}");
    a.assert_untouched(&format!("{r:?}"));
    let tar = RawTar::default()
        .symlink("e", &s)
        .dir("e/")
        .file("e/canary", b"pwned")
        .finish();
    unpack(&tar, &a.dest).unwrap();
    a.assert_untouched("symlink then dir");
    // `e` became a real directory, so its file is inside it.
    assert_eq!(fs::read(a.dest.join("e/canary")).unwrap(), b"pwned");
}

#[test]
fn escape_through_symlink_already_in_dest() {
    require_root!();
    let a = Arena::new();
    std::os::unix::fs::symlink(&a.sentinel, a.dest.join("etc")).unwrap();
    std::os::unix::fs::symlink("../sentinel/canary", a.dest.join("file")).unwrap();
    for tar in [
        RawTar::default().file("etc/canary", b"pwned").finish(),
        RawTar::default().file("etc/.wh.canary", b"").finish(),
        RawTar::default().file("etc/.wh..wh..opq", b"").finish(),
        RawTar::default().hardlink("h", "etc/canary").finish(),
    ] {
        let r = unpack_flat(&tar, &a.dest);
        a.assert_untouched(&format!("{r:?}"));
    }
    let tar = RawTar::default().file("file", b"pwned").finish();
    unpack_flat(&tar, &a.dest).unwrap();
    a.assert_untouched("replace symlink");
    // `file` (a symlink) was replaced, not written through.
    assert!(fs::symlink_metadata(a.dest.join("file")).unwrap().is_file());
}

// ---- whiteouts ----

#[test]
fn whiteouts_become_overlay_devices_and_opaque_xattrs() {
    require_root!();
    let a = Arena::new();
    let tar = RawTar::default()
        .dir("a/")
        .add(Spec {
            name: b"a/.wh.gone",
            uid: 7,
            gid: 8,
            ..Spec::default()
        })
        .dir("c/")
        .file("c/keep", b"k")
        .file("c/.wh..wh..opq", b"")
        .file("new/.wh..wh..opq", b"")
        .file("a/.wh..wh.plnk", b"")
        .finish();
    unpack(&tar, &a.dest).unwrap();
    let md = fs::symlink_metadata(a.dest.join("a/gone")).unwrap();
    assert!(md.file_type().is_char_device());
    assert_eq!((md.rdev(), md.uid(), md.gid()), (0, 7, 8));
    let opaque = ("trusted.overlay.opaque".to_string(), b"y".to_vec());
    assert!(xattrs(&a.dest.join("c")).contains(&opaque));
    assert!(xattrs(&a.dest.join("new")).contains(&opaque));
    assert_eq!(fs::read(a.dest.join("c/keep")).unwrap(), b"k");
    // AUFS bookkeeping is skipped, not created.
    assert!(!a.dest.join("a/.wh..wh.plnk").exists());
    assert!(!a.dest.join("a/.wh.gone").exists());
}

#[test]
fn flattened_whiteouts_delete() {
    require_root!();
    let a = Arena::new();
    let d = &a.dest;
    fs::create_dir_all(d.join("a/gone-dir/deep")).unwrap();
    fs::write(d.join("a/gone"), b"x").unwrap();
    fs::write(d.join("a/stays"), b"x").unwrap();
    fs::create_dir_all(d.join("c/olddir")).unwrap();
    fs::write(d.join("c/old"), b"x").unwrap();
    fs::create_dir_all(d.join("c/sub")).unwrap();
    fs::write(d.join("c/sub/old"), b"x").unwrap();
    let tar = RawTar::default()
        .file("a/.wh.gone", b"")
        .file("a/.wh.gone-dir", b"")
        .file("a/.wh.never-existed", b"")
        .file("c/new", b"n")
        .file("c/sub/new", b"n")
        // The marker comes after this layer's own files: those must survive.
        .file("c/.wh..wh..opq", b"")
        .file("missing/.wh.x", b"")
        .finish();
    unpack_flat(&tar, d).unwrap();
    assert!(!d.join("a/gone").exists());
    assert!(!d.join("a/gone-dir").exists());
    assert!(d.join("a/stays").exists());
    let mut c: Vec<_> = fs::read_dir(d.join("c"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    c.sort();
    assert_eq!(c, ["new", "sub"]);
    let sub: Vec<_> = fs::read_dir(d.join("c/sub"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(sub, ["new"]);
    assert!(
        !d.join("missing").exists(),
        "a whiteout must not create its directory"
    );
    assert!(xattrs(&d.join("c")).is_empty());
}

#[test]
fn overlay_xattrs_in_the_tar_are_dropped() {
    require_root!();
    let a = Arena::new();
    let tar = RawTar::default()
        .add(Spec {
            kind: EntryType::Directory,
            name: b"d/",
            mode: 0o755,
            xattrs: &[
                ("trusted.overlay.opaque", b"y"),
                ("trusted.overlay.redirect", b"/etc"),
                ("user.ok", b"1"),
            ],
            ..Spec::default()
        })
        .finish();
    unpack(&tar, &a.dest).unwrap();
    assert_eq!(
        xattrs(&a.dest.join("d")),
        [("user.ok".to_string(), b"1".to_vec())]
    );
}

// ---- preservation and round trip ----

/// A tree with one of everything a layer can hold.
fn build_tree(root: &Path) {
    let p = |s: &str| root.join(s);
    fs::create_dir_all(p("usr/bin")).unwrap();
    fs::create_dir_all(p("tmp")).unwrap();
    fs::set_permissions(p("tmp"), fs::Permissions::from_mode(0o1777)).unwrap();
    fs::write(p("usr/bin/su"), b"#!/bin/sh\n").unwrap();
    fs::set_permissions(p("usr/bin/su"), fs::Permissions::from_mode(0o4755)).unwrap();
    fs::write(p("usr/bin/ping"), b"ping").unwrap();
    // security.capability: cap_net_raw+ep, vfs cap v2.
    let cap = [
        0, 0, 0, 2, 0, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    ];
    set_xattr(&p("usr/bin/ping"), "security.capability", &cap);
    set_xattr(&p("usr/bin/ping"), "user.note", b"bin\x00ary\n=value");
    fs::write(p("usr/bin/a"), b"linked").unwrap();
    fs::hard_link(p("usr/bin/a"), p("usr/bin/b")).unwrap();
    fs::hard_link(p("usr/bin/a"), p("tmp/c")).unwrap();
    std::os::unix::fs::symlink("/usr/bin/su", p("usr/bin/sudo")).unwrap();
    let long_dir = p(&format!("{}/{}", "d".repeat(80), "e".repeat(90)));
    fs::create_dir_all(&long_dir).unwrap();
    fs::write(long_dir.join("f".repeat(120)), b"long").unwrap();
    std::os::unix::fs::symlink("t".repeat(150), p("longlink")).unwrap();
    fs::create_dir_all(p("dev")).unwrap();
    mknod(&p("dev/null"), libc::S_IFCHR, 0o666, 1, 3);
    mknod(&p("dev/sda"), libc::S_IFBLK, 0o660, 8, 0);
    mknod(&p("dev/fifo"), libc::S_IFIFO, 0o620, 0, 0);
    // Overlay upper specifics: a whiteout and an opaque directory.
    mknod(&p("usr/gone"), libc::S_IFCHR, 0, 0, 0);
    fs::create_dir_all(p("opaque")).unwrap();
    fs::write(p("opaque/x"), b"x").unwrap();
    set_xattr(&p("opaque"), "trusted.overlay.opaque", b"y");
    std::os::unix::fs::lchown(p("usr/bin/ping"), Some(1234), Some(5678)).unwrap();
    std::os::unix::fs::lchown(p("usr/bin/sudo"), Some(42), Some(43)).unwrap();
    std::os::unix::fs::lchown(p("dev/sda"), Some(0), Some(6)).unwrap();
    // chown drops setuid and capabilities; set them back as an image would have them.
    set_xattr(&p("usr/bin/ping"), "security.capability", &cap);
    // Times last, leaves first, so directory times stick.
    let mut all = Vec::new();
    collect(root, &mut all);
    all.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    for (i, path) in all.iter().enumerate() {
        let t = libc::timespec {
            tv_sec: 1_600_000_000 + i as i64 * 1000,
            tv_nsec: 0,
        };
        let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: valid path and two timespecs.
        let r = unsafe {
            libc::utimensat(
                libc::AT_FDCWD,
                c.as_ptr(),
                [t, t].as_ptr(),
                libc::AT_SYMLINK_NOFOLLOW,
            )
        };
        assert_eq!(r, 0);
    }
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in fs::read_dir(dir).unwrap() {
        let path = e.unwrap().path();
        if fs::symlink_metadata(&path).unwrap().is_dir() {
            collect(&path, out);
        }
        out.push(path);
    }
}

#[test]
fn round_trip_preserves_everything() {
    require_root!();
    let tmp = tempfile::tempdir().unwrap();
    let (src, dst) = (tmp.path().join("src"), tmp.path().join("dst"));
    fs::create_dir(&src).unwrap();
    fs::create_dir(&dst).unwrap();
    build_tree(&src);

    let mut layer = Vec::new();
    let written = write_layer_from_dir(&src, &mut layer).unwrap();
    assert_eq!(written.size, layer.len() as u64);
    let stats = unpack(&layer, &dst).unwrap();
    assert_eq!(stats.diff_id, written.diff_id);
    assert_eq!(stats.compression, Compression::None);

    assert_eq!(snapshot(&src), snapshot(&dst));
    let md = fs::symlink_metadata(dst.join("usr/bin/ping")).unwrap();
    assert_eq!((md.uid(), md.gid()), (1234, 5678));
    assert_eq!(
        fs::metadata(dst.join("usr/bin/su")).unwrap().mode() & 0o7777,
        0o4755
    );
    assert_eq!(
        fs::metadata(dst.join("tmp")).unwrap().mode() & 0o7777,
        0o1777
    );
    assert_eq!(fs::metadata(dst.join("usr/bin/b")).unwrap().nlink(), 3);
    assert!(xattrs(&dst.join("usr/bin/ping"))
        .iter()
        .any(|(k, _)| k == "security.capability"));
    let null = fs::symlink_metadata(dst.join("dev/null")).unwrap();
    assert!(null.file_type().is_char_device());
    assert_eq!(null.rdev(), libc::makedev(1, 3));

    // Writing the unpacked copy again gives the identical bytes: the format is deterministic.
    let mut again = Vec::new();
    let rewritten = write_layer_from_dir(&dst, &mut again).unwrap();
    assert_eq!(rewritten.diff_id, written.diff_id);
    assert!(again == layer);
}

#[test]
fn layer_tar_format_matches_docker() {
    require_root!();
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path();
    fs::create_dir_all(src.join("etc/opaque")).unwrap();
    fs::write(src.join("etc/opaque/f"), b"f").unwrap();
    set_xattr(&src.join("etc/opaque"), "trusted.overlay.opaque", b"y");
    mknod(&src.join("etc/gone"), libc::S_IFCHR, 0, 0, 0);
    let mut layer = Vec::new();
    write_layer_from_dir(src, &mut layer).unwrap();
    let mut archive = tar::Archive::new(&layer[..]);
    let mut names = Vec::new();
    for e in archive.entries().unwrap() {
        let e = e.unwrap();
        let x = e.header().entry_type();
        names.push((String::from_utf8(e.path_bytes().into_owned()).unwrap(), x));
    }
    assert_eq!(
        names,
        [
            ("etc/".to_string(), EntryType::Directory),
            ("etc/.wh.gone".to_string(), EntryType::Regular),
            ("etc/opaque/".to_string(), EntryType::Directory),
            ("etc/opaque/.wh..wh..opq".to_string(), EntryType::Regular),
            ("etc/opaque/f".to_string(), EntryType::Regular),
        ]
    );
    // GNU tar reads it too.
    let file = tmp.path().join("../layer-check.tar");
    fs::write(&file, &layer).unwrap();
    let out = Command::new("tar").arg("tvf").arg(&file).output().unwrap();
    fs::remove_file(&file).unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn full_export_keeps_devices_and_drops_overlay_xattrs() {
    require_root!();
    let tmp = tempfile::tempdir().unwrap();
    let (src, dst) = (tmp.path().join("src"), tmp.path().join("dst"));
    fs::create_dir_all(src.join("d")).unwrap();
    fs::create_dir(&dst).unwrap();
    mknod(&src.join("d/zero"), libc::S_IFCHR, 0o600, 0, 0);
    set_xattr(&src.join("d"), "trusted.overlay.opaque", b"y");
    let mut out = Vec::new();
    write_tar_from_dir(&src, &mut out).unwrap();
    unpack(&out, &dst).unwrap();
    assert!(fs::symlink_metadata(dst.join("d/zero"))
        .unwrap()
        .file_type()
        .is_char_device());
    assert!(xattrs(&dst.join("d")).is_empty());
}

#[test]
fn metadata_from_tar_headers_is_applied() {
    require_root!();
    let a = Arena::new();
    let tar = RawTar::default()
        .add(Spec {
            kind: EntryType::Directory,
            name: b"./",
            mode: 0o711,
            mtime: 1000,
            ..Spec::default()
        })
        .add(Spec {
            kind: EntryType::Directory,
            name: b"dir/",
            mode: 0o1750,
            uid: 3,
            gid: 4,
            mtime: 5000,
            ..Spec::default()
        })
        .add(Spec {
            name: b"dir/suid",
            data: b"x",
            mode: 0o6711,
            uid: 100_000,
            gid: 200_000,
            mtime: 6000,
            xattrs: &[(
                "security.capability",
                &[
                    1, 0, 0, 2, 0, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                ],
            )],
            ..Spec::default()
        })
        .add(Spec {
            kind: EntryType::Block,
            name: b"dir/blk",
            mode: 0o640,
            dev: (7, 1),
            ..Spec::default()
        })
        .add(Spec {
            kind: EntryType::Symlink,
            name: b"dir/link",
            link: b"suid",
            uid: 9,
            gid: 9,
            mtime: 7000,
            ..Spec::default()
        })
        .finish();
    let stats = unpack(&tar, &a.dest).unwrap();
    assert_eq!(stats.entries, 5);
    assert_eq!(stats.file_bytes, 1);
    let md = fs::symlink_metadata(a.dest.join("dir")).unwrap();
    assert_eq!(
        (md.mode() & 0o7777, md.uid(), md.gid(), md.mtime()),
        (0o1750, 3, 4, 5000)
    );
    let md = fs::symlink_metadata(a.dest.join("dir/suid")).unwrap();
    assert_eq!(
        (md.mode() & 0o7777, md.uid(), md.gid(), md.mtime()),
        (0o6711, 100_000, 200_000, 6000)
    );
    assert_eq!(xattrs(&a.dest.join("dir/suid"))[0].0, "security.capability");
    let md = fs::symlink_metadata(a.dest.join("dir/blk")).unwrap();
    assert!(md.file_type().is_block_device());
    assert_eq!(
        (md.rdev(), md.mode() & 0o7777),
        (libc::makedev(7, 1), 0o640)
    );
    let md = fs::symlink_metadata(a.dest.join("dir/link")).unwrap();
    assert_eq!((md.uid(), md.mtime()), (9, 7000));
    let md = fs::symlink_metadata(&a.dest).unwrap();
    assert_eq!((md.mode() & 0o7777, md.mtime()), (0o711, 1000));
}

#[test]
fn gnu_sparse_files_are_written_sparse() {
    require_root!();
    let tmp = tempfile::tempdir().unwrap();
    let sparse = tmp.path().join("sparse");
    let f = fs::File::create(&sparse).unwrap();
    f.set_len(64 << 20).unwrap();
    let mut f = f;
    use std::io::{Seek, SeekFrom};
    f.seek(SeekFrom::Start(1 << 20)).unwrap();
    f.write_all(b"data in the middle").unwrap();
    drop(f);
    let mut b = tar::Builder::new(Vec::new());
    b.sparse(true);
    b.append_path_with_name(&sparse, "sparse").unwrap();
    let tar = b.into_inner().unwrap();
    assert!(
        tar.len() < 1 << 20,
        "the tar crate should have written a GNU sparse entry"
    );
    let dst = tmp.path().join("dst");
    fs::create_dir(&dst).unwrap();
    unpack(&tar, &dst).unwrap();
    let md = fs::metadata(dst.join("sparse")).unwrap();
    assert_eq!(md.len(), 64 << 20);
    assert!(
        md.blocks() * 512 < 1 << 20,
        "allocated {} blocks",
        md.blocks()
    );
    assert_eq!(
        fs::read(dst.join("sparse")).unwrap(),
        fs::read(&sparse).unwrap()
    );
}

// ---- digests and compression ----

fn sha256sum(path: &Path) -> String {
    let out = Command::new("sha256sum").arg(path).output().unwrap();
    let s = String::from_utf8(out.stdout).unwrap();
    format!("sha256:{}", s.split_whitespace().next().unwrap())
}

#[test]
fn digests_match_sha256sum_for_every_compression() {
    require_root!();
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    fs::create_dir(&src).unwrap();
    build_tree(&src);
    let tar_path = tmp.path().join("layer.tar");
    let mut plain = Vec::new();
    write_layer_from_dir(&src, &mut plain).unwrap();
    // Record padding after the end-of-archive blocks, as GNU tar writes, is part of the diffID.
    plain.extend(std::iter::repeat_n(0u8, 10240 - plain.len() % 10240));
    fs::write(&tar_path, &plain).unwrap();
    let diff_id = sha256sum(&tar_path);

    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&plain).unwrap();
    let zst = zstd::encode_all(&plain[..], 3).unwrap();
    for (blob, want) in [
        (plain.clone(), Compression::None),
        (gz.finish().unwrap(), Compression::Gzip),
        (zst, Compression::Zstd),
    ] {
        let blob_path = tmp.path().join("blob");
        fs::write(&blob_path, &blob).unwrap();
        let dst = tmp.path().join(format!("dst-{want:?}"));
        fs::create_dir(&dst).unwrap();
        let stats = unpack(&blob, &dst).unwrap();
        assert_eq!(stats.compression, want);
        assert_eq!(stats.diff_id.as_str(), diff_id, "{want:?}");
        assert_eq!(stats.uncompressed_size, plain.len() as u64);
        assert_eq!(stats.compressed_digest.as_str(), sha256sum(&blob_path));
        assert_eq!(stats.compressed_size, blob.len() as u64);
        assert_eq!(snapshot(&src), snapshot(&dst));
    }
}

// ---- corrupt and truncated input ----

fn sample_tar() -> Vec<u8> {
    RawTar::default()
        .dir("etc/")
        .file("etc/passwd", &[b'x'; 3000])
        .file("etc/group", b"g")
        .finish()
}

fn corrupt_message(r: berth_image::Result<berth_image::UnpackStats>) -> String {
    match r {
        Err(e @ Error::Corrupt { .. }) => e.to_string(),
        other => panic!("expected Corrupt, got {other:?}"),
    }
}

#[test]
fn corrupt_header_is_reported_with_the_previous_entry() {
    require_root!();
    let a = Arena::new();
    let mut tar = sample_tar();
    // The third header (etc/group) starts after dir (512) + passwd (512 + 3072).
    tar[512 + 512 + 3072 + 10] ^= 0xff;
    let msg = corrupt_message(unpack(&tar, &a.dest));
    assert!(
        msg.contains("after entry \"etc/passwd\"") && msg.contains("checksum"),
        "{msg}"
    );
}

#[test]
fn truncated_data_is_reported_in_its_entry() {
    require_root!();
    let a = Arena::new();
    let tar = sample_tar();
    let msg = corrupt_message(unpack(&tar[..512 + 512 + 1000], &a.dest));
    assert!(
        msg.contains("in entry \"etc/passwd\"") && msg.contains("2000 bytes of entry data missing"),
        "{msg}"
    );
}

#[test]
fn missing_end_of_archive_is_truncation() {
    require_root!();
    let a = Arena::new();
    let tar = sample_tar();
    let msg = corrupt_message(unpack(&tar[..tar.len() - 1024], &a.dest));
    assert!(msg.contains("end-of-archive"), "{msg}");
    let msg = corrupt_message(unpack(b"", &a.dest));
    assert!(msg.contains("before its first entry"), "{msg}");
    // A lone zero block is accepted as the end, as GNU tar and Go do.
    unpack(&tar[..tar.len() - 512], &a.dest).unwrap();
}

#[test]
fn truncated_and_damaged_compression_is_reported() {
    require_root!();
    let a = Arena::new();
    let tar = sample_tar();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&tar).unwrap();
    let gz = gz.finish().unwrap();
    corrupt_message(unpack(&gz[..gz.len() / 2], &a.dest));
    let mut bad = gz.clone();
    let mid = bad.len() / 2;
    bad[mid] ^= 0x55;
    assert!(unpack(&bad, &a.dest).is_err());
    let zst = zstd::encode_all(&tar[..], 3).unwrap();
    corrupt_message(unpack(&zst[..zst.len() - 8], &a.dest));
}

#[test]
fn unsupported_compression_and_failing_source_end_the_unpack() {
    require_root!();
    let a = Arena::new();
    // xz: refused by the decoding thread; the applying thread must not wait for it forever.
    let xz = [0xfd, b'7', b'z', b'X', b'Z', 0, 1, 2, 3];
    let err = unpack(&xz, &a.dest).unwrap_err();
    assert!(err.to_string().contains("xz"), "{err}");

    // A source failing mid-stream (a broken download): its error reaches the entry it cut.
    struct Failing<'a>(&'a [u8]);
    impl std::io::Read for Failing<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            if self.0.is_empty() {
                return Err(std::io::Error::other("connection reset"));
            }
            let n = buf.len().min(self.0.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }
    let tar = sample_tar();
    let err = berth_image::unpack_layer(Failing(&tar[..1200]), &a.dest, &UnpackOptions::default())
        .unwrap_err();
    let msg = format!("{err}: {:?}", std::error::Error::source(&err));
    assert!(msg.contains("connection reset"), "{msg}");
}

// ---- docker diff ----

#[test]
fn changes_report_added_modified_deleted() {
    require_root!();
    let tmp = tempfile::tempdir().unwrap();
    let p = |s: &str| tmp.path().join(s);
    for d in [
        "l1/etc",
        "l1/var/cache",
        "l2/etc",
        "upper/etc",
        "upper/var/cache",
    ] {
        fs::create_dir_all(p(d)).unwrap();
    }
    fs::write(p("l1/etc/passwd"), b"old").unwrap();
    fs::write(p("l1/etc/old"), b"").unwrap();
    fs::write(p("l1/etc/hidden"), b"").unwrap();
    fs::write(p("l1/var/cache/x"), b"").unwrap();
    fs::write(p("l1/var/cache/y"), b"").unwrap();
    // The upper lower layer (l2) already deleted etc/hidden.
    mknod(&p("l2/etc/hidden"), libc::S_IFCHR, 0, 0, 0);
    fs::write(p("upper/etc/passwd"), b"new").unwrap();
    fs::write(p("upper/etc/new"), b"").unwrap();
    fs::write(p("upper/etc/hidden"), b"").unwrap();
    mknod(&p("upper/etc/old"), libc::S_IFCHR, 0, 0, 0);
    set_xattr(&p("upper/var/cache"), "trusted.overlay.opaque", b"y");
    fs::write(p("upper/var/cache/z"), b"").unwrap();
    fs::write(p("upper/var/cache/y"), b"").unwrap();

    let got = changes(&p("upper"), &[p("l2"), p("l1")]).unwrap();
    let c = |path: &str, kind| Change {
        path: PathBuf::from(path),
        kind,
    };
    use ChangeKind::*;
    assert_eq!(
        got,
        [
            c("/etc", Modified),
            c("/etc/hidden", Added),
            c("/etc/new", Added),
            c("/etc/old", Deleted),
            c("/etc/passwd", Modified),
            c("/var", Modified),
            c("/var/cache", Modified),
            c("/var/cache/x", Deleted),
            c("/var/cache/y", Modified),
            c("/var/cache/z", Added),
        ]
    );
}

/// A commit leaves out the mount targets a runtime made (dockerd's init layer), and a
/// directory that holds nothing else, but keeps real changes next to them.
#[test]
fn layer_without_left_out_paths() {
    let dir = tempfile::tempdir().unwrap();
    let upper = dir.path();
    fs::create_dir_all(upper.join("etc")).unwrap();
    fs::write(upper.join("etc/hosts"), "").unwrap();
    fs::write(upper.join("etc/hostname"), "").unwrap();
    fs::create_dir_all(upper.join("proc/sub")).unwrap();
    fs::write(upper.join("made"), "x").unwrap();
    let names = |upper: &Path| {
        let mut out = Vec::new();
        let left_out = [
            Path::new("etc/hosts"),
            Path::new("etc/hostname"),
            Path::new("proc"),
        ];
        berth_image::write_layer_from_dir_without(upper, &mut out, &left_out).unwrap();
        let mut names: Vec<String> = tar::Archive::new(&out[..])
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().display().to_string())
            .collect();
        names.sort();
        names
    };
    assert_eq!(names(upper), ["made"]);
    fs::write(upper.join("etc/passwd"), "root:x:0:0::/:/bin/sh\n").unwrap();
    assert_eq!(names(upper), ["etc/", "etc/passwd", "made"]);
}
