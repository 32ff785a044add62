//! cgroup v2 device control. v2 has no devices.allow file: access is decided by an eBPF program
//! of type BPF_PROG_TYPE_CGROUP_DEVICE attached to the cgroup. We compile the OCI rules into such
//! a program by hand (like runc's devicefilter and crun's ebpf.c) and load it with the raw bpf(2)
//! syscall, which avoids depending on an eBPF library for a few dozen instructions.

use std::ffi::c_long;
use std::fs::File;
use std::io;
use std::mem::size_of;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use libc::RLIM_INFINITY;
use nix::sys::resource::{getrlimit, setrlimit, Resource};

use crate::devices::{Kind, Rule, ACC_ALL};
use crate::error::{Error, Result};

/// One eBPF instruction (struct bpf_insn).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Insn {
    code: u8,
    /// dst_reg and src_reg, 4 bits each; their order within the byte follows the C bitfield.
    regs: u8,
    off: i16,
    imm: i32,
}

// Opcode parts, from include/uapi/linux/bpf_common.h and bpf.h.
const LDX: u8 = 0x01;
const ALU: u8 = 0x04;
const JMP: u8 = 0x05;
const ALU64: u8 = 0x07;
const W: u8 = 0x00;
const MEM: u8 = 0x60;
const K: u8 = 0x00;
const X: u8 = 0x08;
const AND: u8 = 0x50;
const RSH: u8 = 0x70;
const MOV: u8 = 0xb0;
const JEQ: u8 = 0x10;
const JNE: u8 = 0x50;
const EXIT: u8 = 0x90;

/// Device types as struct bpf_cgroup_dev_ctx reports them (BPF_DEVCG_DEV_*).
const DEV_BLOCK: i32 = 1;
const DEV_CHAR: i32 = 2;

fn insn(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
    let regs = if cfg!(target_endian = "little") {
        dst | (src << 4)
    } else {
        (dst << 4) | src
    };
    Insn {
        code,
        regs,
        off,
        imm,
    }
}

fn load_word(dst: u8, offset: i16) -> Insn {
    insn(LDX | W | MEM, dst, 1, offset, 0)
}

fn return_imm(value: i32) -> [Insn; 2] {
    [
        insn(ALU64 | MOV | K, 0, 0, 0, value),
        insn(JMP | EXIT, 0, 0, 0, 0),
    ]
}

/// The state v1's device controller would reach after `rules`, as the kernel keeps it: a
/// default behaviour and a list of exceptions. An `a` rule resets both; another rule either adds
/// an exception (merging its access into an identical entry, so "allow c 1:3 r" then "allow c
/// 1:3 w" is one "c 1:3 rw" entry) or, when it agrees with the default, takes access away from
/// identical entries. A fresh cgroup allows everything.
fn emulate_v1(rules: &[Rule]) -> (bool, Vec<Rule>) {
    let mut default_allow = true;
    let mut exceptions: Vec<Rule> = Vec::new();
    let same = |a: &Rule, b: &Rule| a.kind == b.kind && a.major == b.major && a.minor == b.minor;
    for rule in rules {
        if rule.kind == Kind::All && rule.major.is_none() && rule.minor.is_none() {
            default_allow = rule.allow;
            exceptions.clear();
        } else if rule.allow != default_allow {
            match exceptions.iter_mut().find(|e| same(e, rule)) {
                Some(e) => e.access |= rule.access,
                None => exceptions.push(Rule {
                    allow: rule.allow,
                    ..*rule
                }),
            }
        } else {
            for e in exceptions.iter_mut().filter(|e| same(e, rule)) {
                e.access &= !rule.access;
            }
            exceptions.retain(|e| e.access != 0);
        }
    }
    (default_allow, exceptions)
}

/// Compiles device rules into a filter returning 1 (allow) or 0 (deny), deciding as v1 would
/// (see [`emulate_v1`]): with a deny default, a request is allowed when one exception grants
/// every requested access bit; with an allow default, it is denied when one exception refuses
/// any of them.
pub(crate) fn program(rules: &[Rule]) -> Vec<Insn> {
    // struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; } is in r1:
    // r2 = type (low 16 bits), r3 = access (high 16 bits), r4 = major, r5 = minor.
    let mut prog = vec![
        load_word(2, 0),
        insn(ALU | AND | K, 2, 0, 0, 0xffff),
        load_word(3, 0),
        insn(ALU | RSH | K, 3, 0, 0, 16),
        load_word(4, 4),
        load_word(5, 8),
    ];
    let (default_allow, exceptions) = emulate_v1(rules);
    for rule in &exceptions {
        let mut checks: Vec<Insn> = Vec::new();
        match rule.kind {
            Kind::All => {}
            Kind::Block => checks.push(insn(JMP | JNE | K, 2, 0, 0, DEV_BLOCK)),
            Kind::Char => checks.push(insn(JMP | JNE | K, 2, 0, 0, DEV_CHAR)),
        }
        if rule.access != ACC_ALL {
            // r1 = requested & granted (r1 is free once the context is loaded).
            checks.push(insn(ALU | MOV | X, 1, 3, 0, 0));
            checks.push(insn(ALU | AND | K, 1, 0, 0, to_imm(rule.access)));
            checks.push(if rule.allow {
                insn(JMP | JNE | X, 1, 3, 0, 0)
            } else {
                insn(JMP | JEQ | K, 1, 0, 0, 0)
            });
        }
        if let Some(major) = rule.major {
            checks.push(insn(JMP | JNE | K, 4, 0, 0, to_imm(major)));
        }
        if let Some(minor) = rule.minor {
            checks.push(insn(JMP | JNE | K, 5, 0, 0, to_imm(minor)));
        }
        let unconditional = checks.is_empty();
        // Each failed check skips the rest of the block: the remaining checks plus the return.
        let len = checks.len();
        for (i, mut check) in checks.into_iter().enumerate() {
            if check.code & 0x07 == JMP {
                check.off = to_off(len - i - 1 + 2);
            }
            prog.push(check);
        }
        prog.extend(return_imm(i32::from(rule.allow)));
        if unconditional {
            // Everything after an unconditional return is unreachable, and the verifier rejects
            // unreachable instructions.
            return prog;
        }
    }
    prog.extend(return_imm(i32::from(default_allow)));
    prog
}

/// Rule numbers were validated to fit an i32 (see `devices::number`).
fn to_imm(v: u32) -> i32 {
    i32::try_from(v).unwrap_or(i32::MAX)
}

/// A block has at most 8 instructions.
fn to_off(v: usize) -> i16 {
    i16::try_from(v).unwrap_or(i16::MAX)
}

// bpf(2) commands and constants from include/uapi/linux/bpf.h.
const BPF_PROG_LOAD: c_long = 5;
const BPF_PROG_ATTACH: c_long = 8;
const BPF_PROG_DETACH: c_long = 9;
const BPF_PROG_GET_FD_BY_ID: c_long = 13;
const BPF_PROG_QUERY: c_long = 16;
const BPF_PROG_TYPE_CGROUP_DEVICE: u32 = 15;
const BPF_CGROUP_DEVICE: u32 = 6;
const BPF_F_ALLOW_MULTI: u32 = 2;
/// The kernel's BPF_CGROUP_MAX_PROGS: no cgroup can hold more programs of one type.
const MAX_PROGS: usize = 64;

// Leading parts of union bpf_attr for each command; the kernel zero-fills the rest.
#[repr(C)]
#[derive(Default)]
struct ProgLoadAttr {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
    prog_name: [u8; 16],
}

#[repr(C)]
#[derive(Default)]
struct AttachAttr {
    target_fd: u32,
    attach_bpf_fd: u32,
    attach_type: u32,
    attach_flags: u32,
}

#[repr(C)]
#[derive(Default)]
struct QueryAttr {
    target_fd: u32,
    attach_type: u32,
    query_flags: u32,
    attach_flags: u32,
    prog_ids: u64,
    prog_cnt: u32,
    /// The padding after `prog_cnt`, spelled out so it is zero: up to Linux 5.19 the kernel
    /// refuses a query whose bytes after its last known field are not (EINVAL), and padding
    /// that `Default` leaves alone may hold anything.
    reserved: u32,
}

#[repr(C)]
#[derive(Default)]
struct GetFdByIdAttr {
    prog_id: u32,
    next_id: u32,
    open_flags: u32,
}

fn bpf<T>(cmd: c_long, attr: &mut T) -> io::Result<i32> {
    // SAFETY: `attr` is an initialised repr(C) prefix of union bpf_attr for `cmd`, valid for
    // reads and writes of size_of::<T>() bytes; any pointers in it outlive the call.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            cmd,
            (attr as *mut T).cast::<libc::c_void>(),
            size_of::<T>(),
        )
    };
    if ret < 0 {
        return Err(io::Error::last_os_error());
    }
    i32::try_from(ret).map_err(|_| io::Error::from_raw_os_error(libc::EOVERFLOW))
}

fn bpf_fd<T>(cmd: c_long, attr: &mut T) -> io::Result<OwnedFd> {
    let fd = bpf(cmd, attr)?;
    // SAFETY: for these commands bpf(2) returns a new file descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Loads `prog` and makes it the only device filter of `dir`, replacing any previous one.
pub(crate) fn install(dir: &Path, prog: &[Insn]) -> Result<()> {
    let bpf_err = |op: &'static str| {
        move |source: io::Error| Error::Bpf {
            op,
            path: dir.to_owned(),
            source,
        }
    };
    let prog_fd = load(prog)?;
    let dir_fd = File::options()
        .read(true)
        .custom_flags(libc::O_DIRECTORY)
        .open(dir)
        .map_err(bpf_err("open cgroup"))?;
    let old = query(&dir_fd).map_err(bpf_err("query"))?;
    // Attach before detaching: while both run, a device needs both to allow it, so the
    // container never has more access than either rule set grants.
    let mut attr = AttachAttr {
        target_fd: fd_u32(&dir_fd),
        attach_bpf_fd: fd_u32(&prog_fd),
        attach_type: BPF_CGROUP_DEVICE,
        attach_flags: BPF_F_ALLOW_MULTI,
    };
    bpf(BPF_PROG_ATTACH, &mut attr).map_err(bpf_err("attach"))?;
    for id in old {
        let mut by_id = GetFdByIdAttr {
            prog_id: id,
            ..Default::default()
        };
        let old_fd = match bpf_fd(BPF_PROG_GET_FD_BY_ID, &mut by_id) {
            Ok(fd) => fd,
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => continue,
            Err(e) => return Err(bpf_err("get program")(e)),
        };
        let mut detach = AttachAttr {
            target_fd: fd_u32(&dir_fd),
            attach_bpf_fd: fd_u32(&old_fd),
            attach_type: BPF_CGROUP_DEVICE,
            attach_flags: 0,
        };
        match bpf(BPF_PROG_DETACH, &mut detach) {
            Err(e) if e.raw_os_error() != Some(libc::ENOENT) => return Err(bpf_err("detach")(e)),
            _ => {}
        }
    }
    Ok(())
}

fn fd_u32(fd: &impl AsRawFd) -> u32 {
    fd.as_raw_fd().unsigned_abs()
}

fn load(prog: &[Insn]) -> Result<OwnedFd> {
    const LICENSE: &[u8] = b"Apache-2.0\0";
    let mut attr = ProgLoadAttr {
        prog_type: BPF_PROG_TYPE_CGROUP_DEVICE,
        insn_cnt: u32::try_from(prog.len()).unwrap_or(u32::MAX),
        insns: prog.as_ptr() as u64,
        license: LICENSE.as_ptr() as u64,
        prog_name: *b"berth_devices\0\0\0",
        ..Default::default()
    };
    let err = match bpf_fd(BPF_PROG_LOAD, &mut attr) {
        Ok(fd) => return Ok(fd),
        Err(e) => e,
    };
    // Before Linux 5.11 programs were charged to RLIMIT_MEMLOCK: retry with it raised for the
    // load alone, so the container does not inherit an unlimited memlock. A real permission
    // problem shows up in the retry.
    let memlock = (err.raw_os_error() == Some(libc::EPERM))
        .then(|| getrlimit(Resource::RLIMIT_MEMLOCK).ok())
        .flatten()
        .filter(|_| setrlimit(Resource::RLIMIT_MEMLOCK, RLIM_INFINITY, RLIM_INFINITY).is_ok());
    // Load again with the verifier log, so a failure says why.
    let mut log = vec![0u8; 64 * 1024];
    attr.log_level = 1;
    attr.log_size = u32::try_from(log.len()).unwrap_or(u32::MAX);
    attr.log_buf = log.as_mut_ptr() as u64;
    let loaded = bpf_fd(BPF_PROG_LOAD, &mut attr);
    if let Some((soft, hard)) = memlock {
        let _ = setrlimit(Resource::RLIMIT_MEMLOCK, soft, hard);
    }
    loaded.map_err(|source| {
        let end = log.iter().position(|&b| b == 0).unwrap_or(log.len());
        if end == 0 && source.raw_os_error() == Some(libc::EPERM) && memlock.is_none() {
            return Error::BpfMemlock { source };
        }
        Error::BpfVerifier {
            log: String::from_utf8_lossy(&log[..end]).trim().to_owned(),
            source,
        }
    })
}

/// Ids of the device programs attached directly to the cgroup.
fn query(dir_fd: &File) -> io::Result<Vec<u32>> {
    let mut ids = [0u32; MAX_PROGS];
    let mut attr = QueryAttr {
        target_fd: fd_u32(dir_fd),
        attach_type: BPF_CGROUP_DEVICE,
        prog_ids: ids.as_mut_ptr() as u64,
        prog_cnt: MAX_PROGS as u32,
        ..Default::default()
    };
    bpf(BPF_PROG_QUERY, &mut attr)?;
    let n = usize::try_from(attr.prog_cnt).map_or(0, |n| n.min(MAX_PROGS));
    Ok(ids[..n].to_vec())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
