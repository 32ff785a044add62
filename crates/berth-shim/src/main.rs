//! berth-shim: monitors one container process for berthd. See docs/shim.md for the protocol.
//!
//! Lifecycle: parse arguments (errors on stderr, exit 2) → detach from the caller (double fork,
//! new session, subreaper) → prepare the state directory and sockets → run `runtime create` (or
//! `exec`) → report `ok PID` or `error TEXT` on `--sync-fd` → serve until the process exits →
//! write the exit file → exit.

mod args;
mod clients;
mod crilog;
mod daemon;
mod error;
mod jsonlog;
mod logfile;
mod monitor;
mod oom;
mod output;
mod runtime;
mod state;
mod timefmt;

use std::fs::{self, File};
use std::io::Write;
use std::os::fd::FromRawFd;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::time::Duration;

use berth_shim::protocol::{StartupReport, ATTACH_SOCKET, CONTROL_SOCKET, SHIM_PID_FILE};

use crate::args::{Args, Invocation, USAGE};
use crate::error::{io_err, ShimError};
use crate::logfile::LogFile;
use crate::monitor::{Monitor, Parts};
use crate::oom::OomWatch;
use crate::state::StateDir;

/// Written to the state dir if the loop itself fails after startup was reported (stderr is
/// /dev/null by then and the sync pipe is closed).
const SHIM_ERROR_FILE: &str = "shim.error";
/// How long `--wait-attach` waits for its client before running the process anyway: the
/// daemon connects within milliseconds, so this only ends waits whose daemon died meanwhile.
const WAIT_ATTACH_TIMEOUT: Duration = Duration::from_secs(30);

fn main() {
    let code = match args::parse(std::env::args_os().skip(1)) {
        Ok(Invocation::Run(args)) => launch(&args),
        Ok(Invocation::Help) => {
            println!("{USAGE}");
            0
        }
        Ok(Invocation::Version) => {
            println!("berth-shim {}", env!("CARGO_PKG_VERSION"));
            0
        }
        Err(e) => {
            eprintln!("berth-shim: {e}\n{USAGE}");
            2
        }
    };
    std::process::exit(code);
}

fn launch(args: &Args) -> i32 {
    let sync = match args.sync_fd.map(take_sync_fd).transpose() {
        Ok(sync) => sync,
        Err(e) => {
            eprintln!("berth-shim: {e}");
            return 2;
        }
    };
    if let Err(e) = daemon::detach() {
        eprintln!("berth-shim: {e}");
        return 1;
    }
    // Detached: stderr is /dev/null, so errors go to the sync pipe from here on.
    let started = StateDir::open(&args.state_dir).and_then(|mut state| {
        let monitor = start(args, &mut state)?;
        Ok((state, monitor))
    });
    let (state, monitor) = match started {
        Ok(ok) => ok,
        Err(e) => {
            // The StateDir was dropped above, removing everything startup created.
            report(sync, &StartupReport::Failed(e.to_string()));
            return 1;
        }
    };
    state.keep();
    report(
        sync,
        &StartupReport::Ok {
            pid: monitor.pid(),
            shim_pid: nix::unistd::getpid().as_raw(),
        },
    );
    match monitor.run() {
        Ok(()) => 0,
        Err(e) => {
            let _ = StateDir::write_atomic(&args.state_dir, SHIM_ERROR_FILE, &e.to_string());
            1
        }
    }
}

/// Validates the sync fd and keeps it out of the runtime and the container.
fn take_sync_fd(fd: i32) -> Result<File, ShimError> {
    let owned = if fd <= 2 {
        // Stdout is how a spawner without a pre-exec hook (posix_spawn, no fork of a big
        // daemon) hands the pipe over; 0-2 become /dev/null when the shim detaches, so the
        // pipe moves to a number of its own.
        // SAFETY: F_DUPFD_CLOEXEC on an arbitrary number only fails (EBADF) or dups it.
        unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 3) }
    } else {
        // SAFETY: F_SETFD on an arbitrary number only fails (EBADF) or sets the flag.
        match unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) } {
            0 => fd,
            _ => -1,
        }
    };
    if owned < 0 {
        return Err(ShimError::SyncFd { fd });
    }
    // SAFETY: the fd is open (checked above) and ours to own: handed over by the spawner, or
    // the dup just made.
    Ok(unsafe { File::from_raw_fd(owned) })
}

/// Writes the startup result and closes the pipe, which is the spawner's cue to go on.
fn report(sync: Option<File>, report: &StartupReport) {
    if let Some(mut f) = sync {
        // Nobody to tell if the spawner is gone; the shim carries on either way.
        let _ = f.write_all(report.encode().as_bytes());
    }
}

/// Everything up to a created container, in the order that lets each failure clean up: files
/// first (tracked by `state`), then signals, sockets, and finally the runtime.
fn start(args: &Args, state: &mut StateDir) -> Result<Monitor, ShimError> {
    state.track(SHIM_PID_FILE)?;
    StateDir::write_atomic(
        state.dir(),
        SHIM_PID_FILE,
        &format!("{}\n", std::process::id()),
    )?;
    let log = match &args.log {
        Some(cfg) => {
            if !cfg.path.exists() {
                state.track_outside(&cfg.path);
            }
            Some(LogFile::open(cfg)?)
        }
        None => None,
    };
    let signals = monitor::take_signals()?;
    // Listening before the runtime runs: the daemon may attach as soon as it reads `ok`, before
    // `runtime start`, so no output is missed.
    let attach_listener = listen(state, ATTACH_SOCKET)?;
    let control_listener = listen(state, CONTROL_SOCKET)?;
    let early_attach = if args.wait_attach {
        wait_for_client(&attach_listener, WAIT_ATTACH_TIMEOUT)
    } else {
        None
    };
    let created = runtime::create(args, state)?;
    // Exec processes share the container's cgroup; an OOM there says nothing about them.
    let oom = match args.exec_process {
        None => OomWatch::for_pid(created.pid),
        Some(_) => None,
    };
    Monitor::new(Parts {
        created,
        stdin: args.stdin,
        state_dir: args.state_dir.clone(),
        signals,
        log,
        attach_listener,
        control_listener,
        oom,
        early_attach,
        // An exec attached from its start: nothing but its client reads its output.
        backpressure: args.wait_attach,
    })
}

/// The first attach client, accepted before the process runs; `None` after `timeout`.
fn wait_for_client(listener: &UnixListener, timeout: Duration) -> Option<UnixStream> {
    use std::os::fd::AsRawFd;
    let mut pfd = libc::pollfd {
        fd: listener.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    let ms = libc::c_int::try_from(timeout.as_millis()).unwrap_or(libc::c_int::MAX);
    let deadline = std::time::Instant::now() + timeout;
    loop {
        // SAFETY: pfd is one valid pollfd for the duration of the call.
        let n = unsafe { libc::poll(&mut pfd, 1, ms) };
        if n > 0 {
            if let Ok((sock, _)) = listener.accept() {
                return Some(sock);
            }
        }
        if std::time::Instant::now() >= deadline {
            return None;
        }
        if n == 0 {
            return None;
        }
    }
}

fn listen(state: &mut StateDir, name: &str) -> Result<UnixListener, ShimError> {
    let path = state.track(name)?;
    let listener = UnixListener::bind(&path).map_err(io_err("listen on", &path))?;
    listener
        .set_nonblocking(true)
        .map_err(io_err("set O_NONBLOCK on", &path))?;
    fs::set_permissions(&path, fs::Permissions::from_mode(0o600))
        .map_err(io_err("chmod", &path))?;
    Ok(listener)
}
