//! Typed messages between the runtime and its container child over a SOCK_SEQPACKET pair.

use std::io::{IoSlice, IoSliceMut};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

use nix::sys::socket::{
    recvmsg, sendmsg, socketpair, AddressFamily, ControlMessage, ControlMessageOwned, MsgFlags,
    SockFlag, SockType,
};
use serde::{Deserialize, Serialize};

#[derive(Debug, thiserror::Error)]
pub enum ChannelError {
    #[error("create sync socket pair: {0}")]
    Create(nix::Error),
    #[error("send {what} to the container process: {source}")]
    Send {
        what: &'static str,
        source: nix::Error,
    },
    #[error("receive from the container process: {0}")]
    Receive(nix::Error),
    #[error("the container process exited before reporting back")]
    Closed,
    #[error("garbled sync message: {0}")]
    Garbled(serde_json::Error),
    #[error("expected {expected} from the container process, got {got:?}")]
    Unexpected {
        expected: &'static str,
        got: Message,
    },
}

/// The whole create-time protocol. Parent → child: `IdmappedMount` (before `Go`, carries the
/// detached tree for spec mount N), `Go`, `HooksDone` (with the state JSON for in-container
/// hooks), `SeccompDone`. Child → parent: `InitPid` (only after a second fork),
/// `RunHooks`, `SeccompListener` (carries the notify fd), `Ready`, `Failed`.
#[derive(Debug, Serialize, Deserialize)]
pub enum Message {
    IdmappedMount(usize),
    Go,
    HooksDone(String),
    InitPid(i32),
    RunHooks,
    SeccompListener,
    SeccompDone,
    Ready,
    Failed(String),
}

impl Message {
    fn name(&self) -> &'static str {
        match self {
            Self::IdmappedMount(_) => "IdmappedMount",
            Self::Go => "Go",
            Self::HooksDone(_) => "HooksDone",
            Self::InitPid(_) => "InitPid",
            Self::RunHooks => "RunHooks",
            Self::SeccompListener => "SeccompListener",
            Self::SeccompDone => "SeccompDone",
            Self::Ready => "Ready",
            Self::Failed(_) => "Failed",
        }
    }
}

/// One end of the pair. Both ends are close-on-exec, so nothing leaks into the container program.
pub struct Channel(OwnedFd);

pub fn pair() -> Result<(Channel, Channel), ChannelError> {
    let (a, b) = socketpair(
        AddressFamily::Unix,
        SockType::SeqPacket,
        None,
        SockFlag::SOCK_CLOEXEC,
    )
    .map_err(ChannelError::Create)?;
    Ok((Channel(a), Channel(b)))
}

impl Channel {
    pub fn send(&self, msg: &Message) -> Result<(), ChannelError> {
        self.send_inner(msg, &[])
    }

    /// Sends `msg` with `fd` attached (SCM_RIGHTS): the seccomp notify fd must leave the container
    /// so the runtime, still on the host side, can hand it to the listener.
    pub fn send_with_fd(&self, msg: &Message, fd: BorrowedFd<'_>) -> Result<(), ChannelError> {
        self.send_inner(msg, &[fd.as_raw_fd()])
    }

    fn send_inner(&self, msg: &Message, fds: &[RawFd]) -> Result<(), ChannelError> {
        let data = serde_json::to_vec(msg).map_err(ChannelError::Garbled)?;
        let rights = [ControlMessage::ScmRights(fds)];
        let cmsgs: &[ControlMessage<'_>] = if fds.is_empty() { &[] } else { &rights };
        sendmsg::<()>(
            self.0.as_raw_fd(),
            &[IoSlice::new(&data)],
            cmsgs,
            MsgFlags::MSG_NOSIGNAL,
            None,
        )
        .map(|_| ())
        .map_err(|source| ChannelError::Send {
            what: msg.name(),
            source,
        })
    }

    pub fn recv(&self) -> Result<Message, ChannelError> {
        self.recv_with_fd().map(|(msg, _)| msg)
    }

    /// Receives one message and the fd riding on it, if any (close-on-exec).
    pub fn recv_with_fd(&self) -> Result<(Message, Option<OwnedFd>), ChannelError> {
        let mut buf = [0u8; 8192];
        let mut space = nix::cmsg_space!([RawFd; 1]);
        let (n, fd) = loop {
            let mut iov = [IoSliceMut::new(&mut buf)];
            match recvmsg::<()>(
                self.0.as_raw_fd(),
                &mut iov,
                Some(&mut space),
                MsgFlags::MSG_CMSG_CLOEXEC,
            ) {
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => return Err(ChannelError::Receive(e)),
                Ok(msg) => {
                    let mut fd = None;
                    for c in msg.cmsgs().map_err(ChannelError::Receive)? {
                        if let ControlMessageOwned::ScmRights(fds) = c {
                            for raw in fds {
                                // SAFETY: the kernel just installed these fds for us; owning
                                // them closes any extra ones.
                                let owned = unsafe { OwnedFd::from_raw_fd(raw) };
                                fd.get_or_insert(owned);
                            }
                        }
                    }
                    break (msg.bytes, fd);
                }
            }
        };
        if n == 0 {
            return Err(ChannelError::Closed);
        }
        let msg = serde_json::from_slice(&buf[..n]).map_err(ChannelError::Garbled)?;
        Ok((msg, fd))
    }

    /// Receives and requires a particular message; a `Failed` report becomes the error text.
    pub fn expect(&self, expected: &'static str) -> Result<Message, ChannelError> {
        let msg = self.recv()?;
        if msg.name() == expected || matches!(msg, Message::Failed(_)) {
            Ok(msg)
        } else {
            Err(ChannelError::Unexpected { expected, got: msg })
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
