//! The container side of create and exec. This code runs in the forked child of the
//! (single-threaded) runtime and ends in execve; it never returns to the caller.

use std::ffi::CString;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use nix::fcntl::OFlag;
use nix::sys::stat::Mode;
use std::path::Path;

use oci_spec::runtime::{Hook, LinuxNamespaceType, Process, Spec};

use crate::channel::{Channel, Message};
use crate::error::{io, sys, Error, Result};
use crate::namespaces::{self, NamespacePlan};
use crate::rootfs::{self, CgroupMountSource, RootSwitch, RootfsContext};
use crate::seccomp::CompiledFilter;
use crate::state::EXEC_FIFO;
use crate::syscall::LinuxSyscall;
use crate::{hooks, process};

/// Everything the container process needs; built by the runtime before it forks.
pub(crate) struct InitContext<'a> {
    pub spec: &'a Spec,
    pub process: &'a Process,
    pub rootfs: &'a Path,
    pub plan: &'a NamespacePlan,
    pub ns_fds: Vec<(LinuxNamespaceType, OwnedFd)>,
    pub channel: &'a Channel,
    /// O_PATH fd of the state dir holding exec.fifo: `create` blocks on the fifo until `start`.
    /// None for `run`.
    pub fifo: Option<OwnedFd>,
    pub console: Option<OwnedFd>,
    pub seccomp: Option<CompiledFilter>,
    pub cgroup_mount: CgroupMountSource,
    /// The container id and its v1 cgroup, which the child joins itself right after `Go`.
    pub cgroup_join: Option<(String, berth_cgroups::SelfPlacement)>,
    pub no_pivot: bool,
    pub new_keyring: Option<&'a str>,
    pub preserve_fds: u32,
}

/// Runs `body` as the forked child; reports failure to the runtime and exits.
pub(crate) fn child_main(channel: &Channel, body: impl FnOnce() -> Result<()>) -> ! {
    if let Err(e) = body() {
        let _ = channel.send(&Message::Failed(e.to_string()));
    }
    // SAFETY: _exit skips the parent's atexit handlers and buffered output, which belong to it.
    unsafe { libc::_exit(1) }
}

/// `struct clone_args` up to `cgroup` (CLONE_ARGS_SIZE_VER2).
#[repr(C)]
#[derive(Default)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;

/// Like [`clone_process`], but on cgroup v2 the child starts inside the cgroup `cgroup_dir`
/// (clone3 + CLONE_INTO_CGROUP, Linux 5.7+): no later cgroup.procs write, which is the costly
/// step of placing a process. Returns the pid and whether the child was placed; on kernels
/// without it the caller adds the task itself.
pub(crate) fn clone_into_cgroup(
    flags: libc::c_long,
    cgroup_dir: Option<BorrowedFd<'_>>,
) -> Result<(i32, bool)> {
    if let Some(dir) = cgroup_dir {
        let args = CloneArgs {
            flags: flags as u64 | CLONE_INTO_CGROUP,
            exit_signal: libc::SIGCHLD as u64,
            cgroup: dir.as_raw_fd() as u64,
            ..CloneArgs::default()
        };
        // SAFETY: without a stack, clone3 behaves like fork; our process has a single thread and
        // `args` outlives the call.
        let pid = unsafe {
            libc::syscall(
                libc::SYS_clone3,
                &args as *const CloneArgs,
                std::mem::size_of::<CloneArgs>(),
            )
        };
        if pid >= 0 {
            return Ok((pid as i32, true));
        }
        let errno = nix::errno::Errno::last();
        // ENOSYS/E2BIG: no clone3 or no cgroup field; anything else is the real answer.
        if !matches!(errno, nix::errno::Errno::ENOSYS | nix::errno::Errno::E2BIG) {
            return Err(Error::Sys {
                action: format!("clone3 into cgroup with flags {flags:#x}"),
                source: errno,
            });
        }
    }
    clone_process(flags).map(|pid| (pid, false))
}

/// clone(2) without a new stack: fork semantics plus namespace flags. The caller is single-threaded.
pub(crate) fn clone_process(flags: libc::c_long) -> Result<i32> {
    // SAFETY: with a NULL stack, clone behaves like fork; our process has a single thread.
    let pid = unsafe {
        libc::syscall(
            libc::SYS_clone,
            flags | libc::SIGCHLD as libc::c_long,
            0,
            0,
            0,
            0,
        )
    };
    if pid < 0 {
        return Err(Error::Sys {
            action: format!("clone with flags {flags:#x}"),
            source: nix::errno::Errno::last(),
        });
    }
    Ok(pid as i32)
}

/// Waits for `Go`, collecting the idmapped mount trees the runtime sends before it.
fn wait_go_with_mounts(ch: &Channel) -> Result<Vec<(usize, OwnedFd)>> {
    let mut trees = Vec::new();
    loop {
        match ch.recv_with_fd()? {
            (Message::IdmappedMount(index), Some(fd)) => trees.push((index, fd)),
            (Message::Go, _) => return Ok(trees),
            (other, _) => {
                return Err(Error::Init(format!(
                    "unexpected {other:?} while waiting to start"
                )))
            }
        }
    }
}

pub(crate) fn wait_go(ch: &Channel) -> Result<()> {
    match ch.expect("Go")? {
        Message::Go => Ok(()),
        other => Err(Error::Init(format!(
            "unexpected {other:?} while waiting to start"
        ))),
    }
}

/// Moves this (single-threaded) process into its cgroup: before the namespaces, so a cgroup
/// namespace is rooted there and a second fork's grandchild starts inside.
pub(crate) fn join_cgroup(id: &str, placement: berth_cgroups::SelfPlacement) -> Result<()> {
    placement.join().map_err(|source| Error::Cgroup {
        id: id.to_string(),
        source,
    })
}

/// Joins and creates the remaining namespaces; after a second fork only the grandchild returns.
pub(crate) fn enter_namespaces(
    plan: &NamespacePlan,
    ns_fds: &[(LinuxNamespaceType, OwnedFd)],
    ch: &Channel,
    time_offsets: Option<String>,
) -> Result<()> {
    namespaces::enter(ns_fds)?;
    if plan.has_user {
        // Until now we carry the host's ids, unmapped in the namespace (files we create would
        // fail with EOVERFLOW): become the namespace's root, as runc does.
        let root_gid = nix::unistd::Gid::from_raw(0);
        let root_uid = nix::unistd::Uid::from_raw(0);
        nix::unistd::setresgid(root_gid, root_gid, root_gid)
            .map_err(sys("become root (gid) in the user namespace"))?;
        nix::unistd::setresuid(root_uid, root_uid, root_uid)
            .map_err(sys("become root (uid) in the user namespace"))?;
    }
    namespaces::unshare_flags(plan.unshare_flags - nix::sched::CloneFlags::CLONE_NEWPID)?;
    if plan.new_cgroup {
        namespaces::unshare_flags(nix::sched::CloneFlags::CLONE_NEWCGROUP)?;
    }
    if !plan.second_fork {
        return Ok(());
    }
    namespaces::unshare_flags(plan.unshare_flags & nix::sched::CloneFlags::CLONE_NEWPID)?;
    if plan.new_time {
        namespaces::unshare_flags(nix::sched::CloneFlags::from_bits_retain(
            libc::CLONE_NEWTIME,
        ))?;
        if let Some(offsets) = time_offsets {
            std::fs::write("/proc/self/timens_offsets", offsets)
                .map_err(io("write", "/proc/self/timens_offsets"))?;
        }
    }
    // The parent reads the channel in order and wants InitPid first, but on a busy host the
    // grandchild could report before the intermediate process has sent it: the grandchild waits
    // for the gate's EOF, which comes once the pid is on the channel.
    let (gate_r, gate_w) = nix::unistd::pipe2(OFlag::O_CLOEXEC).map_err(sys("pipe"))?;
    // CLONE_PARENT: the grandchild becomes the runtime's own child, so `run`/`exec` can wait for it.
    let pid = clone_process(libc::CLONE_PARENT as libc::c_long)?;
    if pid > 0 {
        drop(gate_r);
        let sent = ch.send(&Message::InitPid(pid));
        drop(gate_w);
        sent?;
        // SAFETY: the intermediate process is done; skip the parent's exit handlers.
        unsafe { libc::_exit(0) }
    }
    drop(gate_w);
    let mut byte = [0u8; 1];
    while let Err(nix::errno::Errno::EINTR) = nix::unistd::read(&gate_r, &mut byte) {}
    Ok(())
}

fn time_offsets(spec: &Spec) -> Option<String> {
    let offsets = spec.linux().as_ref()?.time_offsets().as_ref()?;
    Some(
        offsets
            .iter()
            .map(|(clock, o)| {
                format!(
                    "{clock} {} {}\n",
                    o.secs().unwrap_or(0),
                    o.nanosecs().unwrap_or(0)
                )
            })
            .collect(),
    )
}

/// Container init: namespaces, filesystem, then the process itself.
pub(crate) fn container_init(ctx: InitContext) -> Result<()> {
    let ch = ctx.channel;
    // Non-dumpable until execve: container processes cannot open our /proc/<pid>/exe (CVE-2019-5736).
    nix::sys::prctl::set_dumpable(false).map_err(sys("clear dumpable"))?;
    let idmapped = wait_go_with_mounts(ch)?;
    if let Some((id, placement)) = ctx.cgroup_join {
        join_cgroup(&id, placement)?;
    }
    enter_namespaces(ctx.plan, &ctx.ns_fds, ch, time_offsets(ctx.spec))?;
    drop(ctx.ns_fds);
    nix::unistd::setsid().map_err(sys("setsid"))?;
    if let Some(name) = ctx.new_keyring {
        join_session_keyring(name);
    }
    if let Some(h) = ctx.spec.hostname() {
        nix::unistd::sethostname(h).map_err(sys(format!("set hostname {h:?}")))?;
    }
    if let Some(d) = ctx.spec.domainname() {
        set_domainname(d)?;
    }
    let linux = ctx.spec.linux().as_ref();
    let rctx = RootfsContext {
        rootfs: ctx.rootfs,
        mounts: ctx.spec.mounts().as_deref().unwrap_or_default(),
        devices: linux
            .and_then(|l| l.devices().as_deref())
            .unwrap_or_default(),
        propagation: linux.and_then(|l| l.rootfs_propagation().as_deref()),
        readonly: ctx
            .spec
            .root()
            .as_ref()
            .and_then(|r| r.readonly())
            .unwrap_or(false),
        masked_paths: linux
            .and_then(|l| l.masked_paths().as_deref())
            .unwrap_or_default(),
        readonly_paths: linux
            .and_then(|l| l.readonly_paths().as_deref())
            .unwrap_or_default(),
        in_user_ns: ctx.plan.has_user,
        new_cgroup_ns: ctx.plan.new_cgroup,
        cgroup: ctx.cgroup_mount,
        switch: match (ctx.plan.has_mount, ctx.no_pivot) {
            (false, _) => RootSwitch::Chroot,
            (true, true) => RootSwitch::Move,
            (true, false) => RootSwitch::Pivot,
        },
    };
    rootfs::prepare(&rctx, &idmapped, &LinuxSyscall)?;
    // Attached (or unused): the detached copies must not outlive setup.
    drop(idmapped);
    let hooks = ctx.spec.hooks().as_ref();
    let wants_hooks = hooks.is_some_and(|h| {
        [
            h.prestart(),
            h.create_runtime(),
            h.create_container(),
            h.start_container(),
        ]
        .iter()
        .any(|x| x.as_ref().is_some_and(|v| !v.is_empty()))
    });
    let mut state_json = Vec::new();
    if wants_hooks {
        ch.send(&Message::RunHooks)?;
        match ch.expect("HooksDone")? {
            Message::HooksDone(state) => state_json = state.into_bytes(),
            other => {
                return Err(Error::Init(format!(
                    "unexpected {other:?} while waiting for hooks"
                )))
            }
        }
        run_hooks(
            hooks.and_then(|h| h.create_container().as_deref()),
            &state_json,
            "createContainer",
        )?;
    }
    rootfs::switch_root(&rctx, &LinuxSyscall)?;
    // Before finalize: /proc/sys is usually among the read-only paths.
    for (key, value) in linux
        .and_then(|l| l.sysctl().as_ref())
        .into_iter()
        .flatten()
    {
        let path = Path::new("/proc/sys").join(key.replace('.', "/"));
        std::fs::write(&path, value).map_err(io("set sysctl", path))?;
    }
    rootfs::finalize(&rctx, &LinuxSyscall)?;
    let exec = ProcessExec {
        process: ctx.process,
        linux,
        seccomp: ctx.seccomp,
        console: ctx.console,
        in_user_ns: ctx.plan.has_user,
        preserve_fds: ctx.preserve_fds,
    };
    exec.prepare_and_exec(
        ch,
        ctx.fifo,
        hooks.and_then(|h| h.start_container().as_deref()),
        &state_json,
    )
}

fn run_hooks(list: Option<&[Hook]>, state: &[u8], phase: &str) -> Result<()> {
    match list {
        Some(l) if !l.is_empty() => Ok(hooks::run_hooks(l, state, phase)?),
        _ => Ok(()),
    }
}

fn set_domainname(name: &str) -> Result<()> {
    // SAFETY: the pointer and length describe `name`.
    let rc = unsafe { libc::setdomainname(name.as_ptr().cast(), name.len()) };
    if rc < 0 {
        return Err(Error::Sys {
            action: format!("set domainname {name:?}"),
            source: nix::errno::Errno::last(),
        });
    }
    Ok(())
}

/// A private session keyring per container, so containers do not share the host's keys.
fn join_session_keyring(name: &str) {
    const KEYCTL_JOIN_SESSION_KEYRING: libc::c_long = 1;
    let Ok(cname) = CString::new(name) else {
        return;
    };
    // SAFETY: cname is a valid C string. Failure (e.g. in a user namespace) is harmless: keep the inherited keyring.
    unsafe {
        libc::syscall(
            libc::SYS_keyctl,
            KEYCTL_JOIN_SESSION_KEYRING,
            cname.as_ptr(),
        )
    };
}

/// The last steps, shared by container init and exec: identity, limits, security, execve.
pub(crate) struct ProcessExec<'a> {
    pub process: &'a Process,
    pub linux: Option<&'a oci_spec::runtime::Linux>,
    pub seccomp: Option<CompiledFilter>,
    pub console: Option<OwnedFd>,
    pub in_user_ns: bool,
    pub preserve_fds: u32,
}

impl ProcessExec<'_> {
    pub(crate) fn prepare_and_exec(
        self,
        ch: &Channel,
        fifo: Option<OwnedFd>,
        start_hooks: Option<&[Hook]>,
        state: &[u8],
    ) -> Result<()> {
        let p = self.process;
        if let Some(console) = &self.console {
            let size = p
                .console_size()
                .map(|b| (b.height() as u16, b.width() as u16));
            crate::console::setup_pty(console.as_fd(), size)?;
        }
        drop(self.console);
        process::apply_rlimits(p)?;
        process::apply_personality(self.linux)?;
        process::apply_memory_policy(self.linux)?;
        process::apply_scheduler(p)?;
        process::apply_io_priority(p)?;
        process::apply_lsm_labels(p)?;
        let args = p.args().as_deref().unwrap_or_default();
        let mut env = p.env().clone().unwrap_or_default();
        if !env.iter().any(|e| e.starts_with("HOME=")) {
            env.push(format!("HOME={}", home_dir(p.user().uid())));
        }
        let arg0 = args
            .first()
            .ok_or_else(|| Error::Init("process.args is empty".into()))?;
        let exe = process::find_executable(arg0, &env)?;
        let nnp = p.no_new_privileges().unwrap_or(false);
        let caps = p.capabilities().as_ref().map(process::CapSets::new);
        if let Some(c) = p.capabilities() {
            process::drop_bounding(c)?;
        }
        let allow_setgroups = !self.in_user_ns
            || std::fs::read_to_string("/proc/self/setgroups")
                .map(|s| s.trim() != "deny")
                .unwrap_or(true);
        // Root's permitted set survives the switch: without no_new_privs the filter can only be
        // loaded with CAP_SYS_ADMIN, so the capabilities are dropped after it (runc's order).
        process::switch_user(p, allow_setgroups)?;
        let mut seccomp = self.seccomp;
        let mut late_caps = None;
        if nnp || seccomp.is_none() {
            caps.as_ref().map(process::CapSets::apply).transpose()?;
        } else {
            process::raise_sys_admin()?;
            late_caps = caps;
        }
        nix::unistd::chdir(p.cwd()).map_err(sys(format!("chdir to cwd {}", p.cwd().display())))?;
        // A cwd reached through a host fd (e.g. /proc/self/fd/N) lies outside our root (CVE-2024-21626).
        let cwd = nix::unistd::getcwd().map_err(sys("getcwd"))?;
        if !cwd.starts_with("/") {
            return Err(Error::Init(format!(
                "cwd {} resolves outside the container root",
                p.cwd().display()
            )));
        }
        if nnp {
            nix::sys::prctl::set_no_new_privs().map_err(sys("set no_new_privs"))?;
        }
        if seccomp
            .as_ref()
            .is_some_and(CompiledFilter::needs_notify_listener)
        {
            // The notify fd goes out through the runtime, which listens only until Ready (as runc
            // does); the rest of start then runs under the filter.
            load_seccomp(seccomp.take(), ch)?;
        }
        let argv = process::cstrings(args, "process.args")?;
        let envp = process::cstrings(&env, "process.env")?;
        let exe_c = CString::new(exe.as_os_str().as_encoded_bytes())
            .map_err(|_| Error::Init("executable path has a NUL byte".into()))?;
        ch.send(&Message::Ready)?;
        let after_ready = || -> Result<()> {
            if let Some(fifo) = fifo {
                wait_for_start(&fifo)?;
            }
            run_hooks(start_hooks, state, "startContainer")?;
            process::cloexec_from(3 + self.preserve_fds)?;
            reset_signals();
            // Last, so the profile constrains the container's program, not our setup: after it
            // only the capability drop (without no_new_privs) and execve.
            load_seccomp(seccomp, ch)?;
            late_caps
                .as_ref()
                .map(process::CapSets::apply)
                .transpose()?;
            let err = nix::unistd::execve(&exe_c, &argv, &envp)
                .err()
                .unwrap_or(nix::errno::Errno::UnknownErrno);
            Err(Error::Sys {
                action: format!("exec {}", exe.display()),
                source: err,
            })
        };
        let result = after_ready();
        if let Err(e) = &result {
            // Nobody reads the channel after Ready: say it on the process's own stderr, where
            // `run`/`exec` callers and container logs see it (as runc does).
            eprintln!("berth-runtime: {e}");
        }
        result
    }
}

/// The runtime ignores SIGPIPE (Rust's default) and may block signals; ignored dispositions and
/// the mask survive execve, so give the container program a clean slate.
fn reset_signals() {
    for sig in 1..=libc::SIGRTMAX() {
        // SAFETY: resetting to SIG_DFL installs no handler; invalid numbers (KILL, STOP) just fail.
        unsafe { libc::signal(sig, libc::SIG_DFL) };
    }
    let _ = nix::sys::signal::SigSet::empty().thread_set_mask();
}

/// Loads the filter; a notify listener fd is passed to the runtime, which forwards it to the
/// agent at `listenerPath` from the host side (the path names a host socket, unreachable from
/// inside the container's root).
fn load_seccomp(filter: Option<CompiledFilter>, ch: &Channel) -> Result<()> {
    let Some(filter) = filter else { return Ok(()) };
    if let Some(notify_fd) = filter.load()? {
        ch.send_with_fd(&Message::SeccompListener, notify_fd.as_fd())?;
        drop(notify_fd);
        match ch.recv()? {
            Message::SeccompDone => {}
            other => {
                return Err(Error::Init(format!(
                    "expected SeccompDone from the runtime, got {other:?}"
                )))
            }
        }
    }
    Ok(())
}

/// Blocks until `start` opens exec.fifo for reading, then lets it know we are going.
fn wait_for_start(state_dir: &OwnedFd) -> Result<()> {
    let f = std::fs::File::from(
        nix::fcntl::openat(
            state_dir,
            EXEC_FIFO,
            OFlag::O_WRONLY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .map_err(sys("open exec fifo"))?,
    );
    std::io::Write::write_all(&mut &f, b"0").map_err(io("write exec fifo", EXEC_FIFO))
}

/// HOME from the container's /etc/passwd, "/" when the user has no entry.
fn home_dir(uid: u32) -> String {
    std::fs::read_to_string("/etc/passwd")
        .ok()
        .and_then(|passwd| {
            passwd.lines().find_map(|line| {
                let f: Vec<&str> = line.split(':').collect();
                (f.len() > 5 && f[2].parse::<u32>().ok() == Some(uid)).then(|| f[5].to_string())
            })
        })
        .unwrap_or_else(|| "/".to_string())
}
