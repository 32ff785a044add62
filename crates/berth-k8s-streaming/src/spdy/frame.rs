//! SPDY/3.1 frames and their codec (SPDY/3.1 draft, sections 2.2–2.6).
//!
//! The decoder and the encoder each own one zlib context, primed with the SPDY/3 dictionary,
//! that lives as long as the session: header blocks are not independent, each continues the
//! compressed stream of the previous one in the same direction. Any decode error therefore ends
//! the session (the contexts cannot be resynchronised).

use bytes::{Buf, BufMut, Bytes, BytesMut};
use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};
use tokio_util::codec::{Decoder, Encoder};

use super::dictionary::HEADER_DICTIONARY;

/// The protocol version carried in every control frame.
pub const VERSION: u16 = 3;
/// The initial stream and session window of SPDY/3.1 (section 2.6.8).
pub const DEFAULT_WINDOW: u32 = 64 * 1024;
/// The largest value a flow-control window may take.
pub const MAX_WINDOW: i64 = 0x7fff_ffff;

/// Control frames of the Kubernetes protocols hold a few short headers (under 200 bytes
/// compressed); anything near this is hostile.
const MAX_CONTROL_FRAME: usize = 64 * 1024;
/// Decompressed size of one header block: the zlib-bomb bound.
const MAX_HEADER_BLOCK: usize = 64 * 1024;
const MAX_HEADER_COUNT: u32 = 128;
/// Go's client writes what it is handed in one data frame; its copies use 32 KiB buffers.
pub(crate) const MAX_DATA_FRAME: usize = 1024 * 1024;

const TYPE_SYN_STREAM: u16 = 1;
const TYPE_SYN_REPLY: u16 = 2;
const TYPE_RST_STREAM: u16 = 3;
const TYPE_SETTINGS: u16 = 4;
const TYPE_PING: u16 = 6;
const TYPE_GOAWAY: u16 = 7;
const TYPE_HEADERS: u16 = 8;
const TYPE_WINDOW_UPDATE: u16 = 9;

const FLAG_FIN: u8 = 0x01;
const FLAG_UNIDIRECTIONAL: u8 = 0x02;
const FLAG_CLEAR_SETTINGS: u8 = 0x01;

/// The one setting (section 2.6.4) the session acts on.
pub const SETTINGS_INITIAL_WINDOW_SIZE: u32 = 7;

/// RST_STREAM status codes (section 2.6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RstStatus {
    ProtocolError,
    InvalidStream,
    RefusedStream,
    UnsupportedVersion,
    Cancel,
    InternalError,
    FlowControlError,
    StreamInUse,
    StreamAlreadyClosed,
    FrameTooLarge,
    /// A code this implementation does not name (kept so that nothing is lost).
    Other(u32),
}

impl RstStatus {
    pub fn code(self) -> u32 {
        match self {
            RstStatus::ProtocolError => 1,
            RstStatus::InvalidStream => 2,
            RstStatus::RefusedStream => 3,
            RstStatus::UnsupportedVersion => 4,
            RstStatus::Cancel => 5,
            RstStatus::InternalError => 6,
            RstStatus::FlowControlError => 7,
            RstStatus::StreamInUse => 8,
            RstStatus::StreamAlreadyClosed => 9,
            RstStatus::FrameTooLarge => 11,
            RstStatus::Other(code) => code,
        }
    }

    pub fn from_code(code: u32) -> Self {
        match code {
            1 => RstStatus::ProtocolError,
            2 => RstStatus::InvalidStream,
            3 => RstStatus::RefusedStream,
            4 => RstStatus::UnsupportedVersion,
            5 => RstStatus::Cancel,
            6 => RstStatus::InternalError,
            7 => RstStatus::FlowControlError,
            8 => RstStatus::StreamInUse,
            9 => RstStatus::StreamAlreadyClosed,
            11 => RstStatus::FrameTooLarge,
            other => RstStatus::Other(other),
        }
    }
}

/// GOAWAY status codes (section 2.6.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GoAwayStatus {
    Ok,
    ProtocolError,
    InternalError,
    Other(u32),
}

impl GoAwayStatus {
    fn code(self) -> u32 {
        match self {
            GoAwayStatus::Ok => 0,
            GoAwayStatus::ProtocolError => 1,
            GoAwayStatus::InternalError => 2,
            GoAwayStatus::Other(code) => code,
        }
    }

    fn from_code(code: u32) -> Self {
        match code {
            0 => GoAwayStatus::Ok,
            1 => GoAwayStatus::ProtocolError,
            2 => GoAwayStatus::InternalError,
            other => GoAwayStatus::Other(other),
        }
    }
}

/// A header block: lowercase names, in order. A name with several values appears once per
/// value here; on the wire the values are joined by NUL (section 2.6.10).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers(Vec<(String, String)>);

impl Headers {
    pub fn new() -> Self {
        Headers(Vec::new())
    }

    /// Appends a value; the name is lowercased as the wire format demands.
    pub fn insert(&mut self, name: &str, value: &str) {
        self.0.push((name.to_ascii_lowercase(), value.to_owned()));
    }

    /// The first value of `name` (compared without case).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// Names in first-seen order, each with its values joined by NUL.
    fn grouped(&self) -> Vec<(&str, String)> {
        let mut out: Vec<(&str, String)> = Vec::new();
        for (name, value) in &self.0 {
            match out.iter_mut().find(|(n, _)| n == name) {
                Some((_, joined)) => {
                    joined.push('\0');
                    joined.push_str(value);
                }
                None => out.push((name.as_str(), value.clone())),
            }
        }
        out
    }
}

impl<'a> FromIterator<(&'a str, &'a str)> for Headers {
    fn from_iter<I: IntoIterator<Item = (&'a str, &'a str)>>(iter: I) -> Self {
        let mut headers = Headers::new();
        for (name, value) in iter {
            headers.insert(name, value);
        }
        headers
    }
}

/// One SPDY/3.1 frame. Stream ids are 31-bit; the codec masks and checks them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    SynStream {
        stream_id: u32,
        associated_to: u32,
        priority: u8,
        fin: bool,
        unidirectional: bool,
        headers: Headers,
    },
    SynReply {
        stream_id: u32,
        fin: bool,
        headers: Headers,
    },
    RstStream {
        stream_id: u32,
        status: RstStatus,
    },
    Settings {
        clear: bool,
        /// (flags, id, value)
        entries: Vec<(u8, u32, u32)>,
    },
    Ping {
        id: u32,
    },
    GoAway {
        last_good_stream_id: u32,
        status: GoAwayStatus,
    },
    Headers {
        stream_id: u32,
        fin: bool,
        headers: Headers,
    },
    /// Stream id 0 is the session window (SPDY/3.1).
    WindowUpdate {
        stream_id: u32,
        delta: u32,
    },
    Data {
        stream_id: u32,
        fin: bool,
        data: Bytes,
    },
}

/// Why a byte stream is not SPDY/3.1: every one of these ends the session.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    #[error("reading or writing the SPDY connection: {0}")]
    Io(#[from] std::io::Error),
    #[error("control frame of SPDY version {0}; only version 3 is spoken")]
    UnsupportedVersion(u16),
    #[error(
        "control frame type {kind} of {len} bytes is larger than the {MAX_CONTROL_FRAME} allowed"
    )]
    ControlFrameTooLarge { kind: u16, len: usize },
    #[error("data frame of {len} bytes on stream {stream_id} is larger than the {MAX_DATA_FRAME} allowed")]
    DataFrameTooLarge { stream_id: u32, len: usize },
    #[error("{kind} frame has a payload of {len} bytes, which its layout does not allow")]
    BadLength { kind: &'static str, len: usize },
    #[error("{kind} frame names stream 0")]
    ZeroStreamId { kind: &'static str },
    #[error("header block of stream {stream_id}: {reason}")]
    BadHeaderBlock { stream_id: u32, reason: String },
    #[error(
        "header block of stream {stream_id} decompresses to more than {MAX_HEADER_BLOCK} bytes"
    )]
    HeaderBlockTooLarge { stream_id: u32 },
    #[error("header block of stream {stream_id} is not valid zlib data: {source}")]
    Inflate {
        stream_id: u32,
        source: flate2::DecompressError,
    },
    #[error("compressing a header block: {0}")]
    Deflate(#[from] flate2::CompressError),
    #[error("frame to send is invalid: {0}")]
    Unencodable(&'static str),
}

fn check_stream_id(stream_id: u32, kind: &'static str) -> Result<u32, CodecError> {
    let id = stream_id & 0x7fff_ffff;
    if id == 0 {
        return Err(CodecError::ZeroStreamId { kind });
    }
    Ok(id)
}

/// Reads frames; owns the receiving direction's zlib context.
pub struct FrameDecoder {
    inflate: Decompress,
}

impl Default for FrameDecoder {
    fn default() -> Self {
        FrameDecoder {
            inflate: Decompress::new(true),
        }
    }
}

impl FrameDecoder {
    pub fn new() -> Self {
        Self::default()
    }

    fn inflate(&mut self, stream_id: u32, input: &[u8]) -> Result<Vec<u8>, CodecError> {
        let mut out = Vec::with_capacity(512);
        let mut consumed = 0usize;
        loop {
            if out.len() == out.capacity() {
                if out.len() >= MAX_HEADER_BLOCK {
                    return Err(CodecError::HeaderBlockTooLarge { stream_id });
                }
                out.reserve(out.len().min(MAX_HEADER_BLOCK - out.len()).max(512));
            }
            let (in_before, out_before) = (self.inflate.total_in(), out.len());
            let result =
                self.inflate
                    .decompress_vec(&input[consumed..], &mut out, FlushDecompress::Sync);
            let used = (self.inflate.total_in() - in_before) as usize;
            consumed += used;
            match result {
                // The first block names the dictionary (FDICT); zlib pauses for it.
                Err(e) if e.needs_dictionary().is_some() => {
                    self.inflate
                        .set_dictionary(&HEADER_DICTIONARY)
                        .map_err(|source| CodecError::Inflate { stream_id, source })?;
                    continue;
                }
                Err(source) => return Err(CodecError::Inflate { stream_id, source }),
                Ok(Status::StreamEnd) => {
                    return Err(CodecError::BadHeaderBlock {
                        stream_id,
                        reason: "the peer ended its zlib stream".into(),
                    })
                }
                Ok(_) => {}
            }
            let progressed = used > 0 || out.len() > out_before;
            if consumed == input.len() && (out.len() < out.capacity() || !progressed) {
                return Ok(out);
            }
            if !progressed {
                return Err(CodecError::BadHeaderBlock {
                    stream_id,
                    reason: format!("zlib stopped with {} bytes unread", input.len() - consumed),
                });
            }
        }
    }

    fn header_block(&mut self, stream_id: u32, compressed: &[u8]) -> Result<Headers, CodecError> {
        let raw = self.inflate(stream_id, compressed)?;
        parse_header_block(stream_id, &raw)
    }

    fn control(&mut self, kind: u16, flags: u8, mut p: Bytes) -> Result<Option<Frame>, CodecError> {
        let len = p.len();
        let need = |kind: &'static str, ok: bool| {
            if ok {
                Ok(())
            } else {
                Err(CodecError::BadLength { kind, len })
            }
        };
        let frame = match kind {
            TYPE_SYN_STREAM => {
                need("SYN_STREAM", len >= 10)?;
                let stream_id = check_stream_id(p.get_u32(), "SYN_STREAM")?;
                let associated_to = p.get_u32() & 0x7fff_ffff;
                let priority = p.get_u8() >> 5;
                p.advance(1); // slot: credentials are gone in SPDY/3.1
                Frame::SynStream {
                    stream_id,
                    associated_to,
                    priority,
                    fin: flags & FLAG_FIN != 0,
                    unidirectional: flags & FLAG_UNIDIRECTIONAL != 0,
                    headers: self.header_block(stream_id, &p)?,
                }
            }
            TYPE_SYN_REPLY | TYPE_HEADERS => {
                let name = if kind == TYPE_SYN_REPLY {
                    "SYN_REPLY"
                } else {
                    "HEADERS"
                };
                need(name, len >= 4)?;
                let stream_id = check_stream_id(p.get_u32(), name)?;
                let headers = self.header_block(stream_id, &p)?;
                let fin = flags & FLAG_FIN != 0;
                if kind == TYPE_SYN_REPLY {
                    Frame::SynReply {
                        stream_id,
                        fin,
                        headers,
                    }
                } else {
                    Frame::Headers {
                        stream_id,
                        fin,
                        headers,
                    }
                }
            }
            TYPE_RST_STREAM => {
                need("RST_STREAM", len == 8)?;
                Frame::RstStream {
                    stream_id: check_stream_id(p.get_u32(), "RST_STREAM")?,
                    status: RstStatus::from_code(p.get_u32()),
                }
            }
            TYPE_SETTINGS => {
                need("SETTINGS", len >= 4)?;
                let count = p.get_u32() as usize;
                need("SETTINGS", count.checked_mul(8) == Some(len - 4))?;
                let entries = (0..count)
                    .map(|_| {
                        let flag_id = p.get_u32();
                        ((flag_id >> 24) as u8, flag_id & 0x00ff_ffff, p.get_u32())
                    })
                    .collect();
                Frame::Settings {
                    clear: flags & FLAG_CLEAR_SETTINGS != 0,
                    entries,
                }
            }
            TYPE_PING => {
                need("PING", len == 4)?;
                Frame::Ping { id: p.get_u32() }
            }
            TYPE_GOAWAY => {
                need("GOAWAY", len == 8)?;
                Frame::GoAway {
                    last_good_stream_id: p.get_u32() & 0x7fff_ffff,
                    status: GoAwayStatus::from_code(p.get_u32()),
                }
            }
            TYPE_WINDOW_UPDATE => {
                need("WINDOW_UPDATE", len == 8)?;
                Frame::WindowUpdate {
                    stream_id: p.get_u32() & 0x7fff_ffff,
                    delta: p.get_u32() & 0x7fff_ffff,
                }
            }
            // Section 2.2.1: unknown control frames are ignored (CREDENTIAL of SPDY/3, too).
            _ => return Ok(None),
        };
        Ok(Some(frame))
    }
}

fn parse_header_block(stream_id: u32, mut raw: &[u8]) -> Result<Headers, CodecError> {
    let bad = |reason: &str| CodecError::BadHeaderBlock {
        stream_id,
        reason: reason.to_owned(),
    };
    fn take<'a>(raw: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
        if raw.len() < n {
            return None;
        }
        let (head, tail) = raw.split_at(n);
        *raw = tail;
        Some(head)
    }
    fn take_string(raw: &mut &[u8]) -> Option<Result<String, std::str::Utf8Error>> {
        let len = u32::from_be_bytes(take(raw, 4)?.try_into().ok()?) as usize;
        let bytes = take(raw, len)?;
        Some(std::str::from_utf8(bytes).map(str::to_owned))
    }
    let count = take(&mut raw, 4)
        .and_then(|b| b.try_into().ok())
        .map(u32::from_be_bytes)
        .ok_or_else(|| bad("truncated header count"))?;
    if count > MAX_HEADER_COUNT {
        return Err(bad(&format!(
            "{count} headers, more than the {MAX_HEADER_COUNT} allowed"
        )));
    }
    let mut headers = Headers::new();
    let mut names: Vec<String> = Vec::new();
    for _ in 0..count {
        let name = take_string(&mut raw)
            .ok_or_else(|| bad("truncated header name"))?
            .map_err(|_| bad("header name is not UTF-8"))?;
        let value = take_string(&mut raw)
            .ok_or_else(|| bad("truncated header value"))?
            .map_err(|_| bad("header value is not UTF-8"))?;
        if name.is_empty() {
            return Err(bad("empty header name"));
        }
        if name.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(bad(&format!("header name {name:?} is not lowercase")));
        }
        if names.contains(&name) {
            return Err(bad(&format!("header {name:?} appears twice")));
        }
        for v in value.split('\0') {
            headers.0.push((name.clone(), v.to_owned()));
        }
        names.push(name);
    }
    if !raw.is_empty() {
        return Err(bad(&format!("{} bytes after the last header", raw.len())));
    }
    Ok(headers)
}

impl Decoder for FrameDecoder {
    type Item = Frame;
    type Error = CodecError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Frame>, CodecError> {
        loop {
            if src.len() < 8 {
                return Ok(None);
            }
            let first = u32::from_be_bytes([src[0], src[1], src[2], src[3]]);
            let flags = src[4];
            let len = u32::from_be_bytes([0, src[5], src[6], src[7]]) as usize;
            let control = first & 0x8000_0000 != 0;
            if control {
                let version = ((first >> 16) & 0x7fff) as u16;
                if version != VERSION {
                    return Err(CodecError::UnsupportedVersion(version));
                }
                if len > MAX_CONTROL_FRAME {
                    let kind = (first & 0xffff) as u16;
                    return Err(CodecError::ControlFrameTooLarge { kind, len });
                }
            } else if len > MAX_DATA_FRAME {
                return Err(CodecError::DataFrameTooLarge {
                    stream_id: first,
                    len,
                });
            }
            if src.len() < 8 + len {
                src.reserve(8 + len - src.len());
                return Ok(None);
            }
            src.advance(8);
            let payload = src.split_to(len).freeze();
            if !control {
                return Ok(Some(Frame::Data {
                    stream_id: check_stream_id(first, "data")?,
                    fin: flags & FLAG_FIN != 0,
                    data: payload,
                }));
            }
            if let Some(frame) = self.control((first & 0xffff) as u16, flags, payload)? {
                return Ok(Some(frame));
            }
        }
    }
}

/// Writes frames; owns the sending direction's zlib context.
pub struct FrameEncoder {
    deflate: Compress,
}

impl FrameEncoder {
    pub fn new() -> Result<Self, CodecError> {
        // Best compression, as Go's framer: header blocks are tiny, the cost is nil.
        let mut deflate = Compress::new(Compression::best(), true);
        deflate.set_dictionary(&HEADER_DICTIONARY)?;
        Ok(FrameEncoder { deflate })
    }

    fn deflate(&mut self, raw: &[u8], out: &mut BytesMut) -> Result<(), CodecError> {
        let mut buf = Vec::with_capacity(raw.len() / 2 + 64);
        let mut consumed = 0usize;
        loop {
            if buf.len() == buf.capacity() {
                buf.reserve(256);
            }
            let before = self.deflate.total_in();
            self.deflate
                .compress_vec(&raw[consumed..], &mut buf, FlushCompress::Sync)?;
            consumed += (self.deflate.total_in() - before) as usize;
            // A sync flush is complete once zlib stops short of the space it was given.
            if consumed == raw.len() && buf.len() < buf.capacity() {
                break;
            }
        }
        out.extend_from_slice(&buf);
        Ok(())
    }

    fn header_block(&mut self, headers: &Headers, out: &mut BytesMut) -> Result<(), CodecError> {
        let grouped = headers.grouped();
        let mut raw = Vec::new();
        let count = u32::try_from(grouped.len())
            .map_err(|_| CodecError::Unencodable("too many headers"))?;
        raw.extend_from_slice(&count.to_be_bytes());
        for (name, value) in grouped {
            for s in [name, value.as_str()] {
                let len = u32::try_from(s.len())
                    .map_err(|_| CodecError::Unencodable("header too long"))?;
                raw.extend_from_slice(&len.to_be_bytes());
                raw.extend_from_slice(s.as_bytes());
            }
        }
        self.deflate(&raw, out)
    }
}

fn put_control_header(
    dst: &mut BytesMut,
    kind: u16,
    flags: u8,
    len: usize,
) -> Result<(), CodecError> {
    if len > 0x00ff_ffff {
        return Err(CodecError::Unencodable("control frame longer than 2^24-1"));
    }
    dst.put_u16(0x8000 | VERSION);
    dst.put_u16(kind);
    dst.put_u32((u32::from(flags) << 24) | len as u32);
    Ok(())
}

fn fin_flag(fin: bool) -> u8 {
    if fin {
        FLAG_FIN
    } else {
        0
    }
}

impl Encoder<Frame> for FrameEncoder {
    type Error = CodecError;

    fn encode(&mut self, frame: Frame, dst: &mut BytesMut) -> Result<(), CodecError> {
        let mut body = BytesMut::new();
        let (kind, flags) = match frame {
            Frame::SynStream {
                stream_id,
                associated_to,
                priority,
                fin,
                unidirectional,
                headers,
            } => {
                body.put_u32(check_stream_id(stream_id, "SYN_STREAM")?);
                body.put_u32(associated_to & 0x7fff_ffff);
                body.put_u8((priority & 0x7) << 5);
                body.put_u8(0);
                self.header_block(&headers, &mut body)?;
                let unidirectional = if unidirectional {
                    FLAG_UNIDIRECTIONAL
                } else {
                    0
                };
                (TYPE_SYN_STREAM, fin_flag(fin) | unidirectional)
            }
            Frame::SynReply {
                stream_id,
                fin,
                headers,
            } => {
                body.put_u32(check_stream_id(stream_id, "SYN_REPLY")?);
                self.header_block(&headers, &mut body)?;
                (TYPE_SYN_REPLY, fin_flag(fin))
            }
            Frame::Headers {
                stream_id,
                fin,
                headers,
            } => {
                body.put_u32(check_stream_id(stream_id, "HEADERS")?);
                self.header_block(&headers, &mut body)?;
                (TYPE_HEADERS, fin_flag(fin))
            }
            Frame::RstStream { stream_id, status } => {
                body.put_u32(check_stream_id(stream_id, "RST_STREAM")?);
                body.put_u32(status.code());
                (TYPE_RST_STREAM, 0)
            }
            Frame::Settings { clear, entries } => {
                let count = u32::try_from(entries.len())
                    .map_err(|_| CodecError::Unencodable("too many settings"))?;
                body.put_u32(count);
                for (flag, id, value) in entries {
                    body.put_u32((u32::from(flag) << 24) | (id & 0x00ff_ffff));
                    body.put_u32(value);
                }
                (TYPE_SETTINGS, if clear { FLAG_CLEAR_SETTINGS } else { 0 })
            }
            Frame::Ping { id } => {
                body.put_u32(id);
                (TYPE_PING, 0)
            }
            Frame::GoAway {
                last_good_stream_id,
                status,
            } => {
                body.put_u32(last_good_stream_id & 0x7fff_ffff);
                body.put_u32(status.code());
                (TYPE_GOAWAY, 0)
            }
            Frame::WindowUpdate { stream_id, delta } => {
                body.put_u32(stream_id & 0x7fff_ffff);
                body.put_u32(delta & 0x7fff_ffff);
                (TYPE_WINDOW_UPDATE, 0)
            }
            Frame::Data {
                stream_id,
                fin,
                data,
            } => {
                let stream_id = check_stream_id(stream_id, "data")?;
                if data.len() > MAX_DATA_FRAME {
                    return Err(CodecError::Unencodable("data frame larger than the limit"));
                }
                dst.reserve(8 + data.len());
                dst.put_u32(stream_id);
                dst.put_u32((u32::from(fin_flag(fin)) << 24) | data.len() as u32);
                dst.extend_from_slice(&data);
                return Ok(());
            }
        };
        put_control_header(dst, kind, flags, body.len())?;
        dst.extend_from_slice(&body);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("test hex"))
            .collect()
    }

    /// Frames written by moby/spdystream's Framer (the vendored Go code of cri-tools), in
    /// order on one framer: the header blocks share its zlib stream.
    const GO_FRAMES: &[&str] = &[
        "80030001000000290000000100000000000078f9e3c6a7c26260606004a7b392a2d4c45c6851c29a0a0a6800000000ffff",
        "800300010000001700000003000000000000c22e555c92929907000000ffff",
        "000000030100000568656c6c6f",
        "800300060000000400000001",
        "80030003000000080000000500000005",
        "80030007000000080000000700000000",
        "80030009000000080000000300008000",
        "800300040000000c000000010000000700100000",
        "800300020000000e000000016260606000000000ffff",
    ];

    fn decode_all(decoder: &mut FrameDecoder, bytes: &[u8]) -> Result<Vec<Frame>, CodecError> {
        let mut buf = BytesMut::from(bytes);
        let mut frames = Vec::new();
        while let Some(frame) = decoder.decode(&mut buf)? {
            frames.push(frame);
        }
        assert!(buf.is_empty(), "{} bytes left undecoded", buf.len());
        Ok(frames)
    }

    fn headers(pairs: &[(&str, &str)]) -> Headers {
        pairs.iter().copied().collect()
    }

    #[test]
    fn decodes_what_go_writes() {
        let bytes: Vec<u8> = GO_FRAMES.iter().flat_map(|f| hex(f)).collect();
        let frames = decode_all(&mut FrameDecoder::new(), &bytes).expect("decode");
        let expected = vec![
            Frame::SynStream {
                stream_id: 1,
                associated_to: 0,
                priority: 0,
                fin: false,
                unidirectional: false,
                headers: headers(&[("streamtype", "error")]),
            },
            Frame::SynStream {
                stream_id: 3,
                associated_to: 0,
                priority: 0,
                fin: false,
                unidirectional: false,
                headers: headers(&[("streamtype", "stdin")]),
            },
            Frame::Data {
                stream_id: 3,
                fin: true,
                data: Bytes::from_static(b"hello"),
            },
            Frame::Ping { id: 1 },
            Frame::RstStream {
                stream_id: 5,
                status: RstStatus::Cancel,
            },
            Frame::GoAway {
                last_good_stream_id: 7,
                status: GoAwayStatus::Ok,
            },
            Frame::WindowUpdate {
                stream_id: 3,
                delta: 32768,
            },
            Frame::Settings {
                clear: false,
                entries: vec![(0, SETTINGS_INITIAL_WINDOW_SIZE, 1 << 20)],
            },
            Frame::SynReply {
                stream_id: 1,
                fin: false,
                headers: Headers::new(),
            },
        ];
        assert_eq!(frames, expected);
    }

    #[test]
    fn fixed_layout_frames_encode_as_go_writes_them() {
        let mut encoder = FrameEncoder::new().expect("encoder");
        let cases = [
            (Frame::Ping { id: 1 }, GO_FRAMES[3]),
            (
                Frame::RstStream {
                    stream_id: 5,
                    status: RstStatus::Cancel,
                },
                GO_FRAMES[4],
            ),
            (
                Frame::GoAway {
                    last_good_stream_id: 7,
                    status: GoAwayStatus::Ok,
                },
                GO_FRAMES[5],
            ),
            (
                Frame::WindowUpdate {
                    stream_id: 3,
                    delta: 32768,
                },
                GO_FRAMES[6],
            ),
            (
                Frame::Settings {
                    clear: false,
                    entries: vec![(0, SETTINGS_INITIAL_WINDOW_SIZE, 1 << 20)],
                },
                GO_FRAMES[7],
            ),
            (
                Frame::Data {
                    stream_id: 3,
                    fin: true,
                    data: Bytes::from_static(b"hello"),
                },
                GO_FRAMES[2],
            ),
        ];
        for (frame, go) in cases {
            let mut out = BytesMut::new();
            encoder.encode(frame.clone(), &mut out).expect("encode");
            assert_eq!(out.as_ref(), hex(go).as_slice(), "{frame:?}");
        }
    }

    #[test]
    fn header_blocks_share_one_zlib_stream_per_direction() {
        let mut encoder = FrameEncoder::new().expect("encoder");
        let mut decoder = FrameDecoder::new();
        let mut wire = BytesMut::new();
        let block = headers(&[("streamtype", "data"), ("port", "8080"), ("requestid", "0")]);
        for id in [1, 3, 5] {
            let frame = Frame::SynStream {
                stream_id: id,
                associated_to: 0,
                priority: 2,
                fin: false,
                unidirectional: false,
                headers: block.clone(),
            };
            encoder.encode(frame, &mut wire).expect("encode");
        }
        let frames = decode_all(&mut decoder, &wire).expect("decode");
        assert_eq!(frames.len(), 3);
        // A second decoder that missed the first block cannot read the rest.
        let first_len = 8 + u32::from_be_bytes([0, wire[5], wire[6], wire[7]]) as usize;
        assert!(decode_all(&mut FrameDecoder::new(), &wire[first_len..]).is_err());
    }

    #[test]
    fn multiple_values_travel_nul_joined() {
        let mut encoder = FrameEncoder::new().expect("encoder");
        let mut wire = BytesMut::new();
        let block = headers(&[("a", "1"), ("b", "x"), ("a", "2")]);
        let frame = Frame::Headers {
            stream_id: 1,
            fin: true,
            headers: block,
        };
        encoder.encode(frame, &mut wire).expect("encode");
        let frames = decode_all(&mut FrameDecoder::new(), &wire).expect("decode");
        let Frame::Headers { headers: got, .. } = &frames[0] else {
            panic!("not HEADERS: {frames:?}");
        };
        let pairs: Vec<_> = got.iter().collect();
        assert_eq!(pairs, vec![("a", "1"), ("a", "2"), ("b", "x")]);
    }

    fn first_error(bytes: &[u8]) -> CodecError {
        match decode_all(&mut FrameDecoder::new(), bytes) {
            Err(e) => e,
            Ok(frames) => panic!("decoded {frames:?}"),
        }
    }

    #[test]
    fn hostile_frames_are_errors_not_panics() {
        // SPDY/2 control frame.
        assert!(matches!(
            first_error(&hex("800200060000000400000001")),
            CodecError::UnsupportedVersion(2)
        ));
        // A 16 MiB control frame is refused from its header alone.
        assert!(matches!(
            first_error(&hex("8003000100ffffff")),
            CodecError::ControlFrameTooLarge { .. }
        ));
        assert!(matches!(
            first_error(&hex("0000000100ffffff")),
            CodecError::DataFrameTooLarge { .. }
        ));
        // PING of 5 bytes, SETTINGS whose count disagrees with its length.
        assert!(matches!(
            first_error(&hex("80030006000000050000000100")),
            CodecError::BadLength { .. }
        ));
        assert!(matches!(
            first_error(&hex("800300040000000c000000020000000700100000")),
            CodecError::BadLength { .. }
        ));
        // Data on stream 0; SYN_STREAM with garbage instead of zlib.
        assert!(matches!(
            first_error(&hex("000000000000000161")),
            CodecError::ZeroStreamId { .. }
        ));
        assert!(matches!(
            first_error(&hex("80030001000000100000000100000000000001020304050607")),
            CodecError::Inflate { .. } | CodecError::BadHeaderBlock { .. }
        ));
    }

    /// Compresses a raw header block the way a peer would, for tests of the block parser.
    fn syn_stream_with_raw_block(raw: &[u8]) -> Vec<u8> {
        let mut encoder = FrameEncoder::new().expect("encoder");
        let mut block = BytesMut::new();
        encoder.deflate(raw, &mut block).expect("deflate");
        let mut out = BytesMut::new();
        put_control_header(&mut out, TYPE_SYN_STREAM, 0, 10 + block.len()).expect("header");
        out.put_u32(1);
        out.put_u32(0);
        out.put_u16(0);
        out.extend_from_slice(&block);
        out.to_vec()
    }

    fn raw_block(pairs: &[(&[u8], &[u8])], count: u32) -> Vec<u8> {
        let mut raw = count.to_be_bytes().to_vec();
        for (name, value) in pairs {
            raw.extend_from_slice(&(name.len() as u32).to_be_bytes());
            raw.extend_from_slice(name);
            raw.extend_from_slice(&(value.len() as u32).to_be_bytes());
            raw.extend_from_slice(value);
        }
        raw
    }

    #[test]
    fn bad_header_blocks_are_refused() {
        let cases: Vec<Vec<u8>> = vec![
            raw_block(&[(b"Upper", b"x")], 1),
            raw_block(&[(b"a", b"x"), (b"a", b"y")], 2),
            raw_block(&[(b"", b"x")], 1),
            raw_block(&[(b"a", b"x")], 2),
            raw_block(&[(b"a", b"\xff\xfe")], 1),
            raw_block(&[], MAX_HEADER_COUNT + 1),
            // A name claiming 4 GiB.
            [1u32.to_be_bytes(), u32::MAX.to_be_bytes()].concat(),
        ];
        for raw in cases {
            let err = first_error(&syn_stream_with_raw_block(&raw));
            assert!(matches!(err, CodecError::BadHeaderBlock { .. }), "{err}");
        }
    }

    #[test]
    fn zlib_bombs_stop_at_the_block_limit() {
        let value = vec![b'a'; 4 * MAX_HEADER_BLOCK];
        let raw = raw_block(&[(b"a", &value)], 1);
        let err = first_error(&syn_stream_with_raw_block(&raw));
        assert!(
            matches!(err, CodecError::HeaderBlockTooLarge { .. }),
            "{err}"
        );
    }

    fn arb_headers() -> impl Strategy<Value = Headers> {
        proptest::collection::vec(("[a-z][a-z0-9-]{0,12}", "[ -~]{0,40}"), 0..6).prop_map(|pairs| {
            let mut seen = Vec::new();
            let mut headers = Headers::new();
            for (name, value) in pairs {
                // Values of one name are kept together, as the wire keeps them.
                if !seen.contains(&name) {
                    headers.insert(&name, &value);
                    seen.push(name);
                }
            }
            headers
        })
    }

    fn arb_frame() -> impl Strategy<Value = Frame> {
        let id = 1u32..0x7fff_ffff;
        prop_oneof![
            (
                id.clone(),
                0u32..0x7fff_ffff,
                0u8..8,
                any::<bool>(),
                any::<bool>(),
                arb_headers()
            )
                .prop_map(
                    |(stream_id, associated_to, priority, fin, unidirectional, headers)| {
                        Frame::SynStream {
                            stream_id,
                            associated_to,
                            priority,
                            fin,
                            unidirectional,
                            headers,
                        }
                    }
                ),
            (id.clone(), any::<bool>(), arb_headers()).prop_map(|(stream_id, fin, headers)| {
                Frame::SynReply {
                    stream_id,
                    fin,
                    headers,
                }
            }),
            (id.clone(), any::<bool>(), arb_headers()).prop_map(|(stream_id, fin, headers)| {
                Frame::Headers {
                    stream_id,
                    fin,
                    headers,
                }
            }),
            (id.clone(), 1u32..12).prop_map(|(stream_id, code)| Frame::RstStream {
                stream_id,
                status: RstStatus::from_code(code),
            }),
            proptest::collection::vec((any::<u8>(), 0u32..0x00ff_ffff, any::<u32>()), 0..4)
                .prop_map(|entries| Frame::Settings {
                    clear: false,
                    entries
                }),
            any::<u32>().prop_map(|id| Frame::Ping { id }),
            (0u32..0x7fff_ffff, 0u32..3).prop_map(|(last_good_stream_id, code)| Frame::GoAway {
                last_good_stream_id,
                status: GoAwayStatus::from_code(code),
            }),
            (0u32..0x7fff_ffff, 0u32..0x7fff_ffff)
                .prop_map(|(stream_id, delta)| Frame::WindowUpdate { stream_id, delta }),
            (
                id,
                any::<bool>(),
                proptest::collection::vec(any::<u8>(), 0..300)
            )
                .prop_map(|(stream_id, fin, data)| Frame::Data {
                    stream_id,
                    fin,
                    data: data.into()
                }),
        ]
    }

    proptest! {
        #[test]
        fn sequences_round_trip(frames in proptest::collection::vec(arb_frame(), 1..12), split in 1usize..64) {
            let mut encoder = FrameEncoder::new().expect("encoder");
            let mut wire = BytesMut::new();
            for frame in &frames {
                encoder.encode(frame.clone(), &mut wire).expect("encode");
            }
            // Fed in pieces, as a socket delivers it.
            let mut decoder = FrameDecoder::new();
            let mut buf = BytesMut::new();
            let mut got = Vec::new();
            for piece in wire.chunks(split) {
                buf.extend_from_slice(piece);
                while let Some(frame) = decoder.decode(&mut buf).expect("decode") {
                    got.push(frame);
                }
            }
            prop_assert_eq!(got, frames);
        }

        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let mut buf = BytesMut::from(bytes.as_slice());
            let mut decoder = FrameDecoder::new();
            while let Ok(Some(_)) = decoder.decode(&mut buf) {}
        }
    }
}
