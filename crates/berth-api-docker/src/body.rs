//! Response bodies written by blocking engine code (`docker save`, `export`, `cp`): a
//! [`ChannelWriter`] hands chunks to the HTTP body stream. A failure after the status line was
//! sent ends the body with an error, so the client sees a broken transfer rather than a short
//! archive that looks complete.

use std::fmt::Display;
use std::future::Future;
use std::io::{self, Read, Write};

use axum::body::Body;
use bytes::Bytes;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

/// Bytes are sent in chunks of about this size.
const CHUNK: usize = 64 * 1024;

/// A blocking `Write` feeding an HTTP body; use it from a blocking thread only.
pub struct ChannelWriter {
    tx: mpsc::Sender<io::Result<Bytes>>,
    buf: Vec<u8>,
}

impl ChannelWriter {
    fn send(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK)));
        self.tx
            .blocking_send(Ok(chunk))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the client went away"))
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK {
            self.send()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send()
    }
}

/// A body produced by `produce`, which gets the writer and must flush it when done.
pub fn streamed<F, Fut, E>(what: &'static str, produce: F) -> Body
where
    F: FnOnce(ChannelWriter) -> Fut + Send + 'static,
    Fut: Future<Output = Result<(), E>> + Send + 'static,
    E: Display + Send + 'static,
{
    let (tx, rx) = mpsc::channel(8);
    let writer = ChannelWriter {
        tx: tx.clone(),
        buf: Vec::with_capacity(CHUNK),
    };
    tokio::spawn(async move {
        if let Err(e) = produce(writer).await {
            tracing::warn!(error = %e, "{what} failed while streaming");
            let _ = tx.send(Err(io::Error::other(e.to_string()))).await;
        }
    });
    Body::from_stream(ReceiverStream::new(rx))
}

/// Reads what is left of a request body when dropped (on a blocking thread), so a client still
/// uploading sees the error response instead of a broken pipe when a load or an extraction
/// fails early.
pub struct DrainOnDrop<R: Read>(pub R);

impl<R: Read> Read for DrainOnDrop<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.0.read(buf)
    }
}

impl<R: Read> Drop for DrainOnDrop<R> {
    fn drop(&mut self) {
        // Normally dropped on the blocking thread that read it; `block_in_place` also makes a
        // drop on a runtime worker (a cancelled request) legal for the blocking bridge.
        tokio::task::block_in_place(|| {
            let _ = std::io::copy(&mut self.0, &mut std::io::sink());
        });
    }
}

/// Standard base64 (with padding), for the `X-Docker-Container-Path-Stat` header.
pub fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests;
