//! Per-process setup shared by container init and `exec`: limits, identity, capabilities,
//! security labels, scheduling, and finding the program to run.

use std::collections::HashSet;
use std::ffi::CString;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use caps::{CapSet, Capability as Cap, CapsHashSet};
use nix::sys::resource::{getrlimit, setrlimit, Resource};
use nix::unistd::{setgroups, setresgid, setresuid, Gid, Uid};
use oci_spec::runtime::{Capabilities, LinuxCapabilities, PosixRlimitType, Process};

use crate::error::{io, sys, Error, Result};

fn rlimit_resource(t: PosixRlimitType) -> Option<Resource> {
    Some(match t {
        PosixRlimitType::RlimitCpu => Resource::RLIMIT_CPU,
        PosixRlimitType::RlimitFsize => Resource::RLIMIT_FSIZE,
        PosixRlimitType::RlimitData => Resource::RLIMIT_DATA,
        PosixRlimitType::RlimitStack => Resource::RLIMIT_STACK,
        PosixRlimitType::RlimitCore => Resource::RLIMIT_CORE,
        PosixRlimitType::RlimitRss => Resource::RLIMIT_RSS,
        PosixRlimitType::RlimitNproc => Resource::RLIMIT_NPROC,
        PosixRlimitType::RlimitNofile => Resource::RLIMIT_NOFILE,
        PosixRlimitType::RlimitMemlock => Resource::RLIMIT_MEMLOCK,
        PosixRlimitType::RlimitAs => Resource::RLIMIT_AS,
        PosixRlimitType::RlimitLocks => Resource::RLIMIT_LOCKS,
        PosixRlimitType::RlimitSigpending => Resource::RLIMIT_SIGPENDING,
        PosixRlimitType::RlimitMsgqueue => Resource::RLIMIT_MSGQUEUE,
        PosixRlimitType::RlimitNice => Resource::RLIMIT_NICE,
        PosixRlimitType::RlimitRtprio => Resource::RLIMIT_RTPRIO,
        PosixRlimitType::RlimitRttime => Resource::RLIMIT_RTTIME,
        #[allow(unreachable_patterns)]
        _ => return None,
    })
}

pub(crate) fn apply_rlimits(process: &Process) -> Result<()> {
    for r in process.rlimits().iter().flatten() {
        let res = rlimit_resource(r.typ())
            .ok_or_else(|| Error::Unsupported(format!("rlimit {:?}", r.typ())))?;
        setrlimit(res, r.soft(), r.hard()).map_err(|e| Error::Sys {
            action: format!(
                "set {:?} to soft {} hard {} (raising a hard limit needs CAP_SYS_RESOURCE, which this host may withhold)",
                r.typ(),
                r.soft(),
                r.hard()
            ),
            source: e,
        })?;
    }
    Ok(())
}

fn to_caps(set: &Option<Capabilities>) -> CapsHashSet {
    let supported: HashSet<Cap> =
        caps::runtime::procfs_all_supported(None).unwrap_or_else(|_| caps::all());
    set.iter()
        .flatten()
        .filter_map(|c| Cap::from_str(&format!("CAP_{c}")).ok())
        // Capabilities newer than the kernel are skipped, as runc does.
        .filter(|c| supported.contains(c))
        .collect()
}

/// Drops the bounding set; must run while still privileged (needs CAP_SETPCAP).
pub(crate) fn drop_bounding(c: &LinuxCapabilities) -> Result<()> {
    let keep = to_caps(c.bounding());
    let current = caps::read(None, CapSet::Bounding)
        .map_err(|e| Error::Init(format!("read bounding set: {e}")))?;
    for cap in current.difference(&keep) {
        caps::drop(None, CapSet::Bounding, *cap)
            .map_err(|e| Error::Init(format!("drop {cap} from bounding set: {e}")))?;
    }
    Ok(())
}

/// The effective, inheritable, permitted and ambient sets of the process, resolved against the
/// kernel's list up front: applying them (possibly under a seccomp filter) reads no file.
pub(crate) struct CapSets {
    effective: CapsHashSet,
    inheritable: CapsHashSet,
    permitted: CapsHashSet,
    ambient: CapsHashSet,
}

impl CapSets {
    pub(crate) fn new(c: &LinuxCapabilities) -> Self {
        Self {
            effective: to_caps(c.effective()),
            inheritable: to_caps(c.inheritable()),
            permitted: to_caps(c.permitted()),
            ambient: to_caps(c.ambient()),
        }
    }

    pub(crate) fn apply(&self) -> Result<()> {
        let err = |what: &str| {
            let what = what.to_string();
            move |e: caps::errors::CapsError| Error::Init(format!("set {what} capabilities: {e}"))
        };
        // Each capset must keep effective ⊆ permitted: shrink effective first, permitted last.
        caps::set(None, CapSet::Effective, &self.effective).map_err(err("effective"))?;
        caps::set(None, CapSet::Inheritable, &self.inheritable).map_err(err("inheritable"))?;
        caps::set(None, CapSet::Permitted, &self.permitted).map_err(err("permitted"))?;
        caps::clear(None, CapSet::Ambient).map_err(err("ambient"))?;
        for cap in &self.ambient {
            // An ambient cap must also be permitted and inheritable; skip it otherwise, as runc does.
            let _ = caps::raise(None, CapSet::Ambient, *cap);
        }
        Ok(())
    }
}

/// Makes CAP_SYS_ADMIN effective again after a switch to a non-root user (it stays permitted
/// through PR_SET_KEEPCAPS): loading a seccomp filter without no_new_privs needs it.
pub(crate) fn raise_sys_admin() -> Result<()> {
    caps::raise(None, CapSet::Effective, Cap::CAP_SYS_ADMIN)
        .map_err(|e| Error::Init(format!("raise CAP_SYS_ADMIN to load seccomp: {e}")))
}

/// Switches to the process user; capabilities survive through PR_SET_KEEPCAPS.
pub(crate) fn switch_user(process: &Process, allow_setgroups: bool) -> Result<()> {
    let user = process.user();
    nix::sys::prctl::set_keepcaps(true).map_err(sys("set keepcaps"))?;
    if allow_setgroups {
        let gids: Vec<Gid> = user
            .additional_gids()
            .iter()
            .flatten()
            .map(|g| Gid::from_raw(*g))
            .collect();
        setgroups(&gids).map_err(sys("setgroups"))?;
    }
    let gid = Gid::from_raw(user.gid());
    setresgid(gid, gid, gid).map_err(sys(format!("setresgid {}", user.gid())))?;
    let uid = Uid::from_raw(user.uid());
    setresuid(uid, uid, uid).map_err(sys(format!("setresuid {}", user.uid())))?;
    nix::sys::prctl::set_keepcaps(false).map_err(sys("clear keepcaps"))?;
    if let Some(mask) = user.umask() {
        nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(mask));
    }
    Ok(())
}

/// Writes an LSM exec label if that LSM is active; a host without it makes this a no-op
/// (like runc/crun), so configs written for AppArmor/SELinux hosts still run here.
pub(crate) fn apply_lsm_labels(process: &Process) -> Result<()> {
    if let Some(profile) = process
        .apparmor_profile()
        .as_deref()
        .filter(|p| !p.is_empty())
    {
        if Path::new("/sys/kernel/security/apparmor").exists() {
            let attr = Path::new("/proc/thread-self/attr/apparmor/exec");
            let attr = if attr.exists() {
                attr
            } else {
                Path::new("/proc/thread-self/attr/exec")
            };
            std::fs::write(attr, format!("exec {profile}"))
                .map_err(io("set AppArmor profile via", attr))?;
        }
    }
    if let Some(label) = process.selinux_label().as_deref().filter(|l| !l.is_empty()) {
        if Path::new("/sys/fs/selinux/enforce").exists() {
            let attr = Path::new("/proc/thread-self/attr/exec");
            std::fs::write(attr, label).map_err(io("set SELinux label via", attr))?;
        }
    }
    Ok(())
}

pub(crate) fn apply_io_priority(process: &Process) -> Result<()> {
    let Some(prio) = process.io_priority() else {
        return Ok(());
    };
    use oci_spec::runtime::IOPriorityClass::*;
    let class = match prio.class() {
        IoprioClassRt => 1,
        IoprioClassBe => 2,
        IoprioClassIdle => 3,
    };
    const IOPRIO_WHO_PROCESS: libc::c_long = 1;
    let value = (class << 13) | (prio.priority() as libc::c_long & 0xff);
    // SAFETY: ioprio_set takes plain integers.
    let rc = unsafe { libc::syscall(libc::SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0, value) };
    if rc < 0 {
        return Err(Error::Sys {
            action: format!("ioprio_set {prio:?}"),
            source: nix::errno::Errno::last(),
        });
    }
    Ok(())
}

pub(crate) fn apply_scheduler(process: &Process) -> Result<()> {
    let Some(s) = process.scheduler() else {
        return Ok(());
    };
    use oci_spec::runtime::LinuxSchedulerPolicy::*;
    let policy = match s.policy() {
        SchedOther => libc::SCHED_OTHER,
        SchedFifo => libc::SCHED_FIFO,
        SchedRr => libc::SCHED_RR,
        SchedBatch => libc::SCHED_BATCH,
        SchedIso => 4,
        SchedIdle => libc::SCHED_IDLE,
        SchedDeadline => 6,
    };
    if let Some(nice) = s.nice() {
        // SAFETY: setpriority takes plain integers.
        if unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, *nice) } < 0 {
            return Err(Error::Sys {
                action: format!("set nice {nice}"),
                source: nix::errno::Errno::last(),
            });
        }
    }
    let param = libc::sched_param {
        sched_priority: s.priority().unwrap_or(0),
    };
    // SAFETY: param outlives the call.
    if unsafe { libc::sched_setscheduler(0, policy, &param) } < 0 {
        return Err(Error::Sys {
            action: format!("sched_setscheduler {:?}", s.policy()),
            source: nix::errno::Errno::last(),
        });
    }
    Ok(())
}

pub(crate) fn apply_personality(linux: Option<&oci_spec::runtime::Linux>) -> Result<()> {
    let Some(p) = linux.and_then(|l| l.personality().as_ref()) else {
        return Ok(());
    };
    use oci_spec::runtime::LinuxPersonalityDomain::*;
    let persona = match p.domain() {
        PerLinux => nix::sys::personality::Persona::empty(),
        PerLinux32 => nix::sys::personality::Persona::from_bits_retain(0x0008),
    };
    nix::sys::personality::set(persona)
        .map(|_| ())
        .map_err(sys("set personality"))
}

/// `set_mempolicy(2)` arguments from `linux.memoryPolicy`: the mode ORed with its flags, and the
/// node mask as an array of words.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct MemoryPolicyArgs {
    mode: libc::c_int,
    nodemask: Vec<libc::c_ulong>,
}

/// Checks and translates a memory policy; the error says what is wrong, for config.json.
pub(crate) fn memory_policy_args(
    policy: &oci_spec::runtime::LinuxMemoryPolicy,
) -> std::result::Result<MemoryPolicyArgs, String> {
    use oci_spec::runtime::MemoryPolicyFlagType::*;
    use oci_spec::runtime::MemoryPolicyModeType::*;
    let nodes = parse_node_list(policy.nodes().as_deref().unwrap_or_default())?;
    let (mode, needs_nodes) = match policy.mode() {
        MpolDefault => (0, Some(false)),
        MpolPreferred => (1, None),
        MpolBind => (2, Some(true)),
        MpolInterleave => (3, Some(true)),
        MpolLocal => (4, Some(false)),
        MpolPreferredMany => (5, Some(true)),
        MpolWeightedInterleave => (6, Some(true)),
    };
    match needs_nodes {
        Some(true) if nodes.is_empty() => {
            return Err(format!("mode {} needs nodes", policy.mode()));
        }
        Some(false) if !nodes.is_empty() => {
            return Err(format!("mode {} takes no nodes", policy.mode()));
        }
        _ => {}
    }
    let flags = policy.flags().as_deref().unwrap_or_default();
    if flags.contains(&MpolFStaticNodes) && flags.contains(&MpolFRelativeNodes) {
        return Err("MPOL_F_STATIC_NODES and MPOL_F_RELATIVE_NODES exclude each other".into());
    }
    let flag_bits = flags.iter().fold(0, |bits, f| {
        bits | match f {
            MpolFNumaBalancing => 1 << 13,
            MpolFRelativeNodes => 1 << 14,
            MpolFStaticNodes => 1 << 15,
        }
    });
    const WORD: usize = libc::c_ulong::BITS as usize;
    let words = nodes.iter().max().map_or(0, |max| max / WORD + 1);
    let mut nodemask = vec![0; words];
    for node in nodes {
        nodemask[node / WORD] |= 1 << (node % WORD);
    }
    Ok(MemoryPolicyArgs {
        mode: mode | flag_bits,
        nodemask,
    })
}

/// Parses "0-3,7" into node numbers, as cpuset lists are written.
fn parse_node_list(list: &str) -> std::result::Result<Vec<usize>, String> {
    // Far above any real machine's MAX_NUMNODES; keeps a typo from allocating a huge mask.
    const MAX_NODE: usize = 4095;
    let mut nodes = Vec::new();
    for part in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let number = |s: &str| {
            s.trim()
                .parse::<usize>()
                .ok()
                .filter(|n| *n <= MAX_NODE)
                .ok_or_else(|| format!("bad node {s:?} in {list:?}"))
        };
        let (first, last) = match part.split_once('-') {
            Some((a, b)) => (number(a)?, number(b)?),
            None => (number(part)?, number(part)?),
        };
        if first > last {
            return Err(format!("bad node range {part:?} in {list:?}"));
        }
        nodes.extend(first..=last);
    }
    Ok(nodes)
}

pub(crate) fn apply_memory_policy(linux: Option<&oci_spec::runtime::Linux>) -> Result<()> {
    let Some(policy) = linux.and_then(|l| l.memory_policy().as_ref()) else {
        return Ok(());
    };
    let args = memory_policy_args(policy).map_err(Error::Init)?;
    let maxnode = args.nodemask.len() * libc::c_ulong::BITS as usize + 1;
    let mask = if args.nodemask.is_empty() {
        std::ptr::null()
    } else {
        args.nodemask.as_ptr()
    };
    // SAFETY: mask points to nodemask.len() words (or is null with no nodes), as maxnode says.
    let rc = unsafe { libc::syscall(libc::SYS_set_mempolicy, args.mode, mask, maxnode) };
    if rc < 0 {
        return Err(Error::Sys {
            action: format!("set_mempolicy {} nodes {:?}", policy.mode(), policy.nodes()),
            source: nix::errno::Errno::last(),
        });
    }
    Ok(())
}

/// Finds `argv[0]` like execvp does, using PATH from the container environment.
pub(crate) fn find_executable(arg0: &str, env: &[String]) -> Result<PathBuf> {
    let not_found = || {
        Error::Init(format!(
            "exec: {arg0:?}: executable file not found in $PATH"
        ))
    };
    if arg0.contains('/') {
        let p = PathBuf::from(arg0);
        return if is_executable(&p) {
            Ok(p)
        } else {
            Err(Error::Init(format!(
                "exec: {arg0:?}: no such executable file"
            )))
        };
    }
    let path = env
        .iter()
        .find_map(|e| e.strip_prefix("PATH="))
        .unwrap_or("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    path.split(':')
        .filter(|d| !d.is_empty())
        .map(|d| Path::new(d).join(arg0))
        .find(|p| is_executable(p))
        .ok_or_else(not_found)
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

pub(crate) fn cstrings(items: &[String], what: &str) -> Result<Vec<CString>> {
    items
        .iter()
        .map(|s| {
            CString::new(s.as_bytes())
                .map_err(|_| Error::Init(format!("{what} entry {s:?} contains a NUL byte")))
        })
        .collect()
}

/// Marks every fd from `first` upward close-on-exec, so nothing the runtime held
/// (state dirs, cgroup dirs, sockets) reaches the container program (CVE-2024-21626).
pub(crate) fn cloexec_from(first: u32) -> Result<()> {
    const CLOSE_RANGE_CLOEXEC: libc::c_uint = 1 << 2;
    // SAFETY: close_range only changes fd flags.
    let rc = unsafe { libc::syscall(libc::SYS_close_range, first, u32::MAX, CLOSE_RANGE_CLOEXEC) };
    if rc == 0 {
        return Ok(());
    }
    // Before Linux 5.11: walk /proc/self/fd, or, in a root without /proc (a container without a
    // mount namespace of its own mounts none), every fd number below the open-files limit.
    let mark = |fd: i32| {
        // SAFETY: only sets FD_CLOEXEC; a stale or unused fd number just fails with EBADF.
        unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
    };
    let first = i32::try_from(first).unwrap_or(i32::MAX);
    match std::fs::read_dir("/proc/self/fd") {
        Ok(dir) => {
            // Collected first: marking while the directory is open would race its own fd.
            let fds: Vec<i32> = dir
                .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
                .collect();
            fds.into_iter().filter(|fd| *fd >= first).for_each(mark);
        }
        Err(_) => {
            let (soft, _) = getrlimit(Resource::RLIMIT_NOFILE).map_err(sys("getrlimit nofile"))?;
            (first..i32::try_from(soft).unwrap_or(i32::MAX)).for_each(mark);
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
