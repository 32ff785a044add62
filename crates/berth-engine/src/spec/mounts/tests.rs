use super::*;

fn host(src: &str, dst: &str, ro: bool, prop: &'static str) -> MountRequest {
    MountRequest::Bind(HostBind {
        source: src.into(),
        destination: dst.into(),
        read_only: ro,
        propagation: prop,
        recursive: true,
        recursive_read_only: false,
        create_missing: true,
        idmap: None,
        mode: String::new(),
    })
}

fn volume(name: Option<&str>, dst: &str, ro: bool, nocopy: bool) -> MountRequest {
    MountRequest::Volume(VolumeRequest {
        name: name.map(str::to_string),
        destination: dst.into(),
        read_only: ro,
        nocopy,
        ..Default::default()
    })
}

/// The parsed request without its `Mode` text (checked apart).
fn without_mode(mut r: MountRequest) -> MountRequest {
    match &mut r {
        MountRequest::Bind(b) => b.mode.clear(),
        MountRequest::Volume(v) => v.mode.clear(),
        MountRequest::Tmpfs { .. } => {}
    }
    r
}

#[test]
fn bind_syntax() {
    let ok = [
        ("/srv:/data", host("/srv", "/data", false, "rprivate")),
        ("/srv:/data:ro", host("/srv", "/data", true, "rprivate")),
        ("/srv:/data:rw,Z", host("/srv", "/data", false, "rprivate")),
        (
            "/srv/../srv/:/data/./x:ro,rshared",
            host("/srv", "/data/x", true, "rshared"),
        ),
        ("/srv:/data:slave", host("/srv", "/data", false, "slave")),
        ("myvol:/data", volume(Some("myvol"), "/data", false, false)),
        (
            "myvol:/data:ro,nocopy",
            volume(Some("myvol"), "/data", true, true),
        ),
        ("/data", volume(None, "/data", false, false)),
    ];
    for (spec, want) in ok {
        assert_eq!(without_mode(parse_bind(spec).unwrap()), want, "{spec}");
    }
    let bad = [
        "/srv:data",     // relative destination
        "/srv:/",        // root destination
        "/srv:/d:ro,rw", // two rw modes
        "/srv:/d:bogus", // unknown mode
        "/srv:/d:nocopy",
        "./rel:/d",
        "a:/b:c:d",
        "/data:ro", // mode without destination
        "vol:/d:rshared",
        "",
    ];
    for spec in bad {
        let err = parse_bind(spec).unwrap_err();
        assert!(
            matches!(
                err,
                SpecError::InvalidBind { .. } | SpecError::RelativePath { .. }
            ),
            "{spec}: {err}"
        );
    }
}

#[test]
fn tmpfs_options_merge_like_docker() {
    let opts = |data: &str| {
        tmpfs_mount(Path::new("/run"), data)
            .unwrap()
            .options()
            .clone()
            .unwrap()
    };
    assert_eq!(opts(""), ["noexec", "nosuid", "nodev", "rprivate"]);
    assert_eq!(
        opts("exec,size=64m"),
        ["nosuid", "nodev", "rprivate", "exec", "size=64m"]
    );
    assert_eq!(
        opts("size=1m,mode=1777,size=2m"),
        [
            "noexec",
            "nosuid",
            "nodev",
            "rprivate",
            "mode=1777",
            "size=2m"
        ]
    );
    assert!(matches!(
        tmpfs_mount(Path::new("/run"), "bogus=1"),
        Err(SpecError::InvalidTmpfsOption { .. })
    ));
}

#[test]
fn duplicate_mount_points_are_refused() {
    let binds = vec!["/a:/data".to_string(), "vol:/data".to_string()];
    assert!(matches!(
        user_mounts(&binds, &[], &BTreeMap::new(), []),
        Err(SpecError::DuplicateMountPoint(_))
    ));
    let tmpfs = [("/data".to_string(), String::new())].into();
    assert!(matches!(
        user_mounts(&binds[..1], &[], &tmpfs, []),
        Err(SpecError::DuplicateMountPoint(_))
    ));
}

#[test]
fn image_volumes_become_anonymous_unless_covered() {
    let binds = vec!["/host:/data".to_string()];
    let m = user_mounts(
        &binds,
        &[],
        &BTreeMap::new(),
        ["/data".to_string(), "/cache".to_string()],
    )
    .unwrap();
    assert_eq!(m.mounts.len(), 1);
    assert_eq!(
        m.volumes,
        [VolumeRequest {
            destination: "/cache".into(),
            ..Default::default()
        }]
    );
}

#[test]
fn bind_modes_are_kept_for_inspect() {
    let MountRequest::Volume(v) = parse_bind("data:/d").unwrap() else {
        panic!()
    };
    assert_eq!(v.mode, "z");
    let MountRequest::Bind(b) = parse_bind("/h:/d:ro,rslave").unwrap() else {
        panic!()
    };
    assert_eq!(b.mode, "ro,rslave");
}

fn spec(kind: &str, source: &str, target: &str) -> MountSpec {
    MountSpec {
        kind: kind.into(),
        source: source.into(),
        target: target.into(),
        ..Default::default()
    }
}

#[test]
fn mount_flag_is_validated_like_moby() {
    use super::super::options::{BindOptions, TmpfsOptions, VolumeOptions};
    let mut bind = spec("bind", "/srv/", "/data");
    bind.read_only = true;
    bind.bind_options = Some(BindOptions {
        propagation: "rshared".into(),
        non_recursive: true,
        create_mountpoint: false,
    });
    assert_eq!(
        parse_mount(&bind).unwrap(),
        MountRequest::Bind(HostBind {
            source: "/srv".into(),
            destination: "/data".into(),
            read_only: true,
            propagation: "rshared",
            recursive: false,
            recursive_read_only: false,
            create_missing: false,
            idmap: None,
            mode: String::new(),
        })
    );
    let mut vol = spec("volume", "", "/cache");
    vol.volume_options = Some(VolumeOptions {
        no_copy: true,
        ..Default::default()
    });
    assert_eq!(
        parse_mount(&vol).unwrap(),
        volume(None, "/cache", false, true)
    );
    let mut tmp = spec("tmpfs", "", "/t");
    tmp.tmpfs_options = Some(TmpfsOptions {
        size_bytes: 1 << 20,
        mode: 0o700,
    });
    assert_eq!(
        parse_mount(&tmp).unwrap(),
        MountRequest::Tmpfs {
            destination: "/t".into(),
            options: "size=1048576,mode=700".into()
        }
    );

    let mut vol_with_bind_opts = spec("volume", "v1", "/d");
    vol_with_bind_opts.bind_options = Some(BindOptions::default());
    let bad = [
        (spec("bind", "", "/d"), "field Source must not be empty"),
        (
            spec("bind", "rel", "/d"),
            "invalid mount path: must be absolute",
        ),
        (spec("bind", "/s", ""), "field Target must not be empty"),
        (
            spec("tmpfs", "/s", "/d"),
            "field Source must not be specified",
        ),
        (spec("volume", "a/b", "/d"), "invalid volume name"),
        (spec("volume", "..", "/d"), "invalid volume name"),
        (spec("npipe", "", "/d"), "mount type unknown"),
        (
            vol_with_bind_opts,
            "field BindOptions must not be specified",
        ),
    ];
    for (m, want) in bad {
        let e = parse_mount(&m).unwrap_err().to_string();
        assert!(e.contains(want), "{m:?}: {e}");
    }
}

#[test]
fn mount_points_list_binds_and_mount_tmpfs_but_not_tmpfs_flag() {
    let binds = vec!["/h:/b:ro".to_string(), "vol:/v".to_string()];
    let mounts = vec![spec("tmpfs", "", "/mt"), spec("bind", "/x", "/mb")];
    let tmpfs = [("/t".to_string(), String::new())].into();
    let m = user_mounts(&binds, &mounts, &tmpfs, []).unwrap();
    let points: Vec<(&str, &str, bool)> = m
        .points
        .iter()
        .map(|p| (p.kind.as_str(), p.destination.to_str().unwrap(), p.rw))
        .collect();
    assert_eq!(
        points,
        [
            ("bind", "/b", false),
            ("tmpfs", "/mt", true),
            ("bind", "/mb", true)
        ]
    );
    assert_eq!(
        m.bind_sources,
        [(PathBuf::from("/h"), true), (PathBuf::from("/x"), false)]
    );
    assert_eq!(m.volumes.len(), 1);
    // A --mount at a -v destination is a duplicate too.
    let clash = vec![spec("volume", "other", "/b")];
    assert!(matches!(
        user_mounts(&binds, &clash, &BTreeMap::new(), []),
        Err(SpecError::DuplicateMountPoint(_))
    ));
}
