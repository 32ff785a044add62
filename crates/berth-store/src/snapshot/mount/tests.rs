use super::*;
use std::fs;

#[test]
fn common_parent_of_links_and_upper_is_the_root() {
    let paths = [
        Path::new("/var/lib/berth/overlay/l/AAAA"),
        Path::new("/var/lib/berth/overlay/l/BBBB"),
        Path::new("/var/lib/berth/overlay/snapshots/3/fs"),
        Path::new("/var/lib/berth/overlay/snapshots/3/work"),
    ];
    assert_eq!(common_parent(&paths), Path::new("/var/lib/berth/overlay"));
    assert_eq!(common_parent(&[Path::new("/a/b")]), Path::new("/a"));
}

#[test]
fn parse_splits_layers_and_refuses_half_upper() {
    let m = Mount::overlay(vec![
        "lowerdir=/a:/b".into(),
        "upperdir=/u".into(),
        "workdir=/w".into(),
        "index=off".into(),
        "ro".into(),
    ]);
    let o = OverlayOptions::parse(&m, Path::new("/t")).unwrap();
    assert_eq!(o.lowers, [PathBuf::from("/a"), PathBuf::from("/b")]);
    assert!(o.read_only);
    assert_eq!(o.other, [("index".to_string(), Some("off".to_string()))]);
    let half = Mount::overlay(vec!["lowerdir=/a".into(), "upperdir=/u".into()]);
    assert!(matches!(
        OverlayOptions::parse(&half, Path::new("/t")),
        Err(Error::InvalidMount { .. })
    ));
    assert!(OverlayOptions::parse(&Mount::overlay(vec![]), Path::new("/t")).is_err());
}

/// The fallback is only taken on kernels before 6.8, so exercise it directly (needs root).
#[test]
fn legacy_mount_with_relative_lowers() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let mut lowers = Vec::new();
    for i in 0..3 {
        let l = root.join(format!("layers/{i}"));
        fs::create_dir_all(&l).unwrap();
        fs::write(l.join("f"), format!("{i}")).unwrap();
        lowers.push(l);
    }
    let (upper, work, target) = (root.join("u"), root.join("w"), root.join("mnt"));
    for d in [&upper, &work, &target] {
        fs::create_dir(d).unwrap();
    }
    let cwd = std::env::current_dir().unwrap();
    let o = OverlayOptions {
        lowers,
        upper: Some(upper.clone()),
        work: Some(work),
        read_only: false,
        other: Vec::new(),
    };
    mount_overlay_legacy(&o, &target).unwrap();
    // The chdir happened on the helper thread only.
    assert_eq!(std::env::current_dir().unwrap(), cwd);
    assert_eq!(fs::read_to_string(target.join("f")).unwrap(), "0");
    fs::write(target.join("new"), "x").unwrap();
    unmount(&target).unwrap();
    assert!(upper.join("new").exists());
}

#[test]
fn set_volatile_only_touches_writable_overlays() {
    let mut rw = Mount::overlay(vec![
        "lowerdir=/a".into(),
        "upperdir=/u".into(),
        "workdir=/w".into(),
    ]);
    rw.set_volatile();
    rw.set_volatile();
    assert_eq!(rw.options.iter().filter(|o| *o == "volatile").count(), 1);
    assert!(OverlayOptions::parse(&rw, Path::new("/t"))
        .unwrap()
        .is_volatile());
    let mut ro = Mount::overlay(vec!["lowerdir=/u:/a".into()]);
    ro.set_volatile();
    assert_eq!(ro.options, ["lowerdir=/u:/a"]);
    let mut bind = Mount::bind(Path::new("/u"), false);
    bind.set_volatile();
    assert!(!bind.options.iter().any(|o| o == "volatile"));
}

/// overlayfs refuses to mount a layer again after a volatile mount until its marker is gone;
/// the volatile mount path removes it, so a `--rm` container can be started twice.
#[test]
fn volatile_layer_mounts_again() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let (_dir, [lower, upper, work, target]) = overlay_dirs();
    let mut m = overlay(&lower, &upper, &work);
    m.set_volatile();
    for run in 0..2 {
        mount(std::slice::from_ref(&m), &target).unwrap();
        fs::write(target.join(format!("f{run}")), "x").unwrap();
        unmount(&target).unwrap();
    }
    assert!(upper.join("f0").exists() && upper.join("f1").exists());
}

/// Container root mapped to host 100000: the image's files (host root's on disk) show as the
/// mapped root through the id-mapped layer, the upper layer's root is chowned to it, the layer
/// on disk is unchanged; a bind mount is refused.
#[test]
fn idmapped_layers_show_the_mapped_owner() {
    use std::os::unix::fs::MetadataExt;
    if !nix::unistd::geteuid().is_root() || !berth_sys::newmount::mount_setattr_supported() {
        eprintln!("skipped: needs root and mount_setattr");
        return;
    }
    // A user namespace holder: a separate process (the test process has threads).
    let mut holder = std::process::Command::new("unshare")
        .args(["--user", "sleep", "30"])
        .spawn()
        .unwrap();
    let pid = holder.id();
    let ns_path = format!("/proc/{pid}/ns/user");
    // Wait for the child to be in its own namespace before writing its maps.
    let own = fs::read_link("/proc/self/ns/user").unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while fs::read_link(&ns_path).is_ok_and(|l| l == own) && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    for file in ["uid_map", "gid_map"] {
        fs::write(format!("/proc/{pid}/{file}"), "0 100000 65536").unwrap();
    }
    let userns = fs::File::open(&ns_path).unwrap();

    let (_dir, [lower, upper, work, target]) = overlay_dirs();
    fs::write(lower.join("f"), "x").unwrap();
    let m = overlay(&lower, &upper, &work);
    let layers = IdmappedLayers {
        userns: userns.as_fd(),
        root_uid: 100_000,
        root_gid: 100_000,
    };
    let mounted = mount_idmapped(std::slice::from_ref(&m), &target, &layers);
    let _ = holder.kill();
    let _ = holder.wait();
    if let Err(e) = mounted {
        // Before 5.19 overlayfs refuses id-mapped layers: the error must name the mount.
        assert!(e.to_string().contains("overlay"), "{e}");
        return;
    }
    let seen = fs::metadata(target.join("f")).unwrap();
    assert_eq!((seen.uid(), seen.gid()), (100_000, 100_000));
    assert_eq!(fs::metadata(&upper).unwrap().uid(), 100_000);
    assert_eq!(fs::metadata(lower.join("f")).unwrap().uid(), 0);
    unmount(&target).unwrap();

    let bind = Mount::bind(&lower, true);
    let err = mount_idmapped(&[bind], &target, &layers).unwrap_err();
    assert!(matches!(err, Error::InvalidMount { .. }), "{err}");
}

/// A temporary directory with empty `l`, `u`, `w` and `mnt`: lower, upper, work and target.
fn overlay_dirs() -> (tempfile::TempDir, [PathBuf; 4]) {
    let dir = tempfile::tempdir().unwrap();
    let paths = ["l", "u", "w", "mnt"].map(|d| dir.path().join(d));
    for d in &paths {
        fs::create_dir(d).unwrap();
    }
    (dir, paths)
}

fn overlay(lower: &Path, upper: &Path, work: &Path) -> Mount {
    Mount::overlay(vec![
        format!("lowerdir={}", lower.display()),
        format!("upperdir={}", upper.display()),
        format!("workdir={}", work.display()),
    ])
}
