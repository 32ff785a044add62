//! Who a container belongs to: the Docker API's flat list, or a pod the CRI manages. The owner
//! decides the namespace its record is listed in and which `Pod` modes it may use.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::error::ModelError;

/// A pod sandbox id: the same alphabet as container ids, since it names files and cgroups.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PodId(String);

impl PodId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for PodId {
    type Err = ModelError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        // The container id rules are the path-safety rules; reuse them rather than restate.
        berth_types::ContainerId::new(s)
            .map(|_| Self(s.to_string()))
            .map_err(|_| ModelError::PodId(s.to_string()))
    }
}

impl TryFrom<String> for PodId {
    type Error = ModelError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<PodId> for String {
    fn from(id: PodId) -> Self {
        id.0
    }
}

impl fmt::Display for PodId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Who created the container and manages its life.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Owner {
    /// Created through the Docker API (or the CLI over it): listed by `docker ps`.
    #[default]
    Docker,
    /// An app container of a pod sandbox, created through the CRI.
    Pod(PodId),
}

impl Owner {
    /// The namespace the record is listed under (containerd's names), so `docker ps` does not
    /// show pod containers and the CRI does not list Docker's.
    pub fn namespace(&self) -> &'static str {
        match self {
            Self::Docker => "moby",
            Self::Pod(_) => "k8s.io",
        }
    }

    pub fn pod(&self) -> Option<&PodId> {
        match self {
            Self::Docker => None,
            Self::Pod(id) => Some(id),
        }
    }
}
