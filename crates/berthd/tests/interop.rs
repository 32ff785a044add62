//! Images move between berthd and Debian's dockerd 20.10 with `docker save` / `docker load`,
//! both ways, keeping their ids (config digests). dockerd runs on private roots and a private
//! socket; the host's /var/lib/docker and /run/docker.sock are never touched.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{run, Daemon, Out};

const DOCKERD: &str = "/usr/sbin/dockerd";

/// A private dockerd (it starts its own containerd under its exec root). Dropping it stops
/// it and removes its roots.
struct Dockerd {
    root: tempfile::TempDir,
    child: std::process::Child,
}

impl Dockerd {
    fn start() -> Self {
        // Short: dockerd and containerd put unix sockets under the exec root.
        let root = tempfile::Builder::new()
            .prefix("dkd")
            .tempdir_in("/tmp")
            .unwrap();
        let p = |s: &str| root.path().join(s);
        let log = std::fs::File::create(p("dockerd.log")).unwrap();
        let child = Command::new(DOCKERD)
            .arg("--data-root")
            .arg(p("data"))
            .arg("--exec-root")
            .arg(p("exec"))
            .arg("-H")
            .arg(format!("unix://{}", p("d.sock").display()))
            .arg("--pidfile")
            .arg(p("d.pid"))
            .args(["--bridge=none", "--iptables=false", "--ip-masq=false"])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        let log_path = p("dockerd.log");
        let d = Self { root, child };
        let start = Instant::now();
        while d.docker(&["version"]).code != 0 {
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "dockerd did not come up: {}",
                std::fs::read_to_string(&log_path).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        d
    }

    fn docker(&self, args: &[&str]) -> Out {
        let mut cmd = Command::new("docker");
        cmd.env(
            "DOCKER_HOST",
            format!("unix://{}", self.root.path().join("d.sock").display()),
        )
        .env("DOCKER_CONFIG", self.root.path().join("docker-config"))
        .args(args);
        run(cmd, None)
    }
}

impl Drop for Dockerd {
    fn drop(&mut self) {
        // SAFETY: SIGTERM to our own child; dockerd stops its containerd itself.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let start = Instant::now();
        while self.child.try_wait().ok().flatten().is_none() {
            if start.elapsed() > Duration::from_secs(30) {
                let _ = self.child.kill();
                let _ = self.child.wait();
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let root = self.root.path().display().to_string();
        let mounts: Vec<String> = std::fs::read_to_string("/proc/self/mountinfo")
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.split_whitespace().nth(4))
            .filter(|m| m.starts_with(&root))
            .map(str::to_string)
            .collect();
        for m in mounts.iter().rev() {
            let _ = Command::new("umount").arg("-l").arg(m).status();
        }
    }
}

fn skip() -> bool {
    if common::skip() {
        return true;
    }
    if !Path::new(DOCKERD).exists() {
        eprintln!("skipping: no {DOCKERD} (apt-get install docker.io)");
        return true;
    }
    false
}

fn id_of(out: Out) -> String {
    out.ok().stdout.trim().to_string()
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn images_move_between_dockerd_and_berthd_with_the_same_ids() {
    if skip() {
        return;
    }
    let dockerd = Dockerd::start();
    let berthd = Daemon::start();
    let work: PathBuf = berthd.root.path().join("interop");
    std::fs::create_dir_all(&work).unwrap();
    let busybox_tar = path(common::busybox_tar()).to_string();

    // dockerd → berthd.
    dockerd
        .docker(&["import", "-c", "CMD [\"sh\"]", &busybox_tar, "busybox:dk"])
        .ok();
    let dk_id = id_of(dockerd.docker(&["image", "inspect", "-f", "{{.Id}}", "busybox:dk"]));
    let from_dockerd = work.join("from-dockerd.tar");
    dockerd
        .docker(&["save", "-o", path(&from_dockerd), "busybox:dk"])
        .ok();
    let out = berthd.docker(&["load", "-i", path(&from_dockerd)]).ok();
    assert!(out.stdout.contains("Loaded image: busybox:dk"), "{out:?}");
    assert_eq!(
        id_of(berthd.docker(&["image", "inspect", "-f", "{{.Id}}", "busybox:dk"])),
        dk_id
    );
    let out = berthd
        .docker(&[
            "run",
            "--rm",
            "busybox:dk",
            "echo",
            "dockerd image on berthd",
        ])
        .ok();
    assert_eq!(out.stdout, "dockerd image on berthd\n");

    // berthd → dockerd, with a two-layer image made by commit.
    let image = berthd.busybox();
    berthd
        .docker(&[
            "run",
            "--name",
            "maker",
            image,
            "sh",
            "-c",
            "echo made > /made",
        ])
        .ok();
    berthd
        .docker(&[
            "commit",
            "-c",
            "CMD [\"cat\", \"/made\"]",
            "maker",
            "berth:made",
        ])
        .ok();
    let ids: Vec<String> = [image, "berth:made"]
        .iter()
        .map(|n| id_of(berthd.docker(&["image", "inspect", "-f", "{{.Id}}", n])))
        .collect();
    let from_berthd = work.join("from-berthd.tar");
    berthd
        .docker(&["save", "-o", path(&from_berthd), image, "berth:made"])
        .ok();
    let out = dockerd.docker(&["load", "-i", path(&from_berthd)]).ok();
    assert!(out.stdout.contains("Loaded image: busybox:test"), "{out:?}");
    assert!(out.stdout.contains("Loaded image: berth:made"), "{out:?}");
    for (name, id) in [image, "berth:made"].iter().zip(&ids) {
        assert_eq!(
            &id_of(dockerd.docker(&["image", "inspect", "-f", "{{.Id}}", name])),
            id,
            "{name}"
        );
    }
    let out = dockerd
        .docker(&["run", "--rm", "--network", "none", "berth:made"])
        .ok();
    assert_eq!(out.stdout, "made\n");
    let out = dockerd
        .docker(&[
            "run",
            "--rm",
            "--network",
            "none",
            image,
            "echo",
            "berthd image on dockerd",
        ])
        .ok();
    assert_eq!(out.stdout, "berthd image on dockerd\n");

    // And back: what dockerd saves of berthd's two-layer image loads into berthd unchanged.
    let round = work.join("round.tar");
    dockerd
        .docker(&["save", "-o", path(&round), "berth:made"])
        .ok();
    berthd.docker(&["rm", "maker"]).ok();
    berthd.docker(&["rmi", "berth:made"]).ok();
    berthd.docker(&["load", "-i", path(&round)]).ok();
    assert_eq!(
        id_of(berthd.docker(&["image", "inspect", "-f", "{{.Id}}", "berth:made"])),
        ids[1]
    );
    assert_eq!(
        berthd.docker(&["run", "--rm", "berth:made"]).ok().stdout,
        "made\n"
    );
}
