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
    #[error(
        "registry {registry} is blocked by the daemon's configuration (blocked-registries): {why}"
    )]
    Blocked { registry: String, why: BlockedWhy },
    /// The registry's own answer, after earlier endpoints (mirrors, HTTPS before plain HTTP)
    /// failed: each is named, so a misconfigured mirror is visible in the error itself.
    #[error("{source} (registry {registry}; tried before: {})", Attempts(.tried))]
    AfterEndpoints {
        registry: String,
        tried: Vec<Attempt>,
        source: Box<Error>,
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
    #[error("{registry}: denied: requested access to the resource is denied ({what})")]
    Denied { registry: String, what: String },
    #[error("{registry}: toomanyrequests: the registry is rate limiting, try again later ({what}){}", detail(.message))]
    TooManyRequests {
        registry: String,
        what: String,
        message: String,
    },
    #[error("{registry}: server error: HTTP {code} on {what}{}", detail(.message))]
    ServerFailed {
        registry: String,
        what: String,
        code: u16,
        message: String,
    },
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

/// Why a request to a blocked registry failed.
#[derive(Debug)]
pub enum BlockedWhy {
    /// A push, login or remote inspect: mirrors serve pulls only, and the registry itself is
    /// not contacted.
    NotAPull,
    /// A pull with no mirror configured for the registry.
    NoMirror,
    /// Every mirror failed, each with its error.
    MirrorsFailed(Vec<Attempt>),
}

impl std::fmt::Display for BlockedWhy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NotAPull => f.write_str(
                "it is reached through its mirrors only, for pulls (no push, login or remote \
                 inspect)",
            ),
            Self::NoMirror => f.write_str(
                "it is reached through mirrors only, and none is configured for it \
                 (registry-mirrors-by-host)",
            ),
            Self::MirrorsFailed(tried) => write!(
                f,
                "it is reached through its mirrors only, and none served the request: {}",
                Attempts(tried)
            ),
        }
    }
}

/// One endpoint that failed a request.
#[derive(Debug)]
pub struct Attempt {
    /// `http[s]://host[:port]`.
    pub endpoint: String,
    pub error: Error,
}

/// `url (error), url (error)`.
struct Attempts<'a>(&'a [Attempt]);

impl std::fmt::Display for Attempts<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, a) in self.0.iter().enumerate() {
            let sep = if i == 0 { "" } else { ", " };
            write!(f, "{sep}{} ({})", a.endpoint, a.error)?;
        }
        Ok(())
    }
}

impl Error {
    /// `self`, the answer of the last endpoint tried for `registry`, naming the endpoints that
    /// failed before it, if any.
    pub fn after(self, registry: &str, tried: Vec<Attempt>) -> Self {
        if tried.is_empty() {
            return self;
        }
        Self::AfterEndpoints {
            registry: registry.to_string(),
            tried,
            source: Box::new(self),
        }
    }

    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::ManifestUnknown { .. } | Self::NoMatchingPlatform { .. } => ErrorKind::NotFound,
            Self::Unauthorized { .. } => ErrorKind::Unauthorized,
            // Not 401: the docker CLI would answer that with a login prompt.
            Self::Denied { .. } | Self::Blocked { .. } => ErrorKind::Forbidden,
            Self::AfterEndpoints { source, .. } => source.kind(),
            Self::BadAuthHeader(_)
            | Self::BadAddress { .. }
            | Self::BadPlatform(_)
            | Self::Digest(_) => ErrorKind::InvalidArgument,
            Self::Registry { source, .. } if is_not_found(source) => ErrorKind::NotFound,
            _ => ErrorKind::Unavailable,
        }
    }

    /// Whether the request never got an HTTP answer (refused connection, failed TLS
    /// handshake, a plain-HTTP server spoken to over TLS): the next endpoint may do better.
    pub fn is_transport(&self) -> bool {
        match self {
            Self::Registry {
                source: OciDistributionError::RequestError(e),
                ..
            } => status(e).is_none(),
            _ => false,
        }
    }

    /// Classifies an oci-client error of operation `what` against `registry`: refused
    /// credentials, access denied, rate limiting and server failures get messages of their own
    /// (whether the registry sent an error envelope or a bare status).
    pub(crate) fn registry(registry: &str, what: String, source: OciDistributionError) -> Self {
        let registry = registry.to_string();
        let envelope_has = |code: OciErrorCode| match &source {
            OciDistributionError::RegistryError { envelope, .. } => {
                envelope.errors.iter().any(|e| e.code == code)
            }
            _ => false,
        };
        let code = match &source {
            OciDistributionError::UnauthorizedError { .. }
            | OciDistributionError::AuthenticationFailure(_) => Some(401),
            OciDistributionError::ServerError { code, .. } => Some(*code),
            OciDistributionError::RequestError(e) => status(e),
            _ if envelope_has(OciErrorCode::Unauthorized) => Some(401),
            _ if envelope_has(OciErrorCode::Denied) => Some(403),
            _ if envelope_has(OciErrorCode::Toomanyrequests) => Some(429),
            _ => None,
        };
        let message = match &source {
            OciDistributionError::ServerError { message, .. } => message.trim().to_string(),
            OciDistributionError::RegistryError { envelope, .. } => envelope
                .errors
                .iter()
                .map(|e| e.message.as_str())
                .collect::<Vec<_>>()
                .join("; "),
            _ => String::new(),
        };
        match code {
            Some(401) => Self::Unauthorized { registry, what },
            Some(403) => Self::Denied { registry, what },
            Some(429) => Self::TooManyRequests {
                registry,
                what,
                message,
            },
            Some(code @ 500..=599) => Self::ServerFailed {
                registry,
                what,
                code,
                message,
            },
            _ => Self::Registry {
                registry,
                what,
                source,
            },
        }
    }
}

/// `: <message>` when the registry said more than its status.
fn detail(message: &str) -> String {
    if message.is_empty() {
        String::new()
    } else {
        // A registry's error page can be long HTML: its start is enough to tell what it is.
        let short: String = message.chars().take(200).collect();
        format!(": {short}")
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
    // "HTTP status client error (401 Unauthorized) for url (…)"
    let rest = &text[text.find("HTTP status ")?..];
    let at = rest.find('(')? + 1;
    rest.get(at..at + 3)?.parse().ok()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
