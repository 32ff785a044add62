//! Seccomp profiles as the container experiences them: a denied syscall returns EPERM to busybox,
//! and a default-deny profile with an allow list still runs a shell.
#![allow(clippy::unwrap_used)]

mod common;

use common::{status_field, Container};
use serde_json::{json, Value};

/// `mkdir` (both syscalls busybox may use) answered with EPERM by the filter.
fn deny_mkdir() -> Value {
    json!({"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1})
}

/// What busybox sh plus the last steps of runc/crun (after the filter is loaded and before and
/// including execve) need; everything else, mkdir included, falls to the default action.
const ALLOWED: &[&str] = &[
    "access",
    "arch_prctl",
    "brk",
    "capget",
    "capset",
    "chdir",
    "clock_gettime",
    "clock_nanosleep",
    "clone",
    "clone3",
    "close",
    "close_range",
    "dup",
    "dup2",
    "dup3",
    "epoll_create1",
    "epoll_ctl",
    "epoll_pwait",
    "epoll_wait",
    "execve",
    "execveat",
    "exit",
    "exit_group",
    "faccessat",
    "faccessat2",
    "fchdir",
    "fcntl",
    "fork",
    "fstat",
    "fstatfs",
    "futex",
    "getcwd",
    "getdents64",
    "getegid",
    "geteuid",
    "getgid",
    "getgroups",
    "getpgrp",
    "getpid",
    "getppid",
    "getrandom",
    "getrlimit",
    "gettid",
    "gettimeofday",
    "getuid",
    "ioctl",
    "kill",
    "lseek",
    "lstat",
    "madvise",
    "mmap",
    "mprotect",
    "munmap",
    "nanosleep",
    "newfstatat",
    "open",
    "openat",
    "openat2",
    "pipe",
    "pipe2",
    "poll",
    "ppoll",
    "prctl",
    "pread64",
    "prlimit64",
    "read",
    "readlink",
    "readlinkat",
    "readv",
    "rseq",
    "rt_sigaction",
    "rt_sigprocmask",
    "rt_sigreturn",
    "sched_getaffinity",
    "sched_yield",
    "set_robust_list",
    "set_tid_address",
    "setgid",
    "setgroups",
    "setpgid",
    "setresgid",
    "setresuid",
    "setuid",
    "sigaltstack",
    "stat",
    "statfs",
    "statx",
    "tgkill",
    "umask",
    "uname",
    "utimensat",
    "vfork",
    "wait4",
    "waitid",
    "write",
    "writev",
];

const SCRIPT: &str = "echo ok; mkdir /tmp/d 2>&1; echo rc=$?; touch /tmp/f && echo touched; \
                      grep ^Seccomp: /proc/self/status";

#[test]
fn denied_syscall_returns_eperm() {
    let Some(mut c) = Container::new("seccomp-deny", &["sh", "-c", SCRIPT]) else {
        return;
    };
    c.tmpfs("/tmp", &["size=1m"]);
    c.set(
        "/linux/seccomp",
        json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [deny_mkdir()]}),
    );
    let out = c.run_capture().ok();
    assert!(out.stdout.starts_with("ok\n"), "{out:?}");
    assert!(
        out.stdout.contains("Operation not permitted\nrc=1\n"),
        "{out:?}"
    );
    // Only the listed syscalls are denied: creating a file still works.
    assert!(out.stdout.contains("touched\n"), "{out:?}");
    // Mode 2 = filter: a profile was really installed on the process.
    assert_eq!(
        status_field(&out.stdout, "Seccomp").unwrap(),
        "2",
        "{out:?}"
    );
}

#[test]
fn default_errno_with_allow_list() {
    let Some(mut c) = Container::new("seccomp-allow", &["sh", "-c", SCRIPT]) else {
        return;
    };
    c.tmpfs("/tmp", &["size=1m"]);
    c.set(
        "/linux/seccomp",
        json!({
            "defaultAction": "SCMP_ACT_ERRNO",
            "defaultErrnoRet": 1,
            "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
            "syscalls": [{"names": ALLOWED, "action": "SCMP_ACT_ALLOW"}]
        }),
    );
    let out = c.run_capture().ok();
    assert!(out.stdout.starts_with("ok\n"), "{out:?}");
    assert!(
        out.stdout.contains("Operation not permitted\nrc=1\n"),
        "{out:?}"
    );
    assert!(out.stdout.contains("touched\n"), "{out:?}");
    assert_eq!(
        status_field(&out.stdout, "Seccomp").unwrap(),
        "2",
        "{out:?}"
    );
}

#[test]
fn without_profile_mkdir_works() {
    // Control for the two tests above: the failure comes from the filter, not the mount.
    let Some(mut c) = Container::new("seccomp-none", &["sh", "-c", SCRIPT]) else {
        return;
    };
    c.tmpfs("/tmp", &["size=1m"]);
    let out = c.run_capture().ok();
    assert!(out.stdout.contains("rc=0\n"), "{out:?}");
    assert_eq!(
        status_field(&out.stdout, "Seccomp").unwrap(),
        "0",
        "{out:?}"
    );
}

/// `struct seccomp_notif` and `struct seccomp_notif_resp` from linux/seccomp.h.
#[repr(C)]
#[derive(Default)]
struct Notif {
    id: u64,
    pid: u32,
    flags: u32,
    nr: i32,
    arch: u32,
    instruction_pointer: u64,
    args: [u64; 6],
}

#[repr(C)]
struct NotifResp {
    id: u64,
    val: i64,
    error: i32,
    flags: u32,
}

const SECCOMP_IOCTL_NOTIF_RECV: u64 = 0xc050_2100;
const SECCOMP_IOCTL_NOTIF_SEND: u64 = 0xc018_2101;

/// A seccomp agent: takes one connection at `socket`, returns the state message and answers the
/// first notification on the received fd with EACCES, so the container sees the agent's verdict.
fn agent(listener: std::os::unix::net::UnixListener) -> Value {
    use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

    let (conn, _) = listener.accept().unwrap();
    let mut buf = vec![0u8; 65536];
    let mut cmsg = nix::cmsg_space!([RawFd; 2]);
    let mut iov = [std::io::IoSliceMut::new(&mut buf)];
    let msg = recvmsg::<()>(
        conn.as_raw_fd(),
        &mut iov,
        Some(&mut cmsg),
        MsgFlags::empty(),
    )
    .unwrap();
    let mut fds = Vec::new();
    for c in msg.cmsgs().unwrap() {
        if let ControlMessageOwned::ScmRights(received) = c {
            fds.extend(received);
        }
    }
    // The state is far smaller than the buffer, so one message carries all of it.
    let len = msg.bytes;
    let payload = buf[..len].to_vec();
    assert_eq!(fds.len(), 1, "exactly the notify fd is passed");
    // SAFETY: received just now over SCM_RIGHTS, owned by nobody else.
    let notify = unsafe { OwnedFd::from_raw_fd(fds[0]) };
    let mut req = Notif::default();
    // SAFETY: the struct matches the kernel's layout; the ioctl fills it.
    let rc = unsafe { libc::ioctl(notify.as_raw_fd(), SECCOMP_IOCTL_NOTIF_RECV, &mut req) };
    assert_eq!(rc, 0, "NOTIF_RECV: {}", std::io::Error::last_os_error());
    let resp = NotifResp {
        id: req.id,
        val: 0,
        error: -libc::EACCES,
        flags: 0,
    };
    // SAFETY: as above, for the response struct.
    let rc = unsafe { libc::ioctl(notify.as_raw_fd(), SECCOMP_IOCTL_NOTIF_SEND, &resp) };
    assert_eq!(rc, 0, "NOTIF_SEND: {}", std::io::Error::last_os_error());
    let mut message: Value = serde_json::from_slice(&payload).unwrap();
    message["notifiedPid"] = json!(req.pid);
    message
}

#[test]
fn notify_listener_receives_the_fd_and_answers_for_the_kernel() {
    let Some(mut c) = Container::new(
        "seccomp-notify",
        &["sh", "-c", "mkdir /tmp/d 2>&1; echo rc=$?"],
    ) else {
        return;
    };
    // The socket lives on the host, outside the container's root: the runtime must connect to it
    // from the host side.
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("agent.sock");
    let listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
    let agent = std::thread::spawn(move || agent(listener));
    c.tmpfs("/tmp", &["size=1m"]);
    c.set(
        "/linux/seccomp",
        json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "listenerPath": socket,
            "listenerMetadata": "test-metadata",
            "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_NOTIFY"}]
        }),
    );
    let out = c.run_capture().ok();
    assert!(
        out.stdout.contains("Permission denied\nrc=1\n"),
        "the agent's EACCES reaches the container: {out:?}"
    );
    let message = agent.join().unwrap();
    assert_eq!(message["fds"], json!(["seccompFd"]), "{message}");
    assert_eq!(message["metadata"], "test-metadata", "{message}");
    assert_eq!(message["state"]["id"], c.id.as_str(), "{message}");
    assert!(message["pid"].as_i64().unwrap() > 0, "{message}");
}
