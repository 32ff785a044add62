//! Seccomp filters from the OCI `linux.seccomp` section (runtime-spec config-linux.md).
//!
//! [`compile`] does all the work in the runtime parent: libseccomp resolves the syscall names and
//! generates the BPF program once. The container child then only calls [`CompiledFilter::load`],
//! a single `seccomp(2)` call that allocates nothing, so it is safe right after `clone`.
//! `no_new_privs` is left to the caller (the spec controls it separately from seccomp); without
//! it the child needs `CAP_SYS_ADMIN` to load the filter.

use std::fmt;
use std::fs::File;
use std::io::{self, IoSlice, Read, Seek};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

use libc::c_ulong;
use libseccomp::error::SeccompError as ScmpError;
use libseccomp::{
    ScmpAction, ScmpArch, ScmpArgCompare, ScmpCompareOp, ScmpFilterContext, ScmpSyscall,
};
use nix::errno::Errno;
use nix::sys::memfd::{memfd_create, MFdFlags};
use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags, UnixAddr};
use oci_spec::runtime::{
    Arch, ContainerProcessState, LinuxSeccomp, LinuxSeccompAction, LinuxSeccompArg,
    LinuxSeccompFilterFlag, LinuxSeccompOperator, LinuxSyscall, State, SECCOMP_FD_NAME,
};

/// Linux syscalls take at most six arguments.
const MAX_SYSCALL_ARGS: usize = 6;
/// The kernel's limit on a classic BPF program (`BPF_MAXINSNS`).
const MAX_PROGRAM_LEN: usize = 4096;
/// Above this many rules libseccomp's binary-tree layout evaluates faster than its linear one
/// (runc's threshold; libseccomp <= 2.5.4 also mis-generates the tree for empty filters).
const BINARY_TREE_MIN_RULES: usize = 32;

const FLAG_WAIT_KILLABLE_RECV: &str = "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV";
/// Every `seccomp(2)` filter flag we may pass, with its name for error messages.
const KERNEL_FLAGS: [(c_ulong, &str); 6] = [
    (libc::SECCOMP_FILTER_FLAG_TSYNC, "SECCOMP_FILTER_FLAG_TSYNC"),
    (libc::SECCOMP_FILTER_FLAG_LOG, "SECCOMP_FILTER_FLAG_LOG"),
    (
        libc::SECCOMP_FILTER_FLAG_SPEC_ALLOW,
        "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
    ),
    (
        libc::SECCOMP_FILTER_FLAG_NEW_LISTENER,
        "SECCOMP_FILTER_FLAG_NEW_LISTENER",
    ),
    (
        libc::SECCOMP_FILTER_FLAG_TSYNC_ESRCH,
        "SECCOMP_FILTER_FLAG_TSYNC_ESRCH",
    ),
    (
        libc::SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV,
        FLAG_WAIT_KILLABLE_RECV,
    ),
];

#[derive(Debug, thiserror::Error)]
pub enum SeccompError {
    #[error("seccomp: SCMP_ACT_NOTIFY cannot be the default action")]
    NotifyAsDefault,
    #[error("seccomp: SCMP_ACT_NOTIFY cannot be used for {0} (the runtime needs it to pass the listener fd)")]
    NotifyOnSyncSyscall(String),
    #[error(
        "seccomp: SCMP_ACT_NOTIFY is used but listenerPath is not set, so no agent would answer"
    )]
    NotifyWithoutListener,
    #[error("seccomp: listenerMetadata is set but listenerPath is not")]
    MetadataWithoutListener,
    #[error("seccomp: {flag} needs an SCMP_ACT_NOTIFY rule")]
    FlagWithoutNotify { flag: &'static str },
    #[error("seccomp: this kernel does not support {flag}")]
    UnsupportedFlag { flag: &'static str },
    #[error("seccomp: {location}: errnoRet {errno} given for {action}, which returns no errno")]
    ErrnoNotAllowed {
        location: String,
        action: LinuxSeccompAction,
        errno: u32,
    },
    #[error("seccomp: {location}: errnoRet {errno} does not fit in 16 bits")]
    ErrnoOutOfRange { location: String, errno: u32 },
    #[error("seccomp: syscalls[{rule}]: syscall names must be present and non-empty")]
    EmptySyscallName { rule: usize },
    #[error("seccomp: syscalls[{rule}]: argument index {index} is out of range (0 to 5)")]
    ArgIndex { rule: usize, index: usize },
    #[error("seccomp: architecture {arch} is not supported by this libseccomp: {source}")]
    Arch { arch: Arch, source: ScmpError },
    #[error("seccomp: cannot create a filter with default action {action}: {source}")]
    NewFilter {
        action: LinuxSeccompAction,
        source: ScmpError,
    },
    #[error("seccomp: cannot add rule {action} for syscall {syscall}: {source}")]
    AddRule {
        syscall: String,
        action: LinuxSeccompAction,
        source: ScmpError,
    },
    #[error("seccomp: libseccomp cannot {what}: {source}")]
    Libseccomp {
        what: &'static str,
        source: ScmpError,
    },
    #[error("seccomp: cannot read back the BPF program: {source}")]
    ExportBuffer { source: io::Error },
    #[error(
        "seccomp: the BPF program has {len} instructions, more than the kernel's {MAX_PROGRAM_LEN}"
    )]
    ProgramTooLong { len: usize },
    #[error("seccomp: loading the filter failed (needs no_new_privs or CAP_SYS_ADMIN): {source}")]
    Load { source: Errno },
    #[error("seccomp: SECCOMP_FILTER_FLAG_TSYNC failed: thread {tid} cannot take the filter")]
    Tsync { tid: i64 },
    #[error("seccomp: container state for listener {path} is invalid: {source}")]
    ListenerState {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("seccomp: cannot connect to listener {path}: {source}")]
    ListenerConnect { path: PathBuf, source: io::Error },
    #[error("seccomp: cannot send the notify fd to listener {path}: {source}")]
    ListenerSend { path: PathBuf, source: io::Error },
}

/// A seccomp filter ready to be installed: the BPF program and the `seccomp(2)` flags.
pub struct CompiledFilter {
    program: Vec<libc::sock_filter>,
    flags: c_ulong,
    notify: bool,
}

impl fmt::Debug for CompiledFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CompiledFilter")
            .field("instructions", &self.program.len())
            .field("flags", &format_args!("{:#x}", self.flags))
            .field("notify", &self.notify)
            .finish()
    }
}

impl CompiledFilter {
    /// Whether the filter has an `SCMP_ACT_NOTIFY` rule, so [`load`](Self::load) returns a
    /// listener fd that must reach the agent at `listenerPath`.
    pub fn needs_notify_listener(&self) -> bool {
        self.notify
    }

    /// Installs the filter on the calling thread (every thread with `SECCOMP_FILTER_FLAG_TSYNC`).
    /// Meant for the container child right before `execve`: it is one syscall, no allocation.
    /// Returns the notify listener fd (close-on-exec) when the filter has `SCMP_ACT_NOTIFY` rules.
    pub fn load(self) -> Result<Option<OwnedFd>, SeccompError> {
        let prog = libc::sock_fprog {
            // compile() guarantees the length fits (at most MAX_PROGRAM_LEN).
            len: self.program.len() as libc::c_ushort,
            filter: self.program.as_ptr().cast_mut(),
        };
        // SAFETY: `prog` points to `len` valid instructions that outlive the call.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_seccomp,
                libc::SECCOMP_SET_MODE_FILTER,
                self.flags,
                &prog as *const libc::sock_fprog,
            )
        };
        if rc < 0 {
            return Err(SeccompError::Load {
                source: Errno::last(),
            });
        }
        if self.needs_notify_listener() {
            // SAFETY: with SECCOMP_FILTER_FLAG_NEW_LISTENER, success returns a new fd we own.
            return Ok(Some(unsafe { OwnedFd::from_raw_fd(rc as RawFd) }));
        }
        if rc > 0 {
            // Without a listener, TSYNC reports the thread that could not be synchronized.
            return Err(SeccompError::Tsync { tid: rc });
        }
        Ok(None)
    }
}

/// Compiles the OCI seccomp section into a BPF program. Run it once, in the runtime parent.
///
/// Follows runc: syscall names this libseccomp does not know are skipped (profiles list syscalls
/// newer than the host), rules with the default action are skipped (libseccomp rejects them), and
/// a rule comparing the same argument twice becomes one rule per comparison (OR instead of AND).
pub fn compile(seccomp: &LinuxSeccomp) -> Result<CompiledFilter, SeccompError> {
    let syscalls = seccomp.syscalls().as_deref().unwrap_or_default();
    let notify = syscalls
        .iter()
        .any(|rule| rule.action() == LinuxSeccompAction::ScmpActNotify);
    check_notify(seccomp, syscalls, notify)?;
    let flags = kernel_flags(seccomp, notify)?;

    let default_action = translate_action(
        seccomp.default_action(),
        seccomp.default_errno_ret(),
        || "defaultAction".to_owned(),
    )?;
    let mut ctx =
        ScmpFilterContext::new(default_action).map_err(|source| SeccompError::NewFilter {
            action: seccomp.default_action(),
            source,
        })?;
    for &arch in seccomp.architectures().iter().flatten() {
        ctx.add_arch(translate_arch(arch))
            .map_err(|source| SeccompError::Arch { arch, source })?;
    }
    let rule_count: usize = syscalls.iter().map(|rule| rule.names().len()).sum();
    if rule_count > BINARY_TREE_MIN_RULES {
        ctx.set_ctl_optimize(2)
            .map_err(|source| SeccompError::Libseccomp {
                what: "enable binary-tree optimization",
                source,
            })?;
    }
    for (index, rule) in syscalls.iter().enumerate() {
        add_rule(&mut ctx, index, rule, default_action)?;
    }

    let program = export(&ctx)?;
    if program.len() > MAX_PROGRAM_LEN {
        return Err(SeccompError::ProgramTooLong { len: program.len() });
    }
    Ok(CompiledFilter {
        program,
        flags,
        notify,
    })
}

/// File format of a cached program: magic, flags (u64), notify (u8), then the instructions.
const CACHE_MAGIC: &[u8; 8] = b"BERTHBPF";

/// [`compile`], reusing the program compiled earlier for the same profile. libseccomp takes
/// ~10 ms for Docker's default profile, which every container of an engine shares, so the
/// result is kept under `cache_dir` (the runtime's root: root-only, tmpfs in practice, so it
/// never outlives the kernel whose flags it probed). The key is the sha256 of the profile JSON,
/// the runtime version and libseccomp's version; an unreadable or damaged entry is recompiled.
pub fn compile_cached(
    seccomp: &LinuxSeccomp,
    cache_dir: &Path,
) -> Result<CompiledFilter, SeccompError> {
    use sha2::{Digest as _, Sha256};
    let Ok(json) = serde_json::to_vec(seccomp) else {
        return compile(seccomp);
    };
    let version = libseccomp::ScmpVersion::current()
        .map(|v| format!("{}.{}.{}", v.major, v.minor, v.micro))
        .unwrap_or_default();
    let mut hash = Sha256::new();
    hash.update(env!("CARGO_PKG_VERSION").as_bytes());
    hash.update(version.as_bytes());
    hash.update(&json);
    let key: String = hash.finalize().iter().map(|b| format!("{b:02x}")).collect();
    let path = cache_dir.join(format!("{key}.bpf"));
    if let Some(filter) = std::fs::read(&path).ok().and_then(|b| decode_cached(&b)) {
        return Ok(filter);
    }
    let filter = compile(seccomp)?;
    // Best effort: a cache that cannot be written only costs the next create a compile.
    let _ = std::fs::create_dir_all(cache_dir).and_then(|()| {
        let tmp = cache_dir.join(format!(".{key}.{}", std::process::id()));
        std::fs::write(&tmp, encode_cached(&filter))?;
        std::fs::rename(&tmp, &path)
    });
    Ok(filter)
}

fn encode_cached(f: &CompiledFilter) -> Vec<u8> {
    let mut out = Vec::with_capacity(17 + f.program.len() * 8);
    out.extend_from_slice(CACHE_MAGIC);
    // c_ulong is u64 here but u32 on 32-bit targets: the file format is u64 everywhere.
    #[allow(clippy::useless_conversion)]
    let flags = u64::from(f.flags);
    out.extend_from_slice(&flags.to_le_bytes());
    out.push(u8::from(f.notify));
    for insn in &f.program {
        out.extend_from_slice(&insn.code.to_le_bytes());
        out.push(insn.jt);
        out.push(insn.jf);
        out.extend_from_slice(&insn.k.to_le_bytes());
    }
    out
}

fn decode_cached(bytes: &[u8]) -> Option<CompiledFilter> {
    let rest = bytes.strip_prefix(CACHE_MAGIC.as_slice())?;
    let flags = u64::from_le_bytes(rest.get(..8)?.try_into().ok()?);
    let notify = *rest.get(8)? != 0;
    let body = rest.get(9..)?;
    if body.is_empty() || body.len() % 8 != 0 || body.len() / 8 > MAX_PROGRAM_LEN {
        return None;
    }
    let program = body
        .chunks_exact(8)
        .map(|i| libc::sock_filter {
            code: u16::from_le_bytes([i[0], i[1]]),
            jt: i[2],
            jf: i[3],
            k: u32::from_le_bytes([i[4], i[5], i[6], i[7]]),
        })
        .collect();
    Some(CompiledFilter {
        program,
        flags: c_ulong::try_from(flags).ok()?,
        notify,
    })
}

/// Hands the notify fd of process `pid` to the agent its profile names. The runtime calls this on
/// the host side when the container process reports `SeccompListener`; `compile` already refused
/// notify rules without a `listenerPath`.
pub fn forward_listener(
    seccomp: Option<&LinuxSeccomp>,
    fd: BorrowedFd<'_>,
    state_json: &[u8],
    pid: i32,
) -> Result<(), SeccompError> {
    let Some(path) = seccomp.and_then(|s| s.listener_path().as_ref()) else {
        return Err(SeccompError::NotifyWithoutListener);
    };
    let metadata = seccomp
        .and_then(|s| s.listener_metadata().clone())
        .unwrap_or_default();
    send_listener_fd(path, fd, state_json, pid, &metadata)
}

/// Sends the seccomp notify fd of process `pid` to the agent listening on `listener_path`, as the
/// runtime spec requires: one connection carrying the container process state JSON (built from
/// the container `state_json` and `metadata`) with the fd attached via `SCM_RIGHTS`.
pub fn send_listener_fd(
    listener_path: &Path,
    fd: BorrowedFd<'_>,
    state_json: &[u8],
    pid: i32,
    metadata: &str,
) -> Result<(), SeccompError> {
    let path = || listener_path.to_path_buf();
    let state: State =
        serde_json::from_slice(state_json).map_err(|source| SeccompError::ListenerState {
            path: path(),
            source,
        })?;
    let mut message = ContainerProcessState::default();
    message
        .set_version(state.version().clone())
        .set_fds(vec![SECCOMP_FD_NAME.to_owned()])
        .set_pid(pid)
        .set_metadata((!metadata.is_empty()).then(|| metadata.to_owned()))
        .set_state(state);
    let payload = serde_json::to_vec(&message).map_err(|source| SeccompError::ListenerState {
        path: path(),
        source,
    })?;

    let stream =
        UnixStream::connect(listener_path).map_err(|source| SeccompError::ListenerConnect {
            path: path(),
            source,
        })?;
    let fds = [fd.as_raw_fd()];
    let rights = [ControlMessage::ScmRights(&fds)];
    let mut sent = 0;
    while sent < payload.len() {
        // The spec allows several sendmsg calls but the fds must ride on the first one.
        let cmsgs: &[ControlMessage<'_>] = if sent == 0 { &rights } else { &[] };
        let iov = [IoSlice::new(&payload[sent..])];
        match sendmsg::<UnixAddr>(
            stream.as_raw_fd(),
            &iov,
            cmsgs,
            MsgFlags::MSG_NOSIGNAL,
            None,
        ) {
            Ok(n) => sent += n,
            Err(Errno::EINTR) => {}
            Err(errno) => {
                return Err(SeccompError::ListenerSend {
                    path: path(),
                    source: errno.into(),
                })
            }
        }
    }
    // Dropping the stream closes the connection: the spec allows one state per connection.
    Ok(())
}

fn check_notify(
    seccomp: &LinuxSeccomp,
    syscalls: &[LinuxSyscall],
    notify: bool,
) -> Result<(), SeccompError> {
    if seccomp.listener_path().is_none() && seccomp.listener_metadata().is_some() {
        return Err(SeccompError::MetadataWithoutListener);
    }
    // Like runc: after loading, the child sends the listener fd to the runtime, which would
    // block forever if that call waited on the (not yet connected) agent.
    if seccomp.default_action() == LinuxSeccompAction::ScmpActNotify {
        return Err(SeccompError::NotifyAsDefault);
    }
    if !notify {
        return Ok(());
    }
    if seccomp.listener_path().is_none() {
        return Err(SeccompError::NotifyWithoutListener);
    }
    const SYNC_SYSCALLS: [&str; 3] = ["write", "sendmsg", "recvmsg"];
    let blocked = syscalls
        .iter()
        .filter(|rule| rule.action() == LinuxSeccompAction::ScmpActNotify)
        .flat_map(|rule| rule.names())
        .find(|name| SYNC_SYSCALLS.contains(&name.as_str()));
    if let Some(name) = blocked {
        return Err(SeccompError::NotifyOnSyncSyscall(name.clone()));
    }
    Ok(())
}

/// The `seccomp(2)` flags for this filter, each checked against the running kernel so an
/// unsupported one fails here, in the parent, with its name.
fn kernel_flags(seccomp: &LinuxSeccomp, notify: bool) -> Result<c_ulong, SeccompError> {
    let mut flags = 0;
    for flag in seccomp.flags().iter().flatten() {
        flags |= match flag {
            LinuxSeccompFilterFlag::SeccompFilterFlagTsync => libc::SECCOMP_FILTER_FLAG_TSYNC,
            LinuxSeccompFilterFlag::SeccompFilterFlagLog => libc::SECCOMP_FILTER_FLAG_LOG,
            LinuxSeccompFilterFlag::SeccompFilterFlagSpecAllow => {
                libc::SECCOMP_FILTER_FLAG_SPEC_ALLOW
            }
            LinuxSeccompFilterFlag::SeccompFilterFlagWaitKillableRecv => {
                libc::SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
            }
        };
    }
    if notify {
        flags |= libc::SECCOMP_FILTER_FLAG_NEW_LISTENER;
        if flags & libc::SECCOMP_FILTER_FLAG_TSYNC != 0 {
            // A listener fd and a TSYNC failure tid would share the return value; the kernel
            // only accepts the pair when TSYNC failures are reported as ESRCH instead.
            flags |= libc::SECCOMP_FILTER_FLAG_TSYNC_ESRCH;
        }
    } else if flags & libc::SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV != 0 {
        return Err(SeccompError::FlagWithoutNotify {
            flag: FLAG_WAIT_KILLABLE_RECV,
        });
    }
    for (bit, name) in KERNEL_FLAGS {
        // The kernel refuses WAIT_KILLABLE_RECV on its own, so probe it with its listener.
        let probe = match bit {
            libc::SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV => {
                bit | libc::SECCOMP_FILTER_FLAG_NEW_LISTENER
            }
            _ => bit,
        };
        if flags & bit != 0 && !kernel_accepts(probe) {
            return Err(SeccompError::UnsupportedFlag { flag: name });
        }
    }
    Ok(flags)
}

/// Whether the kernel knows `flags`: it validates them before reading the program, so a NULL
/// program fails with EFAULT for known flags and EINVAL otherwise, installing nothing.
fn kernel_accepts(flags: c_ulong) -> bool {
    // SAFETY: a NULL program is never dereferenced by user space; the kernel rejects it.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER,
            flags,
            std::ptr::null::<libc::sock_fprog>(),
        )
    };
    rc < 0 && Errno::last() == Errno::EFAULT
}

fn add_rule(
    ctx: &mut ScmpFilterContext,
    index: usize,
    rule: &LinuxSyscall,
    default_action: ScmpAction,
) -> Result<(), SeccompError> {
    if rule.names().is_empty() || rule.names().iter().any(String::is_empty) {
        return Err(SeccompError::EmptySyscallName { rule: index });
    }
    let action = translate_action(rule.action(), rule.errno_ret(), || {
        format!("syscalls[{index}]")
    })?;
    let (conditions, repeated_index) = conditions(index, rule)?;
    if action == default_action {
        return Ok(());
    }
    for name in rule.names() {
        let Ok(syscall) = ScmpSyscall::from_name(name) else {
            continue;
        };
        let added = if repeated_index {
            conditions.iter().try_for_each(|&condition| {
                ctx.add_rule_conditional(action, syscall, &[condition])
                    .map(drop)
            })
        } else {
            ctx.add_rule_conditional(action, syscall, &conditions)
                .map(drop)
        };
        added.map_err(|source| SeccompError::AddRule {
            syscall: name.clone(),
            action: rule.action(),
            source,
        })?;
    }
    Ok(())
}

/// The rule's argument comparisons, and whether one argument is compared more than once
/// (libseccomp allows each argument once per rule).
fn conditions(
    index: usize,
    rule: &LinuxSyscall,
) -> Result<(Vec<ScmpArgCompare>, bool), SeccompError> {
    let mut seen = [false; MAX_SYSCALL_ARGS];
    let mut repeated = false;
    let conditions = rule
        .args()
        .iter()
        .flatten()
        .map(|arg| {
            let seen = seen.get_mut(arg.index()).ok_or(SeccompError::ArgIndex {
                rule: index,
                index: arg.index(),
            })?;
            repeated |= *seen;
            *seen = true;
            let (op, datum) = comparison(arg);
            // The index is below MAX_SYSCALL_ARGS, checked just above.
            Ok(ScmpArgCompare::new(arg.index() as u32, op, datum))
        })
        .collect::<Result<Vec<_>, SeccompError>>()?;
    Ok((conditions, repeated))
}

fn comparison(arg: &LinuxSeccompArg) -> (ScmpCompareOp, u64) {
    let value = arg.value();
    match arg.op() {
        LinuxSeccompOperator::ScmpCmpNe => (ScmpCompareOp::NotEqual, value),
        LinuxSeccompOperator::ScmpCmpLt => (ScmpCompareOp::Less, value),
        LinuxSeccompOperator::ScmpCmpLe => (ScmpCompareOp::LessOrEqual, value),
        LinuxSeccompOperator::ScmpCmpEq => (ScmpCompareOp::Equal, value),
        LinuxSeccompOperator::ScmpCmpGe => (ScmpCompareOp::GreaterEqual, value),
        LinuxSeccompOperator::ScmpCmpGt => (ScmpCompareOp::Greater, value),
        // As in runc and crun: `value` is libseccomp's datum_a (the mask), `valueTwo` the bits.
        LinuxSeccompOperator::ScmpCmpMaskedEq => (
            ScmpCompareOp::MaskedEqual(value),
            arg.value_two().unwrap_or(0),
        ),
    }
}

fn translate_action(
    action: LinuxSeccompAction,
    errno_ret: Option<u32>,
    location: impl Fn() -> String,
) -> Result<ScmpAction, SeccompError> {
    let errno = |default: u32| {
        let errno = errno_ret.unwrap_or(default);
        u16::try_from(errno).map_err(|_| SeccompError::ErrnoOutOfRange {
            location: location(),
            errno,
        })
    };
    Ok(match (action, errno_ret) {
        (LinuxSeccompAction::ScmpActErrno, _) => {
            ScmpAction::Errno(i32::from(errno(libc::EPERM as u32)?))
        }
        (LinuxSeccompAction::ScmpActTrace, _) => ScmpAction::Trace(errno(libc::EPERM as u32)?),
        (_, Some(errno)) => {
            return Err(SeccompError::ErrnoNotAllowed {
                location: location(),
                action,
                errno,
            })
        }
        (LinuxSeccompAction::ScmpActKill | LinuxSeccompAction::ScmpActKillThread, None) => {
            ScmpAction::KillThread
        }
        (LinuxSeccompAction::ScmpActKillProcess, None) => ScmpAction::KillProcess,
        (LinuxSeccompAction::ScmpActTrap, None) => ScmpAction::Trap,
        (LinuxSeccompAction::ScmpActNotify, None) => ScmpAction::Notify,
        (LinuxSeccompAction::ScmpActLog, None) => ScmpAction::Log,
        (LinuxSeccompAction::ScmpActAllow, None) => ScmpAction::Allow,
    })
}

fn translate_arch(arch: Arch) -> ScmpArch {
    match arch {
        Arch::ScmpArchNative => ScmpArch::Native,
        Arch::ScmpArchX86 => ScmpArch::X86,
        Arch::ScmpArchX86_64 => ScmpArch::X8664,
        Arch::ScmpArchX32 => ScmpArch::X32,
        Arch::ScmpArchArm => ScmpArch::Arm,
        Arch::ScmpArchAarch64 => ScmpArch::Aarch64,
        Arch::ScmpArchMips => ScmpArch::Mips,
        Arch::ScmpArchMips64 => ScmpArch::Mips64,
        Arch::ScmpArchMips64n32 => ScmpArch::Mips64N32,
        Arch::ScmpArchMipsel => ScmpArch::Mipsel,
        Arch::ScmpArchMipsel64 => ScmpArch::Mipsel64,
        Arch::ScmpArchMipsel64n32 => ScmpArch::Mipsel64N32,
        Arch::ScmpArchPpc => ScmpArch::Ppc,
        Arch::ScmpArchPpc64 => ScmpArch::Ppc64,
        Arch::ScmpArchPpc64le => ScmpArch::Ppc64Le,
        Arch::ScmpArchS390 => ScmpArch::S390,
        Arch::ScmpArchS390x => ScmpArch::S390X,
        Arch::ScmpArchParisc => ScmpArch::Parisc,
        Arch::ScmpArchParisc64 => ScmpArch::Parisc64,
        Arch::ScmpArchRiscv64 => ScmpArch::Riscv64,
        Arch::ScmpArchLoongarch64 => ScmpArch::Loongarch64,
        Arch::ScmpArchM68k => ScmpArch::M68k,
        Arch::ScmpArchSh => ScmpArch::Sh,
        Arch::ScmpArchSheb => ScmpArch::Sheb,
    }
}

/// The filter's BPF program as generated by libseccomp.
fn export(ctx: &ScmpFilterContext) -> Result<Vec<libc::sock_filter>, SeccompError> {
    // libseccomp 2.5 exports only to an fd; a memfd keeps the round trip in memory.
    let fd = memfd_create(c"berth-seccomp-bpf", MFdFlags::MFD_CLOEXEC).map_err(|errno| {
        SeccompError::ExportBuffer {
            source: errno.into(),
        }
    })?;
    ctx.export_bpf(&fd)
        .map_err(|source| SeccompError::Libseccomp {
            what: "export the BPF program",
            source,
        })?;
    let mut file = File::from(fd);
    let mut bytes = Vec::new();
    file.rewind()
        .and_then(|()| file.read_to_end(&mut bytes))
        .map_err(|source| SeccompError::ExportBuffer { source })?;
    let insn_size = std::mem::size_of::<libc::sock_filter>();
    if bytes.len() % insn_size != 0 {
        let source = io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{} bytes is not whole instructions", bytes.len()),
        );
        return Err(SeccompError::ExportBuffer { source });
    }
    // Indexing 0..8 is in range: every chunk is size_of::<sock_filter>() == 8 bytes.
    Ok(bytes
        .chunks_exact(insn_size)
        .map(|insn| libc::sock_filter {
            code: u16::from_ne_bytes([insn[0], insn[1]]),
            jt: insn[2],
            jf: insn[3],
            k: u32::from_ne_bytes([insn[4], insn[5], insn[6], insn[7]]),
        })
        .collect())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
