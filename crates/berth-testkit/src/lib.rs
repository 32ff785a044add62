//! Shared harness of Berth's end-to-end tests (a dev-dependency only): a private berthd (its own
//! data root, exec root and socket) driven by the real `docker` CLI or by `berth`, with a busybox
//! image imported from Debian's busybox-static.
//!
//! berthd, berth, berth-runtime and berth-shim are workspace binaries, found in the target
//! directory of the running test: build the workspace first (`cargo build --workspace`;
//! scripts/test.sh does).

pub mod build;
pub mod python;
pub mod registry;
pub mod spdy;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// No client command in a test should take longer; a hang fails the test, not the CI run.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);
/// Debian's busybox-static.
const BUSYBOX: &str = "/bin/busybox";

/// A workspace binary next to the running test (`target/<profile>/deps/<test>` → `target/<profile>/`).
fn workspace_bin(name: &str) -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent()?.parent().map(|dir| dir.join(name)))
        .unwrap_or_else(|| PathBuf::from(name))
}

pub fn berth() -> PathBuf {
    workspace_bin("berth")
}

pub fn berthd() -> PathBuf {
    workspace_bin("berthd")
}

/// The static pause for pod sandboxes: `BERTH_TEST_PAUSE` (scripts/test.sh builds it with
/// scripts/build-static.sh), else the one that script leaves in the target directory.
pub fn pause_binary() -> Option<PathBuf> {
    std::env::var_os("BERTH_TEST_PAUSE")
        .map(PathBuf::from)
        .or_else(|| {
            let triple = format!("{}-unknown-linux-gnu", std::env::consts::ARCH);
            let built = berthd()
                .parent()?
                .parent()?
                .join(triple)
                .join("release/berth-pause");
            built.is_file().then_some(built)
        })
}

/// Which program drives a daemon: its imports and its clean-up go through it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Client {
    Docker,
    Berth,
}

/// Skips (returns true) unless root, and the docker CLI when `client` is docker; the daemon
/// binaries must have been built.
pub fn skip_unless(client: Client) -> bool {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipping: needs root");
        return true;
    }
    if client == Client::Docker && Command::new("docker").arg("--version").output().is_err() {
        eprintln!("skipping: no docker CLI");
        return true;
    }
    let dir = berthd().parent().map(Path::to_path_buf).unwrap_or_default();
    for bin in ["berthd", "berth", "berth-runtime", "berth-shim"] {
        assert!(
            dir.join(bin).exists(),
            "{bin} is not built in {}: run `cargo build --workspace` first",
            dir.display()
        );
    }
    false
}

/// A loopback TCP port nothing listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("{e}"))
}

pub fn unique(tag: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{tag}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

#[derive(Debug, Clone)]
pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Out {
    #[track_caller]
    pub fn ok(self) -> Self {
        assert_eq!(self.code, 0, "command failed: {self:?}");
        self
    }

    #[track_caller]
    pub fn failed(self) -> Self {
        assert_ne!(self.code, 0, "command should have failed: {self:?}");
        self
    }

    /// stdout without surrounding whitespace: an id, a name, one value.
    pub fn text(&self) -> String {
        self.stdout.trim().to_string()
    }

    /// stdout and stderr together: runtimes differ in which stream carries an error.
    pub fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

/// Runs `cmd` to completion with a timeout, capturing output (and feeding `stdin`).
pub fn run(cmd: Command, stdin: Option<&[u8]>) -> Out {
    run_within(cmd, stdin, COMMAND_TIMEOUT)
}

/// [`run`] for a whole client test suite (pytest, compose): killed after `timeout`.
pub fn run_within(mut cmd: Command, stdin: Option<&[u8]>, timeout: Duration) -> Out {
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("spawn {cmd:?}: {e}"));
    if let (Some(data), Some(mut pipe)) = (stdin, child.stdin.take()) {
        let data = data.to_vec();
        std::thread::spawn(move || {
            let _ = std::io::Write::write_all(&mut pipe, &data);
        });
    }
    wait_output_within(child, timeout)
}

/// Collects a child's output and status, killing it after `COMMAND_TIMEOUT`.
pub fn wait_output(child: Child) -> Out {
    wait_output_within(child, COMMAND_TIMEOUT)
}

fn wait_output_within(mut child: Child, timeout: Duration) -> Out {
    let mut out_pipe = child.stdout.take().unwrap_or_else(|| panic!("no stdout"));
    let mut err_pipe = child.stderr.take().unwrap_or_else(|| panic!("no stderr"));
    let out_t = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = out_pipe.read_to_end(&mut s);
        s
    });
    let err_t = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = err_pipe.read_to_end(&mut s);
        s
    });
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap_or(None) {
            break s;
        }
        if start.elapsed() > timeout {
            let _ = child.kill();
            panic!("command did not finish within {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let stdout = String::from_utf8_lossy(&out_t.join().unwrap_or_default()).into_owned();
    let stderr = String::from_utf8_lossy(&err_t.join().unwrap_or_default()).into_owned();
    Out {
        code: status
            .code()
            .unwrap_or(128 + std::os::unix::process::ExitStatusExt::signal(&status).unwrap_or(0)),
        stdout,
        stderr,
    }
}

/// Writes a busybox root filesystem into `dir`: the applets as symlinks, `/etc/passwd` and
/// `/etc/group` with root and nobody (also produced by scripts/make-busybox-bundle.sh).
pub fn populate_busybox_rootfs(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    // A tempdir is 0700; containers running as nobody or in a user namespace must traverse it.
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755))
        .unwrap_or_else(|e| panic!("chmod {}: {e}", dir.display()));
    for sub in [
        "bin", "proc", "sys", "dev", "tmp", "etc", "root", "mnt", "run", "var", "home",
    ] {
        std::fs::create_dir_all(dir.join(sub)).unwrap_or_else(|e| panic!("mkdir {sub}: {e}"));
    }
    std::fs::set_permissions(dir.join("tmp"), std::fs::Permissions::from_mode(0o1777))
        .unwrap_or_else(|e| panic!("chmod tmp: {e}"));
    std::fs::copy(BUSYBOX, dir.join("bin/busybox"))
        .unwrap_or_else(|e| panic!("copy {BUSYBOX} (apt-get install busybox-static): {e}"));
    let list = Command::new(BUSYBOX)
        .arg("--list")
        .output()
        .unwrap_or_else(|e| panic!("busybox --list: {e}"));
    for applet in String::from_utf8_lossy(&list.stdout).lines() {
        // `--list` names busybox itself; a symlink there would replace the binary.
        if applet.is_empty() || applet == "busybox" || applet.contains('/') {
            continue;
        }
        std::os::unix::fs::symlink("busybox", dir.join("bin").join(applet))
            .unwrap_or_else(|e| panic!("applet {applet}: {e}"));
    }
    std::fs::write(
        dir.join("etc/passwd"),
        "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
    )
    .unwrap_or_else(|e| panic!("write passwd: {e}"));
    std::fs::write(dir.join("etc/group"), "root:x:0:\nnobody:x:65534:\n")
        .unwrap_or_else(|e| panic!("write group: {e}"));
}

/// A busybox root filesystem shared read-only by the runtime and shim tests.
///
/// Built once per machine and busybox version into the temp dir: a process builds into a private
/// temp dir and renames it into place, so concurrent test binaries never see a half-built tree
/// (a loser of the rename race just drops its copy).
pub fn busybox_rootfs() -> &'static Path {
    static ROOTFS: OnceLock<PathBuf> = OnceLock::new();
    ROOTFS.get_or_init(|| {
        use std::os::unix::fs::MetadataExt;
        let meta = std::fs::metadata(BUSYBOX)
            .unwrap_or_else(|e| panic!("{BUSYBOX} (apt-get install busybox-static): {e}"));
        let dest = std::env::temp_dir().join(format!(
            "berth-test-rootfs-v2-{}-{}",
            meta.len(),
            meta.mtime()
        ));
        if dest.join("bin/busybox").exists() {
            return dest;
        }
        let staging = tempfile::Builder::new()
            .prefix(".berth-test-rootfs-build")
            .tempdir_in(std::env::temp_dir())
            .unwrap_or_else(|e| panic!("rootfs staging dir: {e}"))
            .keep();
        populate_busybox_rootfs(&staging);
        if std::fs::rename(&staging, &dest).is_err() {
            // Another process won the race; its tree is identical.
            let _ = std::fs::remove_dir_all(&staging);
            assert!(
                dest.join("bin/busybox").exists(),
                "rootfs {} missing",
                dest.display()
            );
        }
        dest
    })
}

/// A tarball of [`busybox_rootfs`], made once per machine next to it (written under a private
/// name and renamed into place, as the tree is).
pub fn busybox_tar() -> &'static Path {
    static TAR: OnceLock<PathBuf> = OnceLock::new();
    TAR.get_or_init(|| {
        let rootfs = busybox_rootfs();
        let tar = rootfs.with_extension("tar");
        if tar.exists() {
            return tar;
        }
        let staging = tempfile::Builder::new()
            .prefix(".berth-test-busybox-tar")
            .tempfile_in(std::env::temp_dir())
            .unwrap_or_else(|e| panic!("tar staging file: {e}"));
        let status = Command::new("tar")
            .arg("-C")
            .arg(rootfs)
            .arg("-cf")
            .arg(staging.path())
            .arg(".")
            .status()
            .unwrap_or_else(|e| panic!("tar: {e}"));
        assert!(status.success(), "tar failed");
        staging
            .persist(&tar)
            .unwrap_or_else(|e| panic!("{}: {e}", tar.display()));
        tar
    })
}

/// A daemon's share of the address space: its default bridge and the /20 its user networks
/// come from, unique per process (the pid) and per daemon (a counter), so tests in parallel
/// and test binaries side by side never share a bridge or a subnet.
#[derive(Debug, Clone)]
pub struct NetSlot {
    /// Host bridge of the default network (at most 15 bytes).
    pub bridge: String,
    second: u32,
    third: u32,
}

impl NetSlot {
    fn next() -> Self {
        static N: AtomicU32 = AtomicU32::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let pid = std::process::id();
        Self {
            bridge: format!("bt{}x{n}", pid % 100_000),
            second: 200 + (pid + n / 16) % 50,
            third: (n % 16) * 16,
        }
    }

    /// `--bip`: the first /24 of the slot.
    pub fn bip(&self) -> String {
        format!("10.{}.{}.1/24", self.second, self.third)
    }

    /// The `k`-th /24 of the slot (1..=15: 0 is the default bridge's), for `--subnet`.
    pub fn subnet(&self, k: u32) -> String {
        format!("10.{}.{}.0/24", self.second, self.third + k)
    }

    fn pool(&self) -> String {
        format!("base=10.{}.{}.0/20,size=24", self.second, self.third)
    }

    /// The slot's IPv6 pool: a /56 of unique local addresses split into /64s (without it
    /// every daemon would share the host's ULA /48).
    fn pool_v6(&self) -> String {
        format!(
            "base=fd42:b7e5:{:x}{:02x}::/56,size=64",
            self.second, self.third
        )
    }

    /// The `k`-th IPv6 /64 of the slot (k < 256), for `--subnet`.
    pub fn subnet_v6(&self, k: u32) -> String {
        format!(
            "fd42:b7e5:{:x}{:02x}:{:x}::/64",
            self.second,
            self.third,
            k + 0x80
        )
    }
}

/// A private berthd. Dropping it removes its containers and networks (through its client),
/// stops it, deletes its default bridge and its roots.
pub struct Daemon {
    pub root: tempfile::TempDir,
    pub socket: PathBuf,
    /// The CRI's socket (gRPC), private to this daemon as `socket` is.
    pub cri_socket: PathBuf,
    pub net: NetSlot,
    client: Client,
    /// More berthd flags, given at every (re)start.
    args: Vec<std::ffi::OsString>,
    /// A command berthd runs under (`unshare ... sh -c '...; exec "$@"'`): its last argument
    /// is berthd, then berthd's flags. It must exec berthd, so the child is berthd.
    wrapper: Vec<std::ffi::OsString>,
    child: Option<Child>,
}

impl Daemon {
    /// A daemon driven by the docker CLI.
    pub fn start() -> Self {
        Self::start_for(Client::Docker)
    }

    pub fn start_for(client: Client) -> Self {
        Self::start_with(client, "", Vec::new(), Vec::new())
    }

    /// A daemon driven by the docker CLI, with `toml` as its config file.
    pub fn start_configured(toml: &str) -> Self {
        Self::start_with(Client::Docker, toml, Vec::new(), Vec::new())
    }

    /// A daemon started with more flags (`--cni-plugin-dir` of a test's plugins, ...).
    pub fn start_with_args(client: Client, args: Vec<std::ffi::OsString>) -> Self {
        Self::start_wrapped(client, args, Vec::new())
    }

    /// A daemon started with more flags under a wrapper command (see `Daemon::wrapper`), e.g.
    /// in a private mount namespace of a test's.
    pub fn start_wrapped(
        client: Client,
        args: Vec<std::ffi::OsString>,
        wrapper: Vec<std::ffi::OsString>,
    ) -> Self {
        Self::start_with(client, "", args, wrapper)
    }

    /// The pid of berthd, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    fn start_with(
        client: Client,
        toml: &str,
        args: Vec<std::ffi::OsString>,
        wrapper: Vec<std::ffi::OsString>,
    ) -> Self {
        let root = tempfile::Builder::new()
            .prefix("berthd-test")
            .tempdir()
            .unwrap_or_else(|e| panic!("{e}"));
        let socket = root.path().join("berth.sock");
        let cri_socket = root.path().join("cri.sock");
        std::fs::write(root.path().join("berthd.toml"), toml).unwrap_or_else(|e| panic!("{e}"));
        let mut d = Self {
            root,
            socket,
            cri_socket,
            net: NetSlot::next(),
            client,
            args,
            wrapper,
            child: None,
        };
        d.spawn();
        d
    }

    pub fn data_root(&self) -> PathBuf {
        self.root.path().join("data")
    }

    pub fn exec_root(&self) -> PathBuf {
        self.root.path().join("run")
    }

    /// The pods' CNI configuration directory (`--cni-conf-dir`), absent until a test makes it.
    pub fn cni_conf_dir(&self) -> PathBuf {
        self.root.path().join("cni/net.d")
    }

    /// (Re)starts berthd on the same roots.
    pub fn spawn(&mut self) {
        let log = std::fs::File::create(self.root.path().join("berthd.log"))
            .unwrap_or_else(|e| panic!("{e}"));
        let mut command = match self.wrapper.split_first() {
            Some((program, args)) => {
                let mut c = Command::new(program);
                c.args(args).arg(berthd());
                c
            }
            None => Command::new(berthd()),
        };
        let child = command
            .arg("--data-root")
            .arg(self.data_root())
            .arg("--exec-root")
            .arg(self.exec_root())
            .arg("-H")
            .arg(format!("unix://{}", self.socket.display()))
            .arg("--config-file")
            .arg(self.root.path().join("berthd.toml"))
            // Never the host's CRI socket nor its /etc/cni/net.d.
            .arg("--cri-socket")
            .arg(self.cri_host())
            .arg("--cni-conf-dir")
            .arg(self.cni_conf_dir())
            // Nothing a test does may reach past the host: no masquerading to the outside.
            .args(["--bridge", &self.net.bridge, "--bip", &self.net.bip()])
            .args([
                "--default-address-pool",
                &self.net.pool(),
                "--default-address-pool",
                &self.net.pool_v6(),
                "--ip-masq=false",
            ])
            // The static init scripts/test.sh builds, for `--init` tests; without it berthd
            // refuses `--init` (a dynamically linked init cannot run in a busybox image).
            .args(
                std::env::var_os("BERTH_TEST_INIT")
                    .map(|p| vec![std::ffi::OsString::from("--init-path"), p])
                    .unwrap_or_default(),
            )
            // Likewise the static pause of pod sandboxes (the CRI pod tests need it).
            .args(
                pause_binary()
                    .map(|p| vec![std::ffi::OsString::from("--pause-path"), p.into()])
                    .unwrap_or_default(),
            )
            .args(&self.args)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("start berthd: {e}"));
        self.child = Some(child);
        let start = Instant::now();
        let up = |s: &Path| std::os::unix::net::UnixStream::connect(s).is_ok();
        while !(up(&self.socket) && up(&self.cri_socket)) {
            assert!(
                // Generous: in the emulated kernel guests (scripts/test-kernels.sh) a start
                // beside other tests' daemons has taken over 20 s.
                start.elapsed() < COMMAND_TIMEOUT,
                "berthd did not come up: {}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGTERM, as an operator's stop: berthd removes its sockets on the way out.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            // SAFETY: SIGTERM to our own child.
            unsafe { libc::kill(c.id() as i32, libc::SIGTERM) };
            let _ = c.wait();
        }
    }

    /// SIGKILL, as a crash: containers must survive it.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.root.path().join("berthd.log")).unwrap_or_default()
    }

    pub fn host(&self) -> String {
        format!("unix://{}", self.socket.display())
    }

    /// The CRI socket as `berth --cri-socket` and berthd's flag take it.
    pub fn cri_host(&self) -> String {
        format!("unix://{}", self.cri_socket.display())
    }

    pub fn docker_cmd(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new("docker");
        cmd.env("DOCKER_HOST", self.host())
            .env("DOCKER_CONFIG", self.root.path().join("docker-config"))
            .args(args);
        cmd
    }

    pub fn docker(&self, args: &[&str]) -> Out {
        run(self.docker_cmd(args), None)
    }

    pub fn docker_stdin(&self, args: &[&str], stdin: &[u8]) -> Out {
        run(self.docker_cmd(args), Some(stdin))
    }

    /// Runs `args` with this daemon's client.
    fn client(&self, args: &[&str]) -> Out {
        match self.client {
            Client::Docker => self.docker(args),
            Client::Berth => self.berth(args),
        }
    }

    pub fn berth_cmd(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(berth());
        cmd.env("BERTH_HOST", self.host())
            .env("BERTH_CRI_SOCKET", self.cri_host())
            .env_remove("COLUMNS")
            .args(args);
        cmd
    }

    pub fn berth(&self, args: &[&str]) -> Out {
        run(self.berth_cmd(args), None)
    }

    pub fn berth_stdin(&self, args: &[&str], stdin: &[u8]) -> Out {
        run(self.berth_cmd(args), Some(stdin))
    }

    /// Runs `berth args` on a pseudo-terminal (`script -qec`), typing `input` into it one
    /// chunk at a time (`None` is a pause), as a user at a terminal would.
    pub fn berth_tty(&self, args: &str, input: &[Option<&[u8]>]) -> Out {
        let line = format!("stty cols 100 rows 30; {} {args}", berth().display());
        let mut cmd = Command::new("script");
        cmd.env("BERTH_HOST", self.host())
            .args(["-qec", &line, "/dev/null"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap_or_else(|e| panic!("spawn script: {e}"));
        let mut pipe = child.stdin.take().unwrap_or_else(|| panic!("no stdin"));
        let chunks: Vec<Option<Vec<u8>>> = input.iter().map(|c| c.map(<[u8]>::to_vec)).collect();
        let feeder = std::thread::spawn(move || {
            for c in chunks {
                match c {
                    Some(bytes) => {
                        let _ = std::io::Write::write_all(&mut pipe, &bytes);
                        let _ = std::io::Write::flush(&mut pipe);
                    }
                    None => std::thread::sleep(Duration::from_millis(700)),
                }
            }
            // Keep the terminal's input open a little so the session ends on its own.
            std::thread::sleep(Duration::from_secs(2));
        });
        let out = wait_output(child);
        let _ = feeder.join();
        out
    }

    /// Imports the busybox rootfs as `busybox:test` (with `CMD ["sh"]`) and returns that name.
    pub fn busybox(&self) -> &'static str {
        let tar = busybox_tar().display().to_string();
        self.client(&["import", "-c", "CMD [\"sh\"]", &tar, "busybox:test"])
            .ok();
        "busybox:test"
    }

    /// Mounts under this daemon's roots still in the host mount table.
    pub fn leaked_mounts(&self) -> Vec<String> {
        let root = self.root.path().display().to_string();
        std::fs::read_to_string("/proc/self/mountinfo")
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.split_whitespace().nth(4))
            .filter(|m| m.starts_with(&root))
            .map(str::to_string)
            .collect()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if self.child.is_some() {
            let ids = self.client(&["ps", "-aq"]);
            for id in ids.stdout.split_whitespace() {
                let _ = self.client(&["rm", "-f", id]);
            }
            let nets = self.client(&["network", "ls", "-q", "--filter", "type=custom"]);
            for id in nets.stdout.split_whitespace() {
                let _ = self.client(&["network", "rm", id]);
            }
        }
        if let Some(mut c) = self.child.take() {
            // SAFETY: SIGTERM to our own child.
            unsafe { libc::kill(c.id() as i32, libc::SIGTERM) };
            let _ = c.wait();
        }
        // The default bridge stays after berthd stops, as docker0 does; a test's must not.
        let _ = Command::new("ip")
            .args(["link", "del", &self.net.bridge])
            .stderr(Stdio::null())
            .status();
        // So do its isolation and FORWARD rules (berthd keeps them for the bridge's next start).
        let needle = format!(" {} ", self.net.bridge);
        for program in ["iptables", "ip6tables"] {
            let Ok(saved) = Command::new(format!("{program}-save"))
                .args(["-t", "filter"])
                .output()
            else {
                continue;
            };
            for line in String::from_utf8_lossy(&saved.stdout).lines() {
                let Some(rule) = line.strip_prefix("-A ") else {
                    continue;
                };
                if format!("{line} ").contains(&needle) {
                    let _ = Command::new(program)
                        .args(["-w", "-t", "filter", "-D"])
                        .args(rule.split_whitespace())
                        .stderr(Stdio::null())
                        .status();
                }
            }
        }
        // Never leave mounts behind, even when a test failed half-way.
        for m in self.leaked_mounts().iter().rev() {
            let _ = Command::new("umount").arg("-l").arg(m).status();
        }
    }
}

/// Polls `check` every 50 ms until it returns true or `timeout` passes; returns the last answer.
pub fn eventually(timeout: Duration, mut check: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if check() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    check()
}

/// Whether `/sys/fs/cgroup` is a pure cgroup v2 hierarchy (else v1 or hybrid).
pub fn cgroup_v2_host() -> bool {
    std::fs::metadata("/sys/fs/cgroup/cgroup.controllers").is_ok()
}

/// The host path of a cgroup file of process `pid`: `v1` in the hierarchy of `controller` on v1
/// and hybrid hosts, `v2` in the process's unified cgroup on pure v2 hosts.
pub fn process_cgroup_file(pid: &str, controller: &str, v1: &str, v2: &str) -> PathBuf {
    let text = std::fs::read_to_string(format!("/proc/{pid}/cgroup"))
        .unwrap_or_else(|e| panic!("/proc/{pid}/cgroup: {e}"));
    let path_of = |want: &dyn Fn(&str) -> bool| {
        text.lines().find_map(|l| {
            let mut parts = l.splitn(3, ':');
            let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
            want(controllers).then(|| path.trim_start_matches('/').to_string())
        })
    };
    if cgroup_v2_host() {
        let path = path_of(&|c: &str| c.is_empty()).unwrap_or_else(|| panic!("{text}"));
        Path::new("/sys/fs/cgroup").join(path).join(v2)
    } else {
        let path = path_of(&|c: &str| c.split(',').any(|c| c == controller))
            .unwrap_or_else(|| panic!("no {controller} cgroup in {text}"));
        // Joint mounts (cpu,cpuacct) have a link per controller name.
        Path::new("/sys/fs/cgroup")
            .join(controller)
            .join(path)
            .join(v1)
    }
}

/// The cgroup directories named `<parent>/<id>` that still exist: under the v2 root, and in
/// every v1 hierarchy (where a pure v2 host has controller files instead, nothing matches).
pub fn cgroup_dirs(parent: &str, id: &str) -> Vec<PathBuf> {
    let root = Path::new("/sys/fs/cgroup");
    let mut dirs = vec![root.join(parent).join(id)];
    if let Ok(hierarchies) = std::fs::read_dir(root) {
        dirs.extend(hierarchies.filter_map(|h| Some(h.ok()?.path().join(parent).join(id))));
    }
    dirs.retain(|d| d.is_dir());
    dirs
}
