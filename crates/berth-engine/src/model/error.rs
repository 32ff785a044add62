use berth_types::ErrorKind;

use crate::networks::NetworkError;
use crate::spec::SpecError;

/// Why a value cannot become part of the engine's model.
///
/// The Docker conversion reuses the spec builder's and the network layer's checks, so their
/// errors pass through unchanged and a bad create body keeps the message dockerd gives.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// A mode or option string outside the engine's grammar. The wording is the spec
    /// builder's (`invalid IpcMode "x": unknown mode`), which is also dockerd's.
    #[error("invalid {option} {value:?}: {reason}")]
    Invalid {
        option: &'static str,
        value: String,
        reason: &'static str,
    },
    #[error("invalid pod id {0:?}: use letters, digits, '_', '+', '-' and '.'")]
    PodId(String),
    /// A pod-only setting on a container that belongs to no pod (or to another one).
    #[error("{option} {value:?} needs the container to belong to that pod")]
    NotInPod { option: &'static str, value: String },
    /// A row written by a newer engine: reading it could drop what this one does not know.
    #[error("container spec format {found} is newer than this engine's ({supported})")]
    FormatTooNew { found: u32, supported: u32 },
    #[error(transparent)]
    Spec(#[from] SpecError),
    #[error(transparent)]
    Network(#[from] NetworkError),
}

impl ModelError {
    /// The category the API edges translate.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Spec(e) => e.kind(),
            Self::Network(e) => e.kind(),
            Self::FormatTooNew { .. } => ErrorKind::Internal,
            Self::Invalid { .. } | Self::PodId(_) | Self::NotInPod { .. } => {
                ErrorKind::InvalidArgument
            }
        }
    }
}

/// Shorthand for [`ModelError::Invalid`].
pub(crate) fn invalid(option: &'static str, value: &str, reason: &'static str) -> ModelError {
    ModelError::Invalid {
        option,
        value: value.to_string(),
        reason,
    }
}
