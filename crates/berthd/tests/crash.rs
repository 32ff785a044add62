//! Crash safety: berthd killed with SIGKILL in the middle of an import, a start and a removal.
//! After a restart nothing is lost or half-made: images are whole or absent, containers are in
//! a state they can leave, and once they are removed no mount, cgroup or shim remains.
#![allow(clippy::unwrap_used)]

mod common;

use std::process::Stdio;
use std::time::Duration;

use berth_testkit::cgroup_dirs;
use common::{unique, Daemon};

/// The delays after which berthd is killed, spread over the operation's duration.
const KILL_AFTER_MS: [u64; 4] = [5, 40, 120, 400];

fn shims_of(d: &Daemon) -> Vec<String> {
    let root = d.root.path().display().to_string();
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| {
            let cmd = std::fs::read(e.ok()?.path().join("cmdline")).ok()?;
            let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
            (cmd.contains("berth-shim") && cmd.contains(&root)).then_some(cmd)
        })
        .collect()
}

/// Removes everything and checks nothing is left behind.
fn assert_clean_after_removal(d: &Daemon, ids: &[String]) {
    for id in d
        .docker(&["ps", "-aq", "--no-trunc"])
        .ok()
        .stdout
        .split_whitespace()
    {
        d.docker(&["rm", "-f", id]).ok();
    }
    assert_eq!(d.docker(&["ps", "-aq"]).ok().stdout, "");
    assert_eq!(d.leaked_mounts(), Vec::<String>::new(), "mounts left");
    assert_eq!(shims_of(d), Vec::<String>::new(), "shims left");
    for id in ids {
        assert_eq!(
            cgroup_dirs("berth", id),
            Vec::<std::path::PathBuf>::new(),
            "cgroups of {id} left"
        );
    }
}

#[test]
fn kill_during_import_leaves_whole_images_or_none() {
    if common::skip() {
        return;
    }
    let mut d = Daemon::start();
    // A layer big enough that the import takes a while: 64 MiB of incompressible data.
    let dir = tempfile::tempdir().unwrap();
    let rootfs = dir.path().join("rootfs");
    std::fs::create_dir_all(rootfs.join("bin")).unwrap();
    std::fs::copy("/bin/busybox", rootfs.join("bin/busybox")).unwrap();
    let status = std::process::Command::new("dd")
        .args(["if=/dev/urandom", "bs=1M", "count=64", "status=none"])
        .arg(format!("of={}", rootfs.join("blob").display()))
        .status()
        .unwrap();
    assert!(status.success());
    let tar = dir.path().join("big.tar");
    assert!(std::process::Command::new("tar")
        .arg("-C")
        .arg(&rootfs)
        .arg("-cf")
        .arg(&tar)
        .arg(".")
        .status()
        .unwrap()
        .success());
    for (i, delay) in KILL_AFTER_MS.iter().enumerate() {
        let tag = format!("big:{i}");
        let mut import = d
            .docker_cmd(&["import", tar.to_str().unwrap(), &tag])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(*delay));
        d.kill9();
        let _ = import.wait();
        d.spawn();
        let images = d
            .docker(&["images", "--format", "{{.Repository}}:{{.Tag}}"])
            .ok();
        if images.stdout.contains(&tag) {
            // Whole: it runs and has the big file.
            let out = d
                .docker(&[
                    "run",
                    "--rm",
                    &tag,
                    "/bin/busybox",
                    "stat",
                    "-c",
                    "%s",
                    "/blob",
                ])
                .ok();
            assert_eq!(out.stdout.trim(), (64 << 20).to_string());
        }
        // No half-made layer or download survives the restart.
        let ingest = d.data_root().join("content/ingest");
        let partial: Vec<_> = std::fs::read_dir(&ingest)
            .map(|r| r.flatten().collect())
            .unwrap_or_default();
        assert!(partial.is_empty(), "partial ingests left: {partial:?}");
    }
    assert_clean_after_removal(&d, &[]);
}

#[test]
fn kill_during_start_and_rm_keeps_containers_manageable() {
    if common::skip() {
        return;
    }
    let mut d = Daemon::start();
    let image = d.busybox();
    let mut ids = Vec::new();
    for delay in KILL_AFTER_MS {
        let name = unique("crash-start");
        let id = d
            .docker(&["create", "--name", &name, image, "sleep", "1000"])
            .ok()
            .text();
        ids.push(id.clone());
        let mut start = d
            .docker_cmd(&["start", &name])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay));
        d.kill9();
        let _ = start.wait();
        d.spawn();
        let status = d
            .docker(&["inspect", "-f", "{{.State.Status}}", &name])
            .ok()
            .text();
        match status.as_str() {
            "running" => {
                let pid = d
                    .docker(&["inspect", "-f", "{{.State.Pid}}", &name])
                    .ok()
                    .text();
                assert!(
                    std::path::Path::new(&format!("/proc/{pid}")).exists(),
                    "running but pid {pid} gone"
                );
            }
            "created" | "exited" => {
                // The interrupted start left nothing that blocks a new one.
                d.docker(&["start", &name]).ok();
            }
            other => panic!("unexpected state {other} after a crash during start"),
        }
        // Now the same for a removal.
        let mut rm = d
            .docker_cmd(&["rm", "-f", &name])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay));
        d.kill9();
        let _ = rm.wait();
        d.spawn();
        let left = d
            .docker(&[
                "ps",
                "-aq",
                "--no-trunc",
                "--filter",
                &format!("name={name}"),
            ])
            .ok();
        if !left.stdout.trim().is_empty() {
            d.docker(&["rm", "-f", &name]).ok();
        }
    }
    assert_clean_after_removal(&d, &ids);
}
