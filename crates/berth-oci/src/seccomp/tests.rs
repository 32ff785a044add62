use std::ffi::CString;
use std::io::Read;
use std::os::fd::AsFd;
use std::os::unix::net::UnixListener;

use libc::{EBADF, ENOSYS, ENOTSUP, EPERM, EXDEV};
use nix::sys::signal::Signal;
use nix::sys::socket::{recvmsg, ControlMessageOwned};
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::Pid;
use serde_json::{json, Value};

use super::*;

/// Exit code of a child whose filter failed to load.
const LOAD_FAILED: i32 = 200;

fn profile(value: Value) -> LinuxSeccomp {
    serde_json::from_value(value).unwrap()
}

fn compile_json(value: Value) -> Result<CompiledFilter, SeccompError> {
    compile(&profile(value))
}

/// The errno of the last libc call if it returned -1, else 0.
fn errno_of(rc: libc::c_long) -> i32 {
    if rc == -1 {
        Errno::last_raw()
    } else {
        0
    }
}

fn getppid_errno() -> i32 {
    // SAFETY: plain syscall.
    errno_of(unsafe { libc::syscall(libc::SYS_getppid) })
}

fn dup3_errno(oldfd: u64, newfd: u64) -> i32 {
    // SAFETY: the fds are not open, so dup3 changes nothing unless it is filtered.
    errno_of(unsafe { libc::syscall(libc::SYS_dup3, oldfd, newfd, 0) })
}

/// Forks; the child sets no_new_privs, loads `filter` (as the container child will) and
/// exits with `probe`'s result. The test harness is multi-threaded, so the child makes only
/// raw syscalls and leaves with `_exit`.
fn run_in_child(filter: CompiledFilter, probe: impl FnOnce(Option<OwnedFd>) -> i32) -> WaitStatus {
    // SAFETY: see above; the child never returns into the harness.
    match unsafe { libc::fork() } {
        0 => {
            // SAFETY: async-signal-safe syscalls; not dumpable means SIGSYS leaves no core.
            unsafe {
                libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
                libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
            }
            let code = match filter.load() {
                Ok(listener) => probe(listener),
                Err(_) => LOAD_FAILED,
            };
            // SAFETY: ends the child without running the harness's destructors.
            unsafe { libc::_exit(code) }
        }
        -1 => panic!("fork: {}", Errno::last()),
        pid => waitpid(Pid::from_raw(pid), None).unwrap(),
    }
}

fn assert_exit(status: WaitStatus, code: i32) {
    assert!(
        matches!(status, WaitStatus::Exited(_, c) if c == code),
        "{status:?}, expected exit {code}"
    );
}

fn assert_sigsys(status: WaitStatus) {
    assert!(
        matches!(status, WaitStatus::Signaled(_, Signal::SIGSYS, _)),
        "{status:?}, expected SIGSYS"
    );
}

/// A trimmed version of Docker's default profile: deny by default, a long allow list
/// including names this host's libseccomp may not know, and argument rules.
fn docker_like() -> Value {
    let allowed = "\
        accept accept4 access adjtimex alarm bind brk cachestat capget capset chdir chmod \
        chown clock_getres clock_gettime clock_nanosleep close close_range connect \
        copy_file_range creat dup dup2 dup3 epoll_create epoll_create1 epoll_ctl epoll_pwait \
        epoll_pwait2 epoll_wait eventfd eventfd2 execve execveat exit exit_group faccessat \
        faccessat2 fadvise64 fallocate fchdir fchmod fchmodat fchmodat2 fchown fchownat \
        fcntl fdatasync flock fork fstat fstatfs fsync ftruncate futex futex_waitv getcwd \
        getdents getdents64 getegid geteuid getgid getgroups getpeername getpgid getpgrp \
        getpid getpriority getrandom getresgid getresuid getrlimit getrusage getsid \
        getsockname getsockopt gettid gettimeofday getuid ioctl kill landlock_add_rule \
        landlock_create_ruleset landlock_restrict_self lseek lstat madvise map_shadow_stack \
        memfd_create mkdir mkdirat mmap mprotect mremap mseal munmap nanosleep newfstatat \
        open openat openat2 pipe pipe2 poll ppoll prctl pread64 prlimit64 pselect6 pwrite64 \
        read readlink readlinkat readv recvfrom recvmsg rename renameat renameat2 rseq \
        rt_sigaction rt_sigprocmask rt_sigreturn sched_getaffinity sched_yield select \
        sendmsg sendto set_robust_list set_tid_address setsockopt sigaltstack socket \
        socketcall socketpair stat statfs statx symlink tgkill umask uname unlink unlinkat \
        wait4 waitid write writev _llseek ugetrlimit berth_future_syscall";
    let allowed: Vec<&str> = allowed.split_whitespace().collect();
    json!({
        "defaultAction": "SCMP_ACT_ERRNO",
        "defaultErrnoRet": 1,
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        "syscalls": [
            {"names": allowed, "action": "SCMP_ACT_ALLOW"},
            {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
             "args": [{"index": 0, "value": 0, "op": "SCMP_CMP_EQ"}]},
            {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
             "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]},
            {"names": ["clone"], "action": "SCMP_ACT_ALLOW",
             "args": [{"index": 0, "value": 2114060288u64, "valueTwo": 0,
                       "op": "SCMP_CMP_MASKED_EQ"}]},
            {"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38},
            {"names": ["getppid"], "action": "SCMP_ACT_ERRNO"}
        ]
    })
}

#[test]
fn docker_like_profile_denies_everything_not_listed() {
    let filter = compile_json(docker_like()).unwrap();
    assert!(!filter.needs_notify_listener());
    let status = run_in_child(filter, |_| {
        // SAFETY: plain syscalls.
        let getpid = errno_of(unsafe { libc::syscall(libc::SYS_getpid) });
        let clone3 = errno_of(unsafe { libc::syscall(libc::SYS_clone3, 0, 0) });
        // SAFETY: as above; acct is not on the allow list.
        let acct = errno_of(unsafe { libc::syscall(libc::SYS_acct, 0) });
        match (getpid, clone3, acct, getppid_errno()) {
            (0, ENOSYS, EPERM, EPERM) => 0,
            _ => 1,
        }
    });
    assert_exit(status, 0);
}

#[test]
fn errno_action_fails_syscalls_with_the_given_errno() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("blocked");
    let target_c = CString::new(target.as_os_str().as_encoded_bytes()).unwrap();
    let filter = compile_json(json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [
            {"names": ["getpid"], "action": "SCMP_ACT_ERRNO", "errnoRet": EXDEV},
            {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": ENOTSUP},
            {"names": ["getppid"], "action": "SCMP_ACT_ERRNO"}
        ]
    }))
    .unwrap();
    let status = run_in_child(filter, |_| {
        // SAFETY: plain syscalls; the path outlives the call.
        let getpid = errno_of(unsafe { libc::syscall(libc::SYS_getpid) });
        let mkdir = errno_of(libc::c_long::from(unsafe {
            libc::mkdir(target_c.as_ptr(), 0o755)
        }));
        match (getpid, mkdir, getppid_errno()) {
            (EXDEV, ENOTSUP, EPERM) => 0,
            _ => 1,
        }
    });
    assert_exit(status, 0);
    assert!(!target.exists());
}

#[test]
fn trace_without_tracer_fails_with_enosys_and_log_allows() {
    let filter = compile_json(json!({
        "defaultAction": "SCMP_ACT_LOG",
        "syscalls": [
            {"names": ["getppid"], "action": "SCMP_ACT_TRACE", "errnoRet": 7},
            {"names": ["getpid"], "action": "SCMP_ACT_ALLOW"}
        ]
    }))
    .unwrap();
    let status = run_in_child(filter, |_| {
        match (getppid_errno(), dup3_errno(1000, 5000)) {
            (ENOSYS, EBADF) => 0,
            _ => 1,
        }
    });
    assert_exit(status, 0);
}

#[test]
fn kill_and_trap_actions_end_the_process_with_sigsys() {
    for action in [
        "SCMP_ACT_KILL",
        "SCMP_ACT_KILL_THREAD",
        "SCMP_ACT_KILL_PROCESS",
        "SCMP_ACT_TRAP",
    ] {
        let filter = compile_json(json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["getppid"], "action": action}]
        }))
        .unwrap();
        let status = run_in_child(filter, |_| getppid_errno());
        assert_sigsys(status);
    }
}

#[test]
fn notify_rule_returns_a_listener_fd() {
    let flags = [
        json!([]),
        json!([
            "SECCOMP_FILTER_FLAG_TSYNC",
            "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"
        ]),
    ];
    for flags in flags {
        let filter = compile_json(json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "listenerPath": "/run/agent.sock",
            "flags": flags,
            "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_NOTIFY"}]
        }))
        .unwrap();
        assert!(filter.needs_notify_listener());
        // The probe must not call getppid: nobody answers the notification.
        let status = run_in_child(filter, |listener| match listener {
            // SAFETY: F_GETFD only reads the fd's flags.
            Some(fd)
                if unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFD) } == libc::FD_CLOEXEC =>
            {
                0
            }
            _ => 1,
        });
        assert_exit(status, 0);
    }
}

#[test]
fn filter_flags_are_accepted_by_the_kernel() {
    assert!(
        !kernel_accepts(1 << 30),
        "an undefined flag must be refused"
    );
    let filter = compile_json(json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "flags": [
            "SECCOMP_FILTER_FLAG_TSYNC",
            "SECCOMP_FILTER_FLAG_LOG",
            "SECCOMP_FILTER_FLAG_SPEC_ALLOW"
        ],
        "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": EXDEV}]
    }))
    .unwrap();
    assert_exit(run_in_child(filter, |_| getppid_errno()), EXDEV);
}

#[test]
fn every_argument_operator_matches_like_libseccomp() {
    // dup3 on unopened fds fails with EBADF; EXDEV shows that the rule matched.
    let cases = [
        ("SCMP_CMP_NE", 1000, 1001, 1000),
        ("SCMP_CMP_LT", 1000, 999, 1000),
        ("SCMP_CMP_LE", 1000, 1000, 1001),
        ("SCMP_CMP_EQ", 1000, 1000, 1001),
        ("SCMP_CMP_GE", 1000, 1000, 999),
        ("SCMP_CMP_GT", 1000, 1001, 1000),
        // value is the mask, valueTwo the expected bits.
        ("SCMP_CMP_MASKED_EQ", 0xf0, 0x3013, 0x3033),
    ];
    for (op, value, matching, other) in cases {
        let filter = compile_json(json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{
                "names": ["dup3"], "action": "SCMP_ACT_ERRNO", "errnoRet": EXDEV,
                "args": [{"index": 0, "value": value, "valueTwo": 0x10, "op": op}]
            }]
        }))
        .unwrap();
        let status = run_in_child(filter, |_| {
            match (dup3_errno(matching, 5000), dup3_errno(other, 5000)) {
                (EXDEV, EBADF) => 0,
                _ => 1,
            }
        });
        assert_exit(status, 0);
    }
}

#[test]
fn comparisons_of_one_argument_are_or_and_of_different_arguments_and() {
    let filter = compile_json(json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [
            {"names": ["dup3"], "action": "SCMP_ACT_ERRNO", "errnoRet": EXDEV, "args": [
                {"index": 0, "value": 1001, "op": "SCMP_CMP_EQ"},
                {"index": 0, "value": 1002, "op": "SCMP_CMP_EQ"}
            ]},
            {"names": ["dup3"], "action": "SCMP_ACT_ERRNO", "errnoRet": ENOTSUP, "args": [
                {"index": 0, "value": 2001, "op": "SCMP_CMP_EQ"},
                {"index": 1, "value": 5001, "op": "SCMP_CMP_EQ"}
            ]}
        ]
    }))
    .unwrap();
    let status = run_in_child(filter, |_| {
        let or = (
            dup3_errno(1001, 5000),
            dup3_errno(1002, 5000),
            dup3_errno(1003, 5000),
        );
        let and = (
            dup3_errno(2001, 5001),
            dup3_errno(2001, 5002),
            dup3_errno(2002, 5001),
        );
        match (or, and) {
            ((EXDEV, EXDEV, EBADF), (ENOTSUP, EBADF, EBADF)) => 0,
            _ => 1,
        }
    });
    assert_exit(status, 0);
}

#[test]
fn unknown_syscalls_and_rules_with_the_default_action_are_skipped() {
    let filter = compile_json(json!({
        "defaultAction": "SCMP_ACT_ERRNO",
        "syscalls": [
            {"names": ["berth_future_syscall", "getppid"], "action": "SCMP_ACT_ERRNO",
             "errnoRet": EXDEV},
            {"names": ["getpid"], "action": "SCMP_ACT_ERRNO", "errnoRet": EPERM},
            {"names": ["getpid"], "action": "SCMP_ACT_ERRNO"},
            {"names": ["exit", "exit_group", "dup3"], "action": "SCMP_ACT_ALLOW"}
        ]
    }))
    .unwrap();
    assert_exit(run_in_child(filter, |_| getppid_errno()), EXDEV);

    let kill = compile_json(json!({
        "defaultAction": "SCMP_ACT_KILL",
        "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_KILL_THREAD"}]
    }));
    assert!(kill.is_ok());
}

#[test]
fn each_architecture_adds_to_the_program() {
    let native = compile_json(json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["getppid", "socketcall"], "action": "SCMP_ACT_ERRNO"}]
    }))
    .unwrap();
    let multi = compile_json(json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures":
            ["SCMP_ARCH_NATIVE", "SCMP_ARCH_X86", "SCMP_ARCH_X32", "SCMP_ARCH_AARCH64"],
        "syscalls": [{"names": ["getppid", "socketcall"], "action": "SCMP_ACT_ERRNO"}]
    }))
    .unwrap();
    assert!(
        multi.program.len() > native.program.len(),
        "{native:?} vs {multi:?}"
    );
}

#[test]
fn architecture_unknown_to_libseccomp_is_an_error() {
    let version = libseccomp::ScmpVersion::current().unwrap();
    if (version.major, version.minor) >= (2, 6) {
        return; // LoongArch is supported from libseccomp 2.6 on.
    }
    let err = compile_json(json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ["SCMP_ARCH_LOONGARCH64"]
    }))
    .unwrap_err();
    assert!(
        matches!(
            err,
            SeccompError::Arch {
                arch: Arch::ScmpArchLoongarch64,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("SCMP_ARCH_LOONGARCH64"), "{err}");
}

#[test]
fn unknown_action_arch_operator_and_flag_names_are_rejected_when_parsing() {
    let base = json!({"defaultAction": "SCMP_ACT_ALLOW"});
    let bad = [
        ("defaultAction", json!("SCMP_ACT_BOGUS")),
        ("architectures", json!(["SCMP_ARCH_BOGUS"])),
        ("flags", json!(["SECCOMP_FILTER_FLAG_BOGUS"])),
        (
            "syscalls",
            json!([{"names": ["getpid"], "action": "SCMP_ACT_ALLOW",
                             "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_BOGUS"}]}]),
        ),
    ];
    for (field, value) in bad {
        let mut config = base.clone();
        config[field] = value;
        assert!(
            serde_json::from_value::<LinuxSeccomp>(config).is_err(),
            "{field} accepted"
        );
    }
}

#[test]
fn invalid_profiles_fail_with_context() {
    let allow_but = |rule: Value| json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [rule]});
    let cases = [
        (
            allow_but(json!({"names": [""], "action": "SCMP_ACT_ERRNO"})),
            "syscalls[0]: syscall names must be present",
        ),
        (
            allow_but(json!({"names": [], "action": "SCMP_ACT_ERRNO"})),
            "syscalls[0]: syscall names must be present",
        ),
        (
            json!({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
                {"names": ["getpid"], "action": "SCMP_ACT_ALLOW"},
                {"names": ["getppid"], "action": "SCMP_ACT_ALLOW", "errnoRet": 1}
            ]}),
            "syscalls[1]: errnoRet 1 given for SCMP_ACT_ALLOW",
        ),
        (
            json!({"defaultAction": "SCMP_ACT_KILL", "defaultErrnoRet": 1}),
            "defaultAction: errnoRet 1 given for SCMP_ACT_KILL",
        ),
        (
            json!({"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 70000}),
            "defaultAction: errnoRet 70000 does not fit",
        ),
        (
            allow_but(json!({"names": ["dup3"], "action": "SCMP_ACT_ERRNO",
                             "args": [{"index": 6, "value": 1, "op": "SCMP_CMP_EQ"}]})),
            "syscalls[0]: argument index 6",
        ),
        (
            json!({"defaultAction": "SCMP_ACT_NOTIFY", "listenerPath": "/a"}),
            "cannot be the default action",
        ),
        (
            json!({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/a", "syscalls": [
                {"names": ["read", "write"], "action": "SCMP_ACT_NOTIFY"}
            ]}),
            "cannot be used for write",
        ),
        (
            allow_but(json!({"names": ["mount"], "action": "SCMP_ACT_NOTIFY"})),
            "listenerPath is not set",
        ),
        (
            json!({"defaultAction": "SCMP_ACT_ALLOW", "listenerMetadata": "x"}),
            "listenerMetadata is set but listenerPath is not",
        ),
        (
            json!({"defaultAction": "SCMP_ACT_ALLOW",
                   "flags": ["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"]}),
            "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV needs an SCMP_ACT_NOTIFY rule",
        ),
    ];
    for (config, expected) in cases {
        let err = compile_json(config.clone()).unwrap_err().to_string();
        assert!(
            err.contains(expected),
            "{config}: {err:?} does not contain {expected:?}"
        );
    }
}

/// Accepts one connection and returns the payload and the fds that came with it.
fn accept_one(listener: &UnixListener) -> (Vec<u8>, Vec<RawFd>) {
    let (mut conn, _) = listener.accept().unwrap();
    let mut buf = [0u8; 4096];
    let mut cmsg = nix::cmsg_space!([RawFd; 2]);
    let mut iov = [io::IoSliceMut::new(&mut buf)];
    let msg = recvmsg::<UnixAddr>(
        conn.as_raw_fd(),
        &mut iov,
        Some(&mut cmsg),
        MsgFlags::MSG_CMSG_CLOEXEC,
    )
    .unwrap();
    let mut fds = Vec::new();
    for cmsg in msg.cmsgs().unwrap() {
        if let ControlMessageOwned::ScmRights(received) = cmsg {
            fds.extend(received);
        }
    }
    let len = msg.bytes;
    let mut payload = buf[..len].to_vec();
    conn.read_to_end(&mut payload).unwrap();
    (payload, fds)
}

#[test]
fn listener_gets_the_container_process_state_and_the_fd() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("agent.sock");
    let listener = UnixListener::bind(&socket).unwrap();
    let agent = std::thread::spawn(move || accept_one(&listener));

    let (read_end, write_end) = nix::unistd::pipe().unwrap();
    let state = json!({"ociVersion": "1.2.0", "id": "c1", "status": "creating", "pid": 4242,
                       "bundle": "/bundles/c1", "annotations": {"k": "v"}});
    send_listener_fd(
        &socket,
        write_end.as_fd(),
        &serde_json::to_vec(&state).unwrap(),
        4242,
        "MKNOD=/dev/null",
    )
    .unwrap();

    let (payload, fds) = agent.join().unwrap();
    let message: Value = serde_json::from_slice(&payload).unwrap();
    assert_eq!(message["ociVersion"], "1.2.0");
    assert_eq!(message["fds"], json!(["seccompFd"]));
    assert_eq!(message["pid"], 4242);
    assert_eq!(message["metadata"], "MKNOD=/dev/null");
    assert_eq!(message["state"], state);
    assert_eq!(fds.len(), 1);
    // The received fd is the same pipe: what goes in comes out of our read end.
    // SAFETY: the fd was just received and is owned by nobody else.
    let received = unsafe { OwnedFd::from_raw_fd(fds[0]) };
    nix::unistd::write(&received, b"x").unwrap();
    let mut byte = [0u8; 1];
    nix::unistd::read(&read_end, &mut byte).unwrap();
    assert_eq!(&byte, b"x");
}

#[test]
fn listener_errors_name_the_socket() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("missing.sock");
    let (_read_end, write_end) = nix::unistd::pipe().unwrap();
    let state = br#"{"ociVersion": "1.2.0", "id": "c", "status": "creating", "pid": 1}"#;

    let err = send_listener_fd(&socket, write_end.as_fd(), state, 1, "").unwrap_err();
    assert!(matches!(err, SeccompError::ListenerConnect { .. }), "{err}");
    assert!(err.to_string().contains("missing.sock"), "{err}");

    let err = send_listener_fd(&socket, write_end.as_fd(), b"not json", 1, "").unwrap_err();
    assert!(matches!(err, SeccompError::ListenerState { .. }), "{err}");
}

#[test]
fn compiled_programs_are_cached_and_damaged_entries_recompiled() {
    let dir = tempfile::tempdir().unwrap();
    let seccomp = profile(docker_like());
    let fresh = encode_cached(&compile(&seccomp).unwrap());
    assert_eq!(
        encode_cached(&compile_cached(&seccomp, dir.path()).unwrap()),
        fresh
    );
    let entries: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(
        encode_cached(&decode_cached(&std::fs::read(&entries[0]).unwrap()).unwrap()),
        fresh
    );
    assert_eq!(
        encode_cached(&compile_cached(&seccomp, dir.path()).unwrap()),
        fresh
    );
    // A truncated or foreign file is never loaded as a filter.
    std::fs::write(&entries[0], b"BERTHBPF\x00").unwrap();
    assert!(decode_cached(&std::fs::read(&entries[0]).unwrap()).is_none());
    assert_eq!(
        encode_cached(&compile_cached(&seccomp, dir.path()).unwrap()),
        fresh
    );
    // Another profile gets another entry.
    let mut other = docker_like();
    other["defaultErrnoRet"] = serde_json::json!(38);
    compile_cached(&profile(other), dir.path()).unwrap();
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
}
