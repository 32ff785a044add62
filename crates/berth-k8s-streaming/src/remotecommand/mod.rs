//! remotecommand: exec and attach (the protocols of client-go's `tools/remotecommand`).
//!
//! The transports differ (SPDY streams chosen by a `streamType` header, or WebSocket messages
//! prefixed by a channel byte), the contract with the backend does not: the backend gets pipes
//! for the streams the client asked for, resize events under a TTY, and returns an `Outcome`
//! that becomes the status on the error stream.

pub(crate) mod spdy;
mod status;
pub(crate) mod websocket;

use std::future::Future;

use serde::Deserialize;
use tokio::io::{AsyncReadExt, DuplexStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Buffer of each stdio pipe between a transport and the backend.
const PIPE_BUFFER: usize = 64 * 1024;
/// Resize events waiting for the backend; older ones lose nothing by being dropped.
const RESIZE_QUEUE: usize = 8;
/// An unterminated resize message longer than this is garbage.
const MAX_RESIZE_MESSAGE: usize = 4096;

/// Versions of the remotecommand protocol; each adds to the one before.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Protocol {
    /// `channel.k8s.io`
    V1,
    /// `v2.channel.k8s.io`: fixes stream handling of v1.
    V2,
    /// `v3.channel.k8s.io`: terminal resizing.
    V3,
    /// `v4.channel.k8s.io`: the error stream carries a JSON status with the exit code.
    V4,
    /// `v5.channel.k8s.io` (WebSocket only): a message that closes one channel.
    V5,
}

impl Protocol {
    /// The SPDY versions, in the kubelet's order of preference (the client's order decides).
    pub(crate) const SPDY: [(&'static str, Protocol); 4] = [
        ("v4.channel.k8s.io", Protocol::V4),
        ("v3.channel.k8s.io", Protocol::V3),
        ("v2.channel.k8s.io", Protocol::V2),
        ("channel.k8s.io", Protocol::V1),
    ];

    fn supports_resize(self) -> bool {
        self >= Protocol::V3
    }

    /// The error stream's payload for an outcome; empty means nothing is written.
    fn status(self, outcome: &Outcome) -> Vec<u8> {
        if self >= Protocol::V4 {
            status::json(outcome)
        } else {
            status::text(outcome)
        }
    }
}

/// The streams the request asked for (the CRI `ExecRequest`/`AttachRequest` flags).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StreamOptions {
    pub stdin: bool,
    pub stdout: bool,
    pub stderr: bool,
    pub tty: bool,
}

impl StreamOptions {
    /// A terminal merges stderr into stdout: clients open no stderr stream then (the kubelet
    /// drops the flag the same way).
    fn normalized(self) -> Self {
        StreamOptions {
            stderr: self.stderr && !self.tty,
            ..self
        }
    }
}

/// A terminal size, as clients send it (`{"Width":80,"Height":24}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TerminalSize {
    pub width: u16,
    pub height: u16,
}

/// The backend's ends of the streams, in-memory pipes: read `stdin`, write `stdout` and
/// `stderr` (the other direction of each pipe is unused). A stream the client did not ask for
/// is `None`. Dropping an output ends the client's copy of it; the command's outputs must be
/// dropped by the time `run` returns.
pub struct CommandIo {
    pub stdin: Option<DuplexStream>,
    pub stdout: Option<DuplexStream>,
    pub stderr: Option<DuplexStream>,
    pub tty: bool,
    /// Terminal sizes, under a TTY with a protocol that has them (v3 and later).
    pub resize: Option<mpsc::Receiver<TerminalSize>>,
}

/// How the command ended, as the client will be told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The process exited with this code (0 is success). Clients read 0–255.
    Exited(i32),
    /// The command could not be run or followed; the message reaches the user.
    Failed(String),
}

/// The process side of an exec or attach, implemented by the CRI adapter. One value serves
/// one request.
pub trait RemoteCommand: Send + 'static {
    fn run(self, io: CommandIo) -> impl Future<Output = Outcome> + Send;
}

impl<F, Fut> RemoteCommand for F
where
    F: FnOnce(CommandIo) -> Fut + Send + 'static,
    Fut: Future<Output = Outcome> + Send,
{
    fn run(self, io: CommandIo) -> impl Future<Output = Outcome> + Send {
        self(io)
    }
}

/// The transport's ends of the pipes.
pub(crate) struct Pipes {
    pub(crate) stdin: Option<DuplexStream>,
    pub(crate) stdout: Option<DuplexStream>,
    pub(crate) stderr: Option<DuplexStream>,
    pub(crate) resize: Option<mpsc::Sender<TerminalSize>>,
}

pub(crate) fn pipes(opts: StreamOptions, resize: bool) -> (CommandIo, Pipes) {
    // Duplex, not simplex, pipes: dropping either end is an end of file for the other.
    let pipe = || tokio::io::duplex(PIPE_BUFFER);
    let (stdin_r, stdin_w) = split_option(opts.stdin.then(pipe));
    let (stdout_r, stdout_w) = split_option(opts.stdout.then(pipe));
    let (stderr_r, stderr_w) = split_option(opts.stderr.then(pipe));
    let (resize_tx, resize_rx) = split_option(
        (opts.tty && resize)
            .then(|| mpsc::channel(RESIZE_QUEUE))
            .map(|(tx, rx)| (rx, tx)),
    );
    let io = CommandIo {
        stdin: stdin_r,
        stdout: stdout_w,
        stderr: stderr_w,
        tty: opts.tty,
        resize: resize_tx,
    };
    let pipes = Pipes {
        stdin: stdin_w,
        stdout: stdout_r,
        stderr: stderr_r,
        resize: resize_rx,
    };
    (io, pipes)
}

fn split_option<A, B>(pair: Option<(A, B)>) -> (Option<A>, Option<B>) {
    match pair {
        Some((a, b)) => (Some(a), Some(b)),
        None => (None, None),
    }
}

/// Copies one output pipe to a transport until the backend drops its end, then calls
/// `finish`. `send` returning false means the client is gone: the pipe is drained anyway so
/// that the backend never blocks on a full pipe.
pub(crate) fn pump_output<S, SF, D, DF>(
    mut pipe: DuplexStream,
    mut send: S,
    finish: D,
) -> JoinHandle<()>
where
    S: FnMut(bytes::Bytes) -> SF + Send + 'static,
    SF: Future<Output = bool> + Send,
    D: FnOnce() -> DF + Send + 'static,
    DF: Future<Output = ()> + Send,
{
    tokio::spawn(async move {
        let mut buf = vec![0u8; 32 * 1024];
        let mut open = true;
        loop {
            match pipe.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if open {
                        open = send(bytes::Bytes::copy_from_slice(&buf[..n])).await;
                    }
                }
            }
        }
        if open {
            finish().await;
        }
    })
}

/// Decodes the resize channel: JSON objects back to back (Go's `json.Encoder` ends each with
/// a newline; WebSocket clients send one per message).
#[derive(Default)]
pub(crate) struct ResizeDecoder {
    pending: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum ResizeError {
    #[error("resize message is not a terminal size: {0}")]
    Json(#[from] serde_json::Error),
    #[error("resize message longer than {MAX_RESIZE_MESSAGE} bytes")]
    TooLong,
}

impl ResizeDecoder {
    pub(crate) fn push(&mut self, data: &[u8]) -> Result<Vec<TerminalSize>, ResizeError> {
        self.pending.extend_from_slice(data);
        let mut sizes = Vec::new();
        let mut stream =
            serde_json::Deserializer::from_slice(&self.pending).into_iter::<TerminalSize>();
        let mut used = 0;
        loop {
            match stream.next() {
                Some(Ok(size)) => {
                    sizes.push(size);
                    used = stream.byte_offset();
                }
                Some(Err(e)) if e.is_eof() => break,
                Some(Err(e)) => return Err(e.into()),
                None => {
                    used = stream.byte_offset();
                    break;
                }
            }
        }
        self.pending.drain(..used);
        if self.pending.len() > MAX_RESIZE_MESSAGE {
            return Err(ResizeError::TooLong);
        }
        Ok(sizes)
    }
}

/// Hands sizes to the backend without ever waiting on it: when it lags, the latest size is
/// what matters.
pub(crate) fn deliver_resizes(tx: &mpsc::Sender<TerminalSize>, sizes: Vec<TerminalSize>) {
    for size in sizes {
        let _ = tx.try_send(size);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resize_events_split_anywhere_are_decoded() {
        let mut decoder = ResizeDecoder::default();
        let wire = b"{\"Width\":80,\"Height\":24}\n{\"Width\":100,\"Height\":40}\n";
        let (a, b) = wire.split_at(30);
        let first = decoder.push(a).expect("first half");
        assert_eq!(
            first,
            vec![TerminalSize {
                width: 80,
                height: 24
            }]
        );
        let second = decoder.push(b).expect("second half");
        assert_eq!(
            second,
            vec![TerminalSize {
                width: 100,
                height: 40
            }]
        );
        assert!(decoder.push(b"\"wide\"").is_err());
        let mut decoder = ResizeDecoder::default();
        assert!(matches!(
            decoder.push(&[b'{'; MAX_RESIZE_MESSAGE + 1]),
            Err(ResizeError::TooLong) | Err(ResizeError::Json(_))
        ));
    }

    #[test]
    fn a_terminal_has_no_stderr() {
        let opts = StreamOptions {
            stdin: true,
            stdout: true,
            stderr: true,
            tty: true,
        };
        assert!(!opts.normalized().stderr);
    }
}
