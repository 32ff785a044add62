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
