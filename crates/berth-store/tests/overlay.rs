//! Mounts real overlays of snapshot chains. Needs root (skipped otherwise). The 120-layer chain's
//! lowerdir option alone is far over mount(2)'s one-page limit: Linux 6.8+ takes it through
//! `fsconfig(lowerdir+)`, older kernels through mount(2) with paths relative to the layers' parent.
#![allow(clippy::unwrap_used)]

use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use berth_store::snapshot::{mount, unmount, Mount, Snapshotter};
use berth_store::Error;
use nix::sys::stat::{makedev, mknod, Mode, SFlag};

const LAYERS: usize = 120;
const EROFS: i32 = nix::errno::Errno::EROFS as i32;

fn is_root() -> bool {
    if nix::unistd::geteuid().is_root() {
        return true;
    }
    eprintln!("skipped: mounting needs root");
    false
}

/// Unmounts on drop, so a failed assertion does not leave a mount behind.
struct Mounted(PathBuf);

impl Mounted {
    fn new(mounts: &[Mount], target: &Path) -> Self {
        fs::create_dir_all(target).unwrap();
        mount(mounts, target).unwrap();
        Self(target.to_path_buf())
    }
}

impl Drop for Mounted {
    fn drop(&mut self) {
        if let Err(e) = unmount(&self.0) {
            eprintln!("{e}");
        }
    }
}

fn option<'m>(m: &'m Mount, name: &str) -> Option<&'m str> {
    m.options
        .iter()
        .find_map(|o| o.strip_prefix(name)?.strip_prefix('='))
}

/// The directory a freshly prepared snapshot's files go to (what an unpacker writes).
fn upper(mounts: &[Mount]) -> PathBuf {
    match mounts[0].fs_type.as_str() {
        "bind" => PathBuf::from(&mounts[0].source),
        _ => PathBuf::from(option(&mounts[0], "upperdir").unwrap()),
    }
}

fn layer(i: usize) -> String {
    format!("layer-{i}")
}

/// Builds a chain of `LAYERS` committed layers:
/// - layer 0 holds `shadow`, `gone`, `base-only` and `layer-0`;
/// - layer i holds `layer-i`; layer 60 whiteouts `layer-10` the way an unpacker writes it (a 0/0
///   character device);
/// - the top layer is written through a mounted overlay: it overwrites `shadow` and deletes
///   `gone`, so the kernel itself creates the whiteout.
fn build_chain(s: &Snapshotter, work: &Path) {
    for i in 0..LAYERS - 1 {
        let parent = (i > 0).then(|| layer(i - 1));
        let key = format!("extract-{i}");
        let dir = upper(&s.prepare(&key, parent.as_deref()).unwrap());
        fs::write(dir.join(layer(i)), format!("{i}")).unwrap();
        if i == 0 {
            fs::write(dir.join("shadow"), "layer 0").unwrap();
            fs::write(dir.join("gone"), "doomed").unwrap();
            fs::write(dir.join("base-only"), "base").unwrap();
        }
        if i == 60 {
            let dev = makedev(0, 0);
            mknod(&dir.join(layer(10)), SFlag::S_IFCHR, Mode::empty(), dev).unwrap();
        }
        s.commit(&layer(i), &key).unwrap();
    }
    let top = LAYERS - 1;
    let mounts = s.prepare("extract-top", Some(&layer(top - 1))).unwrap();
    {
        let target = work.join("unpack");
        let _m = Mounted::new(&mounts, &target);
        assert_eq!(
            fs::read_to_string(target.join("shadow")).unwrap(),
            "layer 0"
        );
        fs::write(target.join("shadow"), format!("layer {top}")).unwrap();
        fs::remove_file(target.join("gone")).unwrap();
        fs::write(target.join(layer(top)), format!("{top}")).unwrap();
    }
    let whiteout = fs::symlink_metadata(upper(&mounts).join("gone")).unwrap();
    assert!(whiteout.file_type().is_char_device() && whiteout.rdev() == 0);
    s.commit(&layer(top), "extract-top").unwrap();
}

#[test]
fn chain_of_120_layers_mounts_with_shadowing_whiteouts_and_copy_on_write() {
    if !is_root() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let s = Snapshotter::open(dir.path().join("overlay")).unwrap();
    build_chain(&s, dir.path());
    let top = layer(LAYERS - 1);

    let mounts = s.prepare("container", Some(&top)).unwrap();
    let lowerdir = option(&mounts[0], "lowerdir").unwrap();
    assert_eq!(lowerdir.split(':').count(), LAYERS);
    assert!(
        lowerdir.len() > 4096,
        "the chain should not fit in one page ({} bytes)",
        lowerdir.len()
    );
    let rootfs = dir.path().join("rootfs");
    {
        let _m = Mounted::new(&mounts, &rootfs);
        let read = |name: &str| fs::read_to_string(rootfs.join(name));
        assert_eq!(read("shadow").unwrap(), format!("layer {}", LAYERS - 1));
        assert_eq!(read("base-only").unwrap(), "base");
        for i in [0, 1, 59, 61, 118, 119] {
            assert_eq!(read(&layer(i)).unwrap(), i.to_string(), "layer {i}");
        }
        assert!(!rootfs.join("gone").exists(), "kernel whiteout ignored");
        assert!(
            !rootfs.join(layer(10)).exists(),
            "unpacker whiteout ignored"
        );

        // Copy-on-write: the container's writes land in its upper only.
        fs::write(rootfs.join("shadow"), "container").unwrap();
        fs::write(rootfs.join("base-only"), "changed").unwrap();
        fs::write(rootfs.join("new"), "new").unwrap();
        assert_eq!(read("base-only").unwrap(), "changed");
    }
    let container_upper = upper(&mounts);
    assert_eq!(
        fs::read_to_string(container_upper.join("base-only")).unwrap(),
        "changed"
    );
    assert!(container_upper.join("new").exists());
    // Layer 0, seen alone through a single-layer view (a read-only bind mount), is unchanged.
    let base_view = s.view("base-view", Some(&layer(0))).unwrap();
    assert_eq!(base_view[0].fs_type, "bind");
    let base = dir.path().join("base");
    {
        let _m = Mounted::new(&base_view, &base);
        assert_eq!(fs::read_to_string(base.join("base-only")).unwrap(), "base");
        assert_eq!(fs::read_to_string(base.join("shadow")).unwrap(), "layer 0");
        assert!(base.join("gone").exists());
        assert!(!base.join("new").exists());
        let err = fs::write(base.join("x"), "x").unwrap_err();
        assert_eq!(err.raw_os_error(), Some(EROFS));
    }

    // A read-only view of the whole chain.
    let view = s.view("view", Some(&top)).unwrap();
    assert_eq!(view[0].fs_type, "overlay");
    let v = dir.path().join("view");
    {
        let _m = Mounted::new(&view, &v);
        assert_eq!(
            fs::read_to_string(v.join("shadow")).unwrap(),
            format!("layer {}", LAYERS - 1)
        );
        assert!(
            !v.join("new").exists(),
            "container write leaked into the view"
        );
        let err = fs::write(v.join("x"), "x").unwrap_err();
        assert_eq!(err.raw_os_error(), Some(EROFS));
    }

    // Layers in use cannot be removed; leaves can, then their parents.
    assert!(matches!(
        s.remove(&layer(0)),
        Err(Error::SnapshotHasChildren { .. })
    ));
    assert!(matches!(
        s.remove(&top),
        Err(Error::SnapshotHasChildren { children: 2, .. })
    ));
    s.remove("container").unwrap();
    s.remove("view").unwrap();
    s.remove(&top).unwrap();
    let usage = s.usage(&layer(0)).unwrap();
    assert_eq!(usage.inodes, 5, "{usage:?}"); // fs/ and its four files
}

#[test]
fn empty_active_snapshot_is_a_writable_bind_mount() {
    if !is_root() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let s = Snapshotter::open(dir.path().join("overlay")).unwrap();
    let mounts = s.prepare("scratch", None).unwrap();
    let target = dir.path().join("t");
    {
        let _m = Mounted::new(&mounts, &target);
        fs::write(target.join("f"), "x").unwrap();
    }
    assert_eq!(fs::read_to_string(upper(&mounts).join("f")).unwrap(), "x");
}

#[test]
fn unknown_mount_type_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let m = Mount {
        fs_type: "nfs".to_string(),
        source: "x".to_string(),
        options: Vec::new(),
    };
    let err = mount(&[m], dir.path()).unwrap_err();
    assert!(matches!(err, Error::InvalidMount { .. }), "{err}");
}
