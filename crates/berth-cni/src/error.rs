//! Errors: the spec's error object, plugin execution failures, and the client's error with
//! the operation, network, container and plugin it was working on.

use std::fmt;
use std::path::PathBuf;
use std::process::ExitStatus;
use std::time::Duration;

use berth_types::ErrorKind;
use serde::{Deserialize, Serialize};

use crate::config::{ConfigError, Problem};
use crate::result::ResultError;
use crate::version::Version;

/// The error object a failing plugin prints on stdout (spec section "Error").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{msg} (code {code}: {}){}", self.kind(), suffix(": ", details))]
pub struct PluginError {
    pub code: u32,
    #[serde(default)]
    pub msg: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub details: String,
}

/// `text` after `separator`, or nothing when there is no text.
fn suffix(separator: &str, text: &str) -> String {
    if text.is_empty() {
        String::new()
    } else {
        format!("{separator}{text}")
    }
}

/// The spec's well-known error codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    IncompatibleVersion,
    UnsupportedField,
    UnknownContainer,
    InvalidEnvironment,
    Io,
    Decode,
    InvalidNetworkConfig,
    TryAgainLater,
    /// STATUS: the plugin cannot serve ADD now.
    NotAvailable,
    /// STATUS: ADD would work but with limited connectivity.
    LimitedConnectivity,
    /// 0-99 without a meaning yet.
    Reserved(u32),
    /// 100 and up: the plugin's own.
    PluginSpecific(u32),
}

impl PluginError {
    pub fn kind(&self) -> ErrorCode {
        match self.code {
            1 => ErrorCode::IncompatibleVersion,
            2 => ErrorCode::UnsupportedField,
            3 => ErrorCode::UnknownContainer,
            4 => ErrorCode::InvalidEnvironment,
            5 => ErrorCode::Io,
            6 => ErrorCode::Decode,
            7 => ErrorCode::InvalidNetworkConfig,
            11 => ErrorCode::TryAgainLater,
            50 => ErrorCode::NotAvailable,
            51 => ErrorCode::LimitedConnectivity,
            code @ 0..=99 => ErrorCode::Reserved(code),
            code => ErrorCode::PluginSpecific(code),
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::IncompatibleVersion => "incompatible CNI version",
            Self::UnsupportedField => "unsupported field in network configuration",
            Self::UnknownContainer => "container unknown or does not exist",
            Self::InvalidEnvironment => "invalid environment variables",
            Self::Io => "I/O failure",
            Self::Decode => "failed to decode content",
            Self::InvalidNetworkConfig => "invalid network config",
            Self::TryAgainLater => "try again later",
            Self::NotAvailable => "plugin not available",
            Self::LimitedConnectivity => "limited connectivity",
            Self::Reserved(_) => "reserved",
            Self::PluginSpecific(_) => "plugin-specific",
        })
    }
}

/// Why running one plugin binary failed.
#[derive(Debug, thiserror::Error)]
pub enum InvokeError {
    #[error("plugin binary {plugin:?} not found in {}", display_dirs(dirs))]
    NotFound { plugin: String, dirs: Vec<PathBuf> },
    #[error("running {path}: {source}")]
    Spawn {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} did not finish within {timeout:?} and was killed")]
    Timeout { path: PathBuf, timeout: Duration },
    #[error("{path}: {error}")]
    Plugin { path: PathBuf, error: PluginError },
    #[error(
        "{path} exited with {status} without an error object{}",
        suffix("; it said: ", output)
    )]
    Failed {
        path: PathBuf,
        status: ExitStatus,
        /// Its stderr, or its stdout when stderr was empty.
        output: String,
    },
    #[error("unreadable answer ({source}): {stdout:?}")]
    Output { source: ResultError, stdout: String },
}

fn display_dirs(dirs: &[PathBuf]) -> String {
    let dirs: Vec<_> = dirs.iter().map(|d| d.display().to_string()).collect();
    format!("[{}]", dirs.join(", "))
}

/// The CNI commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    Add,
    Del,
    Check,
    Status,
    Gc,
    Version,
}

impl Command {
    /// The `CNI_COMMAND` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Add => "ADD",
            Self::Del => "DEL",
            Self::Check => "CHECK",
            Self::Status => "STATUS",
            Self::Gc => "GC",
            Self::Version => "VERSION",
        }
    }
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the client was doing when a plugin failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operation {
    pub command: Command,
    /// Absent for VERSION.
    pub network: Option<String>,
    /// Absent for STATUS, GC and VERSION, which are not about one container.
    pub container: Option<String>,
    pub plugin: String,
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CNI {}", self.command)?;
        if let Some(container) = &self.container {
            write!(f, " of container {container}")?;
        }
        if let Some(network) = &self.network {
            write!(f, " on network {network}")?;
        }
        write!(f, ", plugin {}", self.plugin)
    }
}

/// Everything the client can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    InvalidList(#[from] Problem),
    #[error("invalid {what} {value:?}: {reason}")]
    InvalidArgument {
        what: &'static str,
        value: String,
        reason: &'static str,
    },
    #[error("{op}: {source}")]
    Plugin {
        op: Box<Operation>,
        source: InvokeError,
    },
    #[error("{op}: the plugin does not support cniVersion {version}")]
    VersionUnsupported {
        op: Box<Operation>,
        version: Version,
    },
    #[error(
        "CNI {command} on network {network}: cniVersion {version} has no {command} (needs {needs})"
    )]
    CommandUnsupported {
        command: Command,
        network: String,
        version: Version,
        needs: Version,
    },
    #[error("CNI CHECK of container {container} on network {network}: no cached ADD result (not attached, or attached by someone else)")]
    NotCached { network: String, container: String },
    #[error("network {network}: cached result {path}: {source}")]
    CachedResult {
        network: String,
        path: PathBuf,
        source: ResultError,
    },
    #[error("result cache: {action} {path}: {source}")]
    Cache {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{add}; the DEL to undo it failed too, so the attachment stays cached for GC: {del}")]
    RollbackFailed { add: Box<Error>, del: Box<Error> },
    #[error("GC of network {network}: {}", join_errors(errors))]
    Gc { network: String, errors: Vec<Error> },
}

fn join_errors(errors: &[Error]) -> String {
    let messages: Vec<_> = errors.iter().map(ToString::to_string).collect();
    messages.join("; ")
}

impl Error {
    /// The category an API edge maps to a status code.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Config(_)
            | Self::InvalidList(_)
            | Self::InvalidArgument { .. }
            | Self::CommandUnsupported { .. }
            | Self::VersionUnsupported { .. } => ErrorKind::InvalidArgument,
            Self::NotCached { .. } => ErrorKind::NotFound,
            Self::Plugin { source, .. } => match source {
                InvokeError::NotFound { .. } => ErrorKind::InvalidArgument,
                InvokeError::Plugin { error, .. } => match error.kind() {
                    ErrorCode::IncompatibleVersion
                    | ErrorCode::UnsupportedField
                    | ErrorCode::InvalidNetworkConfig => ErrorKind::InvalidArgument,
                    ErrorCode::UnknownContainer => ErrorKind::NotFound,
                    ErrorCode::TryAgainLater
                    | ErrorCode::NotAvailable
                    | ErrorCode::LimitedConnectivity => ErrorKind::Unavailable,
                    _ => ErrorKind::Internal,
                },
                InvokeError::Timeout { .. } => ErrorKind::Unavailable,
                InvokeError::Spawn { .. }
                | InvokeError::Failed { .. }
                | InvokeError::Output { .. } => ErrorKind::Internal,
            },
            Self::CachedResult { .. } | Self::Cache { .. } => ErrorKind::Internal,
            Self::RollbackFailed { add, .. } => add.kind(),
            Self::Gc { errors, .. } => errors.first().map_or(ErrorKind::Internal, Self::kind),
        }
    }

    /// Whether a plugin failed without touching anything: not installed, or refusing the
    /// configuration's version (it refuses ADD the same way).
    pub(crate) fn refused_before_acting(&self) -> bool {
        match self {
            Self::Plugin { source, .. } => match source {
                InvokeError::NotFound { .. } => true,
                InvokeError::Plugin { error, .. } => error.kind() == ErrorCode::IncompatibleVersion,
                _ => false,
            },
            _ => false,
        }
    }

    /// The plugin's error object, when a plugin reported one.
    pub fn plugin_error(&self) -> Option<&PluginError> {
        match self {
            Self::Plugin {
                source: InvokeError::Plugin { error, .. },
                ..
            } => Some(error),
            Self::RollbackFailed { add, .. } => add.plugin_error(),
            _ => None,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
