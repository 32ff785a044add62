//! Waiting for a foreground container process (`run`, `exec` without `--detach`): forwards
//! signals to it, proxies its terminal, and returns its exit code like a shell would.

use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{kill, SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::termios::{cfmakeraw, tcgetattr, tcsetattr, SetArg, Termios};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

use crate::error::{sys, Result};

nix::ioctl_read_bad!(get_winsize, libc::TIOCGWINSZ, libc::winsize);
nix::ioctl_write_ptr_bad!(set_winsize, libc::TIOCSWINSZ, libc::winsize);

/// Restores the caller's terminal mode when dropped.
struct RawMode(Option<Termios>);

impl RawMode {
    fn enter() -> Self {
        let stdin = std::io::stdin();
        let Ok(orig) = tcgetattr(stdin.as_fd()) else {
            return Self(None);
        };
        let mut raw = orig.clone();
        cfmakeraw(&mut raw);
        let _ = tcsetattr(stdin.as_fd(), SetArg::TCSANOW, &raw);
        Self(Some(orig))
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        if let Some(orig) = &self.0 {
            let _ = tcsetattr(std::io::stdin().as_fd(), SetArg::TCSANOW, orig);
        }
    }
}

fn copy_winsize(pty: BorrowedFd) {
    let mut ws = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: ws is valid for both calls; failures (stdin not a tty) leave the pty size alone.
    unsafe {
        if get_winsize(0, &mut ws).is_ok() {
            let _ = set_winsize(pty.as_raw_fd(), &ws);
        }
    }
}

fn exit_code(status: WaitStatus) -> Option<i32> {
    match status {
        WaitStatus::Exited(_, code) => Some(code),
        WaitStatus::Signaled(_, sig, _) => Some(128 + sig as i32),
        _ => None,
    }
}

/// Waits for `pid` (a child of ours), forwarding every catchable signal to it.
pub fn supervise(pid: i32, pty: Option<OwnedFd>) -> Result<i32> {
    let mut mask = SigSet::all();
    for s in [
        Signal::SIGKILL,
        Signal::SIGSTOP,
        Signal::SIGSEGV,
        Signal::SIGBUS,
        Signal::SIGILL,
        Signal::SIGFPE,
        Signal::SIGTRAP,
        Signal::SIGABRT,
    ] {
        mask.remove(s);
    }
    mask.thread_block().map_err(sys("block signals"))?;
    let sfd = SignalFd::with_flags(&mask, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK)
        .map_err(sys("signalfd"))?;
    let _raw = pty.as_ref().map(|_| RawMode::enter());
    if let Some(p) = &pty {
        copy_winsize(p.as_fd());
    }
    let target = Pid::from_raw(pid);
    let stdin = std::io::stdin();
    let mut stdin_open = pty.is_some();
    let mut pty_open = pty.is_some();
    let mut buf = [0u8; 32 * 1024];
    // The child may already be gone before the signalfd existed.
    if let Ok(st) = waitpid(target, Some(WaitPidFlag::WNOHANG)) {
        if let Some(code) = exit_code(st) {
            drain(pty.as_ref(), &mut buf);
            return Ok(code);
        }
    }
    loop {
        let mut fds = vec![PollFd::new(sfd.as_fd(), PollFlags::POLLIN)];
        if let (Some(p), true) = (&pty, pty_open) {
            fds.push(PollFd::new(p.as_fd(), PollFlags::POLLIN));
            if stdin_open {
                fds.push(PollFd::new(stdin.as_fd(), PollFlags::POLLIN));
            }
        }
        match poll(&mut fds, PollTimeout::NONE) {
            Err(nix::errno::Errno::EINTR) => continue,
            other => other.map_err(sys("poll"))?,
        };
        let ready: Vec<bool> = fds
            .iter()
            .map(|f| f.revents().is_some_and(|r| !r.is_empty()))
            .collect();
        drop(fds);
        if ready.get(1).copied().unwrap_or(false) {
            if let Some(p) = &pty {
                pty_open = pump(p.as_fd(), &mut std::io::stdout(), &mut buf);
            }
        }
        if ready.get(2).copied().unwrap_or(false) {
            if let Some(p) = &pty {
                match stdin.lock().read(&mut buf) {
                    Ok(0) | Err(_) => stdin_open = false,
                    Ok(n) => {
                        let _ = nix::unistd::write(p, &buf[..n]);
                    }
                }
            }
        }
        if ready[0] {
            while let Ok(Some(info)) = sfd.read_signal() {
                let signo = info.ssi_signo as i32;
                if signo == libc::SIGCHLD {
                    if let Some(code) = reap(target) {
                        drain(pty.as_ref(), &mut buf);
                        return Ok(code);
                    }
                } else if signo == libc::SIGWINCH {
                    if let Some(p) = &pty {
                        copy_winsize(p.as_fd());
                    }
                } else if let Ok(sig) = Signal::try_from(signo) {
                    let _ = kill(target, sig);
                }
            }
        }
    }
}

/// Reaps every exited child; returns the target's exit code once it is among them.
fn reap(target: Pid) -> Option<i32> {
    let mut found = None;
    while let Ok(st) = waitpid(None, Some(WaitPidFlag::WNOHANG)) {
        match st.pid() {
            None => break,
            Some(p) if p == target => found = exit_code(st),
            Some(_) => {}
        }
    }
    found
}

/// Copies one chunk from the pty to `out`; false when the pty is closed.
fn pump(pty: BorrowedFd, out: &mut impl Write, buf: &mut [u8]) -> bool {
    match nix::unistd::read(pty, buf) {
        Ok(0) | Err(_) => false,
        Ok(n) => {
            let _ = out.write_all(&buf[..n]);
            let _ = out.flush();
            true
        }
    }
}

/// Output written just before exit is still in the pty buffer.
fn drain(pty: Option<&OwnedFd>, buf: &mut [u8]) {
    let Some(p) = pty else { return };
    let _ = nix::fcntl::fcntl(
        p,
        nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK),
    );
    while pump(p.as_fd(), &mut std::io::stdout(), buf) {}
}
