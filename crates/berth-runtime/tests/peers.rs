//! Real container engines driving berth-runtime as their OCI runtime: podman, containerd (`ctr`)
//! and dockerd. Each test runs the engine against private state under a temporary directory (its
//! own storage, sockets and daemons), so the machine's stores are never touched, and every
//! command is bounded by the `timeout` utility. Tests skip (with a message) when not root or when
//! an engine binary is missing.
#![allow(clippy::unwrap_used)]

use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// The runtime every engine is pointed at.
fn berth() -> &'static str {
    env!("CARGO_BIN_EXE_berth-runtime")
}

/// Seconds any single client command may take before `timeout` kills it.
const COMMAND_SECS: &str = "90";

/// The busybox image name every test imports into its private store.
const IMAGE: &str = "localhost/berth-peers-bb:latest";

/// Process args of a detached container that exits 0 promptly on SIGTERM (a PID 1 without a
/// handler would ignore it).
const LONG_RUNNING: [&str; 3] = [
    "sh",
    "-c",
    "trap 'exit 0' TERM; while true; do sleep 1; done",
];

fn find_binary(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/local/sbin"].map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// True (after printing why) when the test cannot run here.
fn skip(test: &str, binaries: &[&str]) -> bool {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("skipping {test}: needs root");
        return true;
    }
    for bin in binaries.iter().chain(&["timeout", "tar"]) {
        if find_binary(bin).is_none() {
            eprintln!("skipping {test}: `{bin}` not found in PATH");
            return true;
        }
    }
    false
}

fn unique(test: &str) -> String {
    format!("berth-peers-{}-{test}", std::process::id())
}

/// Exit code and output of one client command.
// `cmd` and `stderr` are read through `Debug` in failure messages.
#[allow(dead_code)]
#[derive(Debug)]
struct Out {
    cmd: String,
    code: i32,
    stdout: String,
    stderr: String,
}

impl Out {
    #[track_caller]
    fn ok(self) -> Self {
        assert_eq!(self.code, 0, "command failed: {self:#?}");
        self
    }
}

static SEQ: AtomicU32 = AtomicU32::new(0);

/// Runs `program args` under `timeout`, stdin from /dev/null, stdout/stderr to files under `dir`
/// (files, not pipes: daemonised children such as conmon or shims may keep them open).
fn run<S: AsRef<OsStr>>(dir: &Path, program: &str, args: &[S]) -> Out {
    let n = SEQ.fetch_add(1, Ordering::Relaxed);
    let out_path = dir.join(format!("cmd{n}.stdout"));
    let err_path = dir.join(format!("cmd{n}.stderr"));
    let mut cmd = Command::new("timeout");
    cmd.args(["-k", "5", COMMAND_SECS])
        .arg(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(fs::File::create(&out_path).unwrap())
        .stderr(fs::File::create(&err_path).unwrap());
    let desc = format!("{cmd:?}");
    let status = cmd.status().unwrap_or_else(|e| panic!("spawn {desc}: {e}"));
    Out {
        cmd: desc,
        code: status.code().unwrap_or(-1),
        stdout: fs::read_to_string(&out_path).unwrap_or_default(),
        stderr: fs::read_to_string(&err_path).unwrap_or_default(),
    }
}

/// Polls `check` every 100ms for up to `secs` seconds.
fn wait_for(secs: u64, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if check() {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Owns the test's temporary directory; on drop lazily unmounts anything an engine left mounted
/// beneath it (overlay layers, shm, netns) before the directory is removed.
struct Scratch {
    dir: Option<tempfile::TempDir>,
}

impl Scratch {
    fn new(test: &str) -> Self {
        let dir = tempfile::Builder::new()
            .prefix(&format!("bp{}-{test}-", std::process::id()))
            .tempdir_in("/tmp")
            .unwrap();
        Scratch { dir: Some(dir) }
    }

    fn path(&self) -> &Path {
        self.dir.as_ref().unwrap().path()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let root = self.path().to_path_buf();
        let mut points: Vec<PathBuf> = fs::read_to_string("/proc/self/mountinfo")
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.split(' ').nth(4).map(PathBuf::from))
            .filter(|p| p.starts_with(&root))
            .collect();
        // Deepest first.
        points.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
        for p in points {
            let _ = nix::mount::umount2(&p, nix::mount::MntFlags::MNT_DETACH);
        }
        if let Some(dir) = self.dir.take() {
            if let Err(e) = dir.close() {
                eprintln!("warning: removing {}: {e}", root.display());
            }
        }
    }
}

/// Builds the busybox rootfs with scripts/make-busybox-bundle.sh into `dir`/bundle and returns
/// the rootfs path.
fn busybox_rootfs(dir: &Path) -> PathBuf {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/make-busybox-bundle.sh");
    let bundle = dir.join("bundle");
    run(dir, "bash", &[script.as_os_str(), bundle.as_os_str()]).ok();
    bundle.join("rootfs")
}

/// A private podman store under `dir`.
struct Podman {
    dir: PathBuf,
    base: Vec<String>,
    containers: Vec<String>,
}

impl Podman {
    fn new(dir: &Path) -> Self {
        let base = vec![
            "--root".to_owned(),
            dir.join("storage").display().to_string(),
            "--runroot".to_owned(),
            dir.join("run").display().to_string(),
            "--tmpdir".to_owned(),
            dir.join("tmp").display().to_string(),
            "--cgroup-manager".to_owned(),
            "cgroupfs".to_owned(),
            "--events-backend".to_owned(),
            "file".to_owned(),
            "--runtime".to_owned(),
            berth().to_owned(),
        ];
        Podman {
            dir: dir.to_path_buf(),
            base,
            containers: Vec::new(),
        }
    }

    fn run(&self, args: &[&str]) -> Out {
        let mut all = self.base.clone();
        all.extend(args.iter().map(|s| (*s).to_owned()));
        run(&self.dir, "podman", &all)
    }

    /// Imports the busybox rootfs as `IMAGE`.
    fn import_busybox(&self) {
        let rootfs = busybox_rootfs(&self.dir);
        let tar = self.dir.join("rootfs.tar");
        run(
            &self.dir,
            "tar",
            &[
                OsStr::new("-C"),
                rootfs.as_os_str(),
                OsStr::new("-cf"),
                tar.as_os_str(),
                OsStr::new("."),
            ],
        )
        .ok();
        self.run(&["import", &tar.display().to_string(), IMAGE])
            .ok();
    }
}

impl Drop for Podman {
    fn drop(&mut self) {
        for c in &self.containers {
            let _ = self.run(&["rm", "-f", "-t", "0", c]);
        }
        let _ = self.run(&["system", "reset", "-f"]);
    }
}

/// A private containerd with its own root, state and socket, the CRI plugin disabled.
struct Containerd {
    dir: PathBuf,
    socket: PathBuf,
    namespace: String,
    child: Option<Child>,
    /// Containers to kill and delete on drop.
    containers: Vec<String>,
}

impl Containerd {
    fn start(dir: &Path, namespace: &str) -> Self {
        let base = dir.join("containerd");
        fs::create_dir_all(&base).unwrap();
        let socket = base.join("c.sock");
        let config = base.join("config.toml");
        fs::write(
            &config,
            format!(
                "version = 2\nroot = \"{root}\"\nstate = \"{state}\"\n\
                 disabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n\
                 [grpc]\n  address = \"{sock}\"\n\
                 [ttrpc]\n  address = \"{sock}.ttrpc\"\n\
                 [debug]\n  address = \"{debug}\"\n",
                root = base.join("root").display(),
                state = base.join("state").display(),
                sock = socket.display(),
                debug = base.join("debug.sock").display(),
            ),
        )
        .unwrap();
        let log = fs::File::create(base.join("containerd.log")).unwrap();
        let child = Command::new("containerd")
            .arg("--config")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let mut daemon = Containerd {
            dir: dir.to_path_buf(),
            socket,
            namespace: namespace.to_owned(),
            child: Some(child),
            containers: Vec::new(),
        };
        let ready = wait_for(30, || {
            daemon.socket.exists() && daemon.ctr(&["version"]).code == 0
        });
        if !ready {
            let log = fs::read_to_string(base.join("containerd.log")).unwrap_or_default();
            daemon.stop();
            panic!("containerd did not come up within 30s; log:\n{log}");
        }
        daemon
    }

    fn ctr(&self, args: &[&str]) -> Out {
        let mut all = vec![
            "-a".to_owned(),
            self.socket.display().to_string(),
            "-n".to_owned(),
            self.namespace.clone(),
        ];
        all.extend(args.iter().map(|s| (*s).to_owned()));
        run(&self.dir, "ctr", &all)
    }

    fn task_status(&self, id: &str) -> Option<String> {
        let out = self.ctr(&["task", "ls"]);
        out.stdout
            .lines()
            .map(|l| l.split_whitespace().collect::<Vec<_>>())
            .find(|w| w.first() == Some(&id))
            .and_then(|w| w.get(2).map(|s| (*s).to_owned()))
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            stop_daemon(&mut child, "containerd");
        }
    }
}

impl Drop for Containerd {
    fn drop(&mut self) {
        for c in self.containers.clone() {
            let _ = self.ctr(&["task", "kill", "-s", "SIGKILL", &c]);
            let _ = wait_for(10, || self.task_status(&c).is_none_or(|s| s == "STOPPED"));
            let _ = self.ctr(&["task", "delete", "-f", &c]);
            let _ = self.ctr(&["container", "delete", &c]);
        }
        self.stop();
        // containerd nests task cgroups under /<namespace>; remove that (empty) parent.
        for hierarchy in fs::read_dir("/sys/fs/cgroup")
            .into_iter()
            .flatten()
            .flatten()
        {
            let _ = fs::remove_dir(hierarchy.path().join(&self.namespace));
        }
    }
}

/// SIGTERM, up to 20s grace, then SIGKILL.
fn stop_daemon(child: &mut Child, name: &str) {
    let pid = child.id() as libc::pid_t;
    // SAFETY: signalling a child we spawned and have not reaped yet.
    unsafe { libc::kill(pid, libc::SIGTERM) };
    if !wait_for(20, || matches!(child.try_wait(), Ok(Some(_)))) {
        eprintln!("warning: {name} ignored SIGTERM; killing it");
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// Saves `IMAGE` from a private podman store as an archive of `format` ("oci-archive" or
/// "docker-archive") at `dir`/`file`.
fn busybox_archive(dir: &Path, format: &str, file: &str) -> PathBuf {
    let podman_dir = dir.join("podman");
    fs::create_dir_all(&podman_dir).unwrap();
    let podman = Podman::new(&podman_dir);
    podman.import_busybox();
    let archive = dir.join(file);
    podman
        .run(&[
            "save",
            "--format",
            format,
            "-o",
            &archive.display().to_string(),
            IMAGE,
        ])
        .ok();
    archive
}

#[test]
fn podman_runs_berth() {
    if skip("podman_runs_berth", &["podman", "bash"]) {
        return;
    }
    let name = unique("podman");
    let scratch = Scratch::new("podman");
    let mut podman = Podman::new(scratch.path());
    podman.import_busybox();
    let ulimits = [
        "--ulimit",
        "nofile=1024:1024",
        "--ulimit",
        "nproc=1024:1024",
    ];

    let mut args = vec!["run", "--rm"];
    args.extend(ulimits);
    args.extend([IMAGE, "echo", "hi"]);
    let out = podman.run(&args).ok();
    assert_eq!(out.stdout.trim(), "hi", "{out:#?}");

    podman.containers.push(name.clone());
    let mut args = vec!["run", "-d", "--name", &name];
    args.extend(ulimits);
    args.push(IMAGE);
    args.extend(LONG_RUNNING);
    podman.run(&args).ok();
    let out = podman.run(&["exec", &name, "echo", "from-exec"]).ok();
    assert_eq!(out.stdout.trim(), "from-exec", "{out:#?}");
    let out = podman.run(&["exec", &name, "cat", "/proc/1/cmdline"]).ok();
    assert!(out.stdout.contains("trap"), "{out:#?}");
    podman.run(&["stop", "-t", "10", &name]).ok();
    let out = podman
        .run(&[
            "inspect",
            "--format",
            "{{.State.Status}} {{.State.ExitCode}}",
            &name,
        ])
        .ok();
    assert_eq!(out.stdout.trim(), "exited 0", "{out:#?}");
    podman.run(&["rm", &name]).ok();
    let out = podman.run(&["ps", "-a", "--format", "{{.Names}}"]).ok();
    assert!(!out.stdout.contains(&name), "{out:#?}");
}

#[test]
fn containerd_runs_berth() {
    if skip(
        "containerd_runs_berth",
        &[
            "containerd",
            "ctr",
            "containerd-shim-runc-v2",
            "podman",
            "bash",
        ],
    ) {
        return;
    }
    let name = unique("ctr");
    let scratch = Scratch::new("ctr");
    let archive = busybox_archive(scratch.path(), "oci-archive", "bb-oci.tar");
    let mut cd = Containerd::start(scratch.path(), &name);
    cd.ctr(&[
        "images",
        "import",
        "--all-platforms",
        &archive.display().to_string(),
    ])
    .ok();

    let rm_id = format!("{name}-rm");
    cd.containers.push(rm_id.clone());
    let out = cd
        .ctr(&[
            "run",
            "--rm",
            "--runc-binary",
            berth(),
            IMAGE,
            &rm_id,
            "echo",
            "hi",
        ])
        .ok();
    assert_eq!(out.stdout.trim(), "hi", "{out:#?}");
    let out = cd.ctr(&["container", "ls", "-q"]).ok();
    assert!(!out.stdout.contains(&rm_id), "--rm left it: {out:#?}");

    let id = format!("{name}-d");
    cd.containers.push(id.clone());
    let mut args = vec!["run", "-d", "--runc-binary", berth(), IMAGE, &id];
    args.extend(LONG_RUNNING);
    cd.ctr(&args).ok();
    assert_eq!(cd.task_status(&id).as_deref(), Some("RUNNING"));
    let out = cd
        .ctr(&["task", "exec", "--exec-id", "x1", &id, "echo", "from-exec"])
        .ok();
    assert_eq!(out.stdout.trim(), "from-exec", "{out:#?}");
    let out = cd.ctr(&["task", "ps", &id]).ok();
    assert!(out.stdout.lines().count() >= 2, "{out:#?}");
    cd.ctr(&["task", "kill", &id]).ok();
    assert!(
        wait_for(20, || cd.task_status(&id).as_deref() == Some("STOPPED")),
        "task did not stop after SIGTERM: {:?}",
        cd.ctr(&["task", "ls"])
    );
    cd.ctr(&["task", "delete", &id]).ok();
    cd.ctr(&["container", "delete", &id]).ok();
    let out = cd.ctr(&["container", "ls", "-q"]).ok();
    assert!(!out.stdout.contains(&id), "{out:#?}");
}

/// A private dockerd on its own private containerd.
struct Dockerd {
    dir: PathBuf,
    host: String,
    child: Option<Child>,
    containers: Vec<String>,
}

impl Dockerd {
    fn start(dir: &Path, containerd: &Containerd, namespace: &str) -> Self {
        let base = dir.join("docker");
        fs::create_dir_all(&base).unwrap();
        let socket = base.join("d.sock");
        let host = format!("unix://{}", socket.display());
        let log_path = base.join("dockerd.log");
        let log = fs::File::create(&log_path).unwrap();
        let child = Command::new("dockerd")
            .arg("--data-root")
            .arg(base.join("data"))
            .arg("--exec-root")
            .arg(base.join("exec"))
            .args(["-H", &host])
            .arg("--pidfile")
            .arg(base.join("d.pid"))
            .args(["--bridge", "none", "--iptables=false", "--ip-masq=false"])
            .arg(format!("--add-runtime=berth={}", berth()))
            .arg("--containerd")
            .arg(&containerd.socket)
            .args(["--containerd-namespace", namespace])
            .args(["--containerd-plugins-namespace", &format!("{namespace}-p")])
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let mut daemon = Dockerd {
            dir: dir.to_path_buf(),
            host,
            child: Some(child),
            containers: Vec::new(),
        };
        if !wait_for(60, || {
            socket.exists() && daemon.docker(&["version"]).code == 0
        }) {
            let log = fs::read_to_string(&log_path).unwrap_or_default();
            daemon.stop();
            panic!("dockerd did not come up within 60s; log:\n{log}");
        }
        daemon
    }

    fn docker(&self, args: &[&str]) -> Out {
        let mut all = vec!["-H".to_owned(), self.host.clone()];
        all.extend(args.iter().map(|s| (*s).to_owned()));
        run(&self.dir, "docker", &all)
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            stop_daemon(&mut child, "dockerd");
        }
    }
}

impl Drop for Dockerd {
    fn drop(&mut self) {
        for c in self.containers.clone() {
            let _ = self.docker(&["rm", "-f", &c]);
        }
        self.stop();
    }
}

#[test]
fn dockerd_runs_berth() {
    if skip(
        "dockerd_runs_berth",
        &[
            "dockerd",
            "docker",
            "containerd",
            "containerd-shim-runc-v2",
            "podman",
            "bash",
        ],
    ) {
        return;
    }
    let name = unique("docker");
    let scratch = Scratch::new("docker");
    let archive = busybox_archive(scratch.path(), "docker-archive", "bb-docker.tar");
    // Declared before dockerd so it is dropped (stopped) after it.
    let cd = Containerd::start(scratch.path(), &format!("{name}-cd"));
    let mut docker = Dockerd::start(scratch.path(), &cd, &name);
    docker
        .docker(&["load", "-i", &archive.display().to_string()])
        .ok();

    let out = docker
        .docker(&[
            "run",
            "--rm",
            "--runtime",
            "berth",
            "--network",
            "none",
            IMAGE,
            "echo",
            "hi",
        ])
        .ok();
    assert_eq!(out.stdout.trim(), "hi", "{out:#?}");

    docker.containers.push(name.clone());
    let mut args = vec![
        "run",
        "-d",
        "--name",
        &name,
        "--runtime",
        "berth",
        "--network",
        "none",
        IMAGE,
    ];
    args.extend(LONG_RUNNING);
    docker.docker(&args).ok();
    let out = docker.docker(&["exec", &name, "echo", "from-exec"]).ok();
    assert_eq!(out.stdout.trim(), "from-exec", "{out:#?}");
    let out = docker.docker(&["top", &name]).ok();
    assert!(out.stdout.contains("trap"), "{out:#?}");
    docker.docker(&["stop", "-t", "10", &name]).ok();
    let out = docker
        .docker(&[
            "inspect",
            "--format",
            "{{.State.Status}} {{.State.ExitCode}}",
            &name,
        ])
        .ok();
    assert_eq!(out.stdout.trim(), "exited 0", "{out:#?}");
    docker.docker(&["rm", &name]).ok();
    let out = docker.docker(&["ps", "-a", "--format", "{{.Names}}"]).ok();
    assert!(!out.stdout.contains(&name), "{out:#?}");
}
