//! Docker Compose against berthd: compose v2 (the `docker compose` CLI plugin, Go, Debian
//! trixie's package fetched by scripts/fetch-compose.sh) and compose 1.29 (`docker-compose`,
//! Python over docker-py, Debian bookworm's package) drive the same multi-service project
//! through its whole life: a user network with DNS between services, named volumes,
//! `depends_on: service_healthy`, a port published on 127.0.0.1, ps, logs -f, exec, run --rm,
//! recreating a changed service, scale, restart, stop, and `down -v` leaving nothing behind.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{free_port, run, unique, Daemon, Out};

/// Where scripts/fetch-compose.sh caches the v2 plugin, one directory per package version.
const PLUGIN_CACHE: &str = "/var/cache/berth-test/compose-v2";

/// How the services stop quickly: as PID 1 the shell loop and httpd ignore SIGTERM, so under
/// an init (scripts/test.sh's static one; berthd refuses `--init` without it), else with a
/// short grace period before the SIGKILL (10 s by default, per container and compose stage).
fn stop_line() -> &'static str {
    if std::env::var_os("BERTH_TEST_INIT").is_some() {
        "init: true"
    } else {
        "stop_grace_period: 1s"
    }
}

/// The project: `db` is healthy once its volume holds `ready`; `web` (after `db` is healthy)
/// fetches db's page by service name over the user network into its own volume and serves it
/// on the published port; `worker` prints ticks and is the one that is scaled.
const PROJECT: &str = r#"
services:
  db:
    image: busybox:test
    command: ["sh", "-c", "echo db-data > /data/value; sleep 1; touch /data/ready; echo db up; exec httpd -f -p 8080 -h /data"]
    volumes:
      - dbdata:/data
    networks: [backend]
    @STOP@
    healthcheck:
      test: ["CMD", "test", "-f", "/data/ready"]
      interval: 1s
      timeout: 2s
      retries: 30
  web:
    image: busybox:test
    command: ["sh", "-c", "wget -qO /www/index.html http://db:8080/value && echo web up && exec httpd -f -p 80 -h /www"]
    depends_on:
      db:
        condition: service_healthy
    @STOP@
    ports:
      - "127.0.0.1:@PORT@:80"
    volumes:
      - www:/www
    networks: [backend]
  worker:
    image: busybox:test
    command: ["sh", "-c", "while true; do echo tick $$HOSTNAME; sleep 1; done"]
    @STOP@
    networks: [backend]
networks:
  backend: {}
volumes:
  dbdata: {}
  www: {}
"#;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Version {
    /// `docker compose`, the CLI plugin.
    V2,
    /// `docker-compose` 1.29, Python.
    V1,
}

/// The v2 plugin: BERTH_TEST_COMPOSE_V2 (scripts/test.sh), else the newest cached by
/// scripts/fetch-compose.sh, else one installed where the docker CLI looks for plugins.
fn compose_v2_plugin() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("BERTH_TEST_COMPOSE_V2") {
        return Some(PathBuf::from(p)).filter(|p| p.is_file());
    }
    let mut cached: Vec<PathBuf> = std::fs::read_dir(PLUGIN_CACHE)
        .into_iter()
        .flatten()
        .filter_map(|e| Some(e.ok()?.path().join("docker-compose")))
        .filter(|p| p.is_file())
        .collect();
    // Versions 2.x.y-n: a plain sort is right while the parts keep their widths.
    cached.sort();
    cached.pop().or_else(|| {
        [
            "/usr/libexec/docker/cli-plugins/docker-compose",
            "/usr/local/lib/docker/cli-plugins/docker-compose",
            "/usr/lib/docker/cli-plugins/docker-compose",
        ]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
    })
}

/// Debian bookworm's `docker-compose`, when it is the Python 1.x.
fn compose_v1() -> Option<PathBuf> {
    let out = Command::new("docker-compose")
        .args(["version", "--short"])
        .output()
        .ok()?;
    let version = String::from_utf8_lossy(&out.stdout);
    (out.status.success() && version.starts_with("1.")).then(|| PathBuf::from("docker-compose"))
}

/// The compose of `version`, or None (saying why: the test skips) without it, root or the
/// docker CLI.
fn compose_or_skip(version: Version) -> Option<PathBuf> {
    if common::skip() {
        return None;
    }
    let found = match version {
        Version::V2 => compose_v2_plugin(),
        Version::V1 => compose_v1(),
    };
    if found.is_none() {
        eprintln!(
            "skipping: {}",
            match version {
                Version::V2 => "no compose v2 plugin (run scripts/fetch-compose.sh)",
                Version::V1 => "no docker-compose 1.x (apt-get install docker-compose)",
            }
        );
    }
    found
}

/// An HTTP GET of `/` at 127.0.0.1:`port`, retrying while the server starts.
fn http_get(port: u16) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let got = TcpStream::connect(("127.0.0.1", port)).and_then(|mut s| {
            s.set_read_timeout(Some(Duration::from_secs(3)))?;
            s.write_all(b"GET / HTTP/1.0\r\n\r\n")?;
            let mut text = String::new();
            s.read_to_string(&mut text)?;
            Ok(text)
        });
        match got {
            Ok(text) if text.contains("200 OK") => return text,
            _ if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(100)),
            other => panic!("127.0.0.1:{port}: {other:?}"),
        }
    }
}

struct Project<'a> {
    d: &'a Daemon,
    version: Version,
    /// The compose program: the plugin for v2 (installed into the daemon's docker config), the
    /// `docker-compose` executable for v1.
    compose: PathBuf,
    name: String,
    file: PathBuf,
}

impl<'a> Project<'a> {
    fn new(d: &'a Daemon, version: Version, compose: PathBuf, port: u16) -> Self {
        let name = unique(match version {
            Version::V2 => "cv2",
            Version::V1 => "cv1",
        });
        let dir = d.root.path().join(&name);
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("compose.yaml");
        let yaml = PROJECT
            .replace("@PORT@", &port.to_string())
            .replace("@STOP@", stop_line());
        std::fs::write(&file, yaml).unwrap();
        if version == Version::V2 {
            // The docker CLI finds plugins in its config dir, which is the daemon's private one.
            let plugins = docker_config(d).join("cli-plugins");
            std::fs::create_dir_all(&plugins).unwrap();
            std::os::unix::fs::symlink(&compose, plugins.join("docker-compose")).unwrap();
        }
        Self {
            d,
            version,
            compose,
            name,
            file,
        }
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut cmd = match self.version {
            Version::V2 => self.d.docker_cmd(&["compose"]),
            Version::V1 => {
                let mut cmd = Command::new(&self.compose);
                cmd.env("DOCKER_HOST", self.d.host())
                    .env("DOCKER_CONFIG", docker_config(self.d));
                // exec through docker-py itself rather than the docker CLI it runs by default.
                // Not run: there dockerpty attaches only after the start (a lazy `map` in
                // Python 3), racing the exit of a short one-off, under dockerd too.
                if args.first() == Some(&"exec") {
                    cmd.env("COMPOSE_INTERACTIVE_NO_CLI", "1");
                }
                cmd
            }
        };
        cmd.arg("-p")
            .arg(&self.name)
            .arg("-f")
            .arg(&self.file)
            .args(args)
            // No progress bars or colours in the captured output.
            .env("COMPOSE_ANSI", "never")
            .env("NO_COLOR", "1");
        cmd
    }

    /// Runs a compose command, saying how long it took (shown when the test fails).
    fn run(&self, args: &[&str]) -> Out {
        let start = Instant::now();
        let out = run(self.cmd(args), None);
        eprintln!("{:?} {args:?}: {:?}", self.version, start.elapsed());
        out
    }

    fn label(&self) -> String {
        format!("label=com.docker.compose.project={}", self.name)
    }

    /// The ids of the project's containers (`-a`: also stopped ones) of `service`, or all.
    fn containers(&self, all: bool, service: Option<&str>) -> Vec<String> {
        let label = self.label();
        let svc = service.map(|s| format!("label=com.docker.compose.service={s}"));
        let mut args = vec!["ps", "-q", "--filter", &label];
        if all {
            args.push("-a");
        }
        if let Some(svc) = &svc {
            args.extend(["--filter", svc]);
        }
        let out = self.d.docker(&args).ok();
        out.stdout.split_whitespace().map(str::to_string).collect()
    }

    /// `logs -f worker` until it prints a tick, then killed.
    fn follow_logs_for_a_tick(&self) {
        let mut child = self
            .cmd(&["logs", "-f", "--no-color", "worker"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .stdin(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut seen = Vec::new();
        let found = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) if line.contains("tick") => break true,
                Ok(line) => seen.push(line),
                Err(_) => break false,
            }
        };
        // A followed log never ends by itself.
        let _ = child.kill();
        let _ = child.wait();
        assert!(found, "no tick from logs -f: {seen:?}");
    }
}

fn docker_config(d: &Daemon) -> PathBuf {
    d.root.path().join("docker-config")
}

fn project_lifecycle(version: Version, compose: PathBuf) {
    let start = Instant::now();
    let d = Daemon::start();
    d.busybox();
    let port = free_port();
    let p = Project::new(&d, version, compose, port);
    let config = p.run(&["config"]).ok();
    assert!(config.stdout.contains("service_healthy"), "{config:?}");

    // up: db first, web only once db is healthy; web got db's page by name over the network.
    p.run(&["up", "-d"]).ok();
    assert_eq!(p.containers(false, None).len(), 3, "{}", d.log());
    let health = d
        .docker(&[
            "inspect",
            "-f",
            "{{.State.Health.Status}}",
            &p.containers(false, Some("db"))[0],
        ])
        .ok();
    assert_eq!(health.text(), "healthy");
    if stop_line().starts_with("init") {
        let web = &p.containers(false, Some("web"))[0];
        let init = d
            .docker(&["inspect", "-f", "{{.HostConfig.Init}}", web])
            .ok();
        assert_eq!(init.text(), "true");
    }
    assert!(http_get(port).contains("db-data"));
    let nets = d.docker(&["network", "ls", "--format", "{{.Name}}"]).ok();
    assert!(
        nets.stdout.contains(&format!("{}_backend", p.name)),
        "{nets:?}"
    );
    let vols = d.docker(&["volume", "ls", "--format", "{{.Name}}"]).ok();
    for v in ["dbdata", "www"] {
        assert!(vols.stdout.contains(&format!("{}_{v}", p.name)), "{vols:?}");
    }

    let ps = p.run(&["ps"]).ok();
    for svc in ["db", "web", "worker"] {
        assert!(ps.stdout.contains(svc), "{ps:?}");
    }
    assert!(ps.stdout.contains("(healthy)"), "{ps:?}");
    assert!(
        ps.stdout.contains(&format!("127.0.0.1:{port}->80/tcp")),
        "{ps:?}"
    );

    p.follow_logs_for_a_tick();
    let logs = p.run(&["logs", "--no-color", "web"]).ok();
    assert!(logs.stdout.contains("web up"), "{logs:?}");

    // exec into a service; run --rm a one-off container that sees the service's volume.
    let out = p.run(&["exec", "-T", "web", "cat", "/www/index.html"]).ok();
    assert_eq!(out.stdout.trim(), "db-data");
    let out = p
        .run(&["run", "--rm", "-T", "--no-deps", "db", "cat", "/data/value"])
        .ok();
    assert!(out.stdout.contains("db-data"), "{out:?}");
    assert_eq!(
        p.containers(true, None).len(),
        3,
        "run --rm left its container"
    );

    // A changed service is recreated (compose 1.29 reads the image's ContainerConfig then),
    // on the same named volume.
    let db = p.containers(false, Some("db"));
    p.run(&["exec", "-T", "db", "touch", "/data/kept"]).ok();
    let yaml = std::fs::read_to_string(&p.file).unwrap();
    std::fs::write(&p.file, yaml.replace("echo db up;", "echo db up again;")).unwrap();
    p.run(&["up", "-d"]).ok();
    let recreated = p.containers(false, Some("db"));
    assert_eq!(recreated.len(), 1);
    assert_ne!(recreated, db, "db was not recreated");
    p.run(&["exec", "-T", "db", "test", "-f", "/data/kept"])
        .ok();
    assert_eq!(p.containers(true, None).len(), 3);

    // scale: two more workers beside the first.
    p.run(&["up", "-d", "--scale", "worker=3"]).ok();
    assert_eq!(p.containers(false, Some("worker")).len(), 3);

    // restart: web serves again, from its volume.
    p.run(&["restart", "web"]).ok();
    assert!(http_get(port).contains("db-data"));

    p.run(&["stop"]).ok();
    assert_eq!(p.containers(false, None), Vec::<String>::new());
    assert_eq!(p.containers(true, None).len(), 5);

    p.run(&["down", "-v"]).ok();
    let label = p.label();
    for what in [
        &["ps", "-aq", "--filter", &label][..],
        &["network", "ls", "-q", "--filter", &label][..],
        &["volume", "ls", "-q", "--filter", &label][..],
    ] {
        assert_eq!(d.docker(what).ok().text(), "", "{what:?} after down -v");
    }
    let nets = d.docker(&["network", "ls", "--format", "{{.Name}}"]).ok();
    assert!(!nets.stdout.contains(&p.name), "{nets:?}");
    let vols = d.docker(&["volume", "ls", "--format", "{{.Name}}"]).ok();
    assert!(!vols.stdout.contains(&p.name), "{vols:?}");
    assert_eq!(d.leaked_mounts(), Vec::<String>::new());
    eprintln!("{version:?} project lifecycle: {:?}", start.elapsed());
}

#[test]
fn compose_v2_plugin_runs_a_project_through_its_life() {
    if let Some(plugin) = compose_or_skip(Version::V2) {
        project_lifecycle(Version::V2, plugin);
    }
}

#[test]
fn compose_1_29_runs_a_project_through_its_life() {
    if let Some(compose) = compose_or_skip(Version::V1) {
        project_lifecycle(Version::V1, compose);
    }
}
