//! The mount table the container sees: read-only root, tmpfs and bind mounts with their options,
//! idmapped bind mounts, masked and read-only paths, /dev contents, and symlinked destinations
//! that must stay inside the rootfs.
#![allow(clippy::unwrap_used)]

mod common;

use common::{check_except_known_gaps, mount_at, parse_mountinfo, runtime_name, Container};
use serde_json::json;
use std::os::unix::fs::MetadataExt;

fn mount(c: &mut Container, value: serde_json::Value) {
    c.push("/mounts", value);
}

#[test]
fn readonly_root_refuses_writes() {
    let Some(c) = Container::new(
        "roroot",
        &[
            "sh",
            "-c",
            "touch /probe 2>&1; echo rc=$?; cat /proc/self/mountinfo",
        ],
    ) else {
        return;
    };
    let out = c.run_capture().ok();
    assert!(out.stdout.contains("Read-only file system"), "{out:?}");
    assert!(out.stdout.contains("rc=1"), "{out:?}");
    let mounts = parse_mountinfo(&out.stdout);
    let root = mount_at(&mounts, "/").unwrap();
    assert!(root.options.split(',').any(|o| o == "ro"), "{root:?}");
}

#[test]
fn tmpfs_mount_has_its_size_and_is_writable() {
    let Some(mut c) = Container::new(
        "tmpfs",
        &[
            "sh",
            "-c",
            "echo data > /tmp/f && cat /tmp/f && cat /proc/self/mountinfo",
        ],
    ) else {
        return;
    };
    c.tmpfs("/tmp", &["nosuid", "nodev", "size=2m", "mode=755"]);
    let out = c.run_capture().ok();
    assert!(out.stdout.starts_with("data\n"), "{out:?}");
    let mounts = parse_mountinfo(&out.stdout);
    let tmp = mount_at(&mounts, "/tmp").unwrap();
    assert_eq!(tmp.fs_type, "tmpfs");
    assert!(tmp.super_options.contains("size=2048k"), "{tmp:?}");
    // 1777 is tmpfs's default and would not show; 755 proves the option was passed.
    assert!(tmp.super_options.contains("mode=755"), "{tmp:?}");
    assert!(
        tmp.options.contains("nosuid") && tmp.options.contains("nodev"),
        "{tmp:?}"
    );
}

#[test]
fn readonly_bind_mount_is_readable_not_writable() {
    let Some(mut c) = Container::new(
        "bindro",
        &[
            "sh",
            "-c",
            "cat /mnt/hello; touch /mnt/new 2>&1; cat /proc/self/mountinfo",
        ],
    ) else {
        return;
    };
    let host = tempfile::tempdir().unwrap();
    std::fs::write(host.path().join("hello"), "from host\n").unwrap();
    mount(
        &mut c,
        json!({"destination": "/mnt", "type": "bind", "source": host.path(),
               "options": ["rbind", "ro"]}),
    );
    let out = c.run_capture().ok();
    assert!(out.stdout.starts_with("from host\n"), "{out:?}");
    assert!(out.stdout.contains("Read-only file system"), "{out:?}");
    assert!(!host.path().join("new").exists(), "write reached the host");
    let mnt = mount_at(&parse_mountinfo(&out.stdout), "/mnt")
        .cloned()
        .unwrap();
    assert!(mnt.options.split(',').any(|o| o == "ro"), "{mnt:?}");
}

#[test]
fn masked_paths_read_empty() {
    let Some(mut c) = Container::new(
        "masked",
        &[
            "sh",
            "-c",
            "wc -c < /proc/cpuinfo; ls -A /sys/firmware | wc -l; wc -c < /proc/timer_list",
        ],
    ) else {
        return;
    };
    // Defaults like /proc/kcore may not exist on a given kernel; cpuinfo always does and is
    // never empty, so masking it is observable.
    c.push("/linux/maskedPaths", json!("/proc/cpuinfo"));
    let out = c.run_capture().ok();
    let counts: Vec<&str> = out.stdout.split_whitespace().collect();
    // Files are covered by /dev/null, /sys/firmware (a directory) by an empty read-only tmpfs.
    assert_eq!(counts, ["0", "0", "0"], "{out:?}");
}

#[test]
fn readonly_paths_refuse_writes() {
    let Some(c) = Container::new(
        "ropaths",
        &[
            "sh",
            "-c",
            "(echo x > /proc/sys/kernel/domainname) 2>&1; echo rc=$?; cat /proc/self/mountinfo",
        ],
    ) else {
        return;
    };
    let out = c.run_capture().ok();
    // Root with the UTS namespace could write domainname if /proc/sys were writable.
    assert!(out.stdout.contains("rc=1"), "{out:?}");
    assert!(out.stdout.contains("Read-only file system"), "{out:?}");
    let sys = mount_at(&parse_mountinfo(&out.stdout), "/proc/sys")
        .cloned()
        .unwrap();
    assert!(sys.options.split(',').any(|o| o == "ro"), "{sys:?}");
}

#[test]
fn dev_has_standard_nodes_links_and_shm() {
    let script =
        "for d in null zero full random urandom tty; do test -c /dev/$d || echo missing $d; done; \
                  for l in fd stdin stdout stderr; do readlink /dev/$l; done; \
                  head -c 3 /dev/zero | wc -c; echo gone > /dev/null; \
                  echo shm > /dev/shm/x && cat /dev/shm/x; cat /proc/self/mountinfo";
    let Some(c) = Container::new("dev", &["sh", "-c", script]) else {
        return;
    };
    let out = c.run_capture().ok();
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(
        lines[..6],
        [
            "/proc/self/fd",
            "/proc/self/fd/0",
            "/proc/self/fd/1",
            "/proc/self/fd/2",
            "3",
            "shm"
        ],
        "{out:?}"
    );
    let mounts = parse_mountinfo(&out.stdout);
    assert_eq!(mount_at(&mounts, "/dev/shm").unwrap().fs_type, "tmpfs");
    assert_eq!(mount_at(&mounts, "/dev/pts").unwrap().fs_type, "devpts");
    assert_eq!(mount_at(&mounts, "/dev").unwrap().fs_type, "tmpfs");
}

#[test]
fn symlinked_mount_destination_stays_inside_rootfs() {
    let Some(mut c) = Container::new(
        "symlink",
        &[
            "sh",
            "-c",
            "cat /escape-dir/marker; ls -A /escape-file >/dev/null && echo file-ok",
        ],
    ) else {
        return;
    };
    let rootfs = c.private_rootfs();
    // Absolute symlinks to real host paths: a runtime that resolves them on the host side mounts
    // (and creates mount points) outside the container.
    let host_target = tempfile::tempdir().unwrap();
    let source = tempfile::tempdir().unwrap();
    std::fs::write(source.path().join("marker"), "bound\n").unwrap();
    let source_file = source.path().join("marker");
    std::os::unix::fs::symlink(host_target.path(), rootfs.join("escape-dir")).unwrap();
    std::os::unix::fs::symlink(
        host_target.path().join("created"),
        rootfs.join("escape-file"),
    )
    .unwrap();
    mount(
        &mut c,
        json!({"destination": "/escape-dir", "type": "bind", "source": source.path(),
                         "options": ["rbind", "ro"]}),
    );
    mount(
        &mut c,
        json!({"destination": "/escape-file", "type": "bind", "source": source_file,
                         "options": ["bind", "ro"]}),
    );
    let out = c.run_capture();

    // Refusing the config is safe too; following the link out of the rootfs is not.
    let host_entries: Vec<_> = std::fs::read_dir(host_target.path()).unwrap().collect();
    assert!(
        host_entries.is_empty(),
        "runtime created {host_entries:?} on the host; {out:?}"
    );
    if out.code == 0 {
        // Resolved inside the rootfs: the mounts landed at rootfs/<host path>.
        assert_eq!(out.stdout, "bound\nfile-ok\n", "{out:?}");
        assert!(rootfs
            .join(host_target.path().strip_prefix("/").unwrap())
            .is_dir());
    }
}

/// runc 1.1 predates idmapped mounts: it drops `uidMappings` and passes `idmap` to the kernel as
/// mount data, which bind mounts ignore.
const NO_IDMAP: &[(&str, &str)] = &[("runc", "runc 1.1 has no idmapped mounts")];

/// On a kernel without `mount_setattr` (before 5.12) berth-runtime must refuse idmapped and
/// recursive mount options with an error naming the kernel that has them (`message`); returns
/// whether that was the case, so the test stops there.
fn refused_without_mount_setattr(out: &common::Out, message: &str) -> bool {
    if berth_sys::newmount::mount_setattr_supported() || runtime_name() != "berth-runtime" {
        return false;
    }
    assert_ne!(out.code, 0, "{out:?}");
    assert!(out.stderr.contains(message), "{out:?}");
    true
}

fn refused_without_idmapped_mounts(out: &common::Out) -> bool {
    refused_without_mount_setattr(out, "idmapped mounts need Linux 5.12")
}

#[test]
fn idmapped_bind_mount_shows_mapped_owners_and_leaves_the_host_alone() {
    let Some(mut c) = Container::new(
        "idmap",
        &[
            "sh",
            "-c",
            "stat -c %u:%g /mnt/owned && touch /mnt/new && stat -c %u:%g /mnt/new",
        ],
    ) else {
        return;
    };
    let host = tempfile::tempdir().unwrap();
    let owned = host.path().join("owned");
    std::fs::write(&owned, "x").unwrap();
    // The directory too, so the container's root may create a file in it through the mapping.
    for p in [host.path(), owned.as_path()] {
        std::os::unix::fs::chown(p, Some(1000), Some(1000)).unwrap();
    }
    // Mount mappings read like a user namespace's: on-disk id `containerID` is seen as
    // `hostID`, so files of host user 1000 show as root.
    let map = json!([{"containerID": 1000, "hostID": 0, "size": 1}]);
    mount(
        &mut c,
        json!({"destination": "/mnt", "type": "bind", "source": host.path(),
               "options": ["bind", "idmap"], "uidMappings": map, "gidMappings": map}),
    );
    let out = c.run_capture();
    let meta = std::fs::metadata(&owned).unwrap();
    if refused_without_idmapped_mounts(&out) {
        return;
    }
    assert_eq!((meta.uid(), meta.gid()), (1000, 1000), "host file changed");
    let new_owner = std::fs::metadata(host.path().join("new"))
        .map(|m| (m.uid(), m.gid()))
        .ok();
    check_except_known_gaps(
        if out.code == 0 && out.stdout == "0:0\n0:0\n" && new_owner == Some((1000, 1000)) {
            Ok(())
        } else {
            Err(format!(
                "expected 0:0 inside and a new file of 1000:1000 on the host, got {new_owner:?}; {out:?}"
            ))
        },
        NO_IDMAP,
    );
}

#[test]
fn idmap_option_without_mappings_uses_the_container_user_namespace() {
    let Some(mut c) = Container::new("idmapns", &["sh", "-c", "stat -c %u /mnt/f /home/f"]) else {
        return;
    };
    c.namespace("user", None);
    let map = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
    c.set("/linux/uidMappings", map.clone());
    c.set("/linux/gidMappings", map);
    let host = tempfile::tempdir().unwrap();
    std::fs::set_permissions(
        host.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    std::fs::write(host.path().join("f"), "x").unwrap();
    mount(
        &mut c,
        json!({"destination": "/mnt", "type": "bind", "source": host.path(),
               "options": ["rbind", "ridmap"]}),
    );
    mount(
        &mut c,
        json!({"destination": "/home", "type": "bind", "source": host.path(),
               "options": ["rbind"]}),
    );
    let out = c.run_capture();
    if refused_without_idmapped_mounts(&out) {
        return;
    }
    // Host root's file: root through the idmap, the overflow id (unmapped) through a plain bind.
    check_except_known_gaps(
        if out.code == 0 && out.stdout == "0\n65534\n" {
            Ok(())
        } else {
            Err(format!("expected 0 then 65534: {out:?}"))
        },
        NO_IDMAP,
    );
}

#[test]
fn idmap_without_mappings_or_user_namespace_is_refused() {
    let Some(mut c) = Container::new("idmapbad", &["true"]) else {
        return;
    };
    let host = tempfile::tempdir().unwrap();
    mount(
        &mut c,
        json!({"destination": "/mnt", "type": "bind", "source": host.path(),
               "options": ["bind", "idmap"]}),
    );
    let out = c.run_capture();
    check_except_known_gaps(
        if out.code != 0 && out.all().contains("/mnt") {
            Ok(())
        } else {
            Err(format!("expected a refusal naming /mnt: {out:?}"))
        },
        NO_IDMAP,
    );
    c.assert_nothing_left();
}

#[test]
fn tmpcopyup_tmpfs_starts_with_the_covered_directory() {
    let Some(mut c) = Container::new(
        "copyup",
        &[
            "sh",
            "-c",
            "cat /etc/passwd; readlink /etc/link; stat -c '%u:%g %a' /etc/owned /etc; \
             echo new > /etc/added && cat /etc/added; cat /proc/self/mountinfo",
        ],
    ) else {
        return;
    };
    let rootfs = c.private_rootfs();
    let etc = rootfs.join("etc");
    std::os::unix::fs::symlink("passwd", etc.join("link")).unwrap();
    std::fs::write(etc.join("owned"), "x").unwrap();
    std::os::unix::fs::chown(etc.join("owned"), Some(1000), Some(1000)).unwrap();
    std::fs::set_permissions(
        etc.join("owned"),
        std::os::unix::fs::PermissionsExt::from_mode(0o640),
    )
    .unwrap();
    c.set("/root/readonly", json!(true));
    c.tmpfs("/etc", &["nosuid", "nodev", "tmpcopyup"]);
    let out = c.run_capture().ok();
    let passwd = std::fs::read_to_string(etc.join("passwd")).unwrap();
    let expected = format!("{passwd}passwd\n1000:1000 640\n0:0 755\nnew\n");
    assert!(out.stdout.starts_with(&expected), "{out:?}");
    let mnt = mount_at(&parse_mountinfo(&out.stdout), "/etc")
        .cloned()
        .unwrap();
    assert_eq!(mnt.fs_type, "tmpfs", "{mnt:?}");
    assert!(!etc.join("added").exists(), "write reached the rootfs");
}

/// A host directory with a tmpfs mounted at `sub` inside it, unmounted on drop so a failed
/// assertion leaves no mount behind.
struct DirWithSubmount {
    dir: tempfile::TempDir,
}

impl DirWithSubmount {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("sub");
        std::fs::create_dir(&sub).unwrap();
        nix::mount::mount(
            Some("tmpfs"),
            &sub,
            Some("tmpfs"),
            nix::mount::MsFlags::empty(),
            Some("size=1m"),
        )
        .unwrap();
        Self { dir }
    }

    fn path(&self) -> &std::path::Path {
        self.dir.path()
    }
}

impl Drop for DirWithSubmount {
    fn drop(&mut self) {
        let sub = self.dir.path().join("sub");
        if let Err(e) = nix::mount::umount2(&sub, nix::mount::MntFlags::MNT_DETACH) {
            eprintln!("unmount {}: {e}", sub.display());
        }
    }
}

/// `rro` exists because `ro` on an `rbind` is a remount of the top mount only: the submounts of
/// the source stay writable. `rro` makes the whole bound tree read-only.
#[test]
fn recursive_read_only_bind_covers_submounts_where_plain_ro_does_not() {
    let Some(mut c) = Container::new(
        "rro",
        &[
            "sh",
            "-c",
            "for d in /rro /rro/sub /ro /ro/sub; do echo \"$d: $(touch $d/probe 2>&1 && echo writable)\"; done; \
             cat /proc/self/mountinfo",
        ],
    ) else {
        return;
    };
    let host = DirWithSubmount::new();
    mount(
        &mut c,
        json!({"destination": "/rro", "type": "bind", "source": host.path(),
               "options": ["rbind", "ro", "rro"]}),
    );
    mount(
        &mut c,
        json!({"destination": "/ro", "type": "bind", "source": host.path(),
               "options": ["rbind", "ro"]}),
    );
    let out = c.run_capture();
    if refused_without_mount_setattr(&out, "recursive mount options such as rro need Linux 5.12") {
        return;
    }
    let out = out.ok();
    let lines: Vec<&str> = out.stdout.lines().take(4).collect();
    let erofs = |d: &str| format!("{d}: touch: {d}/probe: Read-only file system");
    assert_eq!(
        lines,
        [
            erofs("/rro").as_str(),
            &erofs("/rro/sub"),
            &erofs("/ro"),
            "/ro/sub: writable"
        ],
        "{out:?}"
    );
    assert!(host.path().join("sub/probe").exists(), "{out:?}");
    assert!(!host.path().join("probe").exists(), "{out:?}");
    let mounts = parse_mountinfo(&out.stdout);
    let sub = mount_at(&mounts, "/rro/sub").unwrap();
    assert!(sub.options.split(',').any(|o| o == "ro"), "{sub:?}");
}

/// A host directory that is its own shared mount, as a BIDIRECTIONAL volume's source is.
struct SharedDir {
    dir: tempfile::TempDir,
}

impl SharedDir {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path();
        nix::mount::mount(
            Some(path),
            path,
            None::<&str>,
            nix::mount::MsFlags::MS_BIND,
            None::<&str>,
        )
        .unwrap();
        nix::mount::mount(
            None::<&str>,
            path,
            None::<&str>,
            nix::mount::MsFlags::MS_SHARED | nix::mount::MsFlags::MS_REC,
            None::<&str>,
        )
        .unwrap();
        std::fs::create_dir(path.join("inner")).unwrap();
        Self { dir }
    }
}

impl Drop for SharedDir {
    fn drop(&mut self) {
        let path = self.dir.path();
        let _ = nix::mount::umount2(&path.join("inner"), nix::mount::MntFlags::MNT_DETACH);
        if let Err(e) = nix::mount::umount2(path, nix::mount::MntFlags::MNT_DETACH) {
            eprintln!("unmount {}: {e}", path.display());
        }
    }
}

/// `rshared` on a bind of a shared host mount (the CRI's BIDIRECTIONAL, rootfsPropagation
/// `shared`): what the container mounts under it appears on the host, and the container's own
/// /proc does not. With `rslave` it stays in the container.
#[test]
fn a_mount_under_an_rshared_bind_reaches_the_host_and_under_rslave_it_does_not() {
    for (propagation, reaches_host) in [("rshared", true), ("rslave", false)] {
        let host = SharedDir::new();
        let target = host.dir.path().display().to_string();
        let Some(mut c) = Container::new(
            "propagation",
            &[
                "sh",
                "-c",
                &format!("mount -t tmpfs -o size=1m probe {target}/inner && touch {target}/inner/made-inside"),
            ],
        ) else {
            return;
        };
        c.set(
            "/process/capabilities",
            json!({"bounding": ["CAP_SYS_ADMIN"], "effective": ["CAP_SYS_ADMIN"],
                   "permitted": ["CAP_SYS_ADMIN"]}),
        );
        mount(
            &mut c,
            json!({"destination": target, "type": "bind", "source": target,
                   "options": ["rbind", propagation]}),
        );
        let root_propagation = if propagation == "rshared" {
            "shared"
        } else {
            "rslave"
        };
        c.set("/linux/rootfsPropagation", json!(root_propagation));
        let out = c.run_capture().ok();
        assert_eq!(
            host.dir.path().join("inner/made-inside").exists(),
            reaches_host,
            "{propagation}: {out:?}"
        );
        // The container's own mounts (its /proc) never show up on the host.
        let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
        assert!(
            !mountinfo.contains(&format!(
                "{}/proc ",
                berth_testkit::busybox_rootfs().display()
            )),
            "{propagation}: the container's /proc leaked to the host"
        );
    }
}

/// A pod as a CRI engine builds it: a sandbox in a new user namespace with a network namespace
/// it owns, and a container joining both by path (user first, so the joined network
/// namespace is one the container's root may use) with an idmapped bind that takes the joined
/// namespace's mappings.
#[test]
fn a_container_joins_a_sandboxs_user_namespace_and_idmaps_with_it() {
    let Some(mut sandbox) = Container::new("usernspod", &["sleep", "100"]) else {
        return;
    };
    sandbox.namespace("user", None);
    sandbox.namespace("network", None);
    let map = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
    sandbox.set("/linux/uidMappings", map.clone());
    sandbox.set("/linux/gidMappings", map);
    let created = sandbox.create();
    assert_eq!(created.code, 0, "{created:?}");
    let pid = sandbox.pid();

    let Some(mut c) = Container::new(
        "usernsjoin",
        &[
            "sh",
            "-c",
            "cat /proc/self/uid_map; readlink /proc/self/ns/net; stat -c %u:%g /mnt/f",
        ],
    ) else {
        return;
    };
    let user = format!("/proc/{pid}/ns/user");
    let net = format!("/proc/{pid}/ns/net");
    c.namespace("network", Some(&net));
    c.namespace("user", Some(&user));
    let host = tempfile::tempdir().unwrap();
    std::fs::set_permissions(
        host.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    std::fs::write(host.path().join("f"), "x").unwrap();
    mount(
        &mut c,
        json!({"destination": "/mnt", "type": "bind", "source": host.path(),
               "options": ["rbind", "ridmap"]}),
    );
    let out = c.run_capture();
    if refused_without_idmapped_mounts(&out) {
        return;
    }
    let sandbox_net = std::fs::read_link(&net).unwrap();
    let lines: Vec<&str> = out.stdout.lines().collect();
    check_except_known_gaps(
        match lines.as_slice() {
            [map, ns, owner]
                if map.split_whitespace().eq(["0", "100000", "65536"])
                    && std::path::Path::new(ns) == sandbox_net
                    && *owner == "0:0" =>
            {
                Ok(())
            }
            _ => Err(format!(
                "expected the sandbox's mapping, network namespace {sandbox_net:?} and 0:0: \
                 {out:?}"
            )),
        },
        NO_IDMAP,
    );
}
