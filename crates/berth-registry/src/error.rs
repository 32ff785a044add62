use berth_types::{Digest, ErrorKind};
use oci_client::errors::{OciDistributionError, OciErrorCode};

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid X-Registry-Auth header: {0}")]
    BadAuthHeader(&'static str),
    #[error("invalid registry address {address:?} in {setting}")]
    BadAddress {
        setting: &'static str,
        address: String,
    },
    #[error("read {path}: {source}")]
    Io {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("{registry}: TLS setup: {source}")]
    Tls {
        registry: String,
        source: OciDistributionError,
    },
    #[error("{what} from {registry}: {source}")]
    Registry {
        registry: String,
        what: String,
        source: OciDistributionError,
    },
    #[error("{registry}: unauthorized: authentication required or credentials refused ({what})")]
    Unauthorized { registry: String, what: String },
    #[error("manifest for {reference} not found: manifest unknown")]
    ManifestUnknown { reference: String },
    #[error("{reference}: invalid manifest: {reason}")]
    BadManifest { reference: String, reason: String },
    #[error("{reference}: unsupported manifest media type {media_type:?}")]
    UnsupportedManifest {
        reference: String,
        media_type: String,
    },
    #[error("no matching manifest for {platform} in the manifest list entries of {reference}")]
    NoMatchingPlatform { reference: String, platform: String },
    #[error("invalid platform {0:?}: expected os[/arch[/variant]]")]
    BadPlatform(String),
    #[error("{what}: digest mismatch: expected {expected}, got {actual}")]
    DigestMismatch {
        what: String,
        expected: Digest,
        actual: Digest,
    },
    #[error(transparent)]
    Digest(#[from] berth_types::InvalidDigest),
}

impl Error {
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::ManifestUnknown { .. } | Self::NoMatchingPlatform { .. } => ErrorKind::NotFound,
            Self::Unauthorized { .. } => ErrorKind::Unauthorized,
            Self::BadAuthHeader(_)
            | Self::BadAddress { .. }
            | Self::BadPlatform(_)
            | Self::Digest(_) => ErrorKind::InvalidArgument,
            Self::Registry { source, .. } if is_not_found(source) => ErrorKind::NotFound,
            _ => ErrorKind::Unavailable,
        }
    }

    /// Classifies an oci-client error of operation `what` against `registry`.
    pub(crate) fn registry(registry: &str, what: String, source: OciDistributionError) -> Self {
        let registry = registry.to_string();
        match &source {
            OciDistributionError::UnauthorizedError { .. }
            | OciDistributionError::AuthenticationFailure(_) => {
                Self::Unauthorized { registry, what }
            }
            OciDistributionError::RegistryError { envelope, .. }
                if envelope.errors.iter().any(|e| {
                    matches!(e.code, OciErrorCode::Unauthorized | OciErrorCode::Denied)
                }) =>
            {
                Self::Unauthorized { registry, what }
            }
            OciDistributionError::ServerError { code: 401, .. } => {
                Self::Unauthorized { registry, what }
            }
            OciDistributionError::RequestError(e) if status(e) == Some(401) => {
                Self::Unauthorized { registry, what }
            }
            _ => Self::Registry {
                registry,
                what,
                source,
            },
        }
    }
}

fn is_not_found(e: &OciDistributionError) -> bool {
    match e {
        OciDistributionError::ImageManifestNotFoundError(_) => true,
        OciDistributionError::ServerError { code, .. } => *code == 404,
        OciDistributionError::RequestError(e) => status(e) == Some(404),
        OciDistributionError::RegistryError { envelope, .. } => envelope.errors.iter().any(|e| {
            matches!(
                e.code,
                OciErrorCode::ManifestUnknown
                    | OciErrorCode::NameUnknown
                    | OciErrorCode::BlobUnknown
                    | OciErrorCode::NotFound
            )
        }),
        _ => false,
    }
}

/// Whether `e` says the registry does not have what was asked for.
pub(crate) fn not_found(e: &OciDistributionError) -> bool {
    is_not_found(e)
}

/// The HTTP status of a failed request (`error_for_status`), if it got one.
fn status(e: &(dyn std::error::Error + 'static)) -> Option<u16> {
    // reqwest is oci-client's, not a dependency here: its Display carries the status.
    let text = e.to_string();
    ["401 Unauthorized", "404 Not Found"]
        .iter()
        .find(|s| text.contains(**s))
        .and_then(|s| s[..3].parse().ok())
}
