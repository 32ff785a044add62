//! berth-pause: PID 1 of a pod sandbox (Kubernetes' `pause`). It holds the namespaces the pod's
//! containers join (network, IPC, UTS, and PID when the pod shares one), reaps the orphans
//! reparented to it as the pod's PID 1, and exits 0 on SIGTERM or SIGINT.
//!
//! berthd binds it into an otherwise empty read-only root, so no sandbox image is pulled and the
//! production binary must be static (scripts/build-static.sh berth-pause).

use nix::sys::signal::{SigSet, SigmaskHow, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

fn main() {
    // Blocked signals are queued even for a namespace's PID 1 (which would otherwise ignore
    // every signal it has no handler for), and picked up one by one below: no handlers, no
    // async-signal-safety concerns.
    let all = SigSet::all();
    if let Err(e) = nix::sys::signal::sigprocmask(SigmaskHow::SIG_SETMASK, Some(&all), None) {
        eprintln!("berth-pause: block signals: {e}");
        std::process::exit(1);
    }
    loop {
        match all.wait() {
            Ok(Signal::SIGTERM | Signal::SIGINT) => std::process::exit(0),
            Ok(Signal::SIGCHLD) => reap(),
            // Everything else (SIGHUP, SIGUSR1, a stray SIGPIPE…) is not the sandbox's business.
            Ok(_) | Err(_) => {}
        }
    }
}

/// Reaps every exited child: one SIGCHLD may stand for several.
fn reap() {
    while let Ok(WaitStatus::Exited(..) | WaitStatus::Signaled(..)) =
        waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG))
    {}
}
