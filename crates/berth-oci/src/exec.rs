//! `exec`: run another process inside a running container's namespaces and cgroup.

use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use berth_types::ContainerStatus;
use nix::fcntl::{open, OFlag};
use nix::sys::signal::{kill, Signal};
use nix::sys::stat::Mode;
use nix::unistd::Pid;
use oci_spec::runtime::{LinuxNamespace, LinuxNamespaceBuilder, LinuxNamespaceType, Process};

use crate::channel::{self, Message};
use crate::console::Console;
use crate::create::write_pid_file;
use crate::error::{sys, Error, Result};
use crate::init::{self, ProcessExec};
use crate::namespaces::{self, proc_name};
use crate::state::StateRoot;

pub struct ExecOptions {
    pub id: String,
    pub process: Process,
    pub console: Console,
    pub pid_file: Option<PathBuf>,
    pub preserve_fds: u32,
}

pub struct Execed {
    /// Host pid of the new process; it is a child of the caller, so it can be waited for.
    pub pid: i32,
    pub pty_master: Option<OwnedFd>,
}

/// The container init's namespaces that differ from ours, as join-by-path entries.
fn namespaces_of(pid: i32, spec_ns: &[LinuxNamespace]) -> Result<Vec<LinuxNamespace>> {
    let mut out = Vec::new();
    for ns in spec_ns {
        let name = proc_name(ns.typ());
        let theirs = PathBuf::from(format!("/proc/{pid}/ns/{name}"));
        let same = match (
            std::fs::metadata(&theirs),
            std::fs::metadata(Path::new("/proc/self/ns").join(name)),
        ) {
            (Ok(a), Ok(b)) => a.ino() == b.ino() && a.dev() == b.dev(),
            _ => false,
        };
        if !same {
            out.push(
                LinuxNamespaceBuilder::default()
                    .typ(ns.typ())
                    .path(theirs)
                    .build()
                    .map_err(|e| Error::Init(format!("namespace entry: {e}")))?,
            );
        }
    }
    Ok(out)
}

pub fn exec(root: &StateRoot, opts: ExecOptions) -> Result<Execed> {
    let _span = tracing::debug_span!("exec", container = %opts.id).entered();
    let t0 = std::time::Instant::now();
    let c = root.load(&opts.id)?;
    let status = c.status();
    if !matches!(status, ContainerStatus::Running | ContainerStatus::Created) {
        return Err(Error::WrongStatus {
            id: opts.id.clone(),
            status,
            action: "exec",
            expected: "running",
        });
    }
    let spec = c.spec()?;
    let linux = spec.linux().as_ref();
    let spec_ns = linux
        .and_then(|l| l.namespaces().as_deref())
        .unwrap_or_default();
    let joins = namespaces_of(c.pid, spec_ns)?;
    let plan = namespaces::plan(&joins);
    let seccomp = linux
        .and_then(|l| l.seccomp().as_ref())
        .map(|s| crate::seccomp::compile_cached(s, &root.seccomp_cache()))
        .transpose()?;
    let in_user_ns = spec_ns.iter().any(|n| n.typ() == LinuxNamespaceType::User);

    let terminal = opts.process.terminal().unwrap_or(false);
    let (console, caller_console) = crate::console::sockets(&opts.console, terminal, || {
        Error::Init("exec with a terminal needs --console-socket".into())
    })?;
    let (parent_ch, child_ch) = channel::pair()?;
    let ns_fds = namespaces::open_joins(&plan.joins)?;
    // Without a mount namespace of its own the init is only chrooted: joining namespaces would
    // leave us at the host's root, so take the init's.
    let init_root = if spec_ns.iter().any(|n| n.typ() == LinuxNamespaceType::Mount) {
        None
    } else {
        let path = format!("/proc/{}/root", c.pid);
        Some(
            open(
                path.as_str(),
                OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
                Mode::empty(),
            )
            .map_err(sys(format!("open {path}")))?,
        )
    };

    let cgroup = c.cgroup().map(|cg| cg.for_exec(c.pid));
    let cgroup_dir = cgroup.as_ref().and_then(|cg| cg.cgroup_dir_fd());
    // As in create: on v1 the child moves itself in, which is far cheaper than our writing its pid.
    let self_placement = match (&cgroup_dir, cgroup.as_ref()) {
        (None, Some(cg)) => cg.self_placement().map_err(|source| Error::Cgroup {
            id: opts.id.clone(),
            source,
        })?,
        _ => None,
    };
    let child_joins = self_placement.is_some();
    let (pid, placed) = init::clone_into_cgroup(0, cgroup_dir.as_ref().map(AsFd::as_fd))?;
    if pid != 0 {
        tracing::debug!(
            pid,
            into_cgroup = placed,
            joins = ?plan.joins,
            second_fork = plan.second_fork,
            elapsed_us = t0.elapsed().as_micros(),
            "exec process cloned"
        );
    }
    if pid == 0 {
        drop(parent_ch);
        init::child_main(&child_ch, || {
            nix::sys::prctl::set_dumpable(false).map_err(sys("clear dumpable"))?;
            init::wait_go(&child_ch)?;
            if let Some(placement) = self_placement {
                init::join_cgroup(&opts.id, placement)?;
            }
            init::enter_namespaces(&plan, &ns_fds, &child_ch, None)?;
            drop(ns_fds);
            if let Some(root) = init_root {
                nix::unistd::fchdir(&root).map_err(sys("enter the init's root"))?;
                nix::unistd::chroot(".").map_err(sys("chroot into the init's root"))?;
            }
            nix::unistd::setsid().map_err(sys("setsid"))?;
            let exec = ProcessExec {
                process: &opts.process,
                linux,
                seccomp,
                console,
                in_user_ns,
                preserve_fds: opts.preserve_fds,
            };
            exec.prepare_and_exec(&child_ch, None, None, &[])
        });
    }
    drop(child_ch);
    drop(ns_fds);
    drop(init_root);
    drop(console);
    drop(self_placement);
    let mut children = vec![pid];
    let result = (|| {
        if let Some(cg) = cgroup.as_ref().filter(|_| !placed && !child_joins) {
            cg.add_task(pid).map_err(|source| Error::Cgroup {
                id: opts.id.clone(),
                source,
            })?;
        }
        parent_ch.send(&Message::Go)?;
        let mut target = pid;
        if plan.second_fork {
            match parent_ch.recv()? {
                Message::InitPid(p) => target = p,
                Message::Failed(e) => return Err(Error::Setup(e)),
                other => {
                    return Err(Error::Init(format!(
                        "unexpected {other:?} from exec process"
                    )))
                }
            }
            children.push(target);
            let _ = nix::sys::wait::waitpid(Pid::from_raw(pid), None);
        }
        let pty_master = match &caller_console {
            Some(sock) => Some(crate::console::recv_fd(std::os::fd::AsFd::as_fd(sock))?),
            None => None,
        };
        loop {
            match parent_ch.recv_with_fd() {
                Ok((Message::Ready, _)) => break,
                Ok((Message::SeccompListener, Some(fd))) => {
                    let state = c.state_json(status);
                    let seccomp = linux.and_then(|l| l.seccomp().as_ref());
                    crate::seccomp::forward_listener(seccomp, fd.as_fd(), &state, target)?;
                    parent_ch.send(&Message::SeccompDone)?;
                }
                Ok((Message::Failed(e), _)) => return Err(Error::Setup(e)),
                Ok((other, _)) => {
                    return Err(Error::Init(format!(
                        "unexpected {other:?} from exec process"
                    )))
                }
                Err(channel::ChannelError::Closed) => {
                    return Err(Error::Init("exec process exited during setup".into()))
                }
                Err(e) => return Err(e.into()),
            }
        }
        if let Some(path) = &opts.pid_file {
            write_pid_file(path, target)?;
        }
        tracing::debug!(
            pid = target,
            elapsed_us = t0.elapsed().as_micros(),
            "exec process ready"
        );
        Ok(Execed {
            pid: target,
            pty_master,
        })
    })();
    if result.is_err() {
        for p in children {
            let _ = kill(Pid::from_raw(p), Signal::SIGKILL);
            let _ = nix::sys::wait::waitpid(Pid::from_raw(p), None);
        }
    }
    result
}
