//! Volumes and binds with the real docker CLI: named and anonymous volumes, copy-up, `rm -v`
//! and `--rm`, in-use refusal, names and drivers, `--volumes-from`, bind propagation, tmpfs
//! volumes, prune, persistence across `kill -9` of berthd, and many writers on one volume.
#![allow(clippy::unwrap_used)]

mod common;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::{unique, Daemon};

fn volume_names(d: &Daemon) -> Vec<String> {
    let out = d.docker(&["volume", "ls", "-q"]).ok();
    out.stdout.lines().map(str::to_string).collect()
}

fn mountpoint(d: &Daemon, volume: &str) -> PathBuf {
    let out = d
        .docker(&["volume", "inspect", "-f", "{{.Mountpoint}}", volume])
        .ok();
    PathBuf::from(out.stdout.trim())
}

fn inspect(d: &Daemon, container: &str, template: &str) -> serde_json::Value {
    let out = d.docker(&["inspect", "-f", template, container]).ok();
    serde_json::from_str(out.stdout.trim()).unwrap_or_else(|e| panic!("{e}: {out:?}"))
}

/// The entry of inspect's `Mounts` whose destination is `dest`.
fn mount_at<'m>(mounts: &'m serde_json::Value, dest: &str) -> &'m serde_json::Value {
    let all = mounts.as_array().unwrap();
    all.iter()
        .find(|m| m["Destination"] == dest)
        .unwrap_or_else(|| panic!("no mount at {dest}: {mounts}"))
}

fn sh(cmd: &str) {
    let st = Command::new("sh").arg("-c").arg(cmd).status().unwrap();
    assert!(st.success(), "{cmd}");
}

#[test]
fn named_volume_outlives_containers_and_a_daemon_crash() {
    if common::skip() {
        return;
    }
    let mut d = Daemon::start();
    let img = d.busybox();
    let vol = unique("data");
    let bind = format!("{vol}:/data");
    d.docker(&[
        "run",
        "--name",
        "writer",
        "-v",
        &bind,
        img,
        "sh",
        "-c",
        "echo hello > /data/f",
    ])
    .ok();
    d.docker(&["rm", "writer"]).ok();
    assert!(volume_names(&d).contains(&vol));
    let out = d
        .docker(&["run", "--rm", "-v", &bind, img, "cat", "/data/f"])
        .ok();
    assert_eq!(out.stdout, "hello\n");

    // A running user across kill -9: its ref survives, so the volume stays in use.
    d.docker(&[
        "run", "-d", "--name", "keeper", "-v", &bind, img, "sleep", "1000",
    ])
    .ok();
    d.kill9();
    d.spawn();
    let out = d.docker(&["volume", "rm", &vol]).failed();
    assert!(out.stderr.contains("volume is in use"), "{out:?}");
    let out = d.docker(&["exec", "keeper", "cat", "/data/f"]).ok();
    assert_eq!(out.stdout, "hello\n");
    d.docker(&["rm", "-f", "keeper"]).ok();
    let out = d
        .docker(&["run", "--rm", "-v", &bind, img, "cat", "/data/f"])
        .ok();
    assert_eq!(out.stdout, "hello\n");
    d.docker(&["volume", "rm", &vol]).ok();
    assert!(!volume_names(&d).contains(&vol));
    assert!(d.leaked_mounts().is_empty(), "{:?}", d.leaked_mounts());
}

#[test]
fn anonymous_volumes_go_with_rm_v_and_rm_but_named_ones_stay() {
    if common::skip() {
        return;
    }
    let d = Daemon::start();
    let img = d.busybox();
    let named = unique("keep");
    let c = d
        .docker(&[
            "create",
            "-v",
            "/anon",
            "-v",
            &format!("{named}:/named"),
            img,
        ])
        .ok()
        .text();
    let mounts = inspect(&d, &c, "{{json .Mounts}}");
    let anon = mount_at(&mounts, "/anon");
    let anon_name = anon["Name"].as_str().unwrap().to_string();
    assert_eq!(anon_name.len(), 64, "{anon}");
    assert!(anon_name.chars().all(|c| c.is_ascii_hexdigit()));
    assert_eq!(anon["Type"], "volume");
    assert_eq!(anon["Driver"], "local");
    assert_eq!(anon["RW"], true);
    let labels = d
        .docker(&["volume", "inspect", "-f", "{{json .Labels}}", &anon_name])
        .ok();
    assert!(
        labels.stdout.contains("com.docker.volume.anonymous"),
        "{labels:?}"
    );
    d.docker(&["rm", "-v", &c]).ok();
    let names = volume_names(&d);
    assert!(!names.contains(&anon_name), "{names:?}");
    assert!(names.contains(&named), "{names:?}");

    // --rm removes the anonymous volumes of the container it removes.
    let before = volume_names(&d).len();
    d.docker(&["run", "--rm", "-v", "/scratch", img, "true"])
        .ok();
    assert_eq!(volume_names(&d).len(), before);

    // An image VOLUME makes an anonymous volume too, and `rm -v` removes it.
    let tar = common::busybox_tar().display().to_string();
    d.docker(&[
        "import",
        "-c",
        "VOLUME /data",
        "-c",
        "CMD [\"sh\"]",
        &tar,
        "busybox:vol",
    ])
    .ok();
    let c = d.docker(&["create", "busybox:vol"]).ok().text();
    let mounts = inspect(&d, &c, "{{json .Mounts}}");
    assert_eq!(mounts[0]["Destination"], "/data", "{mounts}");
    let image_vol = mounts[0]["Name"].as_str().unwrap().to_string();
    assert!(volume_names(&d).contains(&image_vol));
    d.docker(&["rm", "-v", &c]).ok();
    assert!(!volume_names(&d).contains(&image_vol));
    // Plain `rm` keeps it, dangling.
    let c = d.docker(&["create", "busybox:vol"]).ok().text();
    let image_vol = inspect(&d, &c, "{{json .Mounts}}")[0]["Name"]
        .as_str()
        .unwrap()
        .to_string();
    d.docker(&["rm", &c]).ok();
    let dangling = d
        .docker(&["volume", "ls", "-q", "--filter", "dangling=true"])
        .ok();
    assert!(dangling.stdout.contains(&image_vol), "{dangling:?}");
}

/// A busybox image whose /data holds files with their own owners, modes, times, a symlink and
/// an xattr; returns the image name and the directory its /data came from.
fn image_with_data(d: &Daemon, dir: &Path) -> (String, PathBuf) {
    let rootfs = dir.join("rootfs");
    std::fs::create_dir_all(&rootfs).unwrap();
    sh(&format!(
        "tar -C {} -xf {}",
        rootfs.display(),
        common::busybox_tar().display()
    ));
    let data = rootfs.join("data");
    std::fs::create_dir_all(data.join("sub")).unwrap();
    std::fs::write(data.join("file"), b"\x00binary\xffcontent\n").unwrap();
    std::fs::write(data.join("sub/deep"), "deep").unwrap();
    std::os::unix::fs::symlink("sub/deep", data.join("link")).unwrap();
    std::os::unix::fs::chown(data.join("file"), Some(1234), Some(5678)).unwrap();
    std::os::unix::fs::chown(data.join("sub"), Some(42), Some(43)).unwrap();
    std::os::unix::fs::chown(&data, Some(7), Some(8)).unwrap();
    std::fs::set_permissions(data.join("file"), PermissionsExt::from_mode(0o640)).unwrap();
    std::fs::set_permissions(data.join("sub"), PermissionsExt::from_mode(0o711)).unwrap();
    std::fs::set_permissions(&data, PermissionsExt::from_mode(0o750)).unwrap();
    sh(&format!(
        "touch -h -d '2001-02-03 04:05:06' {0}/file {0}/sub/deep {0}/link",
        data.display()
    ));
    let tar = dir.join("img.tar");
    sh(&format!(
        "tar --numeric-owner --xattrs -C {} -cf {} .",
        rootfs.display(),
        tar.display()
    ));
    let name = format!("{}:test", unique("withdata"));
    d.docker(&[
        "import",
        "-c",
        "CMD [\"sh\"]",
        &tar.display().to_string(),
        &name,
    ])
    .ok();
    (name, data)
}

/// Owner, mode, size, mtime, content and link target of every entry under `root`.
fn tree(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        let p = root.join(&rel);
        let m = std::fs::symlink_metadata(&p).unwrap();
        let detail = if m.is_dir() {
            for e in std::fs::read_dir(&p).unwrap() {
                stack.push(rel.join(e.unwrap().file_name()));
            }
            String::new()
        } else if m.file_type().is_symlink() {
            std::fs::read_link(&p).unwrap().display().to_string()
        } else {
            format!("{:?}", std::fs::read(&p).unwrap())
        };
        let mtime = if m.is_dir() { 0 } else { m.mtime() };
        out.push(format!(
            "{} {}:{} {:o} {} {detail}",
            rel.display(),
            m.uid(),
            m.gid(),
            m.mode(),
            mtime
        ));
    }
    out.sort();
    out
}

#[test]
fn copy_up_fills_an_empty_volume_from_the_image_once() {
    if common::skip() {
        return;
    }
    let d = Daemon::start();
    d.busybox();
    let dir = tempfile::tempdir().unwrap();
    let (img, data) = image_with_data(&d, dir.path());
    let vol = unique("cu");
    d.docker(&["run", "--rm", "-v", &format!("{vol}:/data"), &img, "true"])
        .ok();
    let host = mountpoint(&d, &vol);
    assert_eq!(tree(&host), tree(&data));

    // Only an empty volume is filled: what the volume holds now wins.
    std::fs::remove_file(host.join("file")).unwrap();
    std::fs::write(host.join("mine"), "x").unwrap();
    d.docker(&["run", "--rm", "-v", &format!("{vol}:/data"), &img, "true"])
        .ok();
    assert!(!host.join("file").exists());

    // nocopy, in both syntaxes, leaves a new volume empty.
    for (flag, spec) in [
        ("-v", format!("{}:/data:nocopy", unique("nc"))),
        (
            "--mount",
            format!("src={},dst=/data,volume-nocopy", unique("nc")),
        ),
    ] {
        let out = d
            .docker(&["run", "--rm", flag, &spec, &img, "ls", "-A", "/data"])
            .ok();
        assert_eq!(out.stdout, "", "{spec}");
    }
    // An anonymous volume is filled too, and the container sees the image's owners.
    let out = d
        .docker(&[
            "run",
            "--rm",
            "-v",
            "/data",
            &img,
            "stat",
            "-c",
            "%u:%g %a",
            "/data/file",
            "/data",
        ])
        .ok();
    assert_eq!(out.stdout, "1234:5678 640\n7:8 750\n");
}

#[test]
fn in_use_bad_names_unknown_drivers_and_force() {
    if common::skip() {
        return;
    }
    let d = Daemon::start();
    let img = d.busybox();
    let vol = unique("busy");
    d.docker(&["volume", "create", &vol]).ok();
    let c = d
        .docker(&["create", "-v", &format!("{vol}:/x"), img])
        .ok()
        .text();
    // A stopped container uses it as much as a running one.
    let out = d.docker(&["volume", "rm", &vol]).failed();
    assert!(
        out.stderr
            .contains(&format!("remove {vol}: volume is in use - [{c}]")),
        "{out:?}"
    );
    let out = d.docker(&["volume", "rm", "-f", &vol]).failed();
    assert!(out.stderr.contains("volume is in use"), "{out:?}");
    assert!(volume_names(&d).contains(&vol));
    let out = d.docker(&["volume", "prune", "-af"]).ok();
    assert!(!out.stdout.contains(&vol), "{out:?}");
    assert!(volume_names(&d).contains(&vol));

    for bad in ["a/b", "..", ".x"] {
        let out = d.docker(&["volume", "create", bad]).failed();
        assert!(
            out.stderr
                .contains("invalid characters for a local volume name"),
            "{bad}: {out:?}"
        );
    }
    let out = d
        .docker(&["run", "--rm", "--mount", "src=..,dst=/x", img, "true"])
        .failed();
    assert!(out.stderr.contains("invalid volume name"), "{out:?}");
    let out = d
        .docker(&["volume", "create", "-d", "nosuchdriver", &unique("v")])
        .failed();
    assert!(out.stderr.contains("nosuchdriver"), "{out:?}");
    let out = d
        .docker(&["volume", "create", "-o", "bogus=1", &unique("v")])
        .failed();
    assert!(out.stderr.contains("invalid option"), "{out:?}");
    let out = d.docker(&["volume", "inspect", "nosuchvolume"]).failed();
    assert!(out.stderr.contains("no such volume"), "{out:?}");
    d.docker(&["volume", "rm", "nosuchvolume"]).failed();
    d.docker(&["volume", "rm", "-f", "nosuchvolume"]).ok();

    // The API answers Docker's codes: 409 in use, 404 unknown, 400 bad name.
    let curl = |method: &str, path: &str| {
        let out = Command::new("curl")
            .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", method])
            .arg("--unix-socket")
            .arg(&d.socket)
            .arg(format!("http://x/v1.44{path}"))
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    assert_eq!(curl("DELETE", &format!("/volumes/{vol}")), "409");
    assert_eq!(curl("GET", "/volumes/nosuchvolume"), "404");
    assert_eq!(curl("DELETE", "/volumes/nosuchvolume?force=1"), "204");
    d.docker(&["rm", &c]).ok();
    assert_eq!(curl("DELETE", &format!("/volumes/{vol}")), "204");
}

#[test]
fn volumes_from_shares_volumes_and_binds() {
    if common::skip() {
        return;
    }
    let d = Daemon::start();
    let img = d.busybox();
    let host = tempfile::tempdir().unwrap();
    std::fs::write(host.path().join("h"), "from host").unwrap();
    let vol = unique("vf");
    let src = unique("src");
    d.docker(&[
        "run",
        "--name",
        &src,
        "-v",
        &format!("{vol}:/data"),
        "-v",
        &format!("{}:/hostdir", host.path().display()),
        "-v",
        "/anon",
        img,
        "sh",
        "-c",
        "echo shared > /data/f; echo a > /anon/a",
    ])
    .ok();
    let out = d
        .docker(&[
            "run",
            "--rm",
            "--volumes-from",
            &src,
            img,
            "cat",
            "/data/f",
            "/hostdir/h",
            "/anon/a",
        ])
        .ok();
    assert_eq!(out.stdout, "shared\nfrom hosta\n");
    let out = d
        .docker(&[
            "run",
            "--rm",
            "--volumes-from",
            &format!("{src}:ro"),
            img,
            "touch",
            "/data/g",
        ])
        .failed();
    assert!(out.stderr.contains("Read-only"), "{out:?}");
    // The borrower's own mount wins at the same place (a bare `-v /data` is only an image-like
    // anonymous volume, which a borrowed mount covers, as with dockerd).
    let own = format!("{}:/data", unique("own"));
    let out = d
        .docker(&[
            "run",
            "--rm",
            "--volumes-from",
            &src,
            "-v",
            &own,
            img,
            "ls",
            "/data",
        ])
        .ok();
    assert_eq!(out.stdout, "");
    // A borrower keeps the volumes in use.
    let c = d
        .docker(&["create", "--volumes-from", &src, img])
        .ok()
        .text();
    d.docker(&["rm", "-v", &src]).ok();
    let mounts = inspect(&d, &c, "{{json .Mounts}}");
    let anon = mount_at(&mounts, "/anon")["Name"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        volume_names(&d).contains(&anon),
        "shared anonymous volume removed"
    );
    d.docker(&["volume", "rm", &vol]).failed();
    d.docker(&["rm", "-v", &c]).ok();
    assert!(!volume_names(&d).contains(&anon));
}

#[test]
fn binds_sources_symlinks_and_propagation() {
    if common::skip() {
        return;
    }
    let d = Daemon::start();
    let img = d.busybox();
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path();

    // -v creates a missing source; --mount refuses it.
    let missing = base.join("made/by/v");
    d.docker(&[
        "run",
        "--rm",
        "-v",
        &format!("{}:/m", missing.display()),
        img,
        "true",
    ])
    .ok();
    assert!(missing.is_dir());
    let out = d
        .docker(&[
            "run",
            "--rm",
            "--mount",
            &format!("type=bind,src={},dst=/m", base.join("nope").display()),
            img,
            "true",
        ])
        .failed();
    assert!(
        out.stderr.contains("bind source path does not exist"),
        "{out:?}"
    );

    // A symlink source binds what it points to.
    std::fs::create_dir(base.join("real")).unwrap();
    std::fs::write(base.join("real/f"), "through the link").unwrap();
    std::os::unix::fs::symlink(base.join("real"), base.join("link")).unwrap();
    let out = d
        .docker(&[
            "run",
            "--rm",
            "-v",
            &format!("{}:/l:ro", base.join("link").display()),
            img,
            "cat",
            "/l/f",
        ])
        .ok();
    assert_eq!(out.stdout, "through the link");

    // Inspect shows binds as Docker does, and HostConfig round-trips.
    let c = d
        .docker(&[
            "create",
            "-v",
            &format!("{}:/b:ro,rslave", base.join("real").display()),
            "--mount",
            &format!(
                "type=bind,src={},dst=/m,bind-nonrecursive",
                base.join("real").display()
            ),
            "--mount",
            "type=tmpfs,dst=/t,tmpfs-size=1m",
            img,
        ])
        .ok()
        .text();
    let mounts = inspect(&d, &c, "{{json .Mounts}}");
    let b = mount_at(&mounts, "/b");
    assert_eq!(b["Type"], "bind");
    assert_eq!(b["Mode"], "ro,rslave");
    assert_eq!(b["RW"], false);
    assert_eq!(b["Propagation"], "rslave");
    assert_eq!(
        inspect(&d, &c, "{{json .HostConfig.Binds}}"),
        serde_json::json!([format!("{}:/b:ro,rslave", base.join("real").display())])
    );
    let hm = inspect(&d, &c, "{{json .HostConfig.Mounts}}");
    assert_eq!(hm[0]["BindOptions"]["NonRecursive"], true, "{hm}");
    assert_eq!(hm[1]["TmpfsOptions"]["SizeBytes"], 1048576, "{hm}");
    d.docker(&["rm", &c]).ok();

    // Propagation: a mount made on the host under the source after start reaches an rshared
    // bind, not an rprivate one. The source must be a shared mount for that (as with dockerd).
    let src = base.join("prop");
    std::fs::create_dir_all(src.join("sub")).unwrap();
    let s = src.display();
    sh(&format!("mount --bind {s} {s} && mount --make-shared {s}"));
    let shared = d
        .docker(&[
            "run",
            "-d",
            "-v",
            &format!("{s}:/p:rshared"),
            img,
            "sleep",
            "1000",
        ])
        .ok()
        .text();
    let private = d
        .docker(&[
            "run",
            "-d",
            "-v",
            &format!("{s}:/p:rprivate"),
            img,
            "sleep",
            "1000",
        ])
        .ok()
        .text();
    sh(&format!(
        "mount -t tmpfs tmpfs {s}/sub && echo late > {s}/sub/f"
    ));
    let seen = d.docker(&["exec", &shared, "cat", "/p/sub/f"]);
    let hidden = d.docker(&["exec", &private, "cat", "/p/sub/f"]);
    d.docker(&["rm", "-f", &shared, &private]).ok();
    sh(&format!("umount {s}/sub; umount -l {s}"));
    assert_eq!(seen.ok().stdout, "late\n");
    hidden.failed();
}

#[test]
fn tmpfs_volume_is_mounted_while_used() {
    if common::skip() {
        return;
    }
    let mut d = Daemon::start();
    let img = d.busybox();
    let vol = unique("tv");
    d.docker(&[
        "volume",
        "create",
        "--opt",
        "type=tmpfs",
        "--opt",
        "device=tmpfs",
        "--opt",
        "o=size=10m",
        &vol,
    ])
    .ok();
    let opts = d
        .docker(&["volume", "inspect", "-f", "{{json .Options}}", &vol])
        .ok();
    assert!(opts.stdout.contains("size=10m"), "{opts:?}");
    let out = d
        .docker(&[
            "run",
            "--rm",
            "-v",
            &format!("{vol}:/t"),
            img,
            "sh",
            "-c",
            "grep ' /t ' /proc/mounts; df -k /t | tail -1",
        ])
        .ok();
    assert!(out.stdout.contains("tmpfs /t tmpfs"), "{out:?}");
    assert!(out.stdout.contains("10240"), "{out:?}");
    assert!(d.leaked_mounts().is_empty(), "{:?}", d.leaked_mounts());

    // Two users share one mount; it goes when the last one stops, also across a crash.
    let a = d
        .docker(&[
            "run",
            "-d",
            "-v",
            &format!("{vol}:/t"),
            img,
            "sh",
            "-c",
            "echo a > /t/a; sleep 1000",
        ])
        .ok()
        .text();
    let b = d
        .docker(&[
            "run",
            "-d",
            "-v",
            &format!("{vol}:/t"),
            img,
            "sleep",
            "1000",
        ])
        .ok()
        .text();
    d.docker(&["rm", "-f", &b]).ok();
    let out = d.docker(&["exec", &a, "cat", "/t/a"]).ok();
    assert_eq!(out.stdout, "a\n");
    d.kill9();
    d.spawn();
    assert_eq!(d.docker(&["exec", &a, "cat", "/t/a"]).ok().stdout, "a\n");
    d.docker(&["stop", "-t", "0", &a]).ok();
    assert!(d.leaked_mounts().is_empty(), "{:?}", d.leaked_mounts());
    d.docker(&["rm", &a]).ok();

    // A bind-type local volume.
    let host = tempfile::tempdir().unwrap();
    std::fs::write(host.path().join("f"), "bound").unwrap();
    let bv = unique("bv");
    d.docker(&[
        "volume",
        "create",
        "-o",
        "type=none",
        "-o",
        "o=bind",
        "-o",
        &format!("device={}", host.path().display()),
        &bv,
    ])
    .ok();
    let out = d
        .docker(&["run", "--rm", "-v", &format!("{bv}:/b"), img, "cat", "/b/f"])
        .ok();
    assert_eq!(out.stdout, "bound");
    assert!(d.leaked_mounts().is_empty(), "{:?}", d.leaked_mounts());
}

#[test]
fn prune_ls_filters_df_and_events() {
    if common::skip() {
        return;
    }
    let d = Daemon::start();
    let img = d.busybox();
    let since = unix_now();
    let named_unused = unique("nu");
    let named_used = unique("nd");
    d.docker(&["volume", "create", "--label", "team=x", &named_unused])
        .ok();
    let user = d
        .docker(&[
            "run",
            "--name",
            &unique("u"),
            "-v",
            &format!("{named_used}:/d"),
            img,
            "sh",
            "-c",
            "head -c 100000 /dev/zero > /d/z",
        ])
        .ok();
    drop(user);
    let c = d.docker(&["create", "-v", "/anon", img]).ok().text();
    let anon = inspect(&d, &c, "{{json .Mounts}}")[0]["Name"]
        .as_str()
        .unwrap()
        .to_string();
    d.docker(&["rm", &c]).ok();

    let ls = |filter: &str| {
        let mut v: Vec<String> = d
            .docker(&["volume", "ls", "-q", "--filter", filter])
            .ok()
            .stdout
            .lines()
            .map(str::to_string)
            .collect();
        v.sort();
        v
    };
    let mut dangling = vec![named_unused.clone(), anon.clone()];
    dangling.sort();
    assert_eq!(ls("dangling=true"), dangling);
    assert_eq!(ls("dangling=false"), [named_used.as_str()]);
    assert_eq!(ls("label=team=x"), [named_unused.as_str()]);
    assert_eq!(ls(&format!("name={named_used}")), [named_used.as_str()]);
    assert_eq!(ls("driver=local").len(), 3);

    let df = d
        .docker(&["system", "df", "-v", "--format", "{{json .Volumes}}"])
        .ok();
    let vols: serde_json::Value = serde_json::from_str(df.stdout.trim()).unwrap();
    let used = vols
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["Name"] == named_used.as_str())
        .unwrap_or_else(|| panic!("{vols}"));
    assert_eq!(used["Links"], "1", "{used}");
    assert!(used["Size"].as_str().unwrap().contains("kB"), "{used}");

    // Default prune: unused anonymous volumes only.
    let out = d.docker(&["volume", "prune", "-f"]).ok();
    assert!(out.stdout.contains(&anon), "{out:?}");
    assert_eq!(volume_names(&d).len(), 2);
    // --all: unused named ones too; the used one stays.
    let out = d.docker(&["volume", "prune", "-af"]).ok();
    assert!(out.stdout.contains(&named_unused), "{out:?}");
    assert!(out.stdout.contains("Total reclaimed space"), "{out:?}");
    assert_eq!(volume_names(&d), [named_used.as_str()]);

    let until = unix_now();
    let ev = d
        .docker(&[
            "events",
            "--since",
            &since,
            "--until",
            &until,
            "--filter",
            "type=volume",
            "--format",
            "{{.Action}} {{.Actor.ID}}",
        ])
        .ok();
    for want in [
        format!("create {named_used}"),
        format!("mount {named_used}"),
        format!("unmount {named_used}"),
        format!("destroy {named_unused}"),
    ] {
        assert!(ev.stdout.contains(&want), "{want}: {ev:?}");
    }
}

/// Now as Unix seconds with fraction, for `events --since/--until` (same host as berthd).
fn unix_now() -> String {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    format!("{}.{:09}", t.as_secs(), t.subsec_nanos())
}

#[test]
fn fifty_containers_append_to_one_volume() {
    if common::skip() {
        return;
    }
    let d = Daemon::start();
    let img = d.busybox();
    let vol = unique("conc");
    let bind = format!("{vol}:/data");
    let t0 = Instant::now();
    let ids: Vec<String> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..5)
            .map(|w| {
                let (d, bind) = (&d, &bind);
                s.spawn(move || {
                    (0..10)
                        .map(|i| {
                            let line = format!("echo line-{w}-{i} >> /data/log");
                            d.docker(&["run", "-d", "-v", bind, img, "sh", "-c", &line])
                                .ok()
                                .text()
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect()
    });
    assert_eq!(ids.len(), 50);
    let mut args = vec!["wait"];
    args.extend(ids.iter().map(String::as_str));
    let codes = d.docker(&args).ok();
    assert!(codes.stdout.lines().all(|c| c == "0"), "{codes:?}");
    assert!(t0.elapsed() < Duration::from_secs(60), "{:?}", t0.elapsed());
    let log = std::fs::read_to_string(mountpoint(&d, &vol).join("log")).unwrap();
    let mut lines: Vec<&str> = log.lines().collect();
    lines.sort();
    let mut want: Vec<String> = (0..5)
        .flat_map(|w| (0..10).map(move |i| format!("line-{w}-{i}")))
        .collect();
    want.sort();
    assert_eq!(lines, want);
    let out = d.docker(&["volume", "rm", &vol]).failed();
    assert!(out.stderr.contains("volume is in use"), "{out:?}");
    let mut rm = vec!["rm"];
    rm.extend(ids.iter().map(String::as_str));
    d.docker(&rm).ok();
    d.docker(&["volume", "rm", &vol]).ok();
}
