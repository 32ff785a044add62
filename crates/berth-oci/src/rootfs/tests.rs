use super::*;
use crate::syscall::recording::RecordingSyscall;
use oci_spec::runtime::MountBuilder;

fn mount(dest: &str, typ: &str, src: &str, opts: &[&str]) -> Mount {
    MountBuilder::default()
        .destination(dest)
        .typ(typ)
        .source(src)
        .options(opts.iter().map(|s| s.to_string()).collect::<Vec<_>>())
        .build()
        .unwrap()
}

fn ctx<'a>(rootfs: &'a Path, mounts: &'a [Mount]) -> RootfsContext<'a> {
    RootfsContext {
        rootfs,
        mounts,
        devices: &[],
        propagation: None,
        readonly: false,
        masked_paths: &[],
        readonly_paths: &[],
        in_user_ns: false,
        new_cgroup_ns: false,
        cgroup: CgroupMountSource::V1(vec![(
            "memory".into(),
            PathBuf::from("/sys/fs/cgroup/memory/c1"),
        )]),
        switch: RootSwitch::Pivot,
    }
}

#[test]
fn secure_join_clamps_symlinks_and_dotdot_inside_root() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir(root.join("etc")).unwrap();
    std::os::unix::fs::symlink("/etc", root.join("abs")).unwrap();
    std::os::unix::fs::symlink("../../../../..", root.join("up")).unwrap();
    assert_eq!(
        secure_join(root, Path::new("/abs/passwd")).unwrap(),
        root.join("etc/passwd")
    );
    assert_eq!(
        secure_join(root, Path::new("/up/etc")).unwrap(),
        root.join("etc")
    );
    assert_eq!(
        secure_join(root, Path::new("../../x")).unwrap(),
        root.join("x")
    );
    std::os::unix::fs::symlink("loop", root.join("loop")).unwrap();
    assert!(secure_join(root, Path::new("/loop")).is_err());
}

#[test]
fn options_split_into_flags_propagation_and_data() {
    let o = parse_options(&[
        "nosuid".into(),
        "ro".into(),
        "rbind".into(),
        "rslave".into(),
        "size=64k".into(),
        "mode=755".into(),
    ])
    .unwrap();
    assert_eq!(o.flags, MsFlags::MS_NOSUID | MsFlags::MS_RDONLY);
    assert_eq!(o.propagation, MsFlags::MS_SLAVE | MsFlags::MS_REC);
    assert_eq!(o.data, vec!["size=64k", "mode=755"]);
    assert!(o.bind && o.recursive);
    let o = parse_options(&["ro".into(), "rw".into()]).unwrap();
    assert!(o.flags.is_empty());
    assert_eq!(
        parse_options(&["idmap".into()]).unwrap().idmap,
        Idmap::Mount
    );
    assert_eq!(
        parse_options(&["ridmap".into()]).unwrap().idmap,
        Idmap::Recursive
    );
}

fn with_maps(mut m: Mount, uid: Option<(u32, u32, u32)>, gid: Option<(u32, u32, u32)>) -> Mount {
    let map = |(c, h, n): (u32, u32, u32)| {
        vec![oci_spec::runtime::LinuxIdMappingBuilder::default()
            .container_id(c)
            .host_id(h)
            .size(n)
            .build()
            .unwrap()]
    };
    m.set_uid_mappings(uid.map(map));
    m.set_gid_mappings(gid.map(map));
    m
}

#[test]
fn idmap_requests_pick_mappings_and_recursion() {
    let mounts = [
        mount("/proc", "proc", "proc", &[]),
        with_maps(
            mount("/a", "bind", "/src/a", &["bind"]),
            Some((1000, 0, 1)),
            Some((1000, 0, 1)),
        ),
        mount("/b", "bind", "/src/b", &["rbind", "idmap"]),
        mount("/c", "none", "/src/c", &["bind", "ridmap"]),
    ];
    let reqs = idmap_requests(&mounts, true).unwrap();
    let summary: Vec<_> = reqs
        .iter()
        .map(|r| {
            (
                r.index,
                r.source.display().to_string(),
                r.recursive_tree,
                r.recursive_idmap,
                matches!(r.maps, IdmapSource::ContainerUserns),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (1, "/src/a".to_string(), false, false, false),
            (2, "/src/b".to_string(), true, false, true),
            (3, "/src/c".to_string(), true, true, true),
        ]
    );
}

#[test]
fn idmap_requests_refuse_what_cannot_work() {
    let err = |mounts: &[Mount], userns| idmap_requests(mounts, userns).unwrap_err().to_string();
    // No mappings of its own and no user namespace to borrow them from.
    let e = err(&[mount("/a", "bind", "/src", &["bind", "idmap"])], false);
    assert!(e.contains("/a") && e.contains("user namespace"), "{e}");
    let e = err(&[mount("/t", "tmpfs", "tmpfs", &["idmap"])], true);
    assert!(e.contains("bind mounts only"), "{e}");
    let half = with_maps(
        mount("/h", "bind", "/src", &["bind"]),
        Some((0, 1, 1)),
        None,
    );
    let e = err(&[half], true);
    assert!(e.contains("together"), "{e}");
}

#[test]
fn tmpcopyup_fills_a_detached_tmpfs_before_attaching_it() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let o = parse_options(&["tmpcopyup".into(), "notmpcopyup".into(), "z".into()]).unwrap();
    assert!(!o.tmpcopyup && o.data.is_empty());
    let mounts = [
        mount(
            "/etc",
            "tmpfs",
            "tmpfs",
            &["tmpcopyup", "ro", "sync", "size=1m"],
        ),
        mount("/var", "tmpfs", "tmpfs", &["tmpcopyup", "mode=700"]),
    ];
    let sys = RecordingSyscall::default();
    prepare(&ctx(root, &mounts), &[], &sys).unwrap();
    let r = root.display();
    let lines = sys.lines();
    let at = lines
        .iter()
        .position(|l| *l == format!("mkdir {r}/etc"))
        .unwrap();
    assert_eq!(
        lines[at + 1..at + 5],
        [
            "new_mount tmpfs size=1m,sync".to_string(),
            format!("copy_into {r}/etc root_attrs=true"),
            format!("move_mount {r}/etc"),
            format!("mount - {r}/etc - MS_RDONLY | MS_REMOUNT | MS_BIND -"),
        ]
    );
    // An explicit mode keeps the tmpfs root as configured; no flags, no remount.
    assert!(lines.contains(&format!("copy_into {r}/var root_attrs=false")));
    assert!(!lines
        .iter()
        .any(|l| l.starts_with(&format!("mount - {r}/var"))));
}

#[test]
fn idmapped_mount_is_attached_then_remounted() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let src = tempfile::tempdir().unwrap();
    let mounts = [mount(
        "/data",
        "bind",
        &src.path().display().to_string(),
        &["rbind", "ridmap", "ro"],
    )];
    let sys = RecordingSyscall::default();
    // Without the prepared tree the mount is refused rather than bound unmapped.
    assert!(prepare(&ctx(root, &mounts), &[], &sys).is_err());
    let tree: OwnedFd = std::fs::File::open("/dev/null").unwrap().into();
    let sys = RecordingSyscall::default();
    prepare(&ctx(root, &mounts), &[(0, tree)], &sys).unwrap();
    let lines = sys.lines();
    let r = root.display();
    let at = lines
        .iter()
        .position(|l| *l == format!("move_mount {r}/data"))
        .unwrap();
    assert!(
        lines[at + 1].starts_with(&format!("mount - {r}/data - MS_RDONLY | MS_REMOUNT")),
        "{lines:#?}"
    );
    assert!(!lines
        .iter()
        .any(|l| l.starts_with(&format!("mount {}", src.path().display()))));
}

#[test]
fn prepare_mounts_in_order_and_creates_dev() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let mounts = [
        mount("/proc", "proc", "proc", &[]),
        mount(
            "/dev",
            "tmpfs",
            "tmpfs",
            &["nosuid", "strictatime", "mode=755", "size=65536k"],
        ),
        mount(
            "/dev/pts",
            "devpts",
            "devpts",
            &["newinstance", "ptmxmode=0666"],
        ),
        mount("/sys/fs/cgroup", "cgroup", "cgroup", &["ro", "nosuid"]),
    ];
    let sys = RecordingSyscall::default();
    prepare(&ctx(root, &mounts), &[], &sys).unwrap();
    let lines = sys.lines();
    let r = root.display();
    assert_eq!(lines[0], "mount - / - MS_REC | MS_SLAVE -");
    assert_eq!(lines[1], format!("mount {r} {r} - MS_BIND | MS_REC -"));
    assert!(lines.contains(&format!("mount proc {r}/proc proc (empty) -")));
    assert!(lines.contains(&format!(
        "mount tmpfs {r}/dev tmpfs MS_NOSUID | MS_STRICTATIME mode=755,size=65536k"
    )));
    assert!(lines.contains(&format!(
        "mount devpts {r}/dev/pts devpts (empty) newinstance,ptmxmode=0666"
    )));
    assert!(lines.contains(&format!(
        "mount /sys/fs/cgroup/memory/c1 {r}/sys/fs/cgroup/memory - MS_BIND | MS_REC -"
    )));
    let null = format!(
        "mknod {r}/dev/null S_IFCHR 666 {}",
        nix::sys::stat::makedev(1, 3)
    );
    assert!(lines.contains(&null), "{null} not in {lines:#?}");
    assert!(lines.contains(&format!("symlink pts/ptmx {r}/dev/ptmx")));
    assert!(lines.contains(&format!("symlink /proc/self/fd {r}/dev/fd")));
    // The proc mount comes before /dev because the spec lists it first.
    let proc_at = lines.iter().position(|l| l.contains("proc proc")).unwrap();
    let dev_at = lines.iter().position(|l| l.contains("/dev tmpfs")).unwrap();
    assert!(proc_at < dev_at);
}

#[test]
fn bind_mount_with_ro_remounts_and_user_ns_binds_devices() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let src = tempfile::tempdir().unwrap();
    let mounts = [mount(
        "/data",
        "bind",
        &src.path().display().to_string(),
        &["rbind", "ro"],
    )];
    let mut c = ctx(root, &mounts);
    c.in_user_ns = true;
    let sys = RecordingSyscall::default();
    prepare(&c, &[], &sys).unwrap();
    let lines = sys.lines();
    let r = root.display();
    assert!(lines.contains(&format!(
        "mount {} {r}/data - MS_BIND | MS_REC -",
        src.path().display()
    )));
    assert!(
        lines.iter().any(|l| l.starts_with(&format!(
            "mount - {r}/data - MS_RDONLY | MS_REMOUNT | MS_BIND | MS_REC"
        ))),
        "{lines:#?}"
    );
    assert!(lines.contains(&format!("mount /dev/null {r}/dev/null - MS_BIND -")));
    assert!(!lines.iter().any(|l| l.starts_with("mknod")));
}

#[test]
fn mount_destination_symlink_cannot_escape_rootfs() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::os::unix::fs::symlink("/etc", root.join("evil")).unwrap();
    let mounts = [mount("/evil", "tmpfs", "tmpfs", &[])];
    let sys = RecordingSyscall::default();
    prepare(&ctx(root, &mounts), &[], &sys).unwrap();
    assert!(sys.lines().contains(&format!(
        "mount tmpfs {}/etc tmpfs (empty) -",
        root.display()
    )));
}

#[test]
fn switch_root_pivots_or_moves() {
    let root = Path::new("/b/rootfs");
    let sys = RecordingSyscall::default();
    switch_root(&ctx(root, &[]), &sys).unwrap();
    assert_eq!(
        sys.lines(),
        [
            "chdir /b/rootfs",
            "open_dir /",
            "pivot_root . .",
            // Back to the old root before making it slave: from the new root, "." would be
            // the new root.
            "fchdir",
            "mount - . - MS_REC | MS_SLAVE -",
            "umount2 . MNT_DETACH",
            "chdir /"
        ]
    );
    let sys = RecordingSyscall::default();
    let mut c = ctx(root, &[]);
    c.switch = RootSwitch::Move;
    switch_root(&c, &sys).unwrap();
    assert_eq!(
        sys.lines(),
        [
            "chdir /b/rootfs",
            "mount /b/rootfs / - MS_MOVE -",
            "chroot .",
            "chdir /"
        ]
    );
}

#[test]
fn without_a_mount_namespace_nothing_is_mounted_and_the_root_is_a_chroot() {
    let root = Path::new("/b/rootfs");
    let mounts = [mount("/tmp", "tmpfs", "tmpfs", &[])];
    let mut c = ctx(root, &mounts);
    c.switch = RootSwitch::Chroot;
    c.readonly = true;
    let sys = RecordingSyscall::default();
    prepare(&c, &[], &sys).unwrap();
    switch_root(&c, &sys).unwrap();
    finalize(&c, &sys).unwrap();
    assert_eq!(sys.lines(), ["chdir /b/rootfs", "chroot .", "chdir /"]);
}

#[test]
fn finalize_masks_and_makes_root_readonly() {
    let sys = RecordingSyscall::default();
    let masked = [
        "/proc/version".to_string(),
        "/nonexistent-path".to_string(),
        "/proc/acpi".to_string(),
    ];
    let mut c = ctx(Path::new("/"), &[]);
    c.masked_paths = &masked;
    c.readonly = true;
    c.propagation = Some("rshared");
    finalize(&c, &sys).unwrap();
    let lines = sys.lines();
    assert!(lines.contains(&"mount /dev/null /proc/version - MS_BIND -".to_string()));
    assert!(!lines.iter().any(|l| l.contains("nonexistent")));
    assert!(lines
        .iter()
        .any(|l| l.starts_with("mount - / - MS_RDONLY") && l.contains("MS_REMOUNT")));
    assert_eq!(lines.last().unwrap(), "mount - / - MS_REC | MS_SHARED -");
}

#[test]
fn recursive_options_set_and_clear_attributes_later_ones_winning() {
    let opts = |o: &[&str]| {
        parse_options(&o.iter().map(|s| s.to_string()).collect::<Vec<_>>())
            .unwrap()
            .recursive_attrs
    };
    let a = opts(&["rbind", "ro", "rro", "rnosuid", "rdev"]);
    assert_eq!(a.set, MountAttrs::RDONLY | MountAttrs::NOSUID);
    assert_eq!(a.clear, MountAttrs::NODEV);
    let a = opts(&["rro", "rrw"]);
    assert_eq!(
        (a.set, a.clear),
        (MountAttrs::default(), MountAttrs::RDONLY)
    );
    // An atime mode replaces the whole field, which the kernel wants cleared to change it.
    let a = opts(&["rnoatime", "rstrictatime"]);
    assert_eq!(
        (a.set, a.clear),
        (MountAttrs::STRICTATIME, MountAttrs::ATIME)
    );
    let a = opts(&["rnoatime", "ratime"]);
    assert_eq!((a.set, a.clear), (MountAttrs::RELATIME, MountAttrs::ATIME));
    assert!(!a.is_empty());
    // Not passed to the kernel as mount data, nor taken for their one-mount counterparts.
    let o = parse_options(&["rro".into(), "rnoexec".into()]).unwrap();
    assert!(o.data.is_empty() && o.flags.is_empty(), "{o:?}");
    assert!(opts(&["ro", "nosuid"]).is_empty());
}

#[test]
fn recursive_options_are_set_on_the_bound_tree_after_the_remount() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let src = tempfile::tempdir().unwrap();
    let mounts = [
        mount(
            "/data",
            "bind",
            &src.path().display().to_string(),
            &["rbind", "ro", "rro", "rprivate"],
        ),
        mount(
            "/plain",
            "bind",
            &src.path().display().to_string(),
            &["rbind", "ro"],
        ),
    ];
    let sys = RecordingSyscall::default();
    prepare(&ctx(root, &mounts), &[], &sys).unwrap();
    let lines = sys.lines();
    let r = root.display();
    let at = lines
        .iter()
        .position(|l| *l == format!("mount_setattr {r}/data recursive set=0x1 clear=0x0"))
        .unwrap_or_else(|| panic!("{lines:#?}"));
    assert!(
        lines[at - 1].starts_with(&format!("mount - {r}/data - MS_RDONLY | MS_REMOUNT")),
        "{lines:#?}"
    );
    assert!(
        lines[at + 1].starts_with(&format!("mount - {r}/data - MS_REC | MS_PRIVATE")),
        "{lines:#?}"
    );
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.starts_with("mount_setattr"))
            .count(),
        1,
        "{lines:#?}"
    );
}

#[test]
fn the_holding_mount_is_the_longest() {
    // /proc is its own mount everywhere this runs; a file in it is held by it.
    assert_eq!(
        mount_point_of(Path::new("/proc/self/status")).unwrap(),
        PathBuf::from("/proc")
    );
    assert_eq!(mount_point_of(Path::new("/")).unwrap(), PathBuf::from("/"));
}
