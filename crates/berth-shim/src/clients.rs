//! Connections on the attach and control sockets, and the container's stdin. Everything is
//! non-blocking with small bounded buffers: a stuck reader or a container that never reads its
//! stdin must not stall the shim, because the shim stalling stalls the container's output.

use std::io::{self, Read, Write};
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;

use berth_shim::protocol::{frame_header, AttachMode, Stream, FRAME_HEADER_LEN};
use nix::errno::Errno;

/// Output queued for one attach client beyond this is a client too slow to keep: it is dropped
/// (it sees EOF and can reattach) instead of buffering without bound or blocking the container.
pub const CLIENT_BUFFER_MAX: usize = 64 * 1024;

/// An attach connection.
pub struct AttachClient {
    sock: UnixStream,
    /// `None` until the client's first byte arrived.
    pub mode: Option<AttachMode>,
    /// Output not yet accepted by the socket.
    out: Vec<u8>,
    /// The client has not shut down its write side.
    pub input_open: bool,
    pub dead: bool,
}

impl AttachClient {
    pub fn new(sock: UnixStream) -> io::Result<Self> {
        sock.set_nonblocking(true)?;
        Ok(Self {
            sock,
            mode: None,
            out: Vec::new(),
            input_open: true,
            dead: false,
        })
    }

    pub fn sock(&self) -> &UnixStream {
        &self.sock
    }

    pub fn has_output(&self) -> bool {
        !self.out.is_empty()
    }

    /// Whether one more read of output (a chunk of at most `chunk` bytes and its header) may
    /// overflow this client's buffer.
    pub fn is_full(&self, chunk: usize) -> bool {
        !self.dead && self.out.len() + chunk + FRAME_HEADER_LEN > CLIENT_BUFFER_MAX
    }

    /// Queues one chunk (framed unless it is tty output) and writes what the socket takes.
    pub fn send(&mut self, frame: Option<Stream>, data: &[u8]) {
        let header = frame.map(|s| frame_header(s, data.len() as u32));
        let need = data.len() + header.map_or(0, |h| h.len());
        if self.out.len() + need > CLIENT_BUFFER_MAX {
            self.dead = true;
            return;
        }
        if let Some(h) = header {
            self.out.extend_from_slice(&h);
        }
        self.out.extend_from_slice(data);
        self.flush();
    }

    /// Writes queued output until the socket would block.
    pub fn flush(&mut self) {
        while !self.out.is_empty() && !self.dead {
            match self.sock.write(&self.out) {
                Ok(0) => self.dead = true,
                Ok(n) => {
                    self.out.drain(..n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(_) => self.dead = true,
            }
        }
        if self.out.is_empty() {
            // A burst grew the queue; give the memory back rather than keep it per client.
            self.out = Vec::new();
        }
    }

    /// Reads input into `buf`: `Some(n)` bytes (0 = the client shut down its write side), or
    /// `None` when nothing is there.
    pub fn read(&mut self, buf: &mut [u8]) -> Option<usize> {
        loop {
            return match self.sock.read(buf) {
                Ok(n) => Some(n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => None,
                Err(_) => {
                    self.dead = true;
                    None
                }
            };
        }
    }
}

/// The longest control line; anything longer is not a client speaking the protocol.
const CONTROL_LINE_MAX: usize = 256;

/// A control connection: requests in, one answer line per request out.
pub struct ControlClient {
    sock: UnixStream,
    line: Vec<u8>,
    pub dead: bool,
}

impl ControlClient {
    pub fn new(sock: UnixStream) -> io::Result<Self> {
        sock.set_nonblocking(true)?;
        Ok(Self {
            sock,
            line: Vec::new(),
            dead: false,
        })
    }

    pub fn sock(&self) -> &UnixStream {
        &self.sock
    }

    /// Reads what arrived and returns the complete lines.
    pub fn read_lines(&mut self, buf: &mut [u8]) -> Vec<String> {
        match self.sock.read(buf) {
            Ok(0) => self.dead = true,
            Ok(n) => self.line.extend_from_slice(&buf[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
                ) => {}
            Err(_) => self.dead = true,
        }
        let mut lines = Vec::new();
        while let Some(end) = self.line.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.line.drain(..=end).collect();
            lines.push(String::from_utf8_lossy(&line[..end]).into_owned());
        }
        if self.line.len() > CONTROL_LINE_MAX {
            self.dead = true;
        }
        lines
    }

    /// Answers one request. Answers are a few bytes and the client waits for each one, so a
    /// full socket means a client that stopped reading: drop it.
    pub fn answer(&mut self, result: Result<(), String>) {
        let text = match result {
            Ok(()) => "ok\n".to_owned(),
            Err(msg) => format!("error {}\n", msg.replace('\n', " ")),
        };
        if self.sock.write_all(text.as_bytes()).is_err() {
            self.dead = true;
        }
    }
}

/// The container's stdin (a pipe, or a dup of the pty master). Input is read from attach clients
/// only while `pending` is empty, so it holds at most one read's worth.
pub struct StdinSink {
    pub fd: OwnedFd,
    pending: Vec<u8>,
    /// Close once `pending` is written (stdin-once EOF or `close-stdin`).
    pub closing: bool,
}

/// What became of the stdin after a write.
#[derive(Debug, PartialEq, Eq)]
pub enum StdinState {
    Open,
    /// Closed on request or because the container closed its end: drop the sink.
    Done,
}

impl StdinSink {
    pub fn new(fd: OwnedFd) -> Self {
        Self {
            fd,
            pending: Vec::new(),
            closing: false,
        }
    }

    /// Whether more client input can be taken now.
    pub fn ready(&self) -> bool {
        self.pending.is_empty() && !self.closing
    }

    pub fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    pub fn write(&mut self, data: &[u8]) -> StdinState {
        self.pending.extend_from_slice(data);
        self.flush()
    }

    pub fn flush(&mut self) -> StdinState {
        while !self.pending.is_empty() {
            match nix::unistd::write(&self.fd, &self.pending) {
                Ok(n) => {
                    self.pending.drain(..n);
                }
                Err(Errno::EINTR) => {}
                Err(Errno::EAGAIN) => return StdinState::Open,
                // EPIPE: the container closed its stdin; nothing will read more.
                Err(_) => return StdinState::Done,
            }
        }
        if self.closing {
            StdinState::Done
        } else {
            StdinState::Open
        }
    }
}
