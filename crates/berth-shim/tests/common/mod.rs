//! Harness shared by the shim's integration tests: a busybox bundle per test, a private runtime
//! root and state directory, and the shim driven through the same client berthd uses.
//!
//! The runtime is `$BERTH_RUNTIME` if set (any runc-compatible binary), else the berth-runtime
//! binary next to the shim in this target directory, so run
//! `cargo build -p berth-runtime && cargo test -p berth-shim` (scripts/test.sh does both).
//! Tests need root (namespaces, cgroups) and pass vacuously without it.

// Each test binary compiles this module but uses only part of it.
#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use berth_shim::{ExitRecord, LogOptions, ShimCommand};
use serde_json::{json, Value};

/// Parent of every test cgroup (shared with the berth-runtime tests).
const CGROUP_PARENT: &str = "berth-test";

pub fn shim() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_berth-shim"))
}

/// The runtime the shim drives; see the module comment.
pub fn runtime() -> PathBuf {
    static RUNTIME: OnceLock<PathBuf> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            let path = match std::env::var_os("BERTH_RUNTIME") {
                Some(p) if !p.is_empty() => PathBuf::from(p),
                _ => shim().with_file_name("berth-runtime"),
            };
            assert!(
                path.exists(),
                "runtime {} not found: run `cargo build -p berth-runtime` first or set \
                 BERTH_RUNTIME",
                path.display()
            );
            path
        })
        .clone()
}

pub fn skip_unless_root() -> bool {
    if nix::unistd::geteuid().is_root() {
        false
    } else {
        eprintln!("skipping: needs root");
        true
    }
}

/// Polls `check` for up to 10 s.
pub fn poll_until(mut check: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(10) {
        if check() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    false
}

fn unique_id(tag: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!(
        "shim-{tag}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// A runc-`spec`-like config running `args` on the shared read-only rootfs.
fn config(args: &[&str], cgroups_path: &str) -> Value {
    let caps = json!(["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]);
    json!({
        "ociVersion": "1.0.2",
        "process": {
            "terminal": false,
            "user": {"uid": 0, "gid": 0},
            "args": args,
            "env": ["PATH=/bin", "TERM=xterm"],
            "cwd": "/",
            "capabilities": {"bounding": caps, "effective": caps, "permitted": caps},
            "noNewPrivileges": true
        },
        "root": {"path": berth_testkit::busybox_rootfs(), "readonly": true},
        "hostname": "shim",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
             "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]}
        ],
        "linux": {
            "cgroupsPath": cgroups_path,
            "namespaces": [{"type": "pid"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}]
        }
    })
}

/// One container under a shim: bundle, runtime root, state dir and log in one temp dir.
pub struct Fixture {
    pub id: String,
    pub config: Value,
    dir: tempfile::TempDir,
}

impl Fixture {
    /// `None` (after saying why) when not root.
    pub fn new(tag: &str, args: &[&str]) -> Option<Self> {
        if skip_unless_root() {
            return None;
        }
        let id = unique_id(tag);
        let config = config(args, &format!("/{CGROUP_PARENT}/{id}"));
        // Short prefix: socket paths must fit in sun_path (108 bytes).
        let dir = tempfile::Builder::new()
            .prefix("bs")
            .tempdir()
            .expect("tempdir");
        fs::create_dir(dir.path().join("bundle")).expect("bundle dir");
        Some(Self { id, config, dir })
    }

    pub fn terminal(&mut self) -> &mut Self {
        self.config["process"]["terminal"] = json!(true);
        self
    }

    pub fn bundle(&self) -> PathBuf {
        self.dir.path().join("bundle")
    }

    pub fn state_dir(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    pub fn runtime_root(&self) -> PathBuf {
        self.dir.path().join("root")
    }

    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("container.log")
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// A shim command for this container with a log and no rotation; config.json is written.
    pub fn command(&self) -> ShimCommand {
        fs::write(
            self.bundle().join("config.json"),
            serde_json::to_vec_pretty(&self.config).expect("config"),
        )
        .expect("write config.json");
        let mut cmd =
            ShimCommand::new(shim(), &self.id, self.bundle(), self.state_dir(), runtime());
        cmd.runtime_root = Some(self.runtime_root());
        cmd.log = Some(LogOptions {
            path: self.log_path(),
            max_size: 0,
            max_files: 1,
        });
        cmd
    }

    /// `runtime --root R args...`.
    pub fn rt(&self, args: &[&str]) -> Output {
        Command::new(runtime())
            .arg("--root")
            .arg(self.runtime_root())
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("run runtime")
    }

    pub fn start(&self) {
        let out = self.rt(&["start", &self.id]);
        assert!(out.status.success(), "start failed: {out:?}");
    }

    /// The exit record of the shim in `state_dir`, waiting up to 10 s for it.
    pub fn wait_exit_in(state_dir: &Path) -> ExitRecord {
        let mut record = None;
        poll_until(|| {
            record = berth_shim::read_exit(state_dir).expect("read exit file");
            record.is_some()
        });
        record.unwrap_or_else(|| panic!("no exit file in {}", state_dir.display()))
    }

    pub fn wait_exit(&self) -> ExitRecord {
        Self::wait_exit_in(&self.state_dir())
    }

    /// The json-file log entries (of `path`, default the container log).
    pub fn log_entries_of(path: &Path) -> Vec<Value> {
        fs::read_to_string(path)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad log line {l:?}: {e}")))
            .collect()
    }

    pub fn log_entries(&self) -> Vec<Value> {
        Self::log_entries_of(&self.log_path())
    }

    /// `(stream, log)` pairs of the container log.
    pub fn logged(&self) -> Vec<(String, String)> {
        self.log_entries()
            .iter()
            .map(|e| {
                (
                    e["stream"].as_str().unwrap_or_default().to_owned(),
                    e["log"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect()
    }
}

/// One CRI log entry, read with the rules of cri-client's `parseCRILog` (the kubelet's and
/// `crictl logs`' parser).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CriEntry {
    pub time: String,
    pub stream: String,
    /// `F` or `P`.
    pub tag: String,
    /// What the kubelet passes on: an `F` entry's content keeps its `\n`, a `P` entry's does not.
    pub log: Vec<u8>,
}

impl CriEntry {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.log).into_owned()
    }
}

/// The CRI entries of `path`; panics on a line the kubelet would reject or log as incomplete.
pub fn cri_entries_of(path: &Path) -> Vec<CriEntry> {
    let text = fs::read(path).unwrap_or_default();
    assert!(
        text.is_empty() || text.ends_with(b"\n"),
        "{} ends in an unterminated line",
        path.display()
    );
    text.split_inclusive(|&b| b == b'\n')
        .map(|line| {
            let mut parts = line.splitn(4, |&b| b == b' ');
            let mut field = || {
                String::from_utf8(parts.next().unwrap_or_default().to_vec()).expect("ASCII field")
            };
            let (time, stream, tag) = (field(), field(), field());
            let mut log = parts
                .next()
                .unwrap_or_else(|| panic!("no content in {line:?}"))
                .to_vec();
            assert!(
                time.len() >= 20 && time.ends_with('Z') && time.as_bytes()[10] == b'T',
                "not RFC 3339 UTC: {time}"
            );
            assert!(
                stream == "stdout" || stream == "stderr",
                "stream {stream:?}"
            );
            assert!(tag == "F" || tag == "P", "tag {tag:?}");
            if tag == "P" {
                log.pop();
            }
            CriEntry {
                time,
                stream,
                tag,
                log,
            }
        })
        .collect()
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = Command::new(runtime())
            .arg("--root")
            .arg(self.runtime_root())
            .args(["delete", "--force", &self.id])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        if let Ok(hierarchies) = fs::read_dir("/sys/fs/cgroup") {
            for h in hierarchies.flatten() {
                let _ = fs::remove_dir(h.path().join(CGROUP_PARENT).join(&self.id));
            }
        }
        let _ = fs::remove_dir(
            Path::new("/sys/fs/cgroup")
                .join(CGROUP_PARENT)
                .join(&self.id),
        );
    }
}
