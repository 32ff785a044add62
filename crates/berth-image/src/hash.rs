//! Digesting readers and writers, so a layer's digests come out of the same single pass that
//! unpacks or writes it.

use std::io::{self, Read, Write};

use berth_types::Digest;
use sha2::{Digest as _, Sha256};

/// Running sha256 and byte count of everything that passed through.
#[derive(Default)]
pub(crate) struct Tally {
    hasher: Sha256,
    len: u64,
}

impl Tally {
    pub(crate) fn add(&mut self, bytes: &[u8]) {
        self.hasher.update(bytes);
        self.len += bytes.len() as u64;
    }

    /// Counts bytes whose digest is known otherwise.
    pub(crate) fn count(&mut self, len: usize) {
        self.len += len as u64;
    }

    pub(crate) fn finish(self) -> (Digest, u64) {
        let bytes: [u8; 32] = self.hasher.finalize().into();
        (Digest::sha256_from_bytes(&bytes), self.len)
    }
}

/// Hashes what is read through it. The tally is borrowed so the caller can read it once the
/// reader chain built on top of this has been dropped.
pub(crate) struct HashingReader<'t, R> {
    pub(crate) inner: R,
    pub(crate) tally: &'t mut Tally,
}

impl<R: Read> Read for HashingReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.tally.add(&buf[..n]);
        Ok(n)
    }
}

/// Hashes what is written through it.
pub(crate) struct HashingWriter<W> {
    pub(crate) inner: W,
    pub(crate) tally: Tally,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.tally.add(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}
