//! Applying one layer tar stream to a directory: the security boundary between an image from the
//! internet and the host filesystem. The rules (see `docs/layers.md`):
//!
//! - Entry names are split into components; `..` anywhere refuses the whole layer, a leading `/`
//!   is dropped, empty and `.` components are ignored, NUL bytes are refused.
//! - Parent directories are resolved only with `openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS |
//!   RESOLVE_NO_XDEV)` from a fd of the destination, so a symlink met on the way (one unpacked
//!   earlier in this layer, or one already there) is interpreted as if the destination were `/`
//!   and can never lead outside it. Missing parents are created (mode 0755), as containerd does.
//! - The last component is never followed: whatever exists under that name is removed first
//!   (unless both are directories) and the new node is created with `O_CREAT|O_EXCL|O_NOFOLLOW`,
//!   `mkdirat`, `symlinkat`, `mknodat` or `linkat`; metadata is then set through the new fd or
//!   with `AT_SYMLINK_NOFOLLOW`.
//! - Hardlink targets are resolved by the same rules, and `linkat` does not follow a final
//!   symlink, so a hardlink can only ever name an inode already inside the destination.
//! - xattrs in the `trusted.overlay.` and `user.overlay.` namespaces are dropped: only the
//!   whiteout entries defined by the OCI spec may steer overlayfs.

use std::cell::Cell;
use std::collections::HashSet;
use std::ffi::{CStr, CString};
use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::{mpsc, OnceLock};

use berth_types::Digest;
use tar::EntryType;

use crate::compression::{Compression, Decompressor};
use crate::error::{io as io_err, Error, Result};
use crate::hash::{HashingReader, Tally};
use crate::reader::{RawEntry, TarReader};
use crate::sys::{self, display, Time};

/// Prefix of a whiteout entry name (OCI image spec, "Whiteouts").
pub(crate) const WHITEOUT_PREFIX: &[u8] = b".wh.";
/// Name of the entry that marks its directory opaque.
pub(crate) const OPAQUE_MARKER: &[u8] = b".wh..wh..opq";
/// The xattr overlayfs reads to hide a lower directory's content.
pub(crate) const OVERLAY_OPAQUE_XATTR: &CStr = c"trusted.overlay.opaque";

/// Buffer between the decompressor and the tar parser, and for copying file data.
const BUFFER: usize = 256 * 1024;

/// How whiteout entries are applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WhiteoutMode {
    /// The destination becomes one overlayfs lower layer: `.wh.<name>` becomes a 0/0 character
    /// device `<name>`, `.wh..wh..opq` sets `trusted.overlay.opaque=y` on its directory. Nothing
    /// already in the destination is removed by an opaque marker: a lower layer is unpacked into
    /// an empty directory, so everything there came from this same layer, which the marker must
    /// not hide.
    #[default]
    Overlay,
    /// The layer is applied on top of the previous layers' files in one directory (`import`,
    /// flattening for `export`): `.wh.<name>` deletes `<name>`, `.wh..wh..opq` deletes what the
    /// directory held before this layer. Nothing whiteout-shaped is left behind.
    Flatten,
    /// The tar is not a layer (a build context): `.wh.` names are ordinary files.
    Literal,
}

/// Caps on a tar from an untrusted client (a build context), checked before anything of an
/// entry over the cap is written. A layer's size is bounded by its manifest instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Bytes of the uncompressed tar stream, headers and padding included, with a sparse file
    /// counted at its full length: a small compressed input cannot fill the disk.
    pub max_bytes: u64,
    /// Entries, extension headers (PAX, GNU long names) not counted.
    pub max_entries: u64,
}

/// Knobs for [`unpack_layer`].
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct UnpackOptions {
    pub whiteouts: WhiteoutMode,
    /// `docker cp`'s `noOverwriteDirNonDir`: refuse (with [`Error::WouldOverwrite`]) an entry
    /// that would replace a directory with a non-directory or the other way round.
    pub no_overwrite_dir_non_dir: bool,
    /// Owner given to every entry instead of the one in the tar (`docker cp` without
    /// `copyUIDGID` makes everything belong to the container's root).
    pub owner: Option<(u32, u32)>,
    /// Permission bits given to every entry instead of the tar's (`COPY --chmod`).
    pub mode: Option<u32>,
    /// Refuse, with [`Error::TooLarge`] or [`Error::TooManyEntries`], a tar over these.
    pub limits: Option<Limits>,
}

impl UnpackOptions {
    /// Options for applying layers one after another into a single directory.
    pub fn flattened() -> Self {
        Self {
            whiteouts: WhiteoutMode::Flatten,
            ..Self::default()
        }
    }
}

/// What one pass over a layer produced. `diff_id` and `compressed_digest` let the caller check the
/// image config's `rootfs.diff_ids` and the manifest's layer digest without reading the blob again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnpackStats {
    /// Tar entries applied, whiteouts included (PAX global headers excluded).
    pub entries: u64,
    /// Bytes of regular file content written.
    pub file_bytes: u64,
    pub compression: Compression,
    /// sha256 of the uncompressed tar stream (the OCI "DiffID").
    pub diff_id: Digest,
    pub uncompressed_size: u64,
    /// sha256 of the bytes read from `reader` (the manifest's layer digest).
    pub compressed_digest: Digest,
    pub compressed_size: u64,
}

/// Unpacks one layer (gzip, zstd or plain tar, detected from the stream) into `dest`, which must
/// be an existing directory, in a single pass that also digests the compressed and uncompressed
/// bytes. On error `dest` holds a partial layer; callers unpack into a fresh snapshot directory and
/// discard it on failure.
pub fn unpack_layer<R: Read + Send>(
    reader: R,
    dest: &Path,
    opts: &UnpackOptions,
) -> Result<UnpackStats> {
    let root: OwnedFd = File::options()
        .read(true)
        .custom_flags(libc::O_DIRECTORY | libc::O_CLOEXEC)
        .open(dest)
        .map_err(io_err("open layer destination", dest))?
        .into();
    unpack_layer_at(reader, root, opts)
}

/// [`unpack_layer`] into a directory already opened (for example one resolved inside a
/// container's root with [`crate::open_dir_in_root`]); the fd is the root of every rule.
///
/// Three threads share the work, so a big layer is not one serial chain and decompression, the
/// slowest step, has a core to itself: one reads the source (for a pull: the network and the
/// content store's ingest) and digests it, one decompresses, one digests the tar stream and
/// applies it to the filesystem.
pub fn unpack_layer_at<R: Read + Send>(
    reader: R,
    root: OwnedFd,
    opts: &UnpackOptions,
) -> Result<UnpackStats> {
    let budget = Budget {
        max: opts.limits.map(|l| l.max_bytes),
        used: Cell::new(0),
    };
    let mut unpacker = Unpacker {
        root,
        opts,
        budget: &budget,
        hole_bytes: 0,
        dir_times: Vec::new(),
        unpacked: HashSet::new(),
        buf: vec![0; BUFFER],
        entries: 0,
        file_bytes: 0,
    };
    let mut raw_tally = Tally::default();
    let mut tar_tally = Tally::default();
    let detected = OnceLock::new();
    let (raw_sender, raw_chunks) = pipe();
    let (tar_sender, tar_chunks) = pipe();
    let (decoded, applied) = std::thread::scope(|scope| {
        let raw_tally = &mut raw_tally;
        scope.spawn(move || {
            raw_sender.pump(HashingReader {
                inner: reader,
                tally: raw_tally,
            })
        });
        let detected = &detected;
        // The decoder owns the tar sender: when it stops, for whatever reason, the tar reader
        // sees the end of its stream instead of waiting forever.
        let decoder = scope.spawn(move || decode(raw_chunks, tar_sender, detected));
        let mut tar = TarReader::new(DiffIdReader {
            inner: BufReader::with_capacity(BUFFER, tar_chunks),
            tally: &mut tar_tally,
            detected,
            budget: &budget,
        });
        let applied = unpacker.apply_all(&mut tar).and_then(|()| {
            // The diffID covers the whole uncompressed stream, including the record padding
            // after the end-of-archive block that the tar reader stops at.
            io::copy(&mut tar.into_inner(), &mut io::sink())
                .map(drop)
                .map_err(|source| corrupt("after the end-of-archive block".into(), source))
        });
        // A failed apply drops the chunk receiver here, which stops the decoder at its next
        // send, and so the reader at its next.
        let decoded = decoder
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (decoded, applied)
    });
    // The decoder's own failure (unknown compression, bytes after the stream) is the cause;
    // read errors it met mid-stream reached the tar reader in order and failed `applied`.
    let compression = decoded?;
    applied?;
    unpacker.set_dir_times()?;

    let (compressed_digest, compressed_size) = raw_tally.finish();
    let (diff_id, uncompressed_size) = match compression {
        // An uncompressed blob is its own tar stream: hashed once, by the reading thread.
        Compression::None => (compressed_digest.clone(), compressed_size),
        _ => tar_tally.finish(),
    };
    Ok(UnpackStats {
        entries: unpacker.entries,
        file_bytes: unpacker.file_bytes,
        compression,
        diff_id,
        uncompressed_size,
        compressed_digest,
        compressed_size,
    })
}

/// Chunks in flight between two threads of [`unpack_layer_at`].
const PIPE_CHUNKS: usize = 8;

/// A bounded pipe of chunks between two threads of [`unpack_layer_at`]; buffers come back
/// through a second channel to be reused.
fn pipe() -> (ChunkSender, ChunkReader) {
    let (full_tx, full_rx) = mpsc::sync_channel(PIPE_CHUNKS);
    let (free_tx, free_rx) = mpsc::channel();
    let sender = ChunkSender {
        full: full_tx,
        free: free_rx,
    };
    let reader = ChunkReader {
        chunks: full_rx,
        free: free_tx,
        current: Vec::new(),
        pos: 0,
    };
    (sender, reader)
}

struct ChunkSender {
    full: mpsc::SyncSender<io::Result<Vec<u8>>>,
    free: mpsc::Receiver<Vec<u8>>,
}

impl ChunkSender {
    /// Sends what `reader` yields until its end (then returns true), a read error (sent in
    /// place of data, so the receiving side reports it where it happened) or the receiving side
    /// hanging up (its own error is the one reported).
    fn pump(&self, mut reader: impl Read) -> bool {
        loop {
            let mut chunk = self.free.try_recv().unwrap_or_else(|_| vec![0; BUFFER]);
            chunk.resize(BUFFER, 0);
            match read_full(&mut reader, &mut chunk) {
                Ok(0) => return true,
                Ok(n) => {
                    chunk.truncate(n);
                    if self.full.send(Ok(chunk)).is_err() {
                        return false;
                    }
                }
                Err(e) => {
                    let _ = self.full.send(Err(e));
                    return false;
                }
            }
        }
    }
}

/// The decompressing stage of [`unpack_layer_at`]: from the raw chunks to tar chunks.
/// `detected` is set before the first tar chunk is sent.
fn decode(
    mut raw: ChunkReader,
    tar: ChunkSender,
    detected: &OnceLock<Compression>,
) -> Result<Compression> {
    let mut decoder = Decompressor::new(&mut raw)?;
    let compression = decoder.compression();
    let _ = detected.set(compression);
    if !tar.pump(&mut decoder) {
        return Ok(compression);
    }
    drop(decoder);
    // Whatever follows the compressed stream is still part of the blob the manifest digests:
    // the reading thread hashes it as it passes.
    io::copy(&mut raw, &mut io::sink()).map_err(|source| Error::Corrupt {
        at: "after the end of the compressed stream".into(),
        source,
    })?;
    Ok(compression)
}

/// Fills `buf` as far as the stream allows (decoders return short reads); 0 only at its end.
fn read_full(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// The receiving end of a [`pipe`].
struct ChunkReader {
    chunks: mpsc::Receiver<io::Result<Vec<u8>>>,
    free: mpsc::Sender<Vec<u8>>,
    current: Vec<u8>,
    pos: usize,
}

impl Read for ChunkReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos == self.current.len() {
            match self.chunks.recv() {
                Ok(chunk) => {
                    let done = std::mem::replace(&mut self.current, chunk?);
                    // The sender may have finished already; then the buffer is just dropped.
                    let _ = self.free.send(done);
                    self.pos = 0;
                }
                // The sender is done (its own errors are reported by its stage).
                Err(mpsc::RecvError) => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len() - self.pos);
        buf[..n].copy_from_slice(&self.current[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// Digests the tar stream, unless the blob was not compressed: then the raw digest is the
/// diffID and only the length is kept. Stops the stream once it passes the byte limit.
struct DiffIdReader<'a, R> {
    inner: R,
    tally: &'a mut Tally,
    detected: &'a OnceLock<Compression>,
    budget: &'a Budget,
}

impl<R: Read> Read for DiffIdReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if self.detected.get() == Some(&Compression::None) {
            self.tally.count(n);
        } else {
            self.tally.add(&buf[..n]);
        }
        let used = self.budget.used.get() + n as u64;
        self.budget.used.set(used);
        match self.budget.max {
            Some(max) if used > max => Err(io::Error::other(OverLimit(max))),
            _ => Ok(n),
        }
    }
}

/// Bytes of the uncompressed stream the tar reader consumed, against [`Limits::max_bytes`].
/// The reader stops a stream running past it (endless extension headers, a huge global
/// header); [`Unpacker::apply`] refuses an entry that would, before writing it.
struct Budget {
    max: Option<u64>,
    used: Cell<u64>,
}

/// The error the stream reports past the limit; [`corrupt`] turns it into [`Error::TooLarge`].
#[derive(Debug)]
struct OverLimit(u64);

impl std::fmt::Display for OverLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the uncompressed stream exceeds {} bytes", self.0)
    }
}

impl std::error::Error for OverLimit {}

/// A stream or tar structure error at `at`, unless the stream was stopped at the byte limit.
fn corrupt(at: String, source: io::Error) -> Error {
    match source.get_ref().and_then(|e| e.downcast_ref::<OverLimit>()) {
        Some(OverLimit(limit)) => Error::TooLarge { limit: *limit },
        None => Error::Corrupt { at, source },
    }
}

/// The metadata of one entry, read before its data.
struct Meta {
    mode: libc::mode_t,
    uid: u32,
    gid: u32,
    atime: Time,
    mtime: Time,
    xattrs: Vec<(CString, Vec<u8>)>,
}

/// Why a name with `..` is refused: it could lead outside the destination.
pub(crate) const DOT_DOT: &str = "the name contains a `..` component";
/// The same for a hardlink's target.
pub(crate) const TARGET_DOT_DOT: &str = "the hardlink target contains `..`";

/// Why a name is refused, checked before anything touches the filesystem.
fn components(raw: &[u8]) -> Result<Vec<&[u8]>, &'static str> {
    if raw.contains(&0) {
        return Err("the name contains a NUL byte");
    }
    let mut out = Vec::new();
    for c in raw.split(|b| *b == b'/') {
        match c {
            b"" | b"." => {}
            b".." => return Err(DOT_DOT),
            c => out.push(c),
        }
    }
    Ok(out)
}

fn join(comps: &[&[u8]]) -> Vec<u8> {
    if comps.is_empty() {
        return b".".to_vec();
    }
    comps.join(&b'/')
}

/// Parses a PAX time (`<seconds>[.<fraction>]`, possibly negative).
fn pax_time(value: &[u8]) -> Option<Time> {
    let s = std::str::from_utf8(value).ok()?;
    let (sec, frac) = s.split_once('.').unwrap_or((s, ""));
    let secs: i64 = sec.parse().ok()?;
    if !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let digits: String = frac.chars().chain(std::iter::repeat('0')).take(9).collect();
    let nanos: i64 = digits.parse().ok()?;
    if sec.starts_with('-') && nanos > 0 {
        Some((secs - 1, 1_000_000_000 - nanos))
    } else {
        Some((secs, nanos))
    }
}

/// xattrs a layer may not set: overlayfs' own control attributes would let a layer redirect
/// lookups or fake opaqueness outside the whiteout rules.
fn forbidden_xattr(key: &[u8]) -> bool {
    key.starts_with(b"trusted.overlay.") || key.starts_with(b"user.overlay.")
}

/// The [`WhiteoutMode`]s that act on whiteout entries.
#[derive(Clone, Copy)]
enum Applied {
    Overlay,
    Flatten,
}

struct Unpacker<'o> {
    root: OwnedFd,
    opts: &'o UnpackOptions,
    budget: &'o Budget,
    /// Holes of sparse files so far, which count against the byte limit but are not in the stream.
    hole_bytes: u64,
    /// Directory times are set last: creating children changes a directory's mtime.
    dir_times: Vec<(Vec<u8>, Time, Time)>,
    /// In flatten mode, every path this layer created, which an opaque marker must keep.
    unpacked: HashSet<Vec<u8>>,
    buf: Vec<u8>,
    entries: u64,
    file_bytes: u64,
}

impl Unpacker<'_> {
    /// Applies every entry up to the end-of-archive block.
    fn apply_all<R: Read>(&mut self, tar: &mut TarReader<R>) -> Result<()> {
        let mut last: Option<PathBuf> = None;
        loop {
            let entry = tar.next_entry().map_err(|source| {
                let at = match &last {
                    Some(name) => format!("after entry {name:?}"),
                    None => "before its first entry".to_string(),
                };
                corrupt(at, source)
            })?;
            let Some(entry) = entry else {
                return Ok(());
            };
            let name = display(&entry.path);
            self.apply(tar, &entry, &name)?;
            last = Some(name);
        }
    }

    fn apply<R: Read>(
        &mut self,
        tar: &mut TarReader<R>,
        entry: &RawEntry,
        shown: &Path,
    ) -> Result<()> {
        let kind = entry.header.entry_type();
        self.entries += 1;
        self.check_limits(entry)?;
        let comps = components(&entry.path).map_err(|reason| Error::UnsafePath {
            entry: shown.into(),
            reason,
        })?;
        let meta = read_meta(entry, shown, self.opts)?;
        let Some((name, parent)) = comps.split_last() else {
            if kind != EntryType::Directory {
                return Err(Error::UnsafePath {
                    entry: shown.into(),
                    reason: "a non-directory entry names the layer root",
                });
            }
            let root = self
                .root
                .try_clone()
                .map_err(entry_err(shown, "open layer root"))?;
            return self.set_dir_meta(root, Vec::new(), &meta, shown);
        };
        if let Some(target) = name.strip_prefix(WHITEOUT_PREFIX) {
            let applied = match self.opts.whiteouts {
                WhiteoutMode::Overlay => Some(Applied::Overlay),
                WhiteoutMode::Flatten => Some(Applied::Flatten),
                WhiteoutMode::Literal => None,
            };
            if let Some(applied) = applied {
                return self.whiteout(applied, parent, target, &meta, shown);
            }
        }
        let dir = self
            .parent_dir(parent)
            .map_err(entry_err(shown, "open parent directory"))?;
        let dir = dir.as_fd();
        // `components` refused NUL bytes, so this cannot fail.
        let cname = sys::cstring(name).map_err(entry_err(shown, "name"))?;
        let path = join(&comps);
        match kind {
            EntryType::Directory => {
                match sys::lstat_at(dir, &cname).map_err(entry_err(shown, "stat"))? {
                    Some(st) if sys::is_dir(&st) => {}
                    existing => {
                        if existing.is_some() && self.opts.no_overwrite_dir_non_dir {
                            return Err(Error::WouldOverwrite {
                                entry: shown.into(),
                                reason: "cannot overwrite non-directory with directory",
                            });
                        }
                        if existing.is_some() {
                            sys::remove_all_at(dir, &cname)
                                .map_err(entry_err(shown, "remove what the directory replaces"))?;
                        }
                        sys::mkdirat(dir, &cname, 0o700)
                            .map_err(entry_err(shown, "create directory"))?;
                    }
                }
                let fd = sys::openat(dir, &cname, libc::O_RDONLY | libc::O_DIRECTORY, 0)
                    .map_err(entry_err(shown, "open directory"))?;
                self.set_dir_meta(fd, path.clone(), &meta, shown)?;
            }
            EntryType::Regular | EntryType::Continuous | EntryType::GNUSparse => {
                self.replace(dir, &cname, shown)?;
                let mut file =
                    sys::create_file(dir, &cname).map_err(entry_err(shown, "create file"))?;
                self.copy_data(tar, entry, &mut file, shown)?;
                let fd = file.as_fd();
                sys::fchown(fd, meta.uid, meta.gid).map_err(entry_err(shown, "chown"))?;
                sys::fchmod(fd, meta.mode).map_err(entry_err(shown, "chmod"))?;
                set_xattrs(&meta, shown, |k, v| sys::fsetxattr(fd, k, v))?;
                sys::futimens(fd, meta.atime, meta.mtime).map_err(entry_err(shown, "set times"))?;
            }
            EntryType::Symlink => {
                let target = entry.link.as_deref().ok_or_else(|| Error::UnsafePath {
                    entry: shown.into(),
                    reason: "symlink without a target",
                })?;
                let target = sys::cstring(target).map_err(|_| Error::UnsafePath {
                    entry: shown.into(),
                    reason: "symlink target contains a NUL byte",
                })?;
                self.replace(dir, &cname, shown)?;
                sys::symlinkat(&target, dir, &cname).map_err(entry_err(shown, "create symlink"))?;
                self.set_node_meta(dir, &cname, &meta, shown)?;
            }
            EntryType::Link => {
                let target = entry.link.as_deref().ok_or_else(|| Error::UnsafePath {
                    entry: shown.into(),
                    reason: "hardlink without a target",
                })?;
                self.hardlink(dir, &cname, &comps, target, shown)?;
            }
            EntryType::Char | EntryType::Block | EntryType::Fifo => {
                let (file_type, dev) = match kind {
                    EntryType::Fifo => (libc::S_IFIFO, 0),
                    _ => {
                        let h = &entry.header;
                        let major = h.device_major().map_err(corrupt_in(shown))?.unwrap_or(0);
                        let minor = h.device_minor().map_err(corrupt_in(shown))?.unwrap_or(0);
                        let t = if kind == EntryType::Char {
                            libc::S_IFCHR
                        } else {
                            libc::S_IFBLK
                        };
                        (t, libc::makedev(major, minor))
                    }
                };
                self.replace(dir, &cname, shown)?;
                sys::mknodat(dir, &cname, file_type | 0o600, dev)
                    .map_err(entry_err(shown, "create device node"))?;
                self.set_node_meta(dir, &cname, &meta, shown)?;
                sys::fchmodat(dir, &cname, meta.mode).map_err(entry_err(shown, "chmod"))?;
            }
            other => {
                return Err(Error::Unsupported {
                    entry: shown.into(),
                    what: format!("tar entry type {other:?}"),
                })
            }
        }
        self.mark_unpacked(path);
        Ok(())
    }

    /// Refuses the entry if it would take the tar past [`UnpackOptions::limits`].
    fn check_limits(&mut self, entry: &RawEntry) -> Result<()> {
        let Some(limits) = self.opts.limits else {
            return Ok(());
        };
        if self.entries > limits.max_entries {
            return Err(Error::TooManyEntries {
                limit: limits.max_entries,
            });
        }
        if let Some((_, real_size)) = &entry.sparse {
            self.hole_bytes = self
                .hole_bytes
                .saturating_add(real_size.saturating_sub(entry.size));
        }
        // The header is consumed already; the data and its padding are next.
        let end = self
            .budget
            .used
            .get()
            .saturating_add(entry.size.next_multiple_of(512))
            .saturating_add(self.hole_bytes);
        if end > limits.max_bytes {
            return Err(Error::TooLarge {
                limit: limits.max_bytes,
            });
        }
        Ok(())
    }

    /// Resolves (creating what is missing) the directory `comps` inside the root. Missing
    /// components are created one level at a time, each re-resolved from the root so a symlink
    /// unpacked earlier is still confined.
    fn parent_dir(&mut self, comps: &[&[u8]]) -> io::Result<OwnedFd> {
        let path = sys::cstring(&join(comps))?;
        let flags = libc::O_PATH | libc::O_DIRECTORY;
        match sys::open_in_root(self.root.as_fd(), &path, flags) {
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {
                let Some((last, up)) = comps.split_last() else {
                    return Err(e);
                };
                let up_fd = self.parent_dir(up)?;
                match sys::mkdirat(up_fd.as_fd(), &sys::cstring(last)?, 0o755) {
                    Ok(()) => self.mark_unpacked(join(comps)),
                    Err(e) if e.raw_os_error() == Some(libc::EEXIST) => {}
                    Err(e) => return Err(e),
                }
                sys::open_in_root(self.root.as_fd(), &path, flags)
            }
            other => other,
        }
    }

    /// Like [`Self::parent_dir`] for a directory that must already exist; `None` if it does not.
    fn existing_dir(&self, comps: &[&[u8]], flags: libc::c_int) -> io::Result<Option<OwnedFd>> {
        let path = sys::cstring(&join(comps))?;
        match sys::open_in_root(self.root.as_fd(), &path, flags | libc::O_DIRECTORY) {
            Ok(fd) => Ok(Some(fd)),
            Err(e) if matches!(e.raw_os_error(), Some(libc::ENOENT) | Some(libc::ENOTDIR)) => {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// Records a path this layer wrote, and its ancestors: an opaque marker must keep a directory
    /// that holds this layer's files even if the tar has no entry for the directory itself.
    fn mark_unpacked(&mut self, mut path: Vec<u8>) {
        if self.opts.whiteouts != WhiteoutMode::Flatten {
            return;
        }
        while self.unpacked.insert(path.clone()) {
            match path.iter().rposition(|b| *b == b'/') {
                Some(slash) => path.truncate(slash),
                None => break,
            }
        }
    }

    /// Clears the name for a new non-directory node (tar semantics: the later entry wins).
    fn replace(&self, dir: BorrowedFd<'_>, name: &CStr, shown: &Path) -> Result<()> {
        if self.opts.no_overwrite_dir_non_dir {
            let existing = sys::lstat_at(dir, name).map_err(entry_err(shown, "stat"))?;
            if existing.is_some_and(|st| sys::is_dir(&st)) {
                return Err(Error::WouldOverwrite {
                    entry: shown.into(),
                    reason: "cannot overwrite directory with non-directory",
                });
            }
        }
        sys::remove_all_at(dir, name).map_err(entry_err(shown, "remove the existing file"))
    }

    fn whiteout(
        &mut self,
        applied: Applied,
        parent: &[&[u8]],
        target: &[u8],
        meta: &Meta,
        shown: &Path,
    ) -> Result<()> {
        if target == &OPAQUE_MARKER[WHITEOUT_PREFIX.len()..] {
            return self.opaque(applied, parent, shown);
        }
        if target.starts_with(WHITEOUT_PREFIX) {
            // Other `.wh..wh.` names are AUFS bookkeeping (`.wh..wh.plnk`); Docker skips them too.
            return Ok(());
        }
        if target.is_empty() || target == b"." || target == b".." {
            return Err(Error::UnsafePath {
                entry: shown.into(),
                reason: "whiteout of an empty, `.` or `..` name",
            });
        }
        let name = sys::cstring(target).map_err(entry_err(shown, "name"))?;
        match applied {
            Applied::Overlay => {
                let dir = self
                    .parent_dir(parent)
                    .map_err(entry_err(shown, "open parent directory"))?;
                let dir = dir.as_fd();
                self.replace(dir, &name, shown)?;
                sys::mknodat(dir, &name, libc::S_IFCHR, libc::makedev(0, 0))
                    .map_err(entry_err(shown, "create whiteout device"))?;
                sys::lchown_at(dir, &name, meta.uid, meta.gid)
                    .map_err(entry_err(shown, "chown"))?;
                sys::lutimes_at(dir, &name, meta.atime, meta.mtime)
                    .map_err(entry_err(shown, "set times"))?;
            }
            Applied::Flatten => {
                let dir = self
                    .existing_dir(parent, libc::O_PATH)
                    .map_err(entry_err(shown, "open parent directory"))?;
                if let Some(dir) = dir {
                    self.replace(dir.as_fd(), &name, shown)?;
                }
            }
        }
        Ok(())
    }

    fn opaque(&mut self, applied: Applied, dir: &[&[u8]], shown: &Path) -> Result<()> {
        match applied {
            Applied::Overlay => {
                self.parent_dir(dir)
                    .map_err(entry_err(shown, "create opaque directory"))?;
                let fd = self
                    .existing_dir(dir, libc::O_RDONLY)
                    .map_err(entry_err(shown, "open opaque directory"))?
                    .ok_or_else(|| Error::Entry {
                        entry: shown.into(),
                        action: "open opaque directory",
                        source: io::Error::from_raw_os_error(libc::ENOENT),
                    })?;
                sys::fsetxattr(fd.as_fd(), OVERLAY_OPAQUE_XATTR, b"y")
                    .map_err(entry_err(shown, "set trusted.overlay.opaque"))?;
            }
            Applied::Flatten => {
                let fd = self
                    .existing_dir(dir, libc::O_RDONLY)
                    .map_err(entry_err(shown, "open opaque directory"))?;
                if let Some(fd) = fd {
                    self.remove_not_unpacked(fd.as_fd(), &join(dir))
                        .map_err(entry_err(shown, "clear opaque directory"))?;
                }
            }
        }
        Ok(())
    }

    /// Removes everything below `dir` that this layer did not create (flatten mode, opaque).
    fn remove_not_unpacked(&self, dir: BorrowedFd<'_>, prefix: &[u8]) -> io::Result<()> {
        for name in sys::read_dir(dir)? {
            let path = if prefix == b"." {
                name.to_bytes().to_vec()
            } else {
                [prefix, b"/", name.to_bytes()].concat()
            };
            if !self.unpacked.contains(&path) {
                sys::remove_all_at(dir, &name)?;
            } else if sys::lstat_at(dir, &name)?.is_some_and(|st| sys::is_dir(&st)) {
                let child = sys::openat(dir, &name, libc::O_RDONLY | libc::O_DIRECTORY, 0)?;
                self.remove_not_unpacked(child.as_fd(), &path)?;
            }
        }
        Ok(())
    }

    fn hardlink(
        &mut self,
        dir: BorrowedFd<'_>,
        name: &CStr,
        comps: &[&[u8]],
        target: &[u8],
        shown: &Path,
    ) -> Result<()> {
        let unsafe_target = |reason| Error::UnsafePath {
            entry: shown.into(),
            reason,
        };
        let tcomps = components(target).map_err(|reason| {
            unsafe_target(if reason == DOT_DOT {
                TARGET_DOT_DOT
            } else {
                "hardlink target contains a NUL byte"
            })
        })?;
        if tcomps == comps {
            return Ok(());
        }
        let Some((tname, tparent)) = tcomps.split_last() else {
            return Err(unsafe_target("hardlink to the layer root"));
        };
        let missing = || Error::Entry {
            entry: shown.into(),
            action: "hardlink target is not earlier in the archive",
            source: io::Error::from_raw_os_error(libc::ENOENT),
        };
        let tdir = self
            .existing_dir(tparent, libc::O_PATH)
            .map_err(entry_err(shown, "open hardlink target directory"))?
            .ok_or_else(missing)?;
        let tname = sys::cstring(tname).map_err(entry_err(shown, "name"))?;
        match sys::lstat_at(tdir.as_fd(), &tname)
            .map_err(entry_err(shown, "stat hardlink target"))?
        {
            None => return Err(missing()),
            Some(st) if sys::is_dir(&st) => {
                return Err(unsafe_target("hardlink to a directory"));
            }
            Some(_) => {}
        }
        self.replace(dir, name, shown)?;
        sys::linkat(tdir.as_fd(), &tname, dir, name).map_err(entry_err(shown, "create hardlink"))
    }

    /// Owner, xattrs and times of a node that cannot be opened (symlink, device, fifo).
    fn set_node_meta(
        &self,
        dir: BorrowedFd<'_>,
        name: &CStr,
        meta: &Meta,
        shown: &Path,
    ) -> Result<()> {
        sys::lchown_at(dir, name, meta.uid, meta.gid).map_err(entry_err(shown, "chown"))?;
        set_xattrs(meta, shown, |k, v| sys::lsetxattr_at(dir, name, k, v))?;
        sys::lutimes_at(dir, name, meta.atime, meta.mtime).map_err(entry_err(shown, "set times"))
    }

    fn set_dir_meta(
        &mut self,
        fd: OwnedFd,
        path: Vec<u8>,
        meta: &Meta,
        shown: &Path,
    ) -> Result<()> {
        let fd = fd.as_fd();
        sys::fchown(fd, meta.uid, meta.gid).map_err(entry_err(shown, "chown"))?;
        sys::fchmod(fd, meta.mode).map_err(entry_err(shown, "chmod"))?;
        set_xattrs(meta, shown, |k, v| sys::fsetxattr(fd, k, v))?;
        self.dir_times.push((path, meta.atime, meta.mtime));
        Ok(())
    }

    /// Sets directory times after all entries. A path that is no longer a directory (replaced by
    /// a later entry) is skipped; nothing is followed.
    fn set_dir_times(&self) -> Result<()> {
        for (path, atime, mtime) in &self.dir_times {
            let shown = display(path);
            let fd = if path.is_empty() {
                Some(
                    self.root
                        .try_clone()
                        .map_err(entry_err(&shown, "open layer root"))?,
                )
            } else {
                let comps = components(path).map_err(|reason| Error::UnsafePath {
                    entry: shown.clone(),
                    reason,
                })?;
                self.open_dir_nofollow(&comps)
                    .map_err(entry_err(&shown, "open directory"))?
            };
            if let Some(fd) = fd {
                sys::futimens(fd.as_fd(), *atime, *mtime)
                    .map_err(entry_err(&shown, "set directory times"))?;
            }
        }
        Ok(())
    }

    fn open_dir_nofollow(&self, comps: &[&[u8]]) -> io::Result<Option<OwnedFd>> {
        let Some((name, parent)) = comps.split_last() else {
            return Ok(None);
        };
        let Some(dir) = self.existing_dir(parent, libc::O_PATH)? else {
            return Ok(None);
        };
        match sys::openat(
            dir.as_fd(),
            &sys::cstring(name)?,
            libc::O_RDONLY | libc::O_DIRECTORY,
            0,
        ) {
            Ok(fd) => Ok(Some(fd)),
            Err(e)
                if matches!(
                    e.raw_os_error(),
                    Some(libc::ENOENT | libc::ENOTDIR | libc::ELOOP)
                ) =>
            {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// Copies an entry's data into `file`. Sparse entries write only their data blocks and leave
    /// holes in between.
    fn copy_data<R: Read>(
        &mut self,
        tar: &mut TarReader<R>,
        entry: &RawEntry,
        file: &mut File,
        shown: &Path,
    ) -> Result<()> {
        let Some((blocks, real_size)) = &entry.sparse else {
            return self.copy_exact(tar, file, entry.size, shown);
        };
        for &(offset, len) in blocks {
            file.seek(SeekFrom::Start(offset))
                .map_err(entry_err(shown, "seek over a hole"))?;
            self.copy_exact(tar, file, len, shown)?;
        }
        file.set_len(*real_size)
            .map_err(entry_err(shown, "size sparse file"))
    }

    fn copy_exact<R: Read>(
        &mut self,
        tar: &mut TarReader<R>,
        file: &mut File,
        mut len: u64,
        shown: &Path,
    ) -> Result<()> {
        while len > 0 {
            let want = self
                .buf
                .len()
                .min(usize::try_from(len).unwrap_or(usize::MAX));
            let n = match tar.read_data(&mut self.buf[..want]) {
                Ok(0) => {
                    return Err(corrupt_in(shown)(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "entry data ends early",
                    )))
                }
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(corrupt_in(shown)(e)),
            };
            file.write_all(&self.buf[..n])
                .map_err(entry_err(shown, "write"))?;
            len -= n as u64;
            self.file_bytes += n as u64;
        }
        Ok(())
    }
}

fn read_meta(entry: &RawEntry, shown: &Path, opts: &UnpackOptions) -> Result<Meta> {
    let h = &entry.header;
    if entry.pax.iter().any(|(k, _)| k.starts_with(b"GNU.sparse.")) {
        return Err(Error::Unsupported {
            entry: shown.into(),
            what: "PAX sparse file format (only old GNU sparse entries are supported)".into(),
        });
    }
    let mode = match opts.mode {
        Some(mode) => mode & 0o7777,
        None => h.mode().map_err(corrupt_in(shown))? & 0o7777,
    };
    let id = |header: io::Result<u64>, pax: Option<&[u8]>, what: &'static str| -> Result<u32> {
        let v = match pax {
            Some(v) => std::str::from_utf8(v)
                .ok()
                .and_then(|v| v.parse::<u64>().ok())
                .ok_or_else(|| {
                    corrupt_in(shown)(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("malformed PAX {what}"),
                    ))
                })?,
            None => header.map_err(corrupt_in(shown))?,
        };
        u32::try_from(v).map_err(|_| Error::Unsupported {
            entry: shown.into(),
            what: format!("{what} {v} (above 2^32-1)"),
        })
    };
    let (uid, gid) = match opts.owner {
        Some(owner) => owner,
        None => (
            id(h.uid(), entry.pax(b"uid"), "uid")?,
            id(h.gid(), entry.pax(b"gid"), "gid")?,
        ),
    };
    let secs = h.mtime().map_err(corrupt_in(shown))?;
    let header_mtime: Time = (i64::try_from(secs).unwrap_or(i64::MAX), 0);
    let mtime = entry
        .pax(b"mtime")
        .and_then(pax_time)
        .unwrap_or(header_mtime);
    let atime = entry.pax(b"atime").and_then(pax_time).unwrap_or(mtime);
    let mut xattrs: Vec<(CString, Vec<u8>)> = Vec::new();
    for (key, value) in &entry.pax {
        let Some(name) = key.strip_prefix(b"SCHILY.xattr.") else {
            continue;
        };
        if forbidden_xattr(name) {
            continue;
        }
        let name = CString::new(name).map_err(|_| Error::UnsafePath {
            entry: shown.into(),
            reason: "xattr name contains a NUL byte",
        })?;
        // A repeated key: the later record wins, as for every PAX key.
        xattrs.retain(|(k, _)| *k != name);
        xattrs.push((name, value.clone()));
    }
    Ok(Meta {
        mode,
        uid,
        gid,
        atime,
        mtime,
        xattrs,
    })
}

/// Sets the entry's xattrs with `set`; a filesystem without xattr support is not an error for
/// an image (Docker also skips them there).
fn set_xattrs(
    meta: &Meta,
    shown: &Path,
    mut set: impl FnMut(&CStr, &[u8]) -> io::Result<()>,
) -> Result<()> {
    for (key, value) in &meta.xattrs {
        match set(key, value) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(libc::EOPNOTSUPP) => {}
            Err(e) => return Err(entry_err(shown, "set xattr")(e)),
        }
    }
    Ok(())
}

fn entry_err(shown: &Path, action: &'static str) -> impl FnOnce(io::Error) -> Error {
    let entry = shown.to_path_buf();
    move |source| Error::Entry {
        entry,
        action,
        source,
    }
}

fn corrupt_in(shown: &Path) -> impl Fn(io::Error) -> Error {
    let at = format!("in entry {shown:?}");
    move |source| corrupt(at.clone(), source)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
