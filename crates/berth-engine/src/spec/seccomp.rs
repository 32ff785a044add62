//! Seccomp: Docker's profile format (with `archMap` and `includes`/`excludes` conditions), its
//! default profile, and the conversion to the OCI `linux.seccomp` the runtime loads.
//!
//! The conversion follows moby `profiles/seccomp/seccomp_linux.go` `setupSeccomp`: rules are kept or
//! dropped by the container's bounding capabilities, the host architecture and kernel version, so
//! the result depends on the container (e.g. `--cap-add SYS_ADMIN` allows `mount`).

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use oci_spec::runtime::{
    Arch, LinuxSeccomp, LinuxSeccompAction, LinuxSeccompArg, LinuxSeccompArgBuilder,
    LinuxSeccompFilterFlag, LinuxSeccompOperator, LinuxSyscall,
};
use serde::Deserialize;

use super::error::SpecError;

/// A seccomp profile in Docker's JSON format (`docker run --security-opt seccomp=profile.json`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DockerProfile {
    /// `None` together with no syscalls means "no filter", as in Docker.
    pub default_action: Option<LinuxSeccompAction>,
    pub default_errno_ret: Option<u32>,
    pub architectures: Vec<Arch>,
    pub arch_map: Vec<ArchMapEntry>,
    pub flags: Vec<LinuxSeccompFilterFlag>,
    pub listener_path: Option<PathBuf>,
    pub listener_metadata: Option<String>,
    pub syscalls: Vec<SyscallRule>,
}

/// The architectures to add to the filter when the host's native one is `architecture`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ArchMapEntry {
    pub architecture: Arch,
    #[serde(default, deserialize_with = "null_vec")]
    pub sub_architectures: Vec<Arch>,
}

/// One rule of a Docker profile.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SyscallRule {
    /// Older profiles name a single syscall.
    pub name: Option<String>,
    pub names: Vec<String>,
    pub action: LinuxSeccompAction,
    pub errno_ret: Option<u32>,
    pub args: Vec<RuleArg>,
    /// Applies only when all of these hold.
    pub includes: Condition,
    /// Dropped when any of these holds.
    pub excludes: Condition,
}

/// An argument comparison, as Docker writes it.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RuleArg {
    pub index: usize,
    pub value: u64,
    pub value_two: u64,
    pub op: LinuxSeccompOperator,
}

/// `includes` / `excludes`: capabilities, architectures (Go's names: `amd64`, `arm64`, ...) and a
/// minimum kernel (`"4.8"`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Condition {
    pub caps: Vec<String>,
    pub arches: Vec<String>,
    pub min_kernel: Option<String>,
}

fn null_vec<'de, D, T>(de: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(de)?.unwrap_or_default())
}

/// What the conversion needs to know about the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeccompHost {
    /// Docker's (Go's) name of the native architecture: `amd64`, `arm64`, `s390x`, ...
    pub arch: &'static str,
    /// `(major, minor)` of the running kernel; `None` treats every `minKernel` as met.
    pub kernel: Option<(u32, u32)>,
}

impl SeccompHost {
    /// The architecture this binary was built for; the kernel version is the caller's to give.
    pub fn native(kernel: Option<(u32, u32)>) -> Self {
        Self {
            arch: native_arch(),
            kernel,
        }
    }
}

/// Go's GOARCH for the architecture we were compiled for.
fn native_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "x86" => "x86",
        "aarch64" => "arm64",
        "arm" => "arm",
        "powerpc64" if cfg!(target_endian = "little") => "ppc64le",
        "powerpc64" => "ppc64",
        "mips64" if cfg!(target_endian = "little") => "mipsel64",
        "mips64" => "mips64",
        "loongarch64" => "loong64",
        other => other,
    }
}

/// The seccomp architecture Docker pairs with a Go architecture name.
fn seccomp_arch(go_arch: &str) -> Option<Arch> {
    Some(match go_arch {
        "amd64" => Arch::ScmpArchX86_64,
        "x86" => Arch::ScmpArchX86,
        "arm64" => Arch::ScmpArchAarch64,
        "arm" => Arch::ScmpArchArm,
        "mips64" => Arch::ScmpArchMips64,
        "mipsel64" => Arch::ScmpArchMipsel64,
        "ppc64" => Arch::ScmpArchPpc64,
        "ppc64le" => Arch::ScmpArchPpc64le,
        "s390" => Arch::ScmpArchS390,
        "s390x" => Arch::ScmpArchS390x,
        "riscv64" => Arch::ScmpArchRiscv64,
        "loong64" => Arch::ScmpArchLoongarch64,
        _ => return None,
    })
}

/// Parses a profile from the JSON the docker CLI sends inline (`seccomp=<json>`).
pub fn parse_profile(json: &str) -> Result<DockerProfile, SpecError> {
    serde_json::from_str(json).map_err(SpecError::SeccompProfileJson)
}

/// Reads a Docker-format profile from a host file (the CRI's `localhost/<path>`).
pub fn profile_file(path: &Path) -> Result<DockerProfile, SpecError> {
    let json = std::fs::read_to_string(path).map_err(|source| SpecError::ReadSeccompProfile {
        path: path.to_path_buf(),
        source,
    })?;
    parse_profile(&json)
}

/// Converts a Docker profile for a container whose bounding set is `bounding` (canonical
/// `CAP_*` names). `Ok(None)` means the profile disables filtering.
pub fn convert(
    profile: &DockerProfile,
    bounding: &[&str],
    host: SeccompHost,
) -> Result<Option<LinuxSeccomp>, SpecError> {
    let Some(default_action) = profile.default_action else {
        if profile.syscalls.is_empty() {
            return Ok(None);
        }
        return Err(SpecError::SeccompProfile(
            "'defaultAction' is required when syscalls are listed",
        ));
    };
    if !profile.architectures.is_empty() && !profile.arch_map.is_empty() {
        return Err(SpecError::SeccompProfile(
            "'architectures' and 'archMap' were specified, use either 'architectures' or 'archMap'",
        ));
    }
    let mut architectures = profile.architectures.clone();
    if let Some(native) = seccomp_arch(host.arch) {
        if let Some(entry) = profile.arch_map.iter().find(|e| e.architecture == native) {
            architectures.push(entry.architecture);
            architectures.extend(&entry.sub_architectures);
        }
    }

    let bounding: HashSet<&str> = bounding.iter().copied().collect();
    let mut syscalls = Vec::new();
    for rule in &profile.syscalls {
        if !applies(rule, &bounding, host)? {
            continue;
        }
        let names =
            match (&rule.name, rule.names.is_empty()) {
                (Some(_), false) => return Err(SpecError::SeccompProfile(
                    "'name' and 'names' were specified in one rule, use either 'name' or 'names'",
                )),
                (Some(name), true) => vec![name.clone()],
                (None, _) => rule.names.clone(),
            };
        let mut out = LinuxSyscall::default();
        out.set_names(names);
        out.set_action(rule.action);
        out.set_errno_ret(rule.errno_ret);
        if !rule.args.is_empty() {
            out.set_args(Some(
                rule.args.iter().map(to_oci_arg).collect::<Result<_, _>>()?,
            ));
        }
        syscalls.push(out);
    }

    let mut seccomp = LinuxSeccomp::default();
    seccomp.set_default_action(default_action);
    seccomp.set_default_errno_ret(profile.default_errno_ret);
    seccomp.set_architectures((!architectures.is_empty()).then_some(architectures));
    seccomp.set_flags((!profile.flags.is_empty()).then(|| profile.flags.clone()));
    seccomp.set_listener_path(profile.listener_path.clone());
    seccomp.set_listener_metadata(profile.listener_metadata.clone());
    seccomp.set_syscalls(Some(syscalls));
    Ok(Some(seccomp))
}

fn to_oci_arg(arg: &RuleArg) -> Result<LinuxSeccompArg, SpecError> {
    let builder = LinuxSeccompArgBuilder::default()
        .index(arg.index)
        .value(arg.value)
        .op(arg.op);
    let builder = if arg.value_two != 0 {
        builder.value_two(arg.value_two)
    } else {
        builder
    };
    builder
        .build()
        .map_err(|_| SpecError::SeccompProfile("argument rejected by the OCI types"))
}

/// moby's filter: excludes first (any match drops), then includes (all must match).
fn applies(
    rule: &SyscallRule,
    bounding: &HashSet<&str>,
    host: SeccompHost,
) -> Result<bool, SpecError> {
    let ex = &rule.excludes;
    if ex.arches.iter().any(|a| a == host.arch)
        || ex.caps.iter().any(|c| bounding.contains(c.as_str()))
    {
        return Ok(false);
    }
    if let Some(min) = &ex.min_kernel {
        if kernel_at_least(min, host.kernel)? {
            return Ok(false);
        }
    }
    let inc = &rule.includes;
    if !inc.arches.is_empty() && !inc.arches.iter().any(|a| a == host.arch) {
        return Ok(false);
    }
    if !inc.caps.iter().all(|c| bounding.contains(c.as_str())) {
        return Ok(false);
    }
    if let Some(min) = &inc.min_kernel {
        if !kernel_at_least(min, host.kernel)? {
            return Ok(false);
        }
    }
    Ok(true)
}

fn kernel_at_least(min: &str, running: Option<(u32, u32)>) -> Result<bool, SpecError> {
    let bad = || SpecError::SeccompProfile("minKernel must look like \"4.8\"");
    let (major, minor) = min.split_once('.').ok_or_else(bad)?;
    let wanted: (u32, u32) = (
        major.parse().map_err(|_| bad())?,
        minor.parse().map_err(|_| bad())?,
    );
    Ok(running.is_none_or(|running| running >= wanted))
}

/// Syscalls every container may make (moby's default profile, first rule), plus those moby added
/// later for new kernels and libcs (`fchmodat2`, the futex2 calls, `cachestat`,
/// `map_shadow_stack`): refusing them with EPERM breaks glibc's fallbacks.
#[rustfmt::skip]
const ALLOWED: &[&str] = &[
    "accept", "accept4", "access", "adjtimex", "alarm", "bind", "brk", "cachestat", "capget",
    "capset", "chdir", "chmod", "chown", "chown32", "clock_adjtime", "clock_adjtime64",
    "clock_getres", "clock_getres_time64", "clock_gettime", "clock_gettime64", "clock_nanosleep",
    "clock_nanosleep_time64", "close", "close_range", "connect", "copy_file_range", "creat", "dup",
    "dup2", "dup3", "epoll_create", "epoll_create1", "epoll_ctl", "epoll_ctl_old", "epoll_pwait",
    "epoll_pwait2", "epoll_wait", "epoll_wait_old", "eventfd", "eventfd2", "execve", "execveat",
    "exit", "exit_group", "faccessat", "faccessat2", "fadvise64", "fadvise64_64", "fallocate",
    "fanotify_mark", "fchdir", "fchmod", "fchmodat", "fchmodat2", "fchown", "fchown32", "fchownat",
    "fcntl", "fcntl64", "fdatasync", "fgetxattr", "flistxattr", "flock", "fork", "fremovexattr",
    "fsetxattr", "fstat", "fstat64", "fstatat64", "fstatfs", "fstatfs64", "fsync", "ftruncate",
    "ftruncate64", "futex", "futex_requeue", "futex_time64", "futex_wait", "futex_waitv",
    "futex_wake", "futimesat", "getcpu", "getcwd", "getdents", "getdents64", "getegid", "getegid32",
    "geteuid", "geteuid32", "getgid", "getgid32", "getgroups", "getgroups32", "getitimer",
    "getpeername", "getpgid", "getpgrp", "getpid", "getppid", "getpriority", "getrandom",
    "getresgid", "getresgid32", "getresuid", "getresuid32", "getrlimit", "get_robust_list",
    "getrusage", "getsid", "getsockname", "getsockopt", "get_thread_area", "gettid", "gettimeofday",
    "getuid", "getuid32", "getxattr", "inotify_add_watch", "inotify_init", "inotify_init1",
    "inotify_rm_watch", "io_cancel", "ioctl", "io_destroy", "io_getevents", "io_pgetevents",
    "io_pgetevents_time64", "ioprio_get", "ioprio_set", "io_setup", "io_submit", "io_uring_enter",
    "io_uring_register", "io_uring_setup", "ipc", "kill", "landlock_add_rule",
    "landlock_create_ruleset", "landlock_restrict_self", "lchown", "lchown32", "lgetxattr", "link",
    "linkat", "listen", "listxattr", "llistxattr", "_llseek", "lremovexattr", "lseek", "lsetxattr",
    "lstat", "lstat64", "madvise", "map_shadow_stack", "membarrier", "memfd_create", "memfd_secret",
    "mincore", "mkdir", "mkdirat", "mknod", "mknodat", "mlock", "mlock2", "mlockall", "mmap",
    "mmap2", "mprotect", "mq_getsetattr", "mq_notify", "mq_open", "mq_timedreceive",
    "mq_timedreceive_time64", "mq_timedsend", "mq_timedsend_time64", "mq_unlink", "mremap",
    "msgctl", "msgget", "msgrcv", "msgsnd", "msync", "munlock", "munlockall", "munmap",
    "name_to_handle_at", "nanosleep", "newfstatat", "_newselect", "open", "openat", "openat2",
    "pause", "pidfd_open", "pidfd_send_signal", "pipe", "pipe2", "pkey_alloc", "pkey_free",
    "pkey_mprotect", "poll", "ppoll", "ppoll_time64", "prctl", "pread64", "preadv", "preadv2",
    "prlimit64", "process_mrelease", "pselect6", "pselect6_time64", "pwrite64", "pwritev",
    "pwritev2", "read", "readahead", "readlink", "readlinkat", "readv", "recv", "recvfrom",
    "recvmmsg", "recvmmsg_time64", "recvmsg", "remap_file_pages", "removexattr", "rename",
    "renameat", "renameat2", "restart_syscall", "rmdir", "rseq", "rt_sigaction", "rt_sigpending",
    "rt_sigprocmask", "rt_sigqueueinfo", "rt_sigreturn", "rt_sigsuspend", "rt_sigtimedwait",
    "rt_sigtimedwait_time64", "rt_tgsigqueueinfo", "sched_getaffinity", "sched_getattr",
    "sched_getparam", "sched_get_priority_max", "sched_get_priority_min", "sched_getscheduler",
    "sched_rr_get_interval", "sched_rr_get_interval_time64", "sched_setaffinity", "sched_setattr",
    "sched_setparam", "sched_setscheduler", "sched_yield", "seccomp", "select", "semctl", "semget",
    "semop", "semtimedop", "semtimedop_time64", "send", "sendfile", "sendfile64", "sendmmsg",
    "sendmsg", "sendto", "setfsgid", "setfsgid32", "setfsuid", "setfsuid32", "setgid", "setgid32",
    "setgroups", "setgroups32", "setitimer", "setpgid", "setpriority", "setregid", "setregid32",
    "setresgid", "setresgid32", "setresuid", "setresuid32", "setreuid", "setreuid32", "setrlimit",
    "set_robust_list", "setsid", "setsockopt", "set_thread_area", "set_tid_address", "setuid",
    "setuid32", "setxattr", "shmat", "shmctl", "shmdt", "shmget", "shutdown", "sigaltstack",
    "signalfd", "signalfd4", "sigprocmask", "sigreturn", "socketcall", "socketpair", "splice",
    "stat", "stat64", "statfs", "statfs64", "statx", "symlink", "symlinkat", "sync",
    "sync_file_range", "syncfs", "sysinfo", "tee", "tgkill", "time", "timer_create", "timer_delete",
    "timer_getoverrun", "timer_gettime", "timer_gettime64", "timer_settime", "timer_settime64",
    "timerfd_create", "timerfd_gettime", "timerfd_gettime64", "timerfd_settime",
    "timerfd_settime64", "times", "tkill", "truncate", "truncate64", "ugetrlimit", "umask", "uname",
    "unlink", "unlinkat", "utime", "utimensat", "utimensat_time64", "utimes", "vfork", "vmsplice",
    "wait4", "waitid", "waitpid", "write", "writev",
];

/// The namespace flags `clone` may not set without CAP_SYS_ADMIN: NEWNS | NEWCGROUP | NEWUTS |
/// NEWIPC | NEWUSER | NEWPID | NEWNET.
pub const CLONE_NAMESPACE_FLAGS: u64 = 0x7E02_0000;

const AF_VSOCK: u64 = 40;
const EPERM: u32 = 1;
const ENOSYS: u32 = 38;

/// Docker's default profile (moby `profiles/seccomp/default.json`): deny with EPERM, allow the
/// common syscalls, and allow privileged ones only with the capability that guards them.
pub fn default_profile() -> DockerProfile {
    fn allow(names: &[&str]) -> SyscallRule {
        SyscallRule {
            names: names.iter().map(|n| n.to_string()).collect(),
            action: LinuxSeccompAction::ScmpActAllow,
            ..Default::default()
        }
    }
    fn with_caps(mut rule: SyscallRule, caps: &[&str]) -> SyscallRule {
        rule.includes.caps = caps.iter().map(|c| c.to_string()).collect();
        rule
    }
    fn on_arches(mut rule: SyscallRule, arches: &[&str]) -> SyscallRule {
        rule.includes.arches = arches.iter().map(|a| a.to_string()).collect();
        rule
    }
    fn arg(index: usize, value: u64, op: LinuxSeccompOperator) -> RuleArg {
        RuleArg {
            index,
            value,
            value_two: 0,
            op,
        }
    }
    use LinuxSeccompOperator::{ScmpCmpEq, ScmpCmpMaskedEq, ScmpCmpNe};

    let mut rules = vec![allow(ALLOWED)];
    let mut ptrace = allow(&["process_vm_readv", "process_vm_writev", "ptrace"]);
    ptrace.includes.min_kernel = Some("4.8".into());
    rules.push(ptrace);
    let mut socket = allow(&["socket"]);
    socket.args = vec![arg(0, AF_VSOCK, ScmpCmpNe)];
    rules.push(socket);
    // personality(2) only for the harmless domains: PER_LINUX, PER_LINUX32, UNAME26 variants and
    // the query value 0xffffffff.
    for persona in [0x0, 0x0008, 0x20000, 0x20008, 0xffff_ffff] {
        let mut p = allow(&["personality"]);
        p.args = vec![arg(0, persona, ScmpCmpEq)];
        rules.push(p);
    }
    rules.push(on_arches(
        allow(&["sync_file_range2", "swapcontext"]),
        &["ppc64le"],
    ));
    rules.push(on_arches(
        allow(&[
            "arm_fadvise64_64",
            "arm_sync_file_range",
            "sync_file_range2",
            "breakpoint",
            "cacheflush",
            "set_tls",
        ]),
        &["arm", "arm64"],
    ));
    rules.push(on_arches(allow(&["arch_prctl"]), &["amd64", "x32"]));
    rules.push(on_arches(allow(&["modify_ldt"]), &["amd64", "x32", "x86"]));
    rules.push(on_arches(
        allow(&[
            "s390_pci_mmio_read",
            "s390_pci_mmio_write",
            "s390_runtime_instr",
        ]),
        &["s390", "s390x"],
    ));
    rules.push(on_arches(allow(&["riscv_flush_icache"]), &["riscv64"]));
    rules.push(with_caps(
        allow(&["open_by_handle_at"]),
        &["CAP_DAC_READ_SEARCH"],
    ));
    rules.push(with_caps(
        allow(&[
            "bpf",
            "clone",
            "clone3",
            "fanotify_init",
            "fsconfig",
            "fsmount",
            "fsopen",
            "fspick",
            "lookup_dcookie",
            "mount",
            "mount_setattr",
            "move_mount",
            "open_tree",
            "perf_event_open",
            "quotactl",
            "quotactl_fd",
            "setdomainname",
            "sethostname",
            "setns",
            "syslog",
            "umount",
            "umount2",
            "unshare",
        ]),
        &["CAP_SYS_ADMIN"],
    ));
    // Without CAP_SYS_ADMIN, clone may not create namespaces (the flags are argument 0, except on
    // s390 where they are argument 1).
    let mut clone = allow(&["clone"]);
    clone.args = vec![arg(0, CLONE_NAMESPACE_FLAGS, ScmpCmpMaskedEq)];
    clone.excludes.caps = vec!["CAP_SYS_ADMIN".into()];
    clone.excludes.arches = vec!["s390".into(), "s390x".into()];
    rules.push(clone);
    let mut clone_s390 = on_arches(allow(&["clone"]), &["s390", "s390x"]);
    clone_s390.args = vec![arg(1, CLONE_NAMESPACE_FLAGS, ScmpCmpMaskedEq)];
    clone_s390.excludes.caps = vec!["CAP_SYS_ADMIN".into()];
    rules.push(clone_s390);
    // clone3 passes its flags in memory seccomp cannot read: ENOSYS makes libcs fall back to clone.
    rules.push(SyscallRule {
        names: vec!["clone3".into()],
        action: LinuxSeccompAction::ScmpActErrno,
        errno_ret: Some(ENOSYS),
        excludes: Condition {
            caps: vec!["CAP_SYS_ADMIN".into()],
            ..Default::default()
        },
        ..Default::default()
    });
    for (names, cap) in [
        (&["reboot"][..], "CAP_SYS_BOOT"),
        (&["chroot"], "CAP_SYS_CHROOT"),
        (
            &["delete_module", "init_module", "finit_module"],
            "CAP_SYS_MODULE",
        ),
        (&["acct"], "CAP_SYS_PACCT"),
        (
            &[
                "kcmp",
                "pidfd_getfd",
                "process_madvise",
                "process_vm_readv",
                "process_vm_writev",
                "ptrace",
            ],
            "CAP_SYS_PTRACE",
        ),
        (&["iopl", "ioperm"], "CAP_SYS_RAWIO"),
        (
            &["settimeofday", "stime", "clock_settime", "clock_settime64"],
            "CAP_SYS_TIME",
        ),
        (&["vhangup"], "CAP_SYS_TTY_CONFIG"),
        (
            &[
                "get_mempolicy",
                "mbind",
                "set_mempolicy",
                "set_mempolicy_home_node",
            ],
            "CAP_SYS_NICE",
        ),
        (&["syslog"], "CAP_SYSLOG"),
        (&["bpf"], "CAP_BPF"),
        (&["perf_event_open"], "CAP_PERFMON"),
    ] {
        rules.push(with_caps(allow(names), &[cap]));
    }

    let arch_map = [
        (
            Arch::ScmpArchX86_64,
            &[Arch::ScmpArchX86, Arch::ScmpArchX32][..],
        ),
        (Arch::ScmpArchAarch64, &[Arch::ScmpArchArm]),
        (
            Arch::ScmpArchMips64,
            &[Arch::ScmpArchMips, Arch::ScmpArchMips64n32],
        ),
        (
            Arch::ScmpArchMips64n32,
            &[Arch::ScmpArchMips, Arch::ScmpArchMips64],
        ),
        (
            Arch::ScmpArchMipsel64,
            &[Arch::ScmpArchMipsel, Arch::ScmpArchMipsel64n32],
        ),
        (
            Arch::ScmpArchMipsel64n32,
            &[Arch::ScmpArchMipsel, Arch::ScmpArchMipsel64],
        ),
        (Arch::ScmpArchS390x, &[Arch::ScmpArchS390]),
        (Arch::ScmpArchRiscv64, &[]),
    ]
    .into_iter()
    .map(|(architecture, subs)| ArchMapEntry {
        architecture,
        sub_architectures: subs.to_vec(),
    })
    .collect();

    DockerProfile {
        default_action: Some(LinuxSeccompAction::ScmpActErrno),
        default_errno_ret: Some(EPERM),
        arch_map,
        syscalls: rules,
        ..Default::default()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
