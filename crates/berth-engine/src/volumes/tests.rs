use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};

use nix::mount::MsFlags;

use super::local::{copy_up, needs_mount, parse_o, validate_options, Holders};
use super::*;

fn opts(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn first_holder_mounts_and_last_one_unmounts() {
    let mut h = Holders::default();
    assert!(h.hold("c1", "data"));
    // A second mount point of the same volume in the same container counts once.
    assert!(!h.hold("c1", "data"));
    assert!(!h.hold("c2", "data"));
    assert!(h.hold("c2", "cache"));
    assert_eq!(h.release("c1"), [("data".to_string(), false)]);
    assert!(h.is_held("data"));
    let mut released = h.release("c2");
    released.sort();
    assert_eq!(
        released,
        [("cache".to_string(), true), ("data".to_string(), true)]
    );
    assert!(!h.is_held("data"));
    // Releasing again (exit, then rm) changes nothing.
    assert!(h.release("c2").is_empty());
    assert!(h.hold("c3", "data"));
}

#[test]
fn local_driver_options() {
    validate_options("v", &opts(&[])).unwrap();
    validate_options(
        "v",
        &opts(&[("type", "tmpfs"), ("device", "tmpfs"), ("o", "size=10m")]),
    )
    .unwrap();
    validate_options(
        "v",
        &opts(&[("type", "none"), ("device", "/srv"), ("o", "bind")]),
    )
    .unwrap();
    let bad = [
        (opts(&[("bogus", "1")]), "invalid option: \"bogus\""),
        (
            opts(&[("type", "tmpfs")]),
            "missing required option: \"device\"",
        ),
        (
            opts(&[("device", "/dev/sdb")]),
            "missing required option: \"type\"",
        ),
        (opts(&[("o", "size=1m")]), "needs \"type\""),
    ];
    for (o, want) in bad {
        let e = validate_options("v", &o).unwrap_err();
        assert!(e.to_string().contains(want), "{o:?}: {e}");
        assert_eq!(e.kind(), berth_types::ErrorKind::InvalidArgument);
    }
    assert!(needs_mount(&opts(&[
        ("type", "tmpfs"),
        ("device", "tmpfs")
    ])));
    assert!(!needs_mount(&opts(&[])));
}

#[test]
fn mount_options_split_into_flags_and_data() {
    let (flags, data) = parse_o("size=10m,ro,uid=1000,noexec,rw");
    assert_eq!(flags, MsFlags::MS_NOEXEC);
    assert_eq!(data, "size=10m,uid=1000");
    let (flags, data) = parse_o("bind");
    assert_eq!(flags, MsFlags::MS_BIND);
    assert!(data.is_empty());
}

#[test]
fn names_and_drivers() {
    for good in ["data", "a1", "my_vol.2-x", &"f".repeat(64)] {
        check_name(good).unwrap();
    }
    for bad in ["a/b", "..", ".hidden", "a", "", "-x", "with space"] {
        let e = check_name(bad).unwrap_err();
        assert_eq!(e.kind(), berth_types::ErrorKind::InvalidArgument, "{bad}");
    }
    assert_eq!(check_driver("").unwrap(), "local");
    assert_eq!(
        check_driver("nfs-plugin").unwrap_err().kind(),
        berth_types::ErrorKind::NotFound
    );
}

#[test]
fn copy_up_fills_an_empty_volume_once() {
    let root = tempfile::tempdir().unwrap();
    let vol = tempfile::tempdir().unwrap();
    let r = root.path();
    std::fs::create_dir_all(r.join("srv/data/sub")).unwrap();
    std::fs::write(r.join("srv/data/sub/f"), "image bytes").unwrap();
    std::fs::set_permissions(r.join("srv/data"), PermissionsExt::from_mode(0o750)).unwrap();
    symlink("sub/f", r.join("srv/data/link")).unwrap();
    // The image's /data is a symlink resolved inside the image, not on the host.
    symlink("/srv/data", r.join("data")).unwrap();

    copy_up("v", r, Path::new("/data"), vol.path()).unwrap();
    let v = vol.path();
    assert_eq!(
        std::fs::read_to_string(v.join("sub/f")).unwrap(),
        "image bytes"
    );
    assert_eq!(
        std::fs::read_link(v.join("link")).unwrap(),
        Path::new("sub/f")
    );
    assert_eq!(std::fs::metadata(v).unwrap().mode() & 0o7777, 0o750);

    // Not empty any more: a second copy leaves what the volume holds alone.
    std::fs::write(v.join("sub/f"), "changed").unwrap();
    copy_up("v", r, Path::new("/data"), v).unwrap();
    assert_eq!(std::fs::read_to_string(v.join("sub/f")).unwrap(), "changed");

    // Nothing at that path in the image: nothing to copy, no error.
    let empty = tempfile::tempdir().unwrap();
    copy_up("v", r, Path::new("/missing"), empty.path()).unwrap();
    assert!(std::fs::read_dir(empty.path()).unwrap().next().is_none());
}
