//! Terminals: the container side creates a pty inside its own devpts and hands the master to
//! whoever listens on `--console-socket`, as runc does.

use std::io::IoSlice;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::path::Path;

use nix::fcntl::{open, OFlag};
use nix::pty::{grantpt, posix_openpt, ptsname_r, unlockpt};
use nix::sys::socket::{
    connect, recvmsg, sendmsg, socket, AddressFamily, ControlMessage, ControlMessageOwned,
    MsgFlags, SockFlag, SockType, UnixAddr,
};
use nix::sys::stat::Mode;

use crate::error::{sys, Error, Result};

nix::ioctl_write_ptr_bad!(set_winsize, libc::TIOCSWINSZ, libc::winsize);

/// Where a process's terminal goes when `process.terminal` is true.
pub enum Console {
    /// No terminal requested (or stdio is inherited).
    None,
    /// Send the pty master to this unix socket (`--console-socket`).
    Socket(std::path::PathBuf),
    /// Return the pty master to the caller (`run -t` proxies it itself).
    Caller,
}

/// The sockets for a process that may want a terminal: the one its container side sends the pty
/// master on, and, for `Console::Caller`, our end of it. `missing` is the error for a terminal
/// with nowhere to go.
pub(crate) fn sockets(
    console: &Console,
    terminal: bool,
    missing: impl FnOnce() -> Error,
) -> Result<(Option<OwnedFd>, Option<OwnedFd>)> {
    match (console, terminal) {
        (_, false) => Ok((None, None)),
        (Console::Socket(path), true) => Ok((Some(connect_socket(path)?), None)),
        (Console::Caller, true) => {
            let (ours, theirs) = nix::sys::socket::socketpair(
                AddressFamily::Unix,
                SockType::Stream,
                None,
                SockFlag::SOCK_CLOEXEC,
            )
            .map_err(sys("create console socket pair"))?;
            Ok((Some(theirs), Some(ours)))
        }
        (Console::None, true) => Err(missing()),
    }
}

/// Connects to the caller's console socket (done by the runtime before it forks).
pub fn connect_socket(path: &Path) -> Result<OwnedFd> {
    let fd = socket(
        AddressFamily::Unix,
        SockType::Stream,
        SockFlag::SOCK_CLOEXEC,
        None,
    )
    .map_err(sys("create console socket"))?;
    let addr =
        UnixAddr::new(path).map_err(sys(format!("console socket path {}", path.display())))?;
    connect(fd.as_raw_fd(), &addr)
        .map_err(sys(format!("connect to console socket {}", path.display())))?;
    Ok(fd)
}

/// In the container: makes a pty, sends its master over `socket`, and makes the slave the
/// controlling terminal and stdio of this process.
pub(crate) fn setup_pty(socket: BorrowedFd, size: Option<(u16, u16)>) -> Result<()> {
    let master = posix_openpt(OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC)
        .map_err(sys("open /dev/ptmx"))?;
    grantpt(&master).map_err(sys("grantpt"))?;
    unlockpt(&master).map_err(sys("unlockpt"))?;
    let name = ptsname_r(&master).map_err(sys("ptsname"))?;
    let slave = open(
        Path::new(&name),
        OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(sys(format!("open {name}")))?;
    if let Some((height, width)) = size {
        let ws = libc::winsize {
            ws_row: height,
            ws_col: width,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // SAFETY: ws is a valid winsize for the duration of the call.
        unsafe { set_winsize(slave.as_raw_fd(), &ws) }.map_err(sys("set console size"))?;
    }
    send_fd(socket, master.as_raw_fd(), name.as_bytes())?;
    drop(master);
    for target in 0..3 {
        // SAFETY: both fds are valid; dup2 onto 0..2 replaces our stdio on purpose.
        if unsafe { libc::dup2(slave.as_raw_fd(), target) } < 0 {
            return Err(Error::Sys {
                action: "dup pty onto stdio".into(),
                source: nix::errno::Errno::last(),
            });
        }
    }
    // SAFETY: TIOCSCTTY takes an int argument; we are a session leader without a terminal.
    if unsafe { libc::ioctl(0, libc::TIOCSCTTY, 0) } < 0 {
        return Err(Error::Sys {
            action: "make pty the controlling terminal".into(),
            source: nix::errno::Errno::last(),
        });
    }
    Ok(())
}

pub(crate) fn send_fd(socket: BorrowedFd, fd: RawFd, payload: &[u8]) -> Result<()> {
    let fds = [fd];
    let cmsg = [ControlMessage::ScmRights(&fds)];
    let iov = [IoSlice::new(payload)];
    sendmsg::<()>(socket.as_raw_fd(), &iov, &cmsg, MsgFlags::empty(), None)
        .map_err(sys("send pty master over console socket"))?;
    Ok(())
}

/// Receives one fd sent with SCM_RIGHTS (the runtime's own console socket for `run -t`/`exec -t`).
pub(crate) fn recv_fd(socket: BorrowedFd) -> Result<OwnedFd> {
    let mut buf = [0u8; 4096];
    let mut iov = [std::io::IoSliceMut::new(&mut buf)];
    let mut space = nix::cmsg_space!([RawFd; 1]);
    let msg = recvmsg::<()>(
        socket.as_raw_fd(),
        &mut iov,
        Some(&mut space),
        MsgFlags::MSG_CMSG_CLOEXEC,
    )
    .map_err(sys("receive pty master"))?;
    for c in msg.cmsgs().map_err(sys("read control message"))? {
        if let ControlMessageOwned::ScmRights(fds) = c {
            if let Some(fd) = fds.first() {
                // SAFETY: the kernel just installed this fd for us.
                return Ok(unsafe { OwnedFd::from_raw_fd(*fd) });
            }
        }
    }
    Err(Error::Init(
        "the container did not send a pty master".into(),
    ))
}
