//! Types shared by every Berth crate: container ids, lifecycle status, content digests and the
//! error categories every API edge translates (HTTP status, gRPC code).

mod digest;
mod kind;
mod reference;

pub use digest::{Digest, InvalidDigest};
pub use kind::ErrorKind;
pub use reference::{InvalidReference, Reference};

use serde::{Deserialize, Serialize};
use std::fmt;

/// Lifecycle status of an OCI container, as the runtime spec's `state` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ContainerStatus {
    Creating,
    Created,
    Running,
    Paused,
    Stopped,
}

impl fmt::Display for ContainerStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Creating => "creating",
            Self::Created => "created",
            Self::Running => "running",
            Self::Paused => "paused",
            Self::Stopped => "stopped",
        })
    }
}

/// Why a container id was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum InvalidId {
    #[error("container id is empty")]
    Empty,
    #[error("container id {0:?} is longer than 1024 bytes")]
    TooLong(String),
    #[error("container id {0:?} may only contain letters, digits, '_', '+', '-' and '.', and must not be '.' or '..'")]
    BadCharacters(String),
}

/// A validated container id: safe to use as a single path component.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ContainerId(String);

impl ContainerId {
    pub fn new(id: &str) -> Result<Self, InvalidId> {
        if id.is_empty() {
            return Err(InvalidId::Empty);
        }
        if id.len() > 1024 {
            return Err(InvalidId::TooLong(id.to_string()));
        }
        // Same alphabet runc accepts; it keeps ids usable as file and cgroup names.
        let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '+' | '-' | '.');
        if id == "." || id == ".." || !id.chars().all(allowed) {
            return Err(InvalidId::BadCharacters(id.to_string()));
        }
        Ok(Self(id.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ContainerId {
    type Error = InvalidId;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::new(&value)
    }
}

impl From<ContainerId> for String {
    fn from(id: ContainerId) -> Self {
        id.0
    }
}

impl fmt::Display for ContainerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests;
