//! Starting a plugin without a fork of the caller: `clone(CLONE_VM | CLONE_VFORK)`, as
//! glibc's posix_spawn does, plus the one thing posix_spawn cannot do, a parent-death signal.
//! A fork copies the page tables of the whole caller (berthd: tens of MB) and its exec throws
//! the copy away again; that was milliseconds of every CNI ADD and DEL.

use std::ffi::{c_int, c_void, CString, OsStr};
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::ExitStatus;
use std::sync::atomic::{AtomicI32, Ordering};

/// The child runs on this much of our memory until its exec: a few libc calls deep.
const CHILD_STACK: usize = 64 * 1024;

/// A started plugin: its pid (also its process group) and our ends of its stdio pipes.
pub(crate) struct Child {
    pub pid: libc::pid_t,
    pub stdin: File,
    pub stdout: File,
    pub stderr: File,
}

/// What the child reads from the parent's memory (shared until its exec).
struct ChildArgs {
    path: *const libc::c_char,
    argv: *const *const libc::c_char,
    envp: *const *const libc::c_char,
    parent: libc::pid_t,
    /// The child's stdin, stdout and stderr.
    fds: [c_int; 3],
    mask: libc::sigset_t,
    /// The errno of the step that failed, 0 when the exec happened.
    errno: AtomicI32,
}

/// Starts `path` with `env` (`K=V` entries) in a process group of its own, dying with the
/// calling thread (PR_SET_PDEATHSIG), its stdio on fresh pipes.
pub(crate) fn spawn(path: &Path, env: &[Vec<u8>]) -> io::Result<Child> {
    let path = cstring(path.as_os_str())?;
    let env = env
        .iter()
        .map(|e| cstring(OsStr::from_bytes(e)))
        .collect::<io::Result<Vec<_>>>()?;
    let argv = [path.as_ptr(), std::ptr::null()];
    let envp: Vec<*const libc::c_char> = env
        .iter()
        .map(|e| e.as_ptr())
        .chain(std::iter::once(std::ptr::null()))
        .collect();
    // Close-on-exec: the child's copies are its 0-2, made by dup2.
    let (stdin_r, stdin_w) = io::pipe()?;
    let (stdout_r, stdout_w) = io::pipe()?;
    let (stderr_r, stderr_w) = io::pipe()?;
    let mut args = ChildArgs {
        path: path.as_ptr(),
        argv: argv.as_ptr(),
        envp: envp.as_ptr(),
        parent: std::process::id() as libc::pid_t,
        fds: [
            stdin_r.as_raw_fd(),
            stdout_w.as_raw_fd(),
            stderr_w.as_raw_fd(),
        ],
        // SAFETY: an all-zero sigset_t is valid; pthread_sigmask below fills it in.
        mask: unsafe { std::mem::zeroed() },
        errno: AtomicI32::new(0),
    };
    let mut stack = vec![0u8; CHILD_STACK];
    // SAFETY: the stack outlives the child's use of it (CLONE_VFORK suspends us until the
    // child's exec or exit); the top is 16-byte aligned as the ABI asks.
    let top = unsafe { stack.as_mut_ptr().add(CHILD_STACK) };
    let top = top.wrapping_sub(top as usize % 16);
    // No signal handler of ours may run in the child, which shares our memory: all signals
    // are blocked across the clone; the child resets the handlers, then restores the mask.
    // SAFETY: sigfillset and pthread_sigmask only write the sets they are given.
    let pid = unsafe {
        let mut all: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut all);
        libc::pthread_sigmask(libc::SIG_SETMASK, &all, &mut args.mask);
        // SAFETY: child_main only makes async-signal-safe calls on `args`, which lives in this
        // frame until the clone returns (after the child's exec or exit).
        let pid = libc::clone(
            child_main,
            top.cast::<c_void>(),
            libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD,
            (&raw mut args).cast::<c_void>(),
        );
        let cloned = if pid < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(pid)
        };
        libc::pthread_sigmask(libc::SIG_SETMASK, &args.mask, std::ptr::null_mut());
        cloned
    }?;
    drop((stdin_r, stdout_w, stderr_w));
    let errno = args.errno.load(Ordering::Acquire);
    if errno != 0 {
        let _ = wait(pid);
        return Err(io::Error::from_raw_os_error(errno));
    }
    Ok(Child {
        pid,
        stdin: OwnedFd::from(stdin_w).into(),
        stdout: OwnedFd::from(stdout_r).into(),
        stderr: OwnedFd::from(stderr_r).into(),
    })
}

/// Waits for the child `pid` to exit.
pub(crate) fn wait(pid: libc::pid_t) -> io::Result<ExitStatus> {
    loop {
        let mut status = 0;
        // SAFETY: waitpid writes only `status`.
        if unsafe { libc::waitpid(pid, &mut status, 0) } == pid {
            return Ok(ExitStatus::from_raw(status));
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// The child, on the parent's memory until its exec: only async-signal-safe calls, no
/// allocation. A failure leaves its errno in `args` and exits 127.
extern "C" fn child_main(arg: *mut c_void) -> c_int {
    // SAFETY: `arg` is the parent's ChildArgs, alive and unchanged while the parent waits.
    let args = unsafe { &*arg.cast::<ChildArgs>() };
    let fail = || -> c_int {
        args.errno.store(
            io::Error::last_os_error()
                .raw_os_error()
                .unwrap_or(libc::EIO),
            Ordering::Release,
        );
        // SAFETY: _exit ends the child without running anything of the parent's.
        unsafe { libc::_exit(127) }
    };
    // SAFETY: each call below is async-signal-safe and touches only the child's own state
    // (its parent-death signal, process group, fd table, signal handlers and mask).
    unsafe {
        if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
            return fail();
        }
        // The caller may have died before the prctl: then nobody waits for us.
        if libc::getppid() != args.parent {
            args.errno.store(libc::ESRCH, Ordering::Release);
            libc::_exit(127);
        }
        if libc::setpgid(0, 0) != 0 {
            return fail();
        }
        for (target, &fd) in (0..).zip(args.fds.iter()) {
            // dup2 onto itself would keep O_CLOEXEC; the pipes are never 0-2 while those are
            // open, but a caller with a closed stdio is no reason to break.
            let rc = if fd == target {
                libc::fcntl(fd, libc::F_SETFD, 0)
            } else {
                libc::dup2(fd, target)
            };
            if rc < 0 {
                return fail();
            }
        }
        // Our handlers go (exec would drop them anyway, but one could run before it); so does
        // the SIGPIPE ignore Rust's runtime set for itself, as std's spawn resets it. Other
        // ignored signals stay ignored across exec, as POSIX has it.
        for sig in 1..=64 {
            let mut old: libc::sigaction = std::mem::zeroed();
            if libc::sigaction(sig, std::ptr::null(), &mut old) == 0
                && old.sa_sigaction != libc::SIG_DFL
                && (old.sa_sigaction != libc::SIG_IGN || sig == libc::SIGPIPE)
            {
                let mut dfl: libc::sigaction = std::mem::zeroed();
                dfl.sa_sigaction = libc::SIG_DFL;
                libc::sigaction(sig, &dfl, std::ptr::null_mut());
            }
        }
        libc::pthread_sigmask(libc::SIG_SETMASK, &args.mask, std::ptr::null_mut());
        libc::execve(args.path, args.argv, args.envp);
    }
    fail()
}

fn cstring(s: &OsStr) -> io::Result<CString> {
    CString::new(s.as_bytes()).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("NUL byte in {}", s.to_string_lossy()),
        )
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
