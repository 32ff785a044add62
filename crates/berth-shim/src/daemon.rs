//! Leaving berthd: the shim must survive the daemon's exit, crash, restart and any signal sent to
//! its process group or session, and it must become the parent of the container process.

use std::fs::OpenOptions;

use nix::sys::prctl;
use nix::unistd::{chdir, dup2_stderr, dup2_stdin, dup2_stdout, fork, setsid, ForkResult};

use crate::error::{io_err, sys, ShimError};

/// Double-forks into a new session and returns in the grandchild; the original process and the
/// intermediate child exit 0 (the spawner reaps the first, init or a subreaper the second).
///
/// The first fork makes `setsid` possible (a group leader cannot call it); `setsid` leaves
/// berthd's session and process group, so `kill(-pgid)` or a terminal hangup aimed at the daemon
/// misses us; the second fork gives up session leadership so the shim can never acquire a
/// controlling terminal by opening a tty.
pub fn detach() -> Result<(), ShimError> {
    for step in ["fork", "fork again"] {
        // SAFETY: the shim is single-threaded, so the child may run arbitrary code after fork.
        match unsafe { fork() }.map_err(sys(step))? {
            // _exit: the parent must not run destructors or flush buffers it shares with the child.
            // SAFETY: ends this process immediately; nothing else runs.
            ForkResult::Parent { .. } => unsafe { libc::_exit(0) },
            ForkResult::Child => {}
        }
        if step == "fork" {
            setsid().map_err(sys("setsid"))?;
        }
    }
    // The container init is the runtime's child; when `runtime create` exits it is reparented to
    // the nearest subreaper, which is how the shim gets to waitpid() it.
    prctl::set_child_subreaper(true).map_err(sys("PR_SET_CHILD_SUBREAPER"))?;
    // Do not keep the caller's working directory (a mount) busy.
    chdir("/").map_err(sys("chdir /"))?;
    let null = OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")
        .map_err(io_err("open", "/dev/null".as_ref()))?;
    dup2_stdin(&null).map_err(sys("redirect stdin"))?;
    dup2_stdout(&null).map_err(sys("redirect stdout"))?;
    dup2_stderr(&null).map_err(sys("redirect stderr"))?;
    Ok(())
}
