//! Build contexts: the body of the Docker API's `POST /build`, extracted into a directory the
//! builder reads from, and content checksums of paths in it for the builder's cache.
//!
//! The body is what dockerd and BuildKit accept: a tar, plain or compressed with gzip, bzip2,
//! xz or zstd (told apart by magic bytes, as dockerd's `DecompressStream`), or, when it is
//! neither compressed nor a tar, the Dockerfile itself (BuildKit's rule for a context that is
//! no archive: the first 512 bytes do not form a tar header with a valid checksum). Such a
//! context holds only [`BARE_DOCKERFILE`].
//!
//! Extraction is the layer unpacker's (see [`crate::unpack_layer`]), so the same rules confine
//! every entry to the new directory: `..` is refused, a leading `/` dropped, parents resolved
//! with `openat2(RESOLVE_IN_ROOT)` so a symlink from the archive is never followed out of it,
//! hardlinks only to what is already inside. Symlinks stay symlinks; modes, owners, times and
//! xattrs (but overlayfs' own) are kept; fifos and device nodes are created, as dockerd's
//! `chrootarchive.Untar` creates them. `.wh.` names are ordinary files: a context is no layer.
//! Caller-given [`Limits`] cap the uncompressed size and the entry count, and on any error the
//! directory is removed again.

mod checksum;

use std::ffi::CString;
use std::fs::File;
use std::io::{self, BufReader, Cursor, Read};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use berth_types::ErrorKind;

use crate::compression::Compression;
use crate::error::{printable, Error};
use crate::unpack::{Limits, UnpackOptions, UnpackStats, WhiteoutMode, DOT_DOT, TARGET_DOT_DOT};
use crate::{reader, sys};

pub use checksum::{checksum, ChecksumOptions, Selection};

/// The name a body that is a bare Dockerfile gets in its otherwise empty context.
pub const BARE_DOCKERFILE: &str = "Dockerfile";

/// Bytes looked at to tell the formats apart: a tar header block.
const SNIFF: usize = 512;

/// Memory the xz decoder may take for its dictionary; `xz -9` needs 64 MiB, a hostile header
/// could ask for 4 GiB.
const XZ_MEMORY_KIB: u32 = 256 * 1024;

/// Buffer between the body and the bzip2 or xz decoder.
const READ_BUFFER: usize = 64 * 1024;

/// What the body of a build request turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContextFormat {
    Tar,
    Gzip,
    Bzip2,
    Xz,
    Zstd,
    /// Not an archive: the body is the Dockerfile.
    Dockerfile,
}

/// Why a build context could not be extracted or checksummed.
#[derive(Debug, thiserror::Error)]
pub enum ContextError {
    /// The archive or its compression is damaged or cut short; `at` says where, e.g.
    /// `after entry "src/main.rs"`.
    #[error("build context: corrupt tar: {at}: {}", printable(source))]
    Corrupt { at: String, source: io::Error },
    /// An entry's name or hardlink target leads outside the context.
    #[error("build context: entry {entry:?} escapes the context")]
    Escapes { entry: PathBuf },
    /// An entry breaks another naming rule (a NUL byte, a hardlink to a directory).
    #[error("build context: entry {entry:?} refused: {reason}")]
    Refused {
        entry: PathBuf,
        reason: &'static str,
    },
    #[error("build context: entry {entry:?}: unsupported {what}")]
    Unsupported { entry: PathBuf, what: String },
    #[error("build context: exceeds {limit} bytes")]
    TooLarge { limit: u64 },
    #[error("build context: more than {limit} entries")]
    TooManyEntries { limit: u64 },
    /// A filesystem operation failed while creating an entry.
    #[error("build context: entry {entry:?}: {action}: {source}")]
    Entry {
        entry: PathBuf,
        action: &'static str,
        source: io::Error,
    },
    /// Creating, filling or removing the context directory failed.
    #[error("build context: {action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    /// Reading a path inside the context for its checksum failed (or it does not exist).
    #[error("build context: checksum of {path:?}: {source}")]
    Checksum { path: PathBuf, source: io::Error },
    /// A layer error no build context should meet (the body's stream decoded to another
    /// compression, for instance).
    #[error("build context: {0}")]
    Other(#[source] Error),
}

impl ContextError {
    /// The category an API edge maps to a status code: a bad body is the client's fault.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Corrupt { .. }
            | Self::Escapes { .. }
            | Self::Refused { .. }
            | Self::TooLarge { .. }
            | Self::TooManyEntries { .. } => ErrorKind::InvalidArgument,
            Self::Unsupported { .. } => ErrorKind::NotImplemented,
            Self::Checksum { source, .. }
                if matches!(source.raw_os_error(), Some(libc::ENOENT | libc::ENOTDIR)) =>
            {
                ErrorKind::NotFound
            }
            Self::Entry { .. } | Self::Io { .. } | Self::Checksum { .. } => ErrorKind::Internal,
            Self::Other(e) => e.kind(),
        }
    }
}

impl From<Error> for ContextError {
    fn from(e: Error) -> Self {
        match e {
            Error::Corrupt { at, source } => Self::Corrupt { at, source },
            Error::UnsafePath { entry, reason }
                if reason == DOT_DOT || reason == TARGET_DOT_DOT =>
            {
                Self::Escapes { entry }
            }
            Error::UnsafePath { entry, reason } => Self::Refused { entry, reason },
            Error::Unsupported { entry, what } => Self::Unsupported { entry, what },
            Error::Entry {
                entry,
                action,
                source,
            } => Self::Entry {
                entry,
                action,
                source,
            },
            Error::TooLarge { limit } => Self::TooLarge { limit },
            Error::TooManyEntries { limit } => Self::TooManyEntries { limit },
            other @ (Error::UnsupportedCompression { .. }
            | Error::WouldOverwrite { .. }
            | Error::Io { .. }
            | Error::Gzip { .. }
            | Error::NotArchivable { .. }) => Self::Other(other),
        }
    }
}

/// An extracted build context. Dropping it removes the directory; [`BuildContext::remove`]
/// does the same and reports failure.
#[derive(Debug)]
pub struct BuildContext {
    path: PathBuf,
    /// The directory holding the context, and the context's name in it: removal never
    /// resolves `path` again.
    parent: OwnedFd,
    name: CString,
    root: OwnedFd,
    format: ContextFormat,
    entries: u64,
    bytes: u64,
    removed: bool,
}

impl BuildContext {
    /// The context directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The context directory, opened: the root to resolve paths in (see [`checksum`]).
    pub fn root(&self) -> BorrowedFd<'_> {
        self.root.as_fd()
    }

    pub fn format(&self) -> ContextFormat {
        self.format
    }

    /// Tar entries extracted (1 for a bare Dockerfile).
    pub fn entries(&self) -> u64 {
        self.entries
    }

    /// Bytes of the uncompressed body (what `docker build` calls the size of the context).
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Removes the context directory and everything in it.
    pub fn remove(mut self) -> Result<(), ContextError> {
        self.removed = true;
        sys::remove_all_at(self.parent.as_fd(), &self.name).map_err(|source| ContextError::Io {
            action: "remove",
            path: self.path.clone(),
            source,
        })
    }
}

impl Drop for BuildContext {
    fn drop(&mut self) {
        if !self.removed {
            // Best effort: `remove` is the way to learn of a failure.
            let _ = sys::remove_all_at(self.parent.as_fd(), &self.name);
        }
    }
}

/// Extracts the body of a build request into `dest`, a new directory (its parent must exist,
/// `dest` must not), within `limits`. On error nothing is left at `dest`.
pub fn extract<R: Read + Send>(
    body: R,
    dest: &Path,
    limits: Limits,
) -> Result<BuildContext, ContextError> {
    let mut context = create(dest)?;
    // On error `context` is dropped here, which removes what was extracted so far.
    let (format, entries, bytes) = fill(&context, body, limits)?;
    context.format = format;
    context.entries = entries;
    context.bytes = bytes;
    Ok(context)
}

/// Creates the empty context directory, readable only by its owner as dockerd's temporary
/// context directories are.
fn create(dest: &Path) -> Result<BuildContext, ContextError> {
    let io_err = |action| {
        move |source| ContextError::Io {
            action,
            path: dest.to_path_buf(),
            source,
        }
    };
    let name = dest
        .file_name()
        .ok_or_else(|| io_err("create")(io::Error::from_raw_os_error(libc::EINVAL)))?;
    let name = sys::cstring(name.as_bytes()).map_err(io_err("create"))?;
    let parent_path = match dest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let parent: OwnedFd = File::options()
        .read(true)
        .custom_flags(libc::O_DIRECTORY | libc::O_CLOEXEC)
        .open(parent_path)
        .map_err(io_err("open the parent of"))?
        .into();
    sys::mkdirat(parent.as_fd(), &name, 0o700).map_err(io_err("create"))?;
    let root = match sys::openat(parent.as_fd(), &name, libc::O_RDONLY | libc::O_DIRECTORY, 0) {
        Ok(root) => root,
        Err(source) => {
            // Only the empty directory exists yet.
            let _ = sys::unlinkat(parent.as_fd(), &name, libc::AT_REMOVEDIR);
            return Err(io_err("open")(source));
        }
    };
    Ok(BuildContext {
        path: dest.to_path_buf(),
        parent,
        name,
        root,
        format: ContextFormat::Tar,
        entries: 0,
        bytes: 0,
        removed: false,
    })
}

/// `ADD` of a local file: whether `file` is a tar, plain or gzip, bzip2, xz or zstd around a
/// tar (dockerd's test of what ADD unpacks); ADD copies anything else as it is.
pub fn is_archive(file: &mut File) -> io::Result<bool> {
    let format = sniff_file(file)?;
    Ok(match format {
        ContextFormat::Dockerfile => false,
        ContextFormat::Tar => true,
        // Compressed: an archive only if what is inside is a tar.
        _ => {
            let mut inner = Vec::with_capacity(SNIFF);
            let read =
                decoded(file, format).and_then(|r| r.take(SNIFF as u64).read_to_end(&mut inner));
            read.is_ok() && looks_like_tar(&inner)
        }
    })
}

/// Unpacks the archive `file` ([`is_archive`]) into the directory `dest` with `opts`.
pub fn unpack_archive_at(
    mut file: File,
    dest: OwnedFd,
    opts: &UnpackOptions,
) -> Result<UnpackStats, ContextError> {
    let format = sniff_file(&mut file).map_err(|source| ContextError::Corrupt {
        at: "at its start".into(),
        source,
    })?;
    let stream = decoded(&mut file, format).map_err(|source| ContextError::Corrupt {
        at: "at its start".into(),
        source,
    })?;
    Ok(crate::unpack_layer_at(stream, dest, opts)?)
}

/// The format of a seekable file from its first bytes.
fn sniff_file(file: &mut File) -> io::Result<ContextFormat> {
    use std::io::{Seek, SeekFrom};
    file.seek(SeekFrom::Start(0))?;
    let mut prefix = Vec::with_capacity(SNIFF);
    file.take(SNIFF as u64).read_to_end(&mut prefix)?;
    Ok(sniff(&prefix))
}

/// `file` from its start, decompressed as `format` says.
fn decoded(file: &mut File, format: ContextFormat) -> io::Result<Box<dyn Read + Send + '_>> {
    use std::io::{Seek, SeekFrom};
    file.seek(SeekFrom::Start(0))?;
    Ok(match format {
        ContextFormat::Bzip2 => Box::new(bzip2::bufread::MultiBzDecoder::new(
            BufReader::with_capacity(READ_BUFFER, file),
        )),
        ContextFormat::Xz => Box::new(lzma_rust2::XzReader::new_mem_limit(
            BufReader::with_capacity(READ_BUFFER, file),
            true,
            XZ_MEMORY_KIB,
        )),
        ContextFormat::Gzip => Box::new(flate2::read::MultiGzDecoder::new(
            BufReader::with_capacity(READ_BUFFER, file),
        )),
        ContextFormat::Zstd => Box::new(zstd::stream::read::Decoder::new(file)?),
        ContextFormat::Tar | ContextFormat::Dockerfile => Box::new(file),
    })
}

/// Writes the body into the context directory; returns its format, entries and bytes.
fn fill<R: Read + Send>(
    context: &BuildContext,
    mut body: R,
    limits: Limits,
) -> Result<(ContextFormat, u64, u64), ContextError> {
    let mut prefix = Vec::with_capacity(SNIFF);
    (&mut body)
        .take(SNIFF as u64)
        .read_to_end(&mut prefix)
        .map_err(|source| ContextError::Corrupt {
            at: "at its start".into(),
            source,
        })?;
    let format = sniff(&prefix);
    let stream = Cursor::new(prefix).chain(body);
    let (entries, bytes) = match format {
        ContextFormat::Dockerfile => write_dockerfile(context, stream, limits),
        ContextFormat::Tar | ContextFormat::Gzip | ContextFormat::Zstd => {
            unpack(context, stream, limits)
        }
        ContextFormat::Bzip2 => unpack(
            context,
            bzip2::bufread::MultiBzDecoder::new(BufReader::with_capacity(READ_BUFFER, stream)),
            limits,
        ),
        ContextFormat::Xz => unpack(
            context,
            lzma_rust2::XzReader::new_mem_limit(
                BufReader::with_capacity(READ_BUFFER, stream),
                true,
                XZ_MEMORY_KIB,
            ),
            limits,
        ),
    }?;
    Ok((format, entries, bytes))
}

/// The format of a body from its first bytes, in the order dockerd checks compressions.
fn sniff(prefix: &[u8]) -> ContextFormat {
    if prefix.starts_with(b"BZh") {
        ContextFormat::Bzip2
    } else if prefix.starts_with(&[0x1f, 0x8b, 0x08]) {
        ContextFormat::Gzip
    } else if prefix.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0x00]) {
        ContextFormat::Xz
    } else if matches!(Compression::from_magic(prefix), Ok(Compression::Zstd)) {
        ContextFormat::Zstd
    } else if looks_like_tar(prefix) {
        ContextFormat::Tar
    } else {
        ContextFormat::Dockerfile
    }
}

/// A tar starts with a header block whose checksum is right, or with the zero block of an
/// empty archive (which BuildKit would take for a Dockerfile of NUL bytes, to fail later).
fn looks_like_tar(prefix: &[u8]) -> bool {
    let Some(block) = prefix.get(..SNIFF) else {
        return false;
    };
    block.iter().all(|b| *b == 0)
        || reader::verify_checksum(tar::Header::from_byte_slice(block)).is_ok()
}

/// Unpacks a (decoded, or gzip or zstd) tar stream; returns entries and uncompressed bytes.
fn unpack<R: Read + Send>(
    context: &BuildContext,
    tar: R,
    limits: Limits,
) -> Result<(u64, u64), ContextError> {
    let root = context
        .root
        .try_clone()
        .map_err(|source| ContextError::Io {
            action: "open",
            path: context.path.clone(),
            source,
        })?;
    let opts = UnpackOptions {
        whiteouts: WhiteoutMode::Literal,
        limits: Some(limits),
        ..UnpackOptions::default()
    };
    let stats = crate::unpack_layer_at(tar, root, &opts)?;
    Ok((stats.entries, stats.uncompressed_size))
}

/// The body is the Dockerfile: it becomes [`BARE_DOCKERFILE`], mode 0644. Returns entries and
/// bytes, as [`unpack`].
fn write_dockerfile(
    context: &BuildContext,
    body: impl Read,
    limits: Limits,
) -> Result<(u64, u64), ContextError> {
    let path = context.path.join(BARE_DOCKERFILE);
    let io_err = |action| {
        let path = path.clone();
        move |source| ContextError::Io {
            action,
            path,
            source,
        }
    };
    let name = sys::cstring(BARE_DOCKERFILE.as_bytes()).map_err(io_err("create"))?;
    let mut file = sys::create_file(context.root.as_fd(), &name).map_err(io_err("create"))?;
    let written = io::copy(
        &mut body.take(limits.max_bytes.saturating_add(1)),
        &mut file,
    )
    .map_err(io_err("write"))?;
    if written > limits.max_bytes {
        return Err(ContextError::TooLarge {
            limit: limits.max_bytes,
        });
    }
    sys::fchmod(file.as_fd(), 0o644).map_err(io_err("chmod"))?;
    Ok((1, written))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
