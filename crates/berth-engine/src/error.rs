use std::path::PathBuf;

use berth_types::ErrorKind;

/// Everything an engine operation can fail with; [`Error::kind`] is what API edges map to a
/// status code.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("No such image: {0}")]
    NoSuchImage(String),
    #[error("No such container: {0}")]
    NoSuchContainer(String),
    #[error(transparent)]
    InvalidReference(#[from] berth_types::InvalidReference),
    #[error("image id prefix {0:?} matches more than one image")]
    AmbiguousImage(String),
    #[error("refusing to create a tag with a digest reference: {0}")]
    TagWithDigest(String),
    #[error("conflict: unable to delete {image} (must be forced) - image is referenced in multiple repositories")]
    ImageHasTags { image: String },
    #[error("conflict: unable to remove repository reference {reference:?} (must force) - container {container} is using its referenced image {image}")]
    ImageInUse {
        reference: String,
        container: String,
        image: String,
    },
    #[error("{action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] berth_store::Error),
    #[error(transparent)]
    Layer(#[from] berth_image::Error),
    #[error("invalid change {change:?}: {reason}")]
    BadChange { change: String, reason: String },
    #[error("encode JSON: {0}")]
    Json(serde_json::Error),
    #[error("internal error: a background task failed: {0}")]
    Task(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::NoSuchImage(_) | Self::NoSuchContainer(_) => ErrorKind::NotFound,
            Self::InvalidReference(_) | Self::TagWithDigest(_) => ErrorKind::InvalidArgument,
            Self::AmbiguousImage(_) | Self::ImageHasTags { .. } | Self::ImageInUse { .. } => {
                ErrorKind::Conflict
            }
            Self::Store(e) => e.kind(),
            Self::Layer(e) => e.kind(),
            Self::BadChange { .. } => ErrorKind::InvalidArgument,
            Self::Json(_) => ErrorKind::Internal,
            Self::Io { .. } | Self::Task(_) => ErrorKind::Internal,
        }
    }

    pub(crate) fn from_join(e: tokio::task::JoinError) -> Self {
        Self::Task(e.to_string())
    }
}
