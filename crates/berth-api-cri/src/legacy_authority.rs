//! Kubelets before 1.26 (their grpc-go dials a unix socket by its path) send that path as the
//! request's `:authority` (`/run/berth/cri.sock`). h2, the HTTP/2 server under hyper and tonic,
//! refuses an authority no URI could have: the stream is reset with PROTOCOL_ERROR, and kubelet
//! 1.20 cannot even ask for the Version (hyperium/h2#487, still open). Go's server, containerd's,
//! accepts it. [`LegacyAuthority`] sits between the socket and h2 and gives such a request the
//! authority `localhost`, what kubelet 1.26 and later send (kubernetes/kubernetes#112597).
//!
//! HPACK is stateful: a client's header block may refer to entries its earlier blocks added to
//! the dynamic table. So every block the client sends is decoded here (keeping the client's
//! table) and encoded again as literals without indexing: h2's table stays empty and each block
//! stands alone. Everything else passes through as it came. Anything this does not understand
//! (not HTTP/2, a malformed frame) ends the rewriting: the rest passes through untouched and
//! h2 reports the error as it would have.

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::{Buf, BufMut, BytesMut};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
const FRAME_HEADER: usize = 9;
const HEADERS: u8 = 0x1;
const CONTINUATION: u8 = 0x9;
const END_STREAM: u8 = 0x1;
const END_HEADERS: u8 = 0x4;
const PADDED: u8 = 0x8;
const PRIORITY: u8 = 0x20;
/// The smallest SETTINGS_MAX_FRAME_SIZE a peer may announce: frames written here never exceed
/// it, whatever h2 announced.
const MAX_FRAME: usize = 16_384;
/// A header block larger than this is refused by h2 anyway (its default max header list size
/// is 16 MiB); the bound keeps a hostile client from growing the buffer without end.
const MAX_BLOCK: usize = 16 << 20;

/// A client's connection with its header blocks rewritten (see the module's comment).
pub struct LegacyAuthority<S> {
    inner: S,
    /// Bytes of the client preface not seen yet.
    preface_left: usize,
    /// Read from the client, not parsed yet.
    raw: BytesMut,
    /// Ready for h2.
    out: BytesMut,
    /// A HEADERS frame waiting for its CONTINUATIONs.
    pending: Option<Block>,
    decoder: loona_hpack::Decoder<'static>,
    /// Rewriting stopped: everything passes through.
    passthrough: bool,
}

struct Block {
    stream_id: u32,
    /// END_STREAM and PRIORITY of the HEADERS frame.
    flags: u8,
    priority: Option<[u8; 5]>,
    fragment: BytesMut,
    /// The frames as they came, passed on if the block cannot be decoded.
    original: BytesMut,
}

impl<S> LegacyAuthority<S> {
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            preface_left: PREFACE.len(),
            raw: BytesMut::new(),
            out: BytesMut::new(),
            pending: None,
            decoder: loona_hpack::Decoder::new(),
            passthrough: false,
        }
    }

    /// Moves what `raw` holds of whole frames to `out`, rewritten.
    fn process(&mut self) {
        if !self.passthrough && self.preface_left > 0 {
            let n = self.preface_left.min(self.raw.len());
            let at = PREFACE.len() - self.preface_left;
            if self.raw[..n] != PREFACE[at..at + n] {
                self.stop_rewriting(None);
            } else {
                self.out.put(self.raw.split_to(n));
                self.preface_left -= n;
            }
        }
        while !self.passthrough && self.preface_left == 0 && self.raw.len() >= FRAME_HEADER {
            let len = u32::from_be_bytes([0, self.raw[0], self.raw[1], self.raw[2]]) as usize;
            if self.raw.len() < FRAME_HEADER + len {
                break;
            }
            let frame = self.raw.split_to(FRAME_HEADER + len);
            if let Err(frame) = self.frame(frame) {
                self.stop_rewriting(Some(frame));
            }
        }
        if self.passthrough {
            let rest = self.raw.split();
            self.out.put(rest);
        }
    }

    /// From here on everything passes as it came, in order: a pending block's frames, then
    /// `failed` (the frame that stopped the rewriting), then the rest.
    fn stop_rewriting(&mut self, failed: Option<BytesMut>) {
        self.passthrough = true;
        if let Some(block) = self.pending.take() {
            self.out.put(block.original);
        }
        if let Some(frame) = failed {
            self.out.put(frame);
        }
        let rest = self.raw.split();
        self.out.put(rest);
    }

    /// One whole frame; `Err` gives it back when rewriting has to stop.
    fn frame(&mut self, frame: BytesMut) -> Result<(), BytesMut> {
        let (kind, flags) = (frame[3], frame[4]);
        let stream_id = u32::from_be_bytes([frame[5], frame[6], frame[7], frame[8]]) & 0x7fff_ffff;
        match (kind, &mut self.pending) {
            (HEADERS, None) => {
                let Some((priority, fragment)) = headers_payload(&frame[FRAME_HEADER..], flags)
                else {
                    return Err(frame);
                };
                let block = Block {
                    stream_id,
                    flags: flags & (END_STREAM | PRIORITY),
                    priority,
                    fragment: BytesMut::from(fragment),
                    original: frame,
                };
                self.add(block, flags)
            }
            (CONTINUATION, Some(block))
                if block.stream_id == stream_id
                    && block.fragment.len() + frame.len() <= MAX_BLOCK =>
            {
                block.fragment.put(&frame[FRAME_HEADER..]);
                block.original.put(&frame[..]);
                match self.pending.take() {
                    Some(block) => self.add(block, flags),
                    None => Err(frame),
                }
            }
            // Anything else between a HEADERS and its last CONTINUATION is a protocol error.
            (_, Some(_)) | (CONTINUATION, None) => Err(frame),
            (_, None) => {
                self.out.put(frame);
                Ok(())
            }
        }
    }

    /// A block is whole at END_HEADERS: decoded, the authority fixed, encoded again.
    fn add(&mut self, block: Block, flags: u8) -> Result<(), BytesMut> {
        if flags & END_HEADERS == 0 {
            self.pending = Some(block);
            return Ok(());
        }
        let Ok(headers) = self.decoder.decode(&block.fragment) else {
            return Err(block.original);
        };
        let mut encoded = BytesMut::new();
        for (name, value) in &headers {
            let value = if name == b":authority" && !valid_authority(value) {
                &b"localhost"[..]
            } else {
                &value[..]
            };
            literal(&mut encoded, name, value);
        }
        write_block(&mut self.out, &block, &encoded);
        Ok(())
    }
}

/// The priority fields and the header block fragment of a HEADERS payload, padding removed.
fn headers_payload(payload: &[u8], flags: u8) -> Option<(Option<[u8; 5]>, &[u8])> {
    let mut p = payload;
    let pad = if flags & PADDED != 0 {
        let (&n, rest) = p.split_first()?;
        p = rest;
        usize::from(n)
    } else {
        0
    };
    let priority = if flags & PRIORITY != 0 {
        let fields: [u8; 5] = p.get(..5)?.try_into().ok()?;
        p = &p[5..];
        Some(fields)
    } else {
        None
    };
    let end = p.len().checked_sub(pad)?;
    Some((priority, &p[..end]))
}

fn valid_authority(value: &[u8]) -> bool {
    tonic::codegen::http::uri::Authority::try_from(value).is_ok()
}

/// A header as a literal without indexing, new name, no Huffman coding (RFC 7541 6.2.2).
fn literal(out: &mut BytesMut, name: &[u8], value: &[u8]) {
    out.put_u8(0);
    for s in [name, value] {
        let mut len = Vec::with_capacity(4);
        // Writing into a Vec cannot fail.
        let _ = loona_hpack::encoder::encode_integer_into(s.len(), 7, 0, &mut len);
        out.put(&len[..]);
        out.put(s);
    }
}

/// The block as a HEADERS frame and as many CONTINUATIONs as it needs.
fn write_block(out: &mut BytesMut, block: &Block, encoded: &[u8]) {
    let priority = block.priority.as_ref().map_or(&[][..], |p| &p[..]);
    let first = encoded.len().min(MAX_FRAME - priority.len());
    let (head, mut rest) = encoded.split_at(first);
    let end = if rest.is_empty() { END_HEADERS } else { 0 };
    frame_header(
        out,
        priority.len() + head.len(),
        HEADERS,
        block.flags | end,
        block.stream_id,
    );
    out.put(priority);
    out.put(head);
    while !rest.is_empty() {
        let (chunk, tail) = rest.split_at(rest.len().min(MAX_FRAME));
        let end = if tail.is_empty() { END_HEADERS } else { 0 };
        frame_header(out, chunk.len(), CONTINUATION, end, block.stream_id);
        out.put(chunk);
        rest = tail;
    }
}

fn frame_header(out: &mut BytesMut, len: usize, kind: u8, flags: u8, stream_id: u32) {
    out.put(&(len as u32).to_be_bytes()[1..]);
    out.put_u8(kind);
    out.put_u8(flags);
    out.put_u32(stream_id);
}

impl<S: AsyncRead + Unpin> AsyncRead for LegacyAuthority<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        loop {
            if !this.out.is_empty() {
                let n = this.out.len().min(buf.remaining());
                buf.put_slice(&this.out[..n]);
                this.out.advance(n);
                return Poll::Ready(Ok(()));
            }
            let mut chunk = [0u8; 16 * 1024];
            let mut read = ReadBuf::new(&mut chunk);
            ready!(Pin::new(&mut this.inner).poll_read(cx, &mut read))?;
            if read.filled().is_empty() {
                // End of stream: whatever is left goes to h2 as it is.
                this.stop_rewriting(None);
                if this.out.is_empty() {
                    return Poll::Ready(Ok(()));
                }
                continue;
            }
            this.raw.put(read.filled());
            this.process();
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for LegacyAuthority<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests;
