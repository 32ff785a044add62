//! Errors of the shim binary. Each variant names what the shim was working on; before the shim
//! detaches they go to stderr, afterwards to the spawner's sync pipe.

use std::path::{Path, PathBuf};

use crate::args::ArgsError;

#[derive(Debug, thiserror::Error)]
pub enum ShimError {
    #[error(transparent)]
    Args(#[from] ArgsError),
    #[error("{action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{action}: {source}")]
    Sys {
        action: &'static str,
        source: nix::Error,
    },
    #[error("--sync-fd {fd} is not an open file descriptor")]
    SyncFd { fd: i32 },
    #[error("cannot run runtime {path}: {source}")]
    RuntimeSpawn {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The runtime exited non-zero; `output` is what it printed (its error message).
    #[error("{runtime} {verb} failed ({status}): {output}")]
    Runtime {
        runtime: PathBuf,
        verb: &'static str,
        status: std::process::ExitStatus,
        output: String,
    },
    #[error("runtime pid file {path}: {content:?} is not a pid")]
    PidFile { path: PathBuf, content: String },
    #[error("dup pty master: {0}")]
    DupPty(std::io::Error),
    #[error("the runtime did not send a pty master on {0}")]
    NoPty(PathBuf),
}

/// Shorthand for wrapping an io error with the action and path.
pub fn io_err(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> ShimError {
    let path = path.to_path_buf();
    move |source| ShimError::Io {
        action,
        path,
        source,
    }
}

/// Shorthand for wrapping a nix error with the action that failed.
pub fn sys(action: &'static str) -> impl FnOnce(nix::Error) -> ShimError {
    move |source| ShimError::Sys { action, source }
}
