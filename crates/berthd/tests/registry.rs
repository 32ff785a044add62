//! Registry pull/push/login end to end against Debian's `docker-registry` on 127.0.0.1 (plain,
//! htpasswd, TLS with a CA the test makes), with skopeo as the independent client.

mod common;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

/// A private `docker-registry` on a free loopback port; killed on drop.
struct Registry {
    dir: tempfile::TempDir,
    port: u16,
    child: Option<Child>,
    config: PathBuf,
}

#[derive(Default)]
struct RegistryOpts {
    htpasswd: Option<(&'static str, &'static str)>,
    tls: bool,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("{e}"))
}

fn sh(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

impl Registry {
    fn start(opts: RegistryOpts) -> Self {
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

    fn spawn(&mut self) {
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

    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn blob_path(&self, digest: &str) -> PathBuf {
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

fn skip_registry() -> bool {
    if skip() {
        return true;
    }
    for tool in ["/usr/bin/docker-registry", "/usr/bin/skopeo"] {
        if !Path::new(tool).exists() {
            eprintln!("skipped: {tool} missing (apt-get install docker-registry skopeo)");
            return true;
        }
    }
    false
}

fn skopeo(args: &[&str]) -> Out {
    let mut cmd = Command::new("skopeo");
    cmd.args(args);
    run(cmd, None)
}

/// The manifest digest a registry serves for `image`, as skopeo computes it.
fn remote_digest(image: &str, tls: &[&str]) -> String {
    let mut args = vec!["inspect", "--format", "{{.Digest}}"];
    args.extend_from_slice(tls);
    let target = format!("docker://{image}");
    args.push(&target);
    skopeo(&args).ok().stdout.trim().to_string()
}

fn pushed_digest(out: &str) -> String {
    out.lines()
        .find_map(|l| {
            l.split_once(": digest: ")
                .map(|(_, r)| r.split(' ').next().unwrap_or_default().to_string())
        })
        .unwrap_or_else(|| panic!("no digest line in {out}"))
}

#[test]
fn push_pull_run_and_skopeo_interop_with_identical_digests() {
    if skip_registry() {
        return;
    }
    let reg = Registry::start(RegistryOpts::default());
    let d = Daemon::start();
    let image = format!("{}/bb:v1", reg.host());
    d.docker(&["import", busybox_tar().to_str().unwrap_or_default(), &image])
        .ok();
    let push = d.docker(&["push", &image]).ok();
    assert!(push.stdout.contains("Pushed"), "{}", push.stdout);
    let digest = pushed_digest(&push.stdout);
    assert_eq!(remote_digest(&image, &["--tls-verify=false"]), digest);
    // A second push finds every blob there.
    let again = d.docker(&["push", &image]).ok();
    assert!(
        again.stdout.contains("Layer already exists"),
        "{}",
        again.stdout
    );

    // skopeo can read everything Berth pushed.
    let oci = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let dest = format!("oci:{}:x", oci.path().join("l").display());
    skopeo(&[
        "copy",
        "--src-tls-verify=false",
        &format!("docker://{image}"),
        &dest,
    ])
    .ok();

    // Pull back into an empty store and run.
    d.docker(&["rmi", &image]).ok();
    let pull = d.docker(&["pull", &image]).ok();
    assert!(
        pull.stdout.contains(&format!("Digest: {digest}")),
        "{}",
        pull.stdout
    );
    assert!(pull.stdout.contains("Pull complete"), "{}", pull.stdout);
    let out = d.docker(&["run", "--rm", &image, "echo", "pulled"]).ok();
    assert_eq!(out.stdout.trim(), "pulled");
    let up = d.docker(&["pull", &image]).ok();
    assert!(up.stdout.contains("Image is up to date"), "{}", up.stdout);

    // An image skopeo pushed (zstd layers, OCI manifest) pulls into Berth and runs.
    let zimage = format!("{}/bb-zstd:v1", reg.host());
    skopeo(&[
        "copy",
        "--dest-tls-verify=false",
        "--dest-compress-format",
        "zstd",
        "--format",
        "oci",
        &dest,
        &format!("docker://{zimage}"),
    ])
    .ok();
    let zdigest = remote_digest(&zimage, &["--tls-verify=false"]);
    // Same config, so the same image id: one image keeps one manifest, so drop the gzip one.
    d.docker(&["rmi", &image]).ok();
    let zpull = d.berth(&["pull", &zimage]).ok();
    assert!(zpull.stderr.contains(&zdigest), "{}", zpull.stderr);
    let out = d.docker(&["run", "--rm", &zimage, "echo", "zstd"]).ok();
    assert_eq!(out.stdout.trim(), "zstd");
    // Pushed on to another repository, it keeps its manifest digest.
    let copy = format!("{}/bb-copy:v1", reg.host());
    d.docker(&["tag", &zimage, &copy]).ok();
    let pushed = d.docker(&["push", &copy]).ok();
    assert_eq!(pushed_digest(&pushed.stdout), zdigest);
    assert!(
        pushed.stdout.contains("Mounted from bb-zstd"),
        "{}",
        pushed.stdout
    );
}

#[test]
fn missing_images_and_corrupt_blobs_are_refused_cleanly() {
    if skip_registry() {
        return;
    }
    let reg = Registry::start(RegistryOpts::default());
    let d = Daemon::start();
    let missing = d
        .docker(&["pull", &format!("{}/nope:v1", reg.host())])
        .failed();
    assert!(
        missing.stderr.contains("manifest unknown"),
        "{}",
        missing.stderr
    );

    let image = format!("{}/corrupt:v1", reg.host());
    d.docker(&["import", busybox_tar().to_str().unwrap_or_default(), &image])
        .ok();
    d.docker(&["push", &image]).ok();
    let layer = d
        .docker(&["image", "inspect", "--format", "{{.Id}}", &image])
        .ok();
    assert!(!layer.stdout.trim().is_empty());
    d.docker(&["rmi", &image]).ok();
    d.docker(&["image", "prune", "-af"]).ok();
    // Flip bytes inside the stored layer blob (the largest blob is the layer).
    let blobs = reg.dir.path().join("data/docker/registry/v2/blobs/sha256");
    let mut biggest: Option<(u64, PathBuf)> = None;
    for prefix in std::fs::read_dir(&blobs)
        .unwrap_or_else(|e| panic!("{e}"))
        .flatten()
    {
        for blob in std::fs::read_dir(prefix.path())
            .unwrap_or_else(|e| panic!("{e}"))
            .flatten()
        {
            let data = blob.path().join("data");
            let size = std::fs::metadata(&data).map(|m| m.len()).unwrap_or(0);
            if biggest.as_ref().is_none_or(|(s, _)| size > *s) {
                biggest = Some((size, data));
            }
        }
    }
    let (_, data) = biggest.unwrap_or_else(|| panic!("no blobs"));
    assert!(reg
        .blob_path(&format!(
            "sha256:{}",
            data.parent()
                .and_then(|p| p.file_name())
                .and_then(|n| n.to_str())
                .unwrap_or_default()
        ))
        .exists());
    let mut bytes = std::fs::read(&data).unwrap_or_else(|e| panic!("{e}"));
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    std::fs::write(&data, bytes).unwrap_or_else(|e| panic!("{e}"));
    let bad = d.docker(&["pull", &image]).failed();
    assert!(
        bad.stderr.contains("mismatch") || bad.stderr.contains("digest"),
        "{}",
        bad.stderr
    );
    assert!(d.docker(&["images", "-q"]).ok().stdout.trim().is_empty());
    let blobs_dir = d.data_root().join("content/blobs/sha256");
    let stored: Vec<_> = std::fs::read_dir(&blobs_dir)
        .map(|r| r.flatten().collect())
        .unwrap_or_default();
    let ingests: Vec<_> = std::fs::read_dir(d.data_root().join("content/ingest"))
        .map(|r| r.flatten().collect())
        .unwrap_or_default();
    assert!(ingests.is_empty(), "a rejected blob left an ingest behind");
    // Only the small config blob may have been fetched; no layer blob is stored.
    for b in &stored {
        assert!(
            b.metadata().map(|m| m.len()).unwrap_or(0) < 100_000,
            "{:?} stored",
            b.path()
        );
    }
}

#[test]
fn htpasswd_registry_needs_a_login_docker_and_berth() {
    if skip_registry() || !Path::new("/usr/bin/htpasswd").exists() {
        return;
    }
    let reg = Registry::start(RegistryOpts {
        htpasswd: Some(("berth", "s3cret")),
        ..Default::default()
    });
    let d = Daemon::start();
    let image = format!("{}/private:v1", reg.host());
    d.docker(&["import", busybox_tar().to_str().unwrap_or_default(), &image])
        .ok();
    let denied = d.docker(&["push", &image]).failed();
    assert!(
        denied.stderr.contains("unauthorized") || denied.stdout.contains("unauthorized"),
        "{denied:?}"
    );
    let wrong = d
        .docker(&["login", "-u", "berth", "-p", "nope", &reg.host()])
        .failed();
    assert!(wrong.stderr.contains("unauthorized"), "{}", wrong.stderr);
    d.docker(&["login", "-u", "berth", "-p", "s3cret", &reg.host()])
        .ok();
    d.docker(&["push", &image]).ok();
    d.docker(&["rmi", &image]).ok();
    d.docker(&["pull", &image]).ok();

    // berth login stores a private config.json, and berth pull uses it.
    let cfg = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let berth = |args: &[&str]| {
        let mut cmd = d.berth_cmd(args);
        cmd.env("BERTH_CONFIG", cfg.path())
            .env("DOCKER_CONFIG", cfg.path().join("none"));
        run(cmd, None)
    };
    d.docker(&["rmi", &image]).ok();
    let anon = berth(&["pull", &image]).failed();
    assert!(anon.stderr.contains("unauthorized"), "{}", anon.stderr);
    berth(&["login", "-u", "berth", "-p", "s3cret", &reg.host()]).ok();
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(cfg.path().join("config.json"))
            .unwrap_or_else(|e| panic!("{e}"))
            .permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);
    berth(&["pull", &image]).ok();
    let out = d.docker(&["run", "--rm", &image, "echo", "authed"]).ok();
    assert_eq!(out.stdout.trim(), "authed");
    berth(&["logout", &reg.host()]).ok();
}

#[test]
fn tls_registry_with_a_ca_in_certs_d() {
    if skip_registry() {
        return;
    }
    let reg = Registry::start(RegistryOpts {
        tls: true,
        ..Default::default()
    });
    let d = Daemon::start();
    let image = format!("{}/tls:v1", reg.host());
    d.docker(&["import", busybox_tar().to_str().unwrap_or_default(), &image])
        .ok();
    // Loopback is "insecure" (plain HTTP) until certs.d says it speaks TLS.
    d.docker(&["push", &image]).failed();
    let certs = d.root.path().join("certs.d").join(reg.host());
    std::fs::create_dir_all(&certs).unwrap_or_else(|e| panic!("{e}"));
    std::fs::copy(reg.dir.path().join("ca.crt"), certs.join("ca.crt"))
        .unwrap_or_else(|e| panic!("{e}"));
    let push = d.docker(&["push", &image]).ok();
    let digest = pushed_digest(&push.stdout);
    // skopeo's cert dir must hold the CA alone (a .key there means a client certificate).
    let ca_only = reg.dir.path().join("ca-only");
    std::fs::create_dir_all(&ca_only).unwrap_or_else(|e| panic!("{e}"));
    std::fs::copy(reg.dir.path().join("ca.crt"), ca_only.join("ca.crt"))
        .unwrap_or_else(|e| panic!("{e}"));
    let ca_dir = ca_only.to_str().unwrap_or_default().to_string();
    assert_eq!(remote_digest(&image, &["--cert-dir", &ca_dir]), digest);
    d.docker(&["rmi", &image]).ok();
    d.docker(&["pull", &image]).ok();
}
