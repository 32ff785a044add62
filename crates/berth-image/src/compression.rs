//! Layer compression: recognise gzip, zstd or plain tar and decode as a stream.
//!
//! Registries label layers with a media type, but `docker load` archives and some registries get
//! it wrong, so the unpacker trusts the magic bytes of the stream itself; the media type mapping
//! is for callers that must choose before any bytes arrive (e.g. to pick an encoder on push).
//! [`gzip_layer`] is the encoder: `docker push` of a layer stored uncompressed.

use std::io::{self, BufReader, Chain, Cursor, Read, Write};

use berth_types::Digest;

use crate::error::{Error, Result};
use crate::hash::{HashingWriter, Tally};

/// How a layer blob is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Compression {
    /// A plain tar stream.
    None,
    Gzip,
    Zstd,
}

/// Enough bytes to tell every format below apart (xz has the longest magic).
const MAGIC_LEN: usize = 6;

/// Buffer on the compressed side: large reads keep the decoder's inner loop hot.
const READ_BUFFER: usize = 256 * 1024;

impl Compression {
    /// Recognises the format from the first bytes of a stream. Fewer than the full magic (a tiny or
    /// empty stream) is taken as plain tar, and the tar parser then reports what is wrong with it.
    pub fn from_magic(prefix: &[u8]) -> Result<Self> {
        let starts = |magic: &[u8]| prefix.starts_with(magic);
        // zstd skippable frames are 0x184D2A50..=0x184D2A5F, little endian.
        let skippable =
            prefix.len() >= 4 && prefix[0] & 0xf0 == 0x50 && prefix[1..4] == [0x2a, 0x4d, 0x18];
        if starts(&[0x1f, 0x8b]) {
            Ok(Self::Gzip)
        } else if starts(&[0x28, 0xb5, 0x2f, 0xfd]) || skippable {
            Ok(Self::Zstd)
        } else if starts(&[0xfd, b'7', b'z', b'X', b'Z', 0x00]) {
            Err(Error::UnsupportedCompression { format: "xz" })
        } else if starts(b"BZh") {
            Err(Error::UnsupportedCompression { format: "bzip2" })
        } else {
            Ok(Self::None)
        }
    }

    /// The compression an OCI or Docker layer media type announces, `None` for media types that
    /// are not layers (or use a compression Berth does not know).
    pub fn from_media_type(media_type: &str) -> Option<Self> {
        let layer = media_type.starts_with("application/vnd.oci.image.layer.")
            || media_type.starts_with("application/vnd.docker.image.rootfs.");
        if !layer {
            return None;
        }
        if media_type.ends_with("+gzip") || media_type.ends_with(".tar.gzip") {
            Some(Self::Gzip)
        } else if media_type.ends_with("+zstd") {
            Some(Self::Zstd)
        } else if media_type.ends_with(".tar") {
            Some(Self::None)
        } else {
            None
        }
    }
}

/// The input with the sniffed magic bytes put back in front.
type Peeked<R> = BufReader<Chain<Cursor<Vec<u8>>, R>>;

enum Inner<R: Read> {
    Plain(Peeked<R>),
    // Boxed: the inflate state is a few hundred bytes, the other variants a pointer or two.
    Gzip(Box<flate2::bufread::MultiGzDecoder<Peeked<R>>>),
    Zstd(zstd::Decoder<'static, Peeked<R>>),
}

/// A reader yielding the uncompressed bytes of a layer blob.
pub struct Decompressor<R: Read> {
    inner: Inner<R>,
}

impl<R: Read> Decompressor<R> {
    /// Sniffs the compression from the stream's first bytes and decodes accordingly.
    pub fn new(mut reader: R) -> Result<Self> {
        let mut magic = Vec::with_capacity(MAGIC_LEN);
        (&mut reader)
            .take(MAGIC_LEN as u64)
            .read_to_end(&mut magic)
            .map_err(|source| Error::Corrupt {
                at: "at its start".into(),
                source,
            })?;
        let compression = Compression::from_magic(&magic)?;
        let peeked = BufReader::with_capacity(READ_BUFFER, Cursor::new(magic).chain(reader));
        let inner = match compression {
            Compression::None => Inner::Plain(peeked),
            Compression::Gzip => {
                Inner::Gzip(Box::new(flate2::bufread::MultiGzDecoder::new(peeked)))
            }
            Compression::Zstd => {
                Inner::Zstd(zstd::Decoder::with_buffer(peeked).map_err(|source| {
                    Error::Corrupt {
                        at: "in the zstd header".into(),
                        source,
                    }
                })?)
            }
        };
        Ok(Self { inner })
    }

    /// What [`Decompressor::new`] detected.
    pub fn compression(&self) -> Compression {
        match self.inner {
            Inner::Plain(_) => Compression::None,
            Inner::Gzip(_) => Compression::Gzip,
            Inner::Zstd(_) => Compression::Zstd,
        }
    }
}

impl<R: Read> Read for Decompressor<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match &mut self.inner {
            Inner::Plain(r) => r.read(buf),
            Inner::Gzip(r) => r.read(buf),
            Inner::Zstd(r) => r.read(buf),
        }
    }
}

/// The gzip header's OS byte for "unknown", which Go's `compress/gzip` (dockerd's encoder) writes
/// too; flate2 would otherwise write the same, but the bytes must not depend on its default.
const GZIP_OS_UNKNOWN: u8 = 255;

/// Gzips the plain layer tar `tar` into `out`, streaming, and returns the digest and size of the
/// compressed bytes. The output is a function of the input alone (for this encoder version):
/// the header carries no file name and mtime 0, so compressing a layer again gives the same
/// blob. `layer` names the layer in errors.
pub fn gzip_layer<R: Read, W: Write>(mut tar: R, out: W, layer: &str) -> Result<(Digest, u64)> {
    let failed = |source| Error::Gzip {
        layer: layer.to_string(),
        source,
    };
    let hashing = HashingWriter {
        inner: out,
        tally: Tally::default(),
    };
    // zlib's default level, as dockerd's `gzip.DefaultCompression`.
    let mut gz = flate2::GzBuilder::new()
        .mtime(0)
        .operating_system(GZIP_OS_UNKNOWN)
        .write(hashing, flate2::Compression::default());
    let mut buf = vec![0u8; READ_BUFFER];
    loop {
        let n = match tar.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(failed(e)),
        };
        gz.write_all(&buf[..n]).map_err(failed)?;
    }
    let mut hashing = gz.finish().map_err(failed)?;
    hashing.flush().map_err(failed)?;
    Ok(hashing.tally.finish())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
