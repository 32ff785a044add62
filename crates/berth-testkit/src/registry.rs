//! A private `docker-registry` (Debian's package) on 127.0.0.1: plain, with htpasswd, or with
//! TLS from a CA made here; for the pull/push tests of berthd and berth.

use crate::free_port;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A private `docker-registry` on a free loopback port; killed on drop.
pub struct Registry {
    pub dir: tempfile::TempDir,
    pub port: u16,
    child: Option<Child>,
    config: PathBuf,
}

#[derive(Default)]
pub struct RegistryOpts {
    pub htpasswd: Option<(&'static str, &'static str)>,
    pub tls: bool,
}

pub fn sh(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

impl Registry {
    pub fn start(opts: RegistryOpts) -> Self {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let port = free_port();
        let mut yaml = format!(
            "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n",
            dir.path().join("data").display()
        );
        if opts.tls {
            let d = dir.path();
            sh(Command::new("openssl").current_dir(d).args([
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "2",
                "-subj",
                "/CN=berth-test-ca",
                "-keyout",
                "ca.key",
                "-out",
                "ca.crt",
            ]));
            std::fs::write(d.join("ext.cnf"), "subjectAltName=IP:127.0.0.1\n")
                .unwrap_or_else(|e| panic!("{e}"));
            sh(Command::new("openssl").current_dir(d).args([
                "req",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-subj",
                "/CN=127.0.0.1",
                "-keyout",
                "srv.key",
                "-out",
                "srv.csr",
            ]));
            sh(Command::new("openssl").current_dir(d).args([
                "x509",
                "-req",
                "-in",
                "srv.csr",
                "-CA",
                "ca.crt",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-days",
                "2",
                "-extfile",
                "ext.cnf",
                "-out",
                "srv.crt",
            ]));
            yaml.push_str(&format!(
                "  tls:\n    certificate: {0}/srv.crt\n    key: {0}/srv.key\n",
                d.display()
            ));
        }
        if let Some((user, password)) = opts.htpasswd {
            let line = sh(Command::new("htpasswd").args(["-Bbn", user, password]));
            let file = dir.path().join("htpasswd");
            std::fs::write(&file, line.trim()).unwrap_or_else(|e| panic!("{e}"));
            yaml.push_str(&format!(
                "auth:\n  htpasswd:\n    realm: berth-test\n    path: {}\n",
                file.display()
            ));
        }
        let config = dir.path().join("config.yml");
        std::fs::write(&config, yaml).unwrap_or_else(|e| panic!("{e}"));
        let mut r = Self {
            dir,
            port,
            child: None,
            config,
        };
        r.spawn();
        r
    }

    pub fn spawn(&mut self) {
        let log = std::fs::File::create(self.dir.path().join("registry.log"))
            .unwrap_or_else(|e| panic!("{e}"));
        let child = Command::new("/usr/bin/docker-registry")
            .arg("serve")
            .arg(&self.config)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("start docker-registry: {e}"));
        self.child = Some(child);
        let start = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(15),
                "registry did not come up"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn blob_path(&self, digest: &str) -> PathBuf {
        let hex = digest.trim_start_matches("sha256:");
        self.dir
            .path()
            .join("data/docker/registry/v2/blobs/sha256")
            .join(&hex[..2])
            .join(hex)
            .join("data")
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        self.kill();
    }
}
