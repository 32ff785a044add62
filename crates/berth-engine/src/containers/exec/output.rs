//! An attach connection's output, split back into stdout and stderr: the shim frames each
//! chunk with Docker's 8-byte header (stream, three zero bytes, big-endian length) unless a
//! terminal merges both into one raw stream.

use std::io;

use tokio::io::{AsyncRead, AsyncReadExt};

/// Which of the process's outputs a chunk came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputKind {
    Stdout,
    Stderr,
}

/// Reads chunks of a process's output off its attach connection (or its read half).
#[derive(Debug)]
pub struct OutputReader<R> {
    inner: R,
    tty: bool,
}

/// A raw (terminal) read's size.
const TTY_CHUNK: usize = 32 * 1024;

impl<R: AsyncRead + Unpin> OutputReader<R> {
    /// `tty`: the attach's [`super::AttachStream::tty`].
    pub fn new(inner: R, tty: bool) -> Self {
        Self { inner, tty }
    }

    /// The next chunk, or `None` once the process's outputs are closed.
    pub async fn next(&mut self) -> io::Result<Option<(OutputKind, Vec<u8>)>> {
        if self.tty {
            let mut buf = vec![0u8; TTY_CHUNK];
            let n = self.inner.read(&mut buf).await?;
            buf.truncate(n);
            return Ok((n > 0).then_some((OutputKind::Stdout, buf)));
        }
        let mut header = [0u8; 8];
        match self.inner.read_exact(&mut header).await {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
            Err(e) => return Err(e),
        }
        let kind = match header[0] {
            2 => OutputKind::Stderr,
            _ => OutputKind::Stdout,
        };
        let len = u32::from_be_bytes([header[4], header[5], header[6], header[7]]);
        // Through `take`, not a buffer of the announced size: a length is only trusted as far
        // as bytes back it.
        let mut payload = Vec::new();
        (&mut self.inner)
            .take(u64::from(len))
            .read_to_end(&mut payload)
            .await?;
        if payload.len() != len as usize {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!(
                    "attach stream ended inside a frame ({} of {len} bytes)",
                    payload.len()
                ),
            ));
        }
        Ok(Some((kind, payload)))
    }
}

/// A buffer that keeps the first `cap` bytes written to it and drops the rest, as
/// containerd's `cappedWriter` for ExecSync: the output is truncated, the process never
/// blocked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Capped {
    pub(crate) bytes: Vec<u8>,
    cap: usize,
}

impl Capped {
    pub(crate) fn new(cap: usize) -> Self {
        Self {
            bytes: Vec::new(),
            cap,
        }
    }

    pub(crate) fn push(&mut self, data: &[u8]) {
        let room = self.cap.saturating_sub(self.bytes.len());
        self.bytes.extend_from_slice(&data[..data.len().min(room)]);
    }
}
