//! Seccomp profiles as the container experiences them: a denied syscall returns EPERM to busybox,
//! and a default-deny profile with an allow list still runs a shell.
#![allow(clippy::unwrap_used)]

mod common;

use common::{check_except_known_gaps, status_field, Container};
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

/// A static program that makes the syscall named by its argument and prints `<name> <errno>`
/// (0 on success): busybox makes neither fchdir nor close_range.
const PROBE_C: &str = r#"
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv) {
    char buf[4096];
    long rc;
    if (argc != 2) return 2;
    if (!strcmp(argv[1], "getcwd")) rc = syscall(SYS_getcwd, buf, sizeof buf);
    else if (!strcmp(argv[1], "fchdir")) rc = syscall(SYS_fchdir, open("/", O_RDONLY | O_DIRECTORY));
    else if (!strcmp(argv[1], "close_range")) rc = syscall(SYS_close_range, 1000, 1001, 0);
    else return 2;
    printf("%s %d\n", argv[1], rc < 0 ? errno : 0);
    return 0;
}
"#;

/// The directory holding the compiled probe, built once per test process with the C compiler
/// every Rust build already needs (and glibc's static archive from libc6-dev).
fn probe_dir() -> &'static std::path::Path {
    static DIR: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::Builder::new()
            .prefix("berth-syscall-probe")
            .tempdir()
            .unwrap();
        std::fs::write(dir.path().join("probe.c"), PROBE_C).unwrap();
        let status = std::process::Command::new("cc")
            .args(["-static", "-O", "-o"])
            .arg(dir.path().join("probe"))
            .arg(dir.path().join("probe.c"))
            .status()
            .expect("run cc");
        assert!(status.success(), "cc -static failed (libc6-dev installed?)");
        // A tempdir is 0700; the container's root must traverse the bind source.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        dir
    })
    .path()
}

const PROBED: [&str; 3] = ["getcwd", "fchdir", "close_range"];

/// Denies `denied` with EPERM: the container still starts, and its own program is what the
/// filter constrains (the other probed syscalls still work). With and without no_new_privs,
/// which changes when the runtime may load the filter.
fn denied_syscall_constrains_only_the_container(denied: &str) {
    for nnp in [true, false] {
        // CapEff too: without no_new_privs the capabilities are dropped after the filter.
        let script = PROBED.map(|s| format!("/mnt/probe {s}; ")).concat()
            + "grep ^CapEff: /proc/self/status";
        let Some(mut c) = Container::new("seccomp-late", &["sh", "-c", &script]) else {
            return;
        };
        c.set("/process/noNewPrivileges", json!(nnp));
        c.set("/process/cwd", json!("/etc"));
        c.push(
            "/mounts",
            json!({"destination": "/mnt", "type": "bind", "source": probe_dir(),
                   "options": ["rbind", "ro"]}),
        );
        c.set(
            "/linux/seccomp",
            json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
                {"names": [denied], "action": "SCMP_ACT_ERRNO", "errnoRet": libc::EPERM}
            ]}),
        );
        let caps = common::cap_mask(&["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]);
        let expected: String = PROBED
            .iter()
            .map(|s| {
                let errno = if *s == denied { libc::EPERM } else { 0 };
                format!("{s} {errno}\n")
            })
            .chain([format!("CapEff:\t{caps:016x}\n")])
            .collect();
        // create + start, so the fifo wait and startContainer path run too.
        let created = c.create();
        let result = if created.code != 0 {
            Err(format!("create failed: {created:?}"))
        } else {
            c.start().ok();
            assert!(c.wait_status("stopped"), "status {}", c.status());
            match c.container_output() {
                (out, err) if out == expected && err.is_empty() => Ok(()),
                output => Err(format!("{output:?}, expected {expected:?}")),
            }
        };
        let gaps: &[(&str, &str)] = if denied == "getcwd" && !nnp {
            &[(
                "runc",
                "runc loads the filter before its getcwd safety check without no_new_privs",
            )]
        } else {
            &[]
        };
        check_except_known_gaps(
            result.map_err(|e| format!("{denied} denied, noNewPrivileges {nnp}: {e}")),
            gaps,
        );
    }
}

#[test]
fn denied_getcwd_constrains_only_the_container() {
    denied_syscall_constrains_only_the_container("getcwd");
}

#[test]
fn denied_fchdir_constrains_only_the_container() {
    denied_syscall_constrains_only_the_container("fchdir");
}

#[test]
fn denied_close_range_constrains_only_the_container() {
    denied_syscall_constrains_only_the_container("close_range");
}
