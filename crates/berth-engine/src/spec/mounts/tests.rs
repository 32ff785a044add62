use super::*;

fn host(src: &str, dst: &str, ro: bool, prop: &'static str) -> BindSpec {
    BindSpec::HostPath {
        source: src.into(),
        destination: dst.into(),
        read_only: ro,
        propagation: prop,
    }
}

fn volume(name: Option<&str>, dst: &str, ro: bool, nocopy: bool) -> BindSpec {
    BindSpec::Volume(VolumeRequest {
        name: name.map(str::to_string),
        destination: dst.into(),
        read_only: ro,
        nocopy,
    })
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
        assert_eq!(parse_bind(spec).unwrap(), want, "{spec}");
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
        user_mounts(&binds, &BTreeMap::new(), []),
        Err(SpecError::DuplicateMountPoint(_))
    ));
    let tmpfs = [("/data".to_string(), String::new())].into();
    assert!(matches!(
        user_mounts(&binds[..1], &tmpfs, []),
        Err(SpecError::DuplicateMountPoint(_))
    ));
}

#[test]
fn image_volumes_become_anonymous_unless_covered() {
    let binds = vec!["/host:/data".to_string()];
    let m = user_mounts(
        &binds,
        &BTreeMap::new(),
        ["/data".to_string(), "/cache".to_string()],
    )
    .unwrap();
    assert_eq!(m.mounts.len(), 1);
    assert_eq!(
        m.volumes,
        [VolumeRequest {
            name: None,
            destination: "/cache".into(),
            read_only: false,
            nocopy: false,
        }]
    );
}
