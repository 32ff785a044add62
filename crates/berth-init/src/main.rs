//! berth-init: PID 1 of containers run with `--init` (Docker's docker-init, i.e. tini). It runs
//! the container's command as its only child, forwards the signals it receives to it, reaps
//! every zombie reparented to it (a plain shell or server as PID 1 leaves them), and exits with
//! the child's status (128 + signal when killed, as a shell reports it).
//!
//! usage: berth-init [--] COMMAND [ARGS...]
//!
//! It is bound into the container read-only at /sbin/docker-init, so it must not need anything
//! from the image: the production binary is static (scripts/build-static.sh berth-init).

use std::ffi::{CString, OsString};
use std::os::unix::ffi::OsStrExt;

use nix::sys::signal::{SigSet, SigmaskHow, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::{execvp, fork, ForkResult, Pid};

fn main() {
    let mut args: Vec<OsString> = std::env::args_os().skip(1).collect();
    if args.first().is_some_and(|a| a == "--") {
        args.remove(0);
    }
    if args.is_empty() {
        eprintln!("usage: berth-init [--] COMMAND [ARGS...]");
        std::process::exit(2);
    }
    let argv: Vec<CString> = match args
        .iter()
        .map(|a| CString::new(a.as_bytes()))
        .collect::<Result<_, _>>()
    {
        Ok(v) => v,
        Err(_) => {
            eprintln!("berth-init: an argument contains a NUL byte");
            std::process::exit(2);
        }
    };
    // Every signal waits in the queue until we pick it up in the loop below; the child gets the
    // mask back before exec.
    let all = SigSet::all();
    let mut original = SigSet::empty();
    if let Err(e) =
        nix::sys::signal::sigprocmask(SigmaskHow::SIG_SETMASK, Some(&all), Some(&mut original))
    {
        eprintln!("berth-init: block signals: {e}");
        std::process::exit(1);
    }
    // SAFETY: single-threaded; the child only calls async-signal-safe functions before exec.
    let child = match unsafe { fork() } {
        Ok(ForkResult::Child) => run_child(&argv, &original),
        Ok(ForkResult::Parent { child }) => child,
        Err(e) => {
            eprintln!("berth-init: fork: {e}");
            std::process::exit(1);
        }
    };
    std::process::exit(supervise(child, &all));
}

/// In the child: its own process group with the terminal (so job control and ^C work as if it
/// were PID 1), the original signal mask, then the command.
fn run_child(argv: &[CString], original: &SigSet) -> ! {
    let _ = nix::unistd::setpgid(Pid::from_raw(0), Pid::from_raw(0));
    // SAFETY: isatty and tcsetpgrp on fd 0 are plain syscalls; SIGTTOU is blocked here.
    unsafe {
        if libc::isatty(0) == 1 {
            libc::tcsetpgrp(0, libc::getpid());
        }
    }
    let _ = nix::sys::signal::sigprocmask(SigmaskHow::SIG_SETMASK, Some(original), None);
    let err = execvp(&argv[0], argv)
        .err()
        .unwrap_or(nix::errno::Errno::UnknownErrno);
    eprintln!(
        "berth-init: exec {}: {err}",
        String::from_utf8_lossy(argv[0].as_bytes())
    );
    // 127 for "not found", 126 for "found but not runnable", as shells and Docker report.
    // SAFETY: _exit skips atexit handlers that belong to the parent.
    unsafe {
        libc::_exit(if err == nix::errno::Errno::ENOENT {
            127
        } else {
            126
        })
    }
}

/// Waits for signals: SIGCHLD reaps, anything else goes to the child. Returns the exit code.
fn supervise(child: Pid, all: &SigSet) -> i32 {
    loop {
        let Ok(signal) = all.wait() else { continue };
        if signal != Signal::SIGCHLD {
            // The child may be gone already; its exit is picked up with the next SIGCHLD.
            let _ = nix::sys::signal::kill(child, signal);
            continue;
        }
        loop {
            match waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::Exited(pid, code)) if pid == child => return code,
                Ok(WaitStatus::Signaled(pid, sig, _)) if pid == child => return 128 + sig as i32,
                // A reparented orphan: reaped, nothing more to do.
                Ok(WaitStatus::Exited(..)) | Ok(WaitStatus::Signaled(..)) => {}
                Ok(_) | Err(_) => break,
            }
        }
    }
}
