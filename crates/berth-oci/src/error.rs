use std::path::PathBuf;

use crate::channel::ChannelError;
use crate::hooks::HookError;
use crate::seccomp::SeccompError;

/// Everything a runtime operation can fail with. Each variant names what it was working on.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    InvalidId(#[from] berth_types::InvalidId),
    #[error("cannot read {path}: {source}")]
    ReadConfig {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: invalid JSON: {source}")]
    ParseConfig {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("{path}: {field}: {reason}")]
    InvalidConfig {
        path: PathBuf,
        field: String,
        reason: String,
    },
    #[error("mount at {destination}: {reason}")]
    InvalidMount {
        destination: PathBuf,
        reason: String,
    },
    #[error("container {0:?} already exists")]
    Exists(String),
    #[error("container {0:?} does not exist")]
    NotFound(String),
    #[error("container {id:?} is {status}; {action} needs it {expected}")]
    WrongStatus {
        id: String,
        status: berth_types::ContainerStatus,
        action: &'static str,
        expected: &'static str,
    },
    #[error("{action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{action}: {source}")]
    Sys { action: String, source: nix::Error },
    #[error("state of container {id:?} in {path} is unreadable: {source}")]
    CorruptState {
        id: String,
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("cgroup of container {id:?}: {source}")]
    Cgroup {
        id: String,
        source: berth_cgroups::Error,
    },
    #[error(transparent)]
    Seccomp(#[from] SeccompError),
    #[error(transparent)]
    Hook(#[from] HookError),
    #[error(transparent)]
    Channel(#[from] ChannelError),
    #[error("{0}")]
    Init(String),
    /// An error the container process reported while setting itself up.
    #[error("container setup failed: {0}")]
    Setup(String),
    #[error("container not running: {0}")]
    NotRunning(String),
    #[error("unknown signal {0:?}")]
    BadSignal(String),
    #[error("{0} is not supported by berth-runtime on this host")]
    Unsupported(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Shorthand for wrapping a nix error with the action that failed.
pub(crate) fn sys(action: impl Into<String>) -> impl FnOnce(nix::Error) -> Error {
    let action = action.into();
    move |source| Error::Sys { action, source }
}

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
