//! Errors as gRPC statuses: the engine's error kinds map to codes here and nowhere else (as
//! containerd's errgrpc), and so do the adapter's own request errors.

use berth_types::ErrorKind;
use tonic::{Code, Status};

/// The gRPC code of an error kind.
pub(crate) fn code_of(kind: ErrorKind) -> Code {
    match kind {
        ErrorKind::NotFound => Code::NotFound,
        ErrorKind::AlreadyExists => Code::AlreadyExists,
        ErrorKind::InvalidArgument => Code::InvalidArgument,
        // containerd's mapping: an object in the wrong state for the call.
        ErrorKind::Conflict => Code::FailedPrecondition,
        ErrorKind::Unavailable => Code::Unavailable,
        ErrorKind::Unauthorized => Code::Unauthenticated,
        ErrorKind::Forbidden => Code::PermissionDenied,
        ErrorKind::NotImplemented => Code::Unimplemented,
        ErrorKind::Internal => Code::Internal,
    }
}

/// An engine error as the status a client gets.
pub(crate) fn engine(e: berth_engine::Error) -> Status {
    Status::new(code_of(e.kind()), e.to_string())
}

/// What is wrong with a request before the engine is asked anything.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RequestError {
    #[error("{0}: an image is required (image.image is empty)")]
    NoImage(&'static str),
    #[error("{0}: {1} is required")]
    Missing(&'static str, &'static str),
    #[error("{0} must not be negative")]
    Negative(&'static str),
    #[error("port {0} is out of range")]
    Port(i32),
    #[error("host IP {0:?} is not an IP address")]
    HostIp(String),
    #[error("seccomp profile {0:?} is not known")]
    Seccomp(String),
    #[error("PID namespace mode {0} is not valid for a pod sandbox (POD, CONTAINER or NODE)")]
    SandboxPidMode(i32),
    #[error("runtime handler {0:?} is unknown: berth has only the default handler \"\"")]
    UnknownHandler(String),
    #[error("pod CIDR {cidr:?}: {source}")]
    PodCidr {
        cidr: String,
        source: ipnet::AddrParseError,
    },
    #[error("container {id} is in {state} state")]
    NotRunning { id: String, state: &'static str },
    #[error("pod sandbox {0} is not ready: its sandbox container is not running")]
    PodNotReady(String),
    #[error("{0}: tty and stderr cannot both be true")]
    TtyWithStderr(&'static str),
    #[error("{0}: one of stdin, stdout, or stderr must be set")]
    NoStreams(&'static str),
    #[error("{0}: berthd's streaming server is off (--cri-stream-address \"\")")]
    StreamingOff(&'static str),
    #[error(
        "identity tokens (OAuth2 refresh tokens) are not supported by berth's registry client; \
         pass username and password, auth, or registry_token"
    )]
    IdentityToken,
}

impl RequestError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::IdentityToken => ErrorKind::NotImplemented,
            // containerd's mapping of an object in the wrong state: FailedPrecondition.
            Self::NotRunning { .. } | Self::PodNotReady(_) => ErrorKind::Conflict,
            Self::StreamingOff(_) => ErrorKind::Unavailable,
            _ => ErrorKind::InvalidArgument,
        }
    }
}

impl From<RequestError> for Status {
    fn from(e: RequestError) -> Self {
        Status::new(code_of(e.kind()), e.to_string())
    }
}

/// A streaming URL that could not be handed out.
pub(crate) fn token(e: crate::streaming::TokenError) -> Status {
    match e {
        crate::streaming::TokenError::TooMany => Status::resource_exhausted(e.to_string()),
        crate::streaming::TokenError::Random(_) => Status::internal(e.to_string()),
    }
}

/// The answer of an RPC that comes with the pods and containers work.
pub(crate) fn not_yet(rpc: &str) -> Status {
    Status::unimplemented(format!(
        "{rpc} is not implemented yet: berth's CRI serves images, version, status, runtime \
         config, pod sandboxes, exec, attach and port-forward so far (docs/cri.md)"
    ))
}
