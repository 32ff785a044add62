use std::path::PathBuf;

use berth_types::ErrorKind;

/// Why a create request cannot become a runtime spec. Each variant names the option (Docker's
/// flag or API field) it was checking, so the API layer can return it to the user as is.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    /// Neither the request nor the image gives a command (dockerd's wording).
    #[error("no command specified")]
    NoCommand,
    /// A value that is out of range, malformed or conflicts with another option.
    #[error("invalid {option} {value:?}: {reason}")]
    InvalidValue {
        option: &'static str,
        value: String,
        reason: &'static str,
    },
    /// Two options that cannot be used together.
    #[error("conflicting options: {0}")]
    Conflict(&'static str),
    #[error("unknown capability: {0:?}")]
    UnknownCapability(String),
    #[error("capability {0} cannot be granted on this host: it is not in berthd's bounding set")]
    CapabilityUnavailable(String),
    #[error("invalid volume specification {spec:?}: {reason}")]
    InvalidBind { spec: String, reason: &'static str },
    /// moby's wording for a bad `--mount`.
    #[error("invalid mount config for type {kind:?}: {reason} (target {target:?})")]
    InvalidMount {
        kind: String,
        target: String,
        reason: &'static str,
    },
    #[error("invalid mount config: {option} {path:?} is not an absolute path")]
    RelativePath { option: &'static str, path: String },
    #[error("duplicate mount point: {0}")]
    DuplicateMountPoint(PathBuf),
    #[error("invalid tmpfs option {option:?} for {destination}")]
    InvalidTmpfsOption { destination: String, option: String },
    #[error("invalid ulimit {name:?}: {reason}")]
    InvalidUlimit { name: String, reason: &'static str },
    #[error("invalid --security-opt {0:?}")]
    InvalidSecurityOpt(String),
    #[error("decoding seccomp profile failed: {0}")]
    SeccompProfileJson(#[source] serde_json::Error),
    #[error("cannot read seccomp profile {path}: {source}")]
    ReadSeccompProfile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("seccomp profile: {0}")]
    SeccompProfile(&'static str),
    #[error("unable to find user {user}: no matching entries in passwd file")]
    UserNotFound { user: String },
    #[error("unable to find group {group}: no matching entries in group file")]
    GroupNotFound { group: String },
    #[error("cannot read {path}: {source}")]
    ReadUserDb {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: too many levels of symbolic links inside the container rootfs")]
    SymlinkLoop { path: PathBuf },
    #[error("error gathering device information while adding device {path:?}: {source}")]
    DeviceStat {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{0} is not a device node")]
    NotADevice(PathBuf),
    #[error("{0} is not a block device")]
    NotABlockDevice(PathBuf),
    #[error("--init requested but the daemon has no init binary configured")]
    InitUnavailable,
    #[error("{option} {value:?} needs the namespace path of the container it joins")]
    MissingNamespacePath { option: &'static str, value: String },
    /// dockerd's text; berthd has the json-file (also as `local`) and none drivers.
    #[error("logger: no log driver named '{0}' is registered")]
    UnsupportedLogDriver(String),
    /// A request the engine understands but cannot carry out yet.
    #[error("{option} is not supported yet (at {value})")]
    Unsupported { option: &'static str, value: String },
    /// `key=value` of a `--log-opt` whose value does not parse.
    #[error("invalid log option {0}")]
    BadLogOption(String),
}

impl SpecError {
    /// The category the API edges translate (HTTP 400 for a bad request, ...).
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::ReadUserDb { .. } | Self::SymlinkLoop { .. } => ErrorKind::Internal,
            Self::DeviceStat { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
                ErrorKind::NotFound
            }
            Self::DeviceStat { .. } => ErrorKind::Internal,
            Self::InitUnavailable => ErrorKind::Unavailable,
            Self::MissingNamespacePath { .. } => ErrorKind::Internal,
            Self::Unsupported { .. } => ErrorKind::NotImplemented,
            _ => ErrorKind::InvalidArgument,
        }
    }
}

/// Shorthand for the common "this option's value is wrong" error.
pub(crate) fn invalid(
    option: &'static str,
    value: impl ToString,
    reason: &'static str,
) -> SpecError {
    SpecError::InvalidValue {
        option,
        value: value.to_string(),
        reason,
    }
}
