use std::path::PathBuf;

use berth_types::ErrorKind;

/// Everything the layer code can fail with. Each variant names the layer entry or file it was
/// working on, so a failed pull or commit tells the user which path in which layer was at fault.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The stream's magic bytes name a compression Berth does not decode.
    #[error(
        "layer stream is compressed with {format}; only gzip, zstd and plain tar are supported"
    )]
    UnsupportedCompression { format: &'static str },
    /// The compressed data or the tar structure is damaged or cut short. `at` says where, e.g.
    /// `in entry "usr/bin/ls"` or `after entry "etc/"`.
    #[error("corrupt or truncated layer {at}: {}", printable(source))]
    Corrupt { at: String, source: std::io::Error },
    /// An entry tried to leave the destination or otherwise abuse the path rules.
    #[error("layer entry {entry:?} refused: {reason}")]
    UnsafePath {
        entry: PathBuf,
        reason: &'static str,
    },
    /// An entry of a kind the unpacker does not create.
    #[error("layer entry {entry:?}: unsupported {what}")]
    Unsupported { entry: PathBuf, what: String },
    /// `noOverwriteDirNonDir` was asked for and the entry would replace a directory with a
    /// non-directory or the other way round.
    #[error("layer entry {entry:?}: {reason}")]
    WouldOverwrite {
        entry: PathBuf,
        reason: &'static str,
    },
    /// A filesystem operation failed while applying an entry.
    #[error("layer entry {entry:?}: {action}: {source}")]
    Entry {
        entry: PathBuf,
        action: &'static str,
        source: std::io::Error,
    },
    /// A filesystem operation failed outside a single entry (opening the destination, walking a
    /// directory to archive it, writing the output).
    #[error("{action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    /// Compressing a layer for a registry failed, reading the layer or writing the output.
    #[error("gzip layer {layer}: {source}")]
    Gzip {
        layer: String,
        source: std::io::Error,
    },
    /// A file in a directory being archived cannot be represented faithfully in a layer tar.
    #[error("{path}: cannot be put in a layer: {reason}")]
    NotArchivable { path: PathBuf, reason: &'static str },
    /// The tar is larger than [`Limits::max_bytes`](crate::Limits::max_bytes) allows.
    #[error("tar exceeds {limit} bytes")]
    TooLarge { limit: u64 },
    /// The tar has more entries than [`Limits::max_entries`](crate::Limits::max_entries) allows.
    #[error("tar has more than {limit} entries")]
    TooManyEntries { limit: u64 },
}

impl Error {
    /// The category an API edge maps to a status code: bad input is the client's fault, a failed
    /// local filesystem operation is ours.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::UnsupportedCompression { .. } | Self::Unsupported { .. } => {
                ErrorKind::NotImplemented
            }
            Self::Corrupt { .. }
            | Self::UnsafePath { .. }
            | Self::WouldOverwrite { .. }
            | Self::TooLarge { .. }
            | Self::TooManyEntries { .. } => ErrorKind::InvalidArgument,
            Self::Entry { .. }
            | Self::Io { .. }
            | Self::Gzip { .. }
            | Self::NotArchivable { .. } => ErrorKind::Internal,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Shorthand for wrapping an io error with the action and path.
pub(crate) fn io(
    action: &'static str,
    path: impl Into<PathBuf>,
) -> impl FnOnce(std::io::Error) -> Error {
    let path = path.into();
    move |source| Error::Io {
        action,
        path,
        source,
    }
}

/// An error text with control characters escaped: parse errors can quote raw bytes of the
/// damaged stream, which must not reach a terminal as they are.
pub(crate) fn printable(e: &std::io::Error) -> String {
    e.to_string()
        .chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}
