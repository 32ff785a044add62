//! OCI lifecycle hooks (runtime-spec config.md "POSIX-platform Hooks").
//!
//! Hooks may run in a single-threaded process just after `fork`, so supervision uses no helper
//! threads: one `poll(2)` loop feeds the state to stdin, collects output and waits for exit (via a
//! pidfd) under the timeout.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::fcntl::{fcntl, FcntlArg, OFlag};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::resource::{getrlimit, Resource};
use oci_spec::runtime::Hook;

/// How much of a hook's output is kept for the error message (the end, where failures show).
const OUTPUT_LIMIT: usize = 4096;
/// Without a pidfd (Linux < 5.3) the exit is noticed by polling this often.
const EXIT_POLL_INTERVAL: Duration = Duration::from_millis(10);

#[derive(Debug, thiserror::Error)]
pub enum HookError {
    #[error("{phase} hook {path}: path must be absolute")]
    RelativePath { phase: String, path: PathBuf },
    #[error("{phase} hook {path}: timeout must be greater than zero, got {timeout}")]
    InvalidTimeout {
        phase: String,
        path: PathBuf,
        timeout: i64,
    },
    #[error("{phase} hook {path}: env entry {entry:?} is not KEY=VALUE")]
    InvalidEnv {
        phase: String,
        path: PathBuf,
        entry: String,
    },
    #[error("{phase} hook {path}: cannot start: {source}")]
    Spawn {
        phase: String,
        path: PathBuf,
        source: io::Error,
    },
    #[error("{phase} hook {path}: supervising it failed: {source}")]
    Supervise {
        phase: String,
        path: PathBuf,
        source: io::Error,
    },
    #[error("{phase} hook {path} failed ({status}){}", output_suffix(.output))]
    Failed {
        phase: String,
        path: PathBuf,
        status: ExitStatus,
        output: String,
    },
    #[error("{phase} hook {path} killed at its {timeout}s timeout{}", output_suffix(.output))]
    TimedOut {
        phase: String,
        path: PathBuf,
        timeout: i64,
        output: String,
    },
}

fn output_suffix(output: &str) -> String {
    if output.is_empty() {
        String::new()
    } else {
        format!(", output: {output}")
    }
}

/// Runs `hooks` in order, each with the container state on stdin; the first failure stops the
/// sequence. `phase` (e.g. "createRuntime") only labels errors.
pub fn run_hooks(hooks: &[Hook], state_json: &[u8], phase: &str) -> Result<(), HookError> {
    hooks.iter().try_for_each(|hook| {
        let started = Instant::now();
        let result = run_hook(hook, state_json, phase);
        tracing::debug!(
            phase,
            path = %hook.path().display(),
            ok = result.is_ok(),
            elapsed_us = started.elapsed().as_micros(),
            "hook ran"
        );
        result
    })
}

fn run_hook(hook: &Hook, state_json: &[u8], phase: &str) -> Result<(), HookError> {
    let path = hook.path();
    let phase = || phase.to_owned();
    if !path.is_absolute() {
        // The spec requires it; a relative path would be searched in PATH or the cwd.
        return Err(HookError::RelativePath {
            phase: phase(),
            path: path.clone(),
        });
    }
    let timeout = match hook.timeout() {
        None => None,
        Some(secs) if secs > 0 => Some(secs),
        Some(timeout) => {
            return Err(HookError::InvalidTimeout {
                phase: phase(),
                path: path.clone(),
                timeout,
            })
        }
    };

    let mut command = Command::new(path);
    if let Some((argv0, args)) = hook.args().as_deref().and_then(<[String]>::split_first) {
        command.arg0(argv0).args(args);
    }
    command.env_clear();
    for entry in hook.env().iter().flatten() {
        let (key, value) = entry.split_once('=').ok_or_else(|| HookError::InvalidEnv {
            phase: phase(),
            path: path.clone(),
            entry: entry.clone(),
        })?;
        command.env(key, value);
    }

    let spawn_error = |source| HookError::Spawn {
        phase: phase(),
        path: path.clone(),
        source,
    };
    let (mut child, output) = spawn(command).map_err(spawn_error)?;
    let stdin = child.stdin.take();
    let started = Instant::now();
    let deadline = timeout.map(|secs| started + Duration::from_secs(secs.unsigned_abs()));
    let sigpipe = IgnoreSigpipe::new();
    let supervised = supervise(&mut child, stdin, state_json, output, deadline);
    drop(sigpipe);
    let outcome = match supervised {
        Ok(outcome) => outcome,
        Err(source) => {
            // Best effort, so no hook outlives its supervision; the error to report is `source`.
            let _ = child.kill();
            let _ = child.wait();
            return Err(HookError::Supervise {
                phase: phase(),
                path: path.clone(),
                source,
            });
        }
    };
    match outcome {
        Outcome::Exited(status, _) if status.success() => Ok(()),
        Outcome::Exited(status, output) => Err(HookError::Failed {
            phase: phase(),
            path: path.clone(),
            status,
            output,
        }),
        Outcome::TimedOut(output) => Err(HookError::TimedOut {
            phase: phase(),
            path: path.clone(),
            timeout: timeout.unwrap_or_default(),
            output,
        }),
    }
}

/// Ignores SIGPIPE while it lives. The binary restores the default disposition (to die quietly
/// on a closed stdout), which would kill the runtime, cleanup undone, when a hook exits without
/// reading its state; ignored, the write fails with EPIPE instead. Installed after the hook is
/// spawned, so the hook itself keeps the default.
struct IgnoreSigpipe(libc::sighandler_t);

impl IgnoreSigpipe {
    fn new() -> Self {
        // SAFETY: installs no handler; the runtime is single-threaded.
        Self(unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) })
    }
}

impl Drop for IgnoreSigpipe {
    fn drop(&mut self) {
        // SAFETY: restores the disposition saved by `new`.
        unsafe { libc::signal(libc::SIGPIPE, self.0) };
    }
}

/// Starts the hook with stdin piped and stdout+stderr sharing one pipe (so output interleaves as
/// written); returns the child and the non-blocking read end of that pipe.
fn spawn(mut command: Command) -> io::Result<(Child, File)> {
    let (read_end, write_end) = nix::unistd::pipe2(OFlag::O_CLOEXEC)?;
    set_nonblocking(&read_end)?;
    command
        .stdin(Stdio::piped())
        .stdout(write_end.try_clone()?)
        .stderr(write_end);

    let (open_max, _) = getrlimit(Resource::RLIMIT_NOFILE)?;
    // SAFETY: the closure only makes raw syscalls, which are async-signal-safe.
    unsafe {
        command.pre_exec(move || {
            cloexec_from_fd_3(open_max);
            Ok(())
        });
    }
    let child = command.spawn()?;
    // `command` holds our copies of the pipe's write end; drop it so only the hook has them.
    drop(command);
    Ok((child, File::from(read_end)))
}

/// Marks every fd above stdio close-on-exec so the runtime's own fds never reach a hook.
fn cloexec_from_fd_3(open_max: u64) {
    // SAFETY: close_range only changes fd flags.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_close_range,
            3,
            libc::c_uint::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        )
    };
    if rc == 0 {
        return;
    }
    // Kernels before 5.11: set the flag one fd at a time.
    let last = libc::c_int::try_from(open_max).unwrap_or(libc::c_int::MAX);
    for fd in 3..last {
        // SAFETY: F_SETFD on a closed fd fails with EBADF and has no other effect.
        unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
    }
}

fn set_nonblocking(fd: impl AsFd) -> io::Result<()> {
    let flags = OFlag::from_bits_retain(fcntl(fd.as_fd(), FcntlArg::F_GETFL)?);
    fcntl(fd.as_fd(), FcntlArg::F_SETFL(flags | OFlag::O_NONBLOCK))?;
    Ok(())
}

enum Outcome {
    Exited(ExitStatus, String),
    TimedOut(String),
}

/// Feeds `state` to the hook's stdin, collects its output and waits for it to exit, killing it
/// with SIGKILL at `deadline`.
fn supervise(
    child: &mut Child,
    mut stdin: Option<ChildStdin>,
    state: &[u8],
    mut output: File,
    deadline: Option<Instant>,
) -> io::Result<Outcome> {
    let pidfd = pidfd_open(child.id());
    let mut tail = Tail::default();
    let mut written = 0;
    if let Some(pipe) = &stdin {
        set_nonblocking(pipe)?;
    }
    let mut output_open = true;
    loop {
        if written == state.len() {
            // Closing stdin is the hook's end-of-state.
            stdin = None;
        }
        let now = Instant::now();
        if deadline.is_some_and(|deadline| now >= deadline) {
            child.kill()?;
            child.wait()?;
            drain(&mut output, &mut tail)?;
            return Ok(Outcome::TimedOut(tail.into_string()));
        }
        let mut wait = deadline.map(|deadline| deadline - now);
        if pidfd.is_none() {
            wait = Some(wait.map_or(EXIT_POLL_INTERVAL, |wait| wait.min(EXIT_POLL_INTERVAL)));
        }

        let mut fds = Vec::with_capacity(3);
        if let Some(pidfd) = &pidfd {
            fds.push(PollFd::new(pidfd.as_fd(), PollFlags::POLLIN));
        }
        let output_index = output_open.then(|| {
            fds.push(PollFd::new(output.as_fd(), PollFlags::POLLIN));
            fds.len() - 1
        });
        let stdin_index = stdin.as_ref().map(|pipe| {
            fds.push(PollFd::new(pipe.as_fd(), PollFlags::POLLOUT));
            fds.len() - 1
        });
        match poll(&mut fds, poll_timeout(wait)) {
            Ok(_) | Err(Errno::EINTR) => {}
            Err(errno) => return Err(errno.into()),
        }
        let ready = |index: Option<usize>| {
            index
                .and_then(|i| fds.get(i))
                .and_then(PollFd::revents)
                .is_some_and(|events| !events.is_empty())
        };
        let (output_ready, stdin_ready) = (ready(output_index), ready(stdin_index));
        drop(fds);

        if output_ready {
            output_open = drain(&mut output, &mut tail)?;
        }
        if stdin_ready {
            if let Some(pipe) = &mut stdin {
                match pipe.write(&state[written..]) {
                    Ok(n) => written += n,
                    Err(err)
                        if matches!(
                            err.kind(),
                            io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
                        ) => {}
                    // A hook may exit or close stdin without reading the state; that is its call.
                    Err(_) => written = state.len(),
                }
            }
        }
        // try_wait is cheap and settles whether it exited, whatever woke us.
        if let Some(status) = child.try_wait()? {
            // Read what is already buffered, but do not wait for EOF: a hook's own children may
            // keep the pipe open.
            drain(&mut output, &mut tail)?;
            return Ok(Outcome::Exited(status, tail.into_string()));
        }
    }
}

fn poll_timeout(wait: Option<Duration>) -> PollTimeout {
    match wait {
        None => PollTimeout::NONE,
        // Round up so a sub-millisecond remainder does not spin.
        Some(wait) => {
            let millis = wait.as_nanos().div_ceil(1_000_000);
            PollTimeout::try_from(millis).unwrap_or(PollTimeout::MAX)
        }
    }
}

/// A pidfd becomes readable when the process exits. `None` on kernels without pidfd_open.
fn pidfd_open(pid: u32) -> Option<OwnedFd> {
    // SAFETY: pidfd_open takes plain integers and returns a new fd or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    // SAFETY: a non-negative result is a fresh fd that we own.
    (fd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(fd as libc::c_int) })
}

/// Reads the output available right now into `tail`; returns false at end of file.
fn drain(output: &mut File, tail: &mut Tail) -> io::Result<bool> {
    let mut buf = [0u8; 4096];
    // Bounded (twice the default pipe buffer) so a hook writing nonstop cannot starve the
    // timeout check; the next poll comes straight back here.
    for _ in 0..32 {
        match output.read(&mut buf) {
            Ok(0) => return Ok(false),
            Ok(n) => tail.push(buf.get(..n).unwrap_or_default()),
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => return Ok(true),
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => return Err(err),
        }
    }
    Ok(true)
}

/// The last [`OUTPUT_LIMIT`] bytes of a stream.
#[derive(Default)]
struct Tail {
    bytes: Vec<u8>,
    truncated: bool,
}

impl Tail {
    fn push(&mut self, data: &[u8]) {
        self.bytes.extend_from_slice(data);
        // Trim in batches so a chatty hook does not make every read shift the buffer.
        if self.bytes.len() > 2 * OUTPUT_LIMIT {
            self.trim();
        }
    }

    fn trim(&mut self) {
        if let Some(excess) = self
            .bytes
            .len()
            .checked_sub(OUTPUT_LIMIT)
            .filter(|&n| n > 0)
        {
            self.bytes.drain(..excess);
            self.truncated = true;
        }
    }

    fn into_string(mut self) -> String {
        self.trim();
        let text = String::from_utf8_lossy(&self.bytes);
        let text = text.trim();
        if self.truncated {
            format!("...{text}")
        } else {
            text.to_owned()
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
