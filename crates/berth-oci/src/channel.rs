//! Typed messages between the runtime and its container child over a SOCK_SEQPACKET pair.

use std::os::fd::{AsRawFd, OwnedFd};

use nix::sys::socket::{recv, send, socketpair, AddressFamily, MsgFlags, SockFlag, SockType};
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

/// The whole create-time protocol. Parent → child: `Go`, `HooksDone` (with the state JSON for in-container hooks).
/// Child → parent: `InitPid` (only after a second fork), `RunHooks`, `Ready`, `Failed`.
#[derive(Debug, Serialize, Deserialize)]
pub enum Message {
    Go,
    HooksDone(String),
    InitPid(i32),
    RunHooks,
    Ready,
    Failed(String),
}

impl Message {
    fn name(&self) -> &'static str {
        match self {
            Self::Go => "Go",
            Self::HooksDone(_) => "HooksDone",
            Self::InitPid(_) => "InitPid",
            Self::RunHooks => "RunHooks",
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
        let data = serde_json::to_vec(msg).map_err(ChannelError::Garbled)?;
        send(self.0.as_raw_fd(), &data, MsgFlags::MSG_NOSIGNAL)
            .map(|_| ())
            .map_err(|source| ChannelError::Send {
                what: msg.name(),
                source,
            })
    }

    pub fn recv(&self) -> Result<Message, ChannelError> {
        let mut buf = [0u8; 8192];
        let n = loop {
            match recv(self.0.as_raw_fd(), &mut buf, MsgFlags::empty()) {
                Err(nix::errno::Errno::EINTR) => continue,
                other => break other.map_err(ChannelError::Receive)?,
            }
        };
        if n == 0 {
            return Err(ChannelError::Closed);
        }
        serde_json::from_slice(&buf[..n]).map_err(ChannelError::Garbled)
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
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip_and_close_is_detected() {
        let (a, b) = pair().unwrap();
        a.send(&Message::InitPid(42)).unwrap();
        assert!(matches!(b.recv().unwrap(), Message::InitPid(42)));
        a.send(&Message::Ready).unwrap();
        assert!(b.expect("Go").is_err());
        drop(a);
        assert!(matches!(b.recv(), Err(ChannelError::Closed)));
    }
}
