//! A private dockerd (Debian's docker.io) for interop tests: private roots and socket, no
//! networks, its own containerd; the host's /var/lib/docker and /run/docker.sock are never
//! touched.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::{run, Out};

pub const DOCKERD: &str = "/usr/sbin/dockerd";

/// A private dockerd (it starts its own containerd under its exec root). Dropping it stops
/// it and removes its roots.
pub struct Dockerd {
    pub root: tempfile::TempDir,
    child: std::process::Child,
}

impl Dockerd {
    pub fn start() -> Self {
        // Short: dockerd and containerd put unix sockets under the exec root.
        let root = tempfile::Builder::new()
            .prefix("dkd")
            .tempdir_in("/tmp")
            .unwrap_or_else(|e| panic!("{e}"));
        let p = |s: &str| root.path().join(s);
        std::fs::write(p("daemon.json"), "{}").unwrap_or_else(|e| panic!("{e}"));
        let log = std::fs::File::create(p("dockerd.log")).unwrap_or_else(|e| panic!("{e}"));
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
            // Not the host's /etc/docker/daemon.json.
            .arg("--config-file")
            .arg(p("daemon.json"))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("{e}"));
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

    pub fn docker_cmd(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new("docker");
        cmd.env(
            "DOCKER_HOST",
            format!("unix://{}", self.root.path().join("d.sock").display()),
        )
        .env("DOCKER_CONFIG", self.root.path().join("docker-config"))
        .args(args);
        cmd
    }

    pub fn docker(&self, args: &[&str]) -> Out {
        run(self.docker_cmd(args), None)
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
