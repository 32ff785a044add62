//! Black-box harness shared by every integration test file.
//!
//! It drives a runc-compatible binary through its command line only, so the same suite validates
//! berth-runtime, runc and crun: `BERTH_TEST_RUNTIME=/path/to/runtime cargo test -p berth-runtime`.
//! Without that variable the berth-runtime binary cargo built is tested.
//!
//! crun 1.8 refuses hybrid cgroup hosts (v1 controllers plus cgroup2 at /sys/fs/cgroup/unified);
//! test it through a wrapper that hides cgroup2 in a private mount namespace:
//! `exec unshare -m sh -c 'umount /sys/fs/cgroup/unified 2>/dev/null; exec crun "$@"' crun "$@"`.
//!
//! Every [`Container`] gets its own `--root` state directory, bundle directory, id and
//! `cgroupsPath`, so tests run in parallel (threads and test binaries) without sharing anything but
//! the read-only busybox rootfs, and its `Drop` force-deletes whatever an assertion left behind.

// Each test binary compiles this module but uses only part of it.
#![allow(dead_code)]

use serde_json::{json, Value};
use std::ffi::OsStr;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The static busybox every container runs; Debian's busybox-static installs it here.
/// Parent of every test cgroup, so a leak is easy to spot and clean by hand.
pub const CGROUP_PARENT: &str = "berth-test";
/// No runtime command should take this long; a hang fails the test instead of the whole CI run.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);

/// The runtime binary under test.
pub fn runtime() -> PathBuf {
    match std::env::var_os("BERTH_TEST_RUNTIME") {
        Some(path) if !path.is_empty() => PathBuf::from(path),
        _ => PathBuf::from(env!("CARGO_BIN_EXE_berth-runtime")),
    }
}

/// Which implementation `runtime()` is, from the first word of `--version`, so a test can state
/// a known limitation of the reference runtimes. A wrapper script keeps the real name this way.
pub fn runtime_name() -> &'static str {
    static NAME: OnceLock<String> = OnceLock::new();
    NAME.get_or_init(|| {
        let out = Command::new(runtime()).arg("--version").output();
        out.ok()
            .and_then(|o| {
                String::from_utf8_lossy(&o.stdout)
                    .split_whitespace()
                    .next()
                    .map(str::to_owned)
            })
            .unwrap_or_default()
    })
}

/// Fails the test on `result`'s error, except on a runtime listed in `gaps` (name, why), where
/// the check is expected to fail: a pass there means the gap closed and the entry should go.
#[track_caller]
pub fn check_except_known_gaps(result: Result<(), String>, gaps: &[(&str, &str)]) {
    match (
        gaps.iter().find(|(name, _)| *name == runtime_name()),
        result,
    ) {
        (None, Ok(())) => {}
        (None, Err(e)) => panic!("{e}"),
        (Some((name, why)), Ok(())) => panic!("{name} now passes; remove its known gap: {why}"),
        (Some((name, why)), Err(e)) => eprintln!("expected failure on {name} ({why}): {e}"),
    }
}

pub fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// Namespaces, cgroups and mounts need real root; elsewhere the suite passes vacuously.
pub fn skip_unless_root() -> bool {
    if is_root() {
        false
    } else {
        eprintln!("skipping: needs root");
        true
    }
}

/// Exit code and output of one runtime invocation (128+signal when killed by one).
pub use berth_testkit::Out;

/// Runs `cmd` with stdin from /dev/null and stdout/stderr into files under `dir`.
///
/// Files rather than pipes: after `create` or `exec --detach` the container keeps the runtime's
/// stdio open, so reading a pipe to EOF would wait for the container to exit.
pub fn run_to_files(mut cmd: Command, dir: &Path, tag: &str) -> Out {
    let out_path = dir.join(format!("{tag}.stdout"));
    let err_path = dir.join(format!("{tag}.stderr"));
    let out_file = fs::File::create(&out_path).expect("create stdout file");
    let err_file = fs::File::create(&err_path).expect("create stderr file");
    cmd.stdin(Stdio::null()).stdout(out_file).stderr(err_file);
    let code = wait_with_timeout(&mut cmd)
        .unwrap_or_else(|| panic!("{cmd:?} did not finish within {COMMAND_TIMEOUT:?}"));
    Out {
        code,
        stdout: fs::read_to_string(&out_path).unwrap_or_default(),
        stderr: fs::read_to_string(&err_path).unwrap_or_default(),
    }
}

/// Exit code of `cmd` (128+signal if killed by one), or `None` if it outlived
/// `COMMAND_TIMEOUT` and was killed.
fn wait_with_timeout(cmd: &mut Command) -> Option<i32> {
    use std::os::unix::process::ExitStatusExt;
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("spawn {cmd:?}: {e}"));
    let start = Instant::now();
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(
                status
                    .code()
                    .unwrap_or_else(|| 128 + status.signal().unwrap_or(0)),
            );
        }
        if start.elapsed() > COMMAND_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Opens `file` at fd `fd` in the process `cmd` spawns (not close-on-exec): how a caller passes
/// fds for `--preserve-fds`, or how a careless one leaks them. Keep `file` open until the spawn.
pub fn inherit_fd(cmd: &mut Command, file: &fs::File, fd: i32) {
    use std::os::fd::AsRawFd;
    use std::os::unix::process::CommandExt;
    let raw = file.as_raw_fd();
    // SAFETY: dup2 and fcntl are async-signal-safe and touch only the child's fd table.
    unsafe {
        cmd.pre_exec(move || {
            // dup2 onto itself keeps close-on-exec: clear it instead.
            let rc = if raw == fd {
                libc::fcntl(fd, libc::F_SETFD, 0)
            } else {
                libc::dup2(raw, fd)
            };
            if rc < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// Polls `check` for up to 10 s; whether it came true. For effects that follow a runtime
/// command asynchronously (`start` may return before the container process has exec'd).
pub fn poll_until(mut check: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    loop {
        if check() {
            return true;
        }
        if start.elapsed() > Duration::from_secs(10) {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// [`poll_until`], failing the test on timeout.
#[track_caller]
pub fn eventually(what: &str, check: impl FnMut() -> bool) {
    assert!(poll_until(check), "timed out waiting for {what}");
}

/// A runc-`spec`-like default configuration: the five default namespaces, standard mounts,
/// masked and read-only paths, runc's default capabilities and NOFILE limit, no terminal.
pub fn default_config(args: &[&str], rootfs: &Path, cgroups_path: &str) -> Value {
    let caps = json!(["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]);
    json!({
        "ociVersion": "1.0.2",
        "process": {
            "terminal": false,
            "user": {"uid": 0, "gid": 0},
            "args": args,
            "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
            "cwd": "/",
            "capabilities": {
                "bounding": caps, "effective": caps, "permitted": caps, "ambient": caps
            },
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": true
        },
        "root": {"path": rootfs, "readonly": true},
        "hostname": "berth",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
             "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
             "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
            {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
             "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs",
             "options": ["nosuid", "noexec", "nodev", "ro"]},
            {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
             "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]}
        ],
        "linux": {
            "cgroupsPath": cgroups_path,
            "resources": {"devices": [{"allow": false, "access": "rwm"}]},
            "namespaces": [
                {"type": "pid"}, {"type": "network"}, {"type": "ipc"}, {"type": "uts"},
                {"type": "mount"}
            ],
            "maskedPaths": [
                "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
                "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware",
                "/proc/scsi"
            ],
            "readonlyPaths": [
                "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"
            ]
        }
    })
}

/// Ids unique within the process; the pid makes them unique across parallel test binaries,
/// which matters for the machine-wide cgroup paths and network namespace names.
pub fn unique_name(tag: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!(
        "{tag}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// One container: its bundle, state root, id and config, force-deleted on drop.
pub struct Container {
    pub id: String,
    pub config: Value,
    state_root: tempfile::TempDir,
    bundle: tempfile::TempDir,
}

impl Container {
    /// A container running `args` with the default config, or `None` (after printing why) when
    /// the suite cannot run here.
    pub fn new(tag: &str, args: &[&str]) -> Option<Self> {
        if skip_unless_root() {
            return None;
        }
        let id = unique_name(tag);
        let cgroups_path = format!("/{CGROUP_PARENT}/{id}");
        let config = default_config(args, berth_testkit::busybox_rootfs(), &cgroups_path);
        Some(Self {
            id,
            config,
            state_root: tempfile::Builder::new()
                .prefix("berth-state")
                .tempdir()
                .expect("state dir"),
            bundle: tempfile::Builder::new()
                .prefix("berth-bundle")
                .tempdir()
                .expect("bundle dir"),
        })
    }

    pub fn bundle(&self) -> &Path {
        self.bundle.path()
    }

    pub fn state_root(&self) -> &Path {
        self.state_root.path()
    }

    pub fn cgroups_path(&self) -> String {
        format!("/{CGROUP_PARENT}/{}", self.id)
    }

    /// Sets the config field at a JSON pointer (e.g. "/process/cwd"), creating missing objects.
    pub fn set(&mut self, pointer: &str, value: Value) -> &mut Self {
        let mut node = &mut self.config;
        for key in pointer.trim_start_matches('/').split('/') {
            if !node.is_object() {
                *node = json!({});
            }
            node = node
                .as_object_mut()
                .expect("object")
                .entry(key.to_owned())
                .or_insert(Value::Null);
        }
        *node = value;
        self
    }

    /// Appends to the array at a JSON pointer, creating it when missing.
    pub fn push(&mut self, pointer: &str, value: Value) -> &mut Self {
        match self.config.pointer_mut(pointer) {
            Some(Value::Array(items)) => items.push(value),
            _ => {
                self.set(pointer, json!([value]));
            }
        }
        self
    }

    pub fn args(&mut self, args: &[&str]) -> &mut Self {
        self.set("/process/args", json!(args))
    }

    /// Adds a namespace, or replaces the entry of that type (e.g. to give it a path).
    pub fn namespace(&mut self, kind: &str, path: Option<&str>) -> &mut Self {
        self.remove_namespace(kind);
        let entry = match path {
            Some(p) => json!({"type": kind, "path": p}),
            None => json!({"type": kind}),
        };
        self.push("/linux/namespaces", entry)
    }

    pub fn remove_namespace(&mut self, kind: &str) -> &mut Self {
        if let Some(Value::Array(items)) = self.config.pointer_mut("/linux/namespaces") {
            items.retain(|ns| ns["type"] != kind);
        }
        self
    }

    /// Adds a small writable tmpfs at `dest` (the shared rootfs itself is read-only).
    pub fn tmpfs(&mut self, dest: &str, options: &[&str]) -> &mut Self {
        self.push(
            "/mounts",
            json!({"destination": dest, "type": "tmpfs", "source": "tmpfs", "options": options}),
        )
    }

    /// Drops every mount whose destination is `dest`.
    pub fn remove_mount(&mut self, dest: &str) -> &mut Self {
        if let Some(Value::Array(items)) = self.config.pointer_mut("/mounts") {
            items.retain(|m| m["destination"] != dest);
        }
        self
    }

    /// Gives this container a writable copy of the rootfs in its bundle, for tests that change
    /// the tree (the shared rootfs must stay identical for everyone). Returns its path.
    pub fn private_rootfs(&mut self) -> PathBuf {
        let dest = self.bundle().join("rootfs");
        let status = Command::new("cp")
            .arg("-a")
            .arg(berth_testkit::busybox_rootfs())
            .arg(&dest)
            .status()
            .expect("cp rootfs");
        assert!(status.success(), "copying the rootfs failed");
        self.set("/root", json!({"path": "rootfs", "readonly": false}));
        dest
    }

    pub fn write_config(&self) {
        let text = serde_json::to_string_pretty(&self.config).expect("serialize config");
        fs::write(self.bundle().join("config.json"), text).expect("write config.json");
    }

    /// `runtime --root <state root>`, ready for a subcommand.
    pub fn command(&self) -> Command {
        let mut cmd = Command::new(runtime());
        cmd.arg("--root").arg(self.state_root());
        cmd
    }

    /// Runs `runtime --root R <args...>`, capturing output.
    pub fn rt(&self, args: &[&str]) -> Out {
        let mut cmd = self.command();
        cmd.args(args);
        run_to_files(cmd, self.bundle(), "rt")
    }

    /// `run --bundle B id`: writes the config, waits for the container to exit and returns its
    /// exit code and output.
    pub fn run_capture(&self) -> Out {
        run_to_files(self.run_command(), self.bundle(), "run")
    }

    /// The `run` command with the config written, for tests that change how it is spawned.
    pub fn run_command(&self) -> Command {
        self.run_command_with(&[], &[])
    }

    /// `[globals...] run --bundle B [flags...] id`: globals before the verb and flags before the
    /// id, the only places runc parses them.
    pub fn run_command_with(&self, globals: &[&OsStr], flags: &[&str]) -> Command {
        self.write_config();
        let mut cmd = self.command();
        cmd.args(globals)
            .arg("run")
            .arg("--bundle")
            .arg(self.bundle())
            .args(flags)
            .arg(&self.id);
        cmd
    }

    /// `create --bundle B [extra...] id`. The container's own output goes to files read by
    /// [`Container::container_output`].
    pub fn create_with(&self, extra: &[&str]) -> Out {
        self.write_config();
        self.create_as_is(extra)
    }

    /// `create` without rewriting config.json, for tests that break the file on purpose.
    pub fn create_as_is(&self, extra: &[&str]) -> Out {
        let mut cmd = self.command();
        cmd.arg("create")
            .arg("--bundle")
            .arg(self.bundle())
            .args(extra)
            .arg(&self.id);
        run_to_files(cmd, self.bundle(), "create")
    }

    pub fn create(&self) -> Out {
        self.create_with(&[])
    }

    /// What the container process wrote to stdout and stderr since `create`.
    pub fn container_output(&self) -> (String, String) {
        let read = |s| fs::read_to_string(self.bundle().join(s)).unwrap_or_default();
        (read("create.stdout"), read("create.stderr"))
    }

    pub fn start(&self) -> Out {
        self.rt(&["start", &self.id])
    }

    /// `state id` parsed, or `None` when the runtime refuses (unknown id) or prints non-JSON.
    pub fn state(&self) -> Option<Value> {
        let out = self.rt(&["state", &self.id]);
        if out.code != 0 {
            return None;
        }
        serde_json::from_str(&out.stdout).ok()
    }

    /// The `status` field of `state`, or "" when there is no state.
    pub fn status(&self) -> String {
        self.state()
            .and_then(|s| s["status"].as_str().map(str::to_owned))
            .unwrap_or_default()
    }

    /// Polls `state` until it reports `status`; false after 10 s.
    pub fn wait_status(&self, status: &str) -> bool {
        poll_until(|| self.status() == status)
    }

    /// The init process pid from `state`.
    pub fn pid(&self) -> i32 {
        let state = self.state().expect("container state");
        let pid = state["pid"].as_i64().expect("state has a pid");
        i32::try_from(pid).expect("pid fits i32")
    }

    pub fn kill(&self, signal: &str) -> Out {
        self.rt(&["kill", &self.id, signal])
    }

    pub fn delete(&self) -> Out {
        self.rt(&["delete", &self.id])
    }

    pub fn delete_force(&self) -> Out {
        self.rt(&["delete", "--force", &self.id])
    }

    /// `exec [extra...] id args...`.
    pub fn exec(&self, extra: &[&str], args: &[&str]) -> Out {
        let mut cmd = self.command();
        cmd.arg("exec").args(extra).arg(&self.id).args(args);
        run_to_files(cmd, self.bundle(), "exec")
    }

    /// Creates and starts a container whose process stays alive until killed.
    pub fn start_sleeping(&self) {
        self.create().ok();
        self.start().ok();
        assert!(
            self.wait_status("running"),
            "container did not reach running"
        );
    }

    /// Host directories of this container's cgroup that still exist, across every hierarchy
    /// (v1 controllers and the unified one).
    pub fn cgroup_dirs(&self) -> Vec<PathBuf> {
        berth_testkit::cgroup_dirs(CGROUP_PARENT, &self.id)
    }

    /// Host mount table lines that mention this container's bundle or id.
    pub fn leaked_mounts(&self) -> Vec<String> {
        let bundle = self.bundle().to_string_lossy().into_owned();
        fs::read_to_string("/proc/self/mountinfo")
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains(&bundle) || l.contains(&self.id))
            .map(str::to_owned)
            .collect()
    }

    /// Asserts that a failed create/run left nothing: no listed container, no state entry, no
    /// cgroup directory, no mount.
    #[track_caller]
    pub fn assert_nothing_left(&self) {
        let list = self.rt(&["list", "--format", "json"]);
        assert_eq!(list.code, 0, "list failed: {list:?}");
        assert!(
            !list.stdout.contains(&self.id),
            "container still listed: {}",
            list.stdout
        );
        assert!(
            self.state().is_none(),
            "state still answers for {}",
            self.id
        );
        // runc and crun keep state in <root>/<id>; no runtime should leave a directory named
        // after a container that does not exist.
        let state_dir = self.state_root().join(&self.id);
        assert!(
            !state_dir.exists(),
            "state dir left: {}",
            state_dir.display()
        );
        assert_eq!(
            self.cgroup_dirs(),
            Vec::<PathBuf>::new(),
            "cgroup dirs left behind"
        );
        assert_eq!(
            self.leaked_mounts(),
            Vec::<String>::new(),
            "mounts left behind"
        );
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        // Best effort: the runtime may never have heard of the id.
        let mut cmd = self.command();
        cmd.args(["delete", "--force", &self.id])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        // Bounded: a hanging runtime must not hang the test run (nor panic inside drop).
        let _ = wait_with_timeout(&mut cmd);
        // A broken runtime must not leak cgroups into later runs; children first (rmdir only
        // succeeds on empty cgroups, which is what we want: never kill host processes here).
        for dir in self.cgroup_dirs() {
            let _ = fs::remove_dir(dir);
        }
    }
}

/// Runs `c` to its end with `--debug --log <file> --log-format <format>` and returns the log.
pub fn debug_log(c: &Container, format: &str) -> String {
    let log = c.bundle().join("debug.log");
    let globals = [
        OsStr::new("--debug"),
        OsStr::new("--log"),
        log.as_os_str(),
        OsStr::new("--log-format"),
        OsStr::new(format),
    ];
    run_to_files(c.run_command_with(&globals, &[]), c.bundle(), "run").ok();
    fs::read_to_string(&log).unwrap_or_default()
}

/// The value of a `Field:` line of /proc/<pid>/status, trimmed.
pub fn status_field(status: &str, field: &str) -> Option<String> {
    status
        .lines()
        .find_map(|l| {
            l.strip_prefix(field)
                .and_then(|rest| rest.strip_prefix(':'))
        })
        .map(|v| v.trim().to_owned())
}

/// Bit mask of capability names, as /proc/self/status prints it.
pub fn cap_mask(names: &[&str]) -> u64 {
    names
        .iter()
        .fold(0, |mask, name| mask | (1u64 << cap_number(name)))
}

fn cap_number(name: &str) -> u32 {
    const CAPS: [&str; 41] = [
        "CAP_CHOWN",
        "CAP_DAC_OVERRIDE",
        "CAP_DAC_READ_SEARCH",
        "CAP_FOWNER",
        "CAP_FSETID",
        "CAP_KILL",
        "CAP_SETGID",
        "CAP_SETUID",
        "CAP_SETPCAP",
        "CAP_LINUX_IMMUTABLE",
        "CAP_NET_BIND_SERVICE",
        "CAP_NET_BROADCAST",
        "CAP_NET_ADMIN",
        "CAP_NET_RAW",
        "CAP_IPC_LOCK",
        "CAP_IPC_OWNER",
        "CAP_SYS_MODULE",
        "CAP_SYS_RAWIO",
        "CAP_SYS_CHROOT",
        "CAP_SYS_PTRACE",
        "CAP_SYS_PACCT",
        "CAP_SYS_ADMIN",
        "CAP_SYS_BOOT",
        "CAP_SYS_NICE",
        "CAP_SYS_RESOURCE",
        "CAP_SYS_TIME",
        "CAP_SYS_TTY_CONFIG",
        "CAP_MKNOD",
        "CAP_LEASE",
        "CAP_AUDIT_WRITE",
        "CAP_AUDIT_CONTROL",
        "CAP_SETFCAP",
        "CAP_MAC_OVERRIDE",
        "CAP_MAC_ADMIN",
        "CAP_SYSLOG",
        "CAP_WAKE_ALARM",
        "CAP_BLOCK_SUSPEND",
        "CAP_AUDIT_READ",
        "CAP_PERFMON",
        "CAP_BPF",
        "CAP_CHECKPOINT_RESTORE",
    ];
    let index = CAPS
        .iter()
        .position(|c| *c == name)
        .unwrap_or_else(|| panic!("unknown {name}"));
    u32::try_from(index).expect("small index")
}

/// Arguments of a host process from /proc/<pid>/cmdline (empty if it is gone).
pub fn cmdline(pid: i32) -> Vec<String> {
    let raw = fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    raw.split(|b| *b == 0)
        .filter(|a| !a.is_empty())
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect()
}

/// One line of /proc/<pid>/mountinfo.
#[derive(Debug, Clone)]
pub struct MountInfo {
    pub mount_point: String,
    pub options: String,
    pub fs_type: String,
    pub super_options: String,
}

/// Parses mountinfo text (as printed by `cat /proc/self/mountinfo` inside a container).
pub fn parse_mountinfo(text: &str) -> Vec<MountInfo> {
    text.lines()
        .filter_map(|line| {
            let (before, after) = line.split_once(" - ")?;
            let before: Vec<&str> = before.split(' ').collect();
            let after: Vec<&str> = after.split(' ').collect();
            Some(MountInfo {
                mount_point: (*before.get(4)?).to_owned(),
                options: (*before.get(5)?).to_owned(),
                fs_type: (*after.first()?).to_owned(),
                super_options: after.get(2).map(|s| (*s).to_owned()).unwrap_or_default(),
            })
        })
        .collect()
}

/// The last (topmost) mount at `mount_point`.
pub fn mount_at<'a>(mounts: &'a [MountInfo], mount_point: &str) -> Option<&'a MountInfo> {
    mounts.iter().rev().find(|m| m.mount_point == mount_point)
}

/// Reads all of a file descriptor-like reader into a string (used for pty masters).
pub fn read_all_lossy(mut reader: impl Read) -> String {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        match reader.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            // EIO is how a pty master reports that the last slave fd closed.
            Err(_) => break,
        }
    }
    String::from_utf8_lossy(&buf).into_owned()
}
