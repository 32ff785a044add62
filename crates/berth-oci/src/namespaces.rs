//! Which namespaces the first clone creates, which are joined with setns, and when a second fork
//! is needed (joined pid namespace, time namespace, or joined user namespace).

use std::os::fd::{AsFd, OwnedFd};
use std::path::PathBuf;

use nix::fcntl::{open, OFlag};
use nix::sched::{setns, unshare, CloneFlags};
use nix::sys::stat::Mode;
use oci_spec::runtime::{LinuxNamespace, LinuxNamespaceType};

use crate::error::{sys, Error, Result};

pub(crate) fn clone_flag(t: LinuxNamespaceType) -> CloneFlags {
    match t {
        LinuxNamespaceType::Mount => CloneFlags::CLONE_NEWNS,
        LinuxNamespaceType::Cgroup => CloneFlags::CLONE_NEWCGROUP,
        LinuxNamespaceType::Uts => CloneFlags::CLONE_NEWUTS,
        LinuxNamespaceType::Ipc => CloneFlags::CLONE_NEWIPC,
        LinuxNamespaceType::User => CloneFlags::CLONE_NEWUSER,
        LinuxNamespaceType::Pid => CloneFlags::CLONE_NEWPID,
        LinuxNamespaceType::Network => CloneFlags::CLONE_NEWNET,
        LinuxNamespaceType::Time => CloneFlags::from_bits_retain(libc::CLONE_NEWTIME),
    }
}

/// The /proc/<pid>/ns/<name> file name of a namespace type.
pub(crate) fn proc_name(t: LinuxNamespaceType) -> &'static str {
    match t {
        LinuxNamespaceType::Mount => "mnt",
        LinuxNamespaceType::Cgroup => "cgroup",
        LinuxNamespaceType::Uts => "uts",
        LinuxNamespaceType::Ipc => "ipc",
        LinuxNamespaceType::User => "user",
        LinuxNamespaceType::Pid => "pid",
        LinuxNamespaceType::Network => "net",
        LinuxNamespaceType::Time => "time",
    }
}

#[derive(Debug, PartialEq)]
pub struct NamespacePlan {
    /// Created by the first clone(2).
    pub clone_flags: CloneFlags,
    /// Created by unshare(2) in the child after joining a user namespace.
    pub unshare_flags: CloneFlags,
    /// Joined with setns(2); the user namespace (if any) comes first.
    pub joins: Vec<(LinuxNamespaceType, PathBuf)>,
    /// Unshared after the child sits in its cgroup, so the namespace root is that cgroup.
    pub new_cgroup: bool,
    pub new_time: bool,
    pub new_user: bool,
    pub new_pid: bool,
    pub has_user: bool,
    /// A mount namespace, new or joined; without one the container shares the runtime's.
    pub has_mount: bool,
    pub second_fork: bool,
}

pub fn plan(namespaces: &[LinuxNamespace]) -> NamespacePlan {
    let mut p = NamespacePlan {
        clone_flags: CloneFlags::empty(),
        unshare_flags: CloneFlags::empty(),
        joins: Vec::new(),
        new_cgroup: false,
        new_time: false,
        new_user: false,
        new_pid: false,
        has_user: false,
        has_mount: false,
        second_fork: false,
    };
    let mut new = CloneFlags::empty();
    for ns in namespaces {
        let t = ns.typ();
        p.has_user |= t == LinuxNamespaceType::User;
        p.has_mount |= t == LinuxNamespaceType::Mount;
        match ns.path() {
            Some(path) => p.joins.push((t, path.clone())),
            None => match t {
                LinuxNamespaceType::Cgroup => p.new_cgroup = true,
                LinuxNamespaceType::Time => p.new_time = true,
                _ => {
                    new |= clone_flag(t);
                    p.new_user |= t == LinuxNamespaceType::User;
                    p.new_pid |= t == LinuxNamespaceType::Pid;
                }
            },
        }
    }
    p.joins.sort_by_key(|(t, _)| *t != LinuxNamespaceType::User);
    let joins = |t| p.joins.iter().any(|(j, _)| *j == t);
    let joined_user = joins(LinuxNamespaceType::User);
    p.second_fork = p.new_time
        || joins(LinuxNamespaceType::Pid)
        || joins(LinuxNamespaceType::Time)
        || (joined_user && p.new_pid);
    if joined_user {
        // New namespaces must be owned by the joined user namespace: create them after setns.
        p.unshare_flags = new;
    } else if p.second_fork {
        // The pid namespace is unshared by the first child so the second fork lands in it.
        p.clone_flags = new - CloneFlags::CLONE_NEWPID;
        p.unshare_flags = new & CloneFlags::CLONE_NEWPID;
    } else {
        p.clone_flags = new;
    }
    p
}

/// Opens every namespace to join before entering any (a joined mount namespace hides the paths).
pub(crate) fn open_joins(
    joins: &[(LinuxNamespaceType, PathBuf)],
) -> Result<Vec<(LinuxNamespaceType, OwnedFd)>> {
    joins
        .iter()
        .map(|(t, path)| {
            open(path, OFlag::O_RDONLY | OFlag::O_CLOEXEC, Mode::empty())
                .map(|fd| (*t, fd))
                .map_err(|source| Error::Sys {
                    action: format!("open {} namespace {}", t, path.display()),
                    source,
                })
        })
        .collect()
}

pub(crate) fn enter(fds: &[(LinuxNamespaceType, OwnedFd)]) -> Result<()> {
    for (t, fd) in fds {
        setns(fd.as_fd(), clone_flag(*t)).map_err(sys(format!("join {t} namespace")))?;
    }
    Ok(())
}

pub(crate) fn unshare_flags(flags: CloneFlags) -> Result<()> {
    if flags.is_empty() {
        return Ok(());
    }
    unshare(flags).map_err(|e| {
        let time = CloneFlags::from_bits_retain(libc::CLONE_NEWTIME);
        let hint = if e == nix::errno::Errno::EINVAL && flags.contains(time) {
            " (time namespaces need Linux 5.6 with CONFIG_TIME_NS)"
        } else {
            ""
        };
        sys(format!("unshare {flags:?}{hint}"))(e)
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
