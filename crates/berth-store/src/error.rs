use std::path::PathBuf;

use berth_types::{Digest, ErrorKind};

use crate::snapshot::Kind;

/// Everything a storage operation can fail with. Each variant names the blob, ingest, snapshot,
/// image, container or path it was working on.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is in use by another process (lock held)")]
    Locked { path: PathBuf },
    #[error("{path} cannot be a store root: {reason}")]
    InvalidRoot { path: PathBuf, reason: &'static str },

    // --- content store ---
    #[error("blob {0} not found")]
    BlobNotFound(Digest),
    #[error("blob {0} already exists")]
    BlobExists(Digest),
    #[error("blob {0}: only sha256 content can be written")]
    UnsupportedDigest(Digest),
    #[error("ingest {reference:?} is being written by another writer")]
    IngestBusy { reference: String },
    #[error("snapshot {key:?} already has a parent; it cannot be committed onto another")]
    HasParent { key: String },
    #[error("ingest {0:?} not found")]
    IngestNotFound(String),
    #[error("ingest {reference:?}: {path}: unreadable metadata: {source}")]
    CorruptIngest {
        reference: String,
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("ingest {reference:?}: size is {actual} bytes, expected {expected}; ingest removed")]
    SizeMismatch {
        reference: String,
        expected: u64,
        actual: u64,
    },
    #[error("ingest {reference:?}: content is {actual}, expected {expected}; ingest removed")]
    DigestMismatch {
        reference: String,
        expected: Digest,
        actual: Digest,
    },
    #[error(
        "ingest {reference:?} already holds {offset} bytes, more than the expected {expected}"
    )]
    IngestTooLong {
        reference: String,
        offset: u64,
        expected: u64,
    },

    // --- snapshotter ---
    #[error("snapshot key must not be empty")]
    EmptyKey,
    #[error("snapshot {0:?} not found")]
    SnapshotNotFound(String),
    #[error("snapshot {0:?} already exists")]
    SnapshotExists(String),
    #[error("snapshot {key:?} is the parent of {children} other snapshot(s)")]
    SnapshotHasChildren { key: String, children: u64 },
    #[error("snapshot {key:?} is {kind}; {action} needs {expected}")]
    WrongKind {
        key: String,
        kind: Kind,
        action: &'static str,
        expected: &'static str,
    },
    #[error(
        "parent {parent:?} of snapshot {key:?} is {kind}; only committed snapshots can be parents"
    )]
    ParentNotCommitted {
        key: String,
        parent: String,
        kind: Kind,
    },
    #[error("mount on {target}: {reason}")]
    InvalidMount { target: PathBuf, reason: String },
    #[error("{action} {target}: {source}{}", kernel_log(.log))]
    Mount {
        action: &'static str,
        target: PathBuf,
        source: nix::Error,
        /// Messages the kernel left on the filesystem context (new mount API only).
        log: Vec<String>,
    },

    // --- metadata ---
    #[error("{path}: {action}: {source}")]
    Sqlite {
        action: &'static str,
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("{path}: schema version {found} is newer than this binary supports ({supported})")]
    SchemaTooNew {
        path: PathBuf,
        found: i64,
        supported: i64,
    },
    #[error(
        "container {id}: config format {found} is newer than this binary supports ({supported})"
    )]
    ContainerFormatTooNew {
        id: String,
        found: u32,
        supported: u32,
    },
    #[error("container {id}: upgrade config from format {from}: {source}")]
    ContainerUpgrade {
        id: String,
        from: u32,
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("{path}: table {table}, row {key:?}: {reason}")]
    CorruptRow {
        path: PathBuf,
        table: &'static str,
        key: String,
        reason: String,
    },
    #[error("{what} is not valid JSON: {source}")]
    InvalidJson {
        what: String,
        source: serde_json::Error,
    },
    #[error("image {0:?} not found")]
    ImageNotFound(String),
    #[error("image {0} already exists")]
    ImageExists(Digest),
    #[error("image {image} is used by container(s) {containers:?}")]
    ImageInUse {
        image: Digest,
        containers: Vec<String>,
    },
    #[error("tag {0:?} not found")]
    TagNotFound(String),
    #[error("container {0:?} not found")]
    ContainerNotFound(String),
    #[error("container {0:?} already exists")]
    ContainerExists(String),
    #[error("container name {name:?} is already used by container {id:?}")]
    ContainerNameTaken { name: String, id: String },
    #[error("get {0}: no such volume")]
    VolumeNotFound(String),
    #[error("volume {0} already exists")]
    VolumeExists(String),
    #[error("network {0} not found")]
    NetworkNotFound(String),
    #[error("network with name {0} already exists")]
    NetworkExists(String),
    #[error("pod sandbox {0} not found")]
    PodNotFound(String),
    /// containerd's wording for a sandbox name already reserved.
    #[error("failed to reserve sandbox name {name:?}: name {name:?} is reserved for {id:?}")]
    PodNameReserved { name: String, id: String },
    /// Docker's wording, which clients show as is.
    #[error("remove {volume}: volume is in use - [{}]", .containers.join(", "))]
    VolumeInUse {
        volume: String,
        containers: Vec<String>,
    },
}

fn kernel_log(log: &[String]) -> String {
    if log.is_empty() {
        String::new()
    } else {
        format!(" (kernel: {})", log.join("; "))
    }
}

impl Error {
    /// The category an API edge maps to a status code.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::BlobNotFound(_)
            | Self::IngestNotFound(_)
            | Self::SnapshotNotFound(_)
            | Self::ImageNotFound(_)
            | Self::TagNotFound(_)
            | Self::ContainerNotFound(_)
            | Self::VolumeNotFound(_)
            | Self::NetworkNotFound(_)
            | Self::PodNotFound(_) => ErrorKind::NotFound,
            Self::BlobExists(_)
            | Self::SnapshotExists(_)
            | Self::ImageExists(_)
            | Self::ContainerExists(_)
            | Self::ContainerNameTaken { .. }
            | Self::VolumeExists(_)
            | Self::NetworkExists(_)
            | Self::PodNameReserved { .. } => ErrorKind::AlreadyExists,
            Self::UnsupportedDigest(_)
            | Self::SizeMismatch { .. }
            | Self::DigestMismatch { .. }
            | Self::IngestTooLong { .. }
            | Self::EmptyKey
            | Self::InvalidRoot { .. }
            | Self::ParentNotCommitted { .. }
            | Self::InvalidMount { .. }
            | Self::InvalidJson { .. } => ErrorKind::InvalidArgument,
            Self::IngestBusy { .. }
            | Self::SnapshotHasChildren { .. }
            | Self::HasParent { .. }
            | Self::WrongKind { .. }
            | Self::ImageInUse { .. }
            | Self::VolumeInUse { .. } => ErrorKind::Conflict,
            Self::Locked { .. } => ErrorKind::Unavailable,
            Self::Io { .. }
            | Self::CorruptIngest { .. }
            | Self::Mount { .. }
            | Self::Sqlite { .. }
            | Self::SchemaTooNew { .. }
            | Self::ContainerFormatTooNew { .. }
            | Self::ContainerUpgrade { .. }
            | Self::CorruptRow { .. } => ErrorKind::Internal,
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

/// Shorthand for wrapping a SQLite error with the action and database path.
pub(crate) fn sql(
    action: &'static str,
    path: impl Into<PathBuf>,
) -> impl FnOnce(rusqlite::Error) -> Error {
    let path = path.into();
    move |source| Error::Sqlite {
        action,
        path,
        source,
    }
}
