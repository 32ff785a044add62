//! A strict streaming tar reader for layers.
//!
//! The `tar` crate decodes header fields for us (octal and base-256 numbers, ustar prefixes), but
//! its entry iterator splits PAX records at newlines instead of using their length prefix. Binary
//! xattr values (a `security.capability` granting `CAP_DAC_OVERRIDE|CAP_FOWNER` contains 0x0a)
//! then make it drop the records after them, including `path` and `size`, so it would see a
//! different archive than Docker's Go reader. This reader follows the PAX length prefixes,
//! combines GNU long names and PAX records with the entry they describe, and parses old-style GNU
//! sparse maps; every malformed structure is an error rather than a guess.

use std::io::{self, Read};

use tar::{EntryType, GnuExtSparseHeader, Header};

const BLOCK: u64 = 512;
/// Upper bound for the PAX and GNU long-name payloads of one entry, together: real ones are a
/// few hundred bytes; this only stops hostile headers (one huge one, or many PAX headers in a
/// row whose records add up) from making us allocate without limit.
const MAX_META: u64 = 1 << 20;

/// One archive member with its extension headers folded in.
pub(crate) struct RawEntry {
    pub(crate) header: Header,
    pub(crate) path: Vec<u8>,
    pub(crate) link: Option<Vec<u8>>,
    /// Bytes of data stored in the archive for this entry.
    pub(crate) size: u64,
    /// PAX records (key, value) in archive order; later duplicates win.
    pub(crate) pax: Vec<(Vec<u8>, Vec<u8>)>,
    /// For GNU sparse entries: the data blocks (offset, length) and the file's full size.
    pub(crate) sparse: Option<(Vec<(u64, u64)>, u64)>,
}

impl RawEntry {
    pub(crate) fn pax(&self, key: &[u8]) -> Option<&[u8]> {
        lookup(&self.pax, key)
    }
}

fn invalid(msg: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.into())
}

fn padding(size: u64) -> u64 {
    (BLOCK - size % BLOCK) % BLOCK
}

pub(crate) struct TarReader<R> {
    inner: R,
    /// Unread data of the current entry.
    remaining: u64,
    /// Zero padding after the current entry's data.
    pad: u64,
}

impl<R: Read> TarReader<R> {
    pub(crate) fn new(inner: R) -> Self {
        Self {
            inner,
            remaining: 0,
            pad: 0,
        }
    }

    pub(crate) fn into_inner(self) -> R {
        self.inner
    }

    /// Reads the current entry's data; `Ok(0)` once all of it was read. A stream that ends inside
    /// the data is an `UnexpectedEof` error.
    pub(crate) fn read_data(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.remaining == 0 || buf.is_empty() {
            return Ok(0);
        }
        let want = buf
            .len()
            .min(usize::try_from(self.remaining).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..want])?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!(
                    "stream ends with {} bytes of entry data missing",
                    self.remaining
                ),
            ));
        }
        self.remaining -= n as u64;
        Ok(n)
    }

    /// Skips the rest of the current entry's data and padding.
    fn skip(&mut self) -> io::Result<()> {
        let total = self.remaining + self.pad;
        let copied = io::copy(&mut (&mut self.inner).take(total), &mut io::sink())?;
        if copied != total {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "stream ends inside entry data",
            ));
        }
        self.remaining = 0;
        self.pad = 0;
        Ok(())
    }

    fn read_block(&mut self, block: &mut [u8; BLOCK as usize]) -> io::Result<bool> {
        let mut filled = 0;
        while filled < block.len() {
            match self.inner.read(&mut block[filled..]) {
                Ok(0) if filled == 0 => return Ok(false),
                Ok(0) => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "stream ends inside a header block",
                    ))
                }
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(true)
    }

    /// Reads a whole small payload (PAX records, GNU long name) of the current member; `total`
    /// adds up the payloads read for one entry.
    fn read_meta(&mut self, size: u64, what: &str, total: &mut u64) -> io::Result<Vec<u8>> {
        *total = total.saturating_add(size);
        if *total > MAX_META {
            return Err(invalid(format!(
                "{what} of {size} bytes makes the entry's extension headers implausibly large"
            )));
        }
        self.begin(size);
        let mut out = vec![0; usize::try_from(size).unwrap_or(0)];
        let mut filled = 0;
        while filled < out.len() {
            let n = self.read_data(&mut out[filled..])?;
            filled += n;
        }
        Ok(out)
    }

    fn begin(&mut self, size: u64) {
        self.remaining = size;
        self.pad = padding(size);
    }

    /// The next member, or `None` at the end-of-archive block. A stream that simply stops
    /// between members is `UnexpectedEof`: a truncated layer must not look complete.
    pub(crate) fn next_entry(&mut self) -> io::Result<Option<RawEntry>> {
        let mut pax: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
        let mut long_name: Option<Vec<u8>> = None;
        let mut long_link: Option<Vec<u8>> = None;
        let mut pending = false;
        let mut meta_total = 0u64;
        loop {
            self.skip()?;
            let mut block = [0u8; BLOCK as usize];
            if !self.read_block(&mut block)? {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "stream ends without the tar end-of-archive block",
                ));
            }
            if block.iter().all(|b| *b == 0) {
                if pending {
                    return Err(invalid("extension header not followed by an entry"));
                }
                return Ok(None);
            }
            let header = Header::from_byte_slice(&block).clone();
            verify_checksum(&header)?;
            let kind = header.entry_type();
            let mut size = header.entry_size()?;
            if let Some(v) = lookup(&pax, b"size") {
                size = parse_u64(v).ok_or_else(|| invalid("malformed PAX size"))?;
            }
            match kind {
                EntryType::XHeader => {
                    let data = self.read_meta(size, "PAX header", &mut meta_total)?;
                    pax.extend(parse_pax(&data)?);
                    pending = true;
                    continue;
                }
                EntryType::XGlobalHeader => {
                    // Global defaults; Docker's reader ignores them for layers too.
                    self.begin(size);
                    continue;
                }
                EntryType::GNULongName | EntryType::GNULongLink => {
                    let mut data = self.read_meta(size, "GNU long name", &mut meta_total)?;
                    if let Some(nul) = data.iter().position(|b| *b == 0) {
                        data.truncate(nul);
                    }
                    if kind == EntryType::GNULongName {
                        long_name = Some(data);
                    } else {
                        long_link = Some(data);
                    }
                    pending = true;
                    continue;
                }
                _ => {}
            }
            let path = lookup(&pax, b"path")
                .map(<[u8]>::to_vec)
                .or(long_name)
                .unwrap_or_else(|| header.path_bytes().into_owned());
            let link = lookup(&pax, b"linkpath")
                .map(<[u8]>::to_vec)
                .or(long_link)
                .or_else(|| header.link_name_bytes().map(|l| l.into_owned()));
            let sparse = if kind == EntryType::GNUSparse {
                Some(self.sparse_map(&header, size)?)
            } else {
                None
            };
            self.begin(size);
            return Ok(Some(RawEntry {
                header,
                path,
                link,
                size,
                pax,
                sparse,
            }));
        }
    }

    /// The old GNU sparse map: up to four blocks in the header, more in extension blocks.
    /// Blocks must be ordered, non-overlapping, inside the file, and add up to the stored data.
    fn sparse_map(&mut self, header: &Header, stored: u64) -> io::Result<(Vec<(u64, u64)>, u64)> {
        let gnu = header
            .as_gnu()
            .ok_or_else(|| invalid("sparse entry without a GNU header"))?;
        let real_size = gnu.real_size()?;
        let mut blocks = Vec::new();
        for b in gnu.sparse.iter().filter(|b| !b.is_empty()) {
            blocks.push((b.offset()?, b.length()?));
        }
        let mut extended = gnu.is_extended();
        while extended {
            let mut ext = GnuExtSparseHeader::new();
            if !self.read_block(ext.as_mut_bytes())? {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "stream ends inside a sparse map",
                ));
            }
            for b in ext.sparse().iter().filter(|b| !b.is_empty()) {
                blocks.push((b.offset()?, b.length()?));
            }
            extended = ext.is_extended();
        }
        let mut end = 0u64;
        let mut total = 0u64;
        for &(off, len) in &blocks {
            let block_end = off
                .checked_add(len)
                .ok_or_else(|| invalid("sparse block overflows"))?;
            if off < end || block_end > real_size {
                return Err(invalid(
                    "sparse blocks overlap, are out of order or exceed the file",
                ));
            }
            end = block_end;
            total += len;
        }
        if total != stored {
            return Err(invalid("sparse map does not match the stored data size"));
        }
        Ok((blocks, real_size))
    }
}

fn lookup<'a>(pax: &'a [(Vec<u8>, Vec<u8>)], key: &[u8]) -> Option<&'a [u8]> {
    pax.iter()
        .rev()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_slice())
}

fn parse_u64(v: &[u8]) -> Option<u64> {
    std::str::from_utf8(v).ok()?.parse().ok()
}

pub(crate) fn verify_checksum(header: &Header) -> io::Result<()> {
    let bytes = header.as_bytes();
    let sum: u32 = bytes[..148]
        .iter()
        .chain(&bytes[156..])
        .map(|b| u32::from(*b))
        .sum::<u32>()
        + 8 * u32::from(b' ');
    if header.cksum()? != sum {
        return Err(invalid("tar header checksum mismatch"));
    }
    Ok(())
}

/// Parses PAX records `"<len> <key>=<value>\n"` by their length prefix, so values may contain
/// any byte, newlines included.
fn parse_pax(mut data: &[u8]) -> io::Result<Vec<(Vec<u8>, Vec<u8>)>> {
    let bad = || invalid("malformed PAX record");
    let mut out = Vec::new();
    while !data.is_empty() {
        // Some writers pad the payload with NULs.
        if data.iter().all(|b| *b == 0) {
            break;
        }
        let space = data.iter().position(|b| *b == b' ').ok_or_else(bad)?;
        let digits = &data[..space];
        if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
            return Err(bad());
        }
        let len: usize = parse_u64(digits)
            .and_then(|l| usize::try_from(l).ok())
            .ok_or_else(bad)?;
        if len <= space + 2 || len > data.len() || data[len - 1] != b'\n' {
            return Err(bad());
        }
        let kv = &data[space + 1..len - 1];
        let eq = kv.iter().position(|b| *b == b'=').ok_or_else(bad)?;
        out.push((kv[..eq].to_vec(), kv[eq + 1..].to_vec()));
        data = &data[len..];
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
