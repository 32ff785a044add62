//! The namespaces other than the network's: IPC, PID, UTS, cgroup and user.
//!
//! `Pod` modes share the namespace of the container's pod sandbox (its owner); `Container`
//! modes share another container's, by name or id.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::error::{invalid, ModelError};
use super::peer;

/// IPC namespace and /dev/shm.
///
/// String forms: `private` (also `""`), `shareable`, `host`, `none`, `container:<id>`, `pod`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IpcMode {
    /// Its own namespace and a private /dev/shm.
    #[default]
    Private,
    /// Its own namespace, with a /dev/shm other containers may join.
    Shareable,
    Host,
    /// Its own namespace and no /dev/shm at all.
    None,
    Container(String),
    Pod,
}

/// PID namespace.
///
/// String forms: `private` (also `""`), `host`, `container:<id>`, `pod`, `target:<id>`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PidMode {
    #[default]
    Private,
    Host,
    Container(String),
    /// The pod's namespace, whose PID 1 is the sandbox's pause process.
    Pod,
    /// The namespace of another container of the same pod (the CRI's TARGET, for debugging
    /// containers).
    Target(String),
}

/// UTS namespace (hostname and domain name).
///
/// String forms: `private` (also `""`), `host`, `pod`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UtsMode {
    #[default]
    Private,
    Host,
    Pod,
}

/// Cgroup namespace. The daemon's default (private on cgroup v2, host on v1) is `None` in
/// [`Namespaces::cgroup`], so a record does not freeze the host it was created on.
///
/// String forms: `private`, `host`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CgroupnsMode {
    Private,
    Host,
}

/// One range of a user-namespace id mapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdMapping {
    pub container_id: u32,
    pub host_id: u32,
    pub size: u32,
}

/// A user namespace with these mappings (the CRI's `NamespaceOption.userns_options` with mode
/// POD); Docker's create body has no per-container user namespace.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct UserNamespace {
    pub uid_mappings: Vec<IdMapping>,
    pub gid_mappings: Vec<IdMapping>,
}

impl UserNamespace {
    /// The host uid and gid of the namespace's root, who must own a container's writable
    /// layer; `None` when container id 0 is not mapped.
    pub fn root_on_host(&self) -> Option<(u32, u32)> {
        let root =
            |maps: &[IdMapping]| maps.iter().find(|m| m.container_id == 0).map(|m| m.host_id);
        Some((root(&self.uid_mappings)?, root(&self.gid_mappings)?))
    }
}

/// The namespaces besides the network's (see [`super::NetworkMode`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Namespaces {
    pub ipc: IpcMode,
    pub pid: PidMode,
    pub uts: UtsMode,
    /// `None`: the daemon's default for its cgroup version.
    pub cgroup: Option<CgroupnsMode>,
    /// `None`: the host's user namespace.
    pub user: Option<UserNamespace>,
}

impl IpcMode {
    /// The container whose namespace this one joins.
    pub fn joined_container(&self) -> Option<&str> {
        match self {
            Self::Container(peer) => Some(peer),
            _ => None,
        }
    }
}

impl PidMode {
    /// The container whose namespace this one joins (`container:`; `target:` is the pod's
    /// business).
    pub fn joined_container(&self) -> Option<&str> {
        match self {
            Self::Container(peer) => Some(peer),
            _ => None,
        }
    }
}

impl Namespaces {
    /// Whether any namespace is the pod's, which only a pod's container may ask for.
    pub fn uses_pod(&self) -> bool {
        self.ipc == IpcMode::Pod
            || matches!(self.pid, PidMode::Pod | PidMode::Target(_))
            || self.uts == UtsMode::Pod
    }
}

impl FromStr for IpcMode {
    type Err = ModelError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "" | "private" => Self::Private,
            "shareable" => Self::Shareable,
            "host" => Self::Host,
            "none" => Self::None,
            "pod" => Self::Pod,
            _ => match peer("IpcMode", s, "container:") {
                Some(peer) => Self::Container(peer?),
                None => return Err(invalid("IpcMode", s, "unknown mode")),
            },
        })
    }
}

impl fmt::Display for IpcMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Private => f.write_str("private"),
            Self::Shareable => f.write_str("shareable"),
            Self::Host => f.write_str("host"),
            Self::None => f.write_str("none"),
            Self::Container(c) => write!(f, "container:{c}"),
            Self::Pod => f.write_str("pod"),
        }
    }
}

impl FromStr for PidMode {
    type Err = ModelError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "" | "private" => Self::Private,
            "host" => Self::Host,
            "pod" => Self::Pod,
            _ => {
                if let Some(peer) = peer("PidMode", s, "container:") {
                    Self::Container(peer?)
                } else if let Some(peer) = peer("PidMode", s, "target:") {
                    Self::Target(peer?)
                } else {
                    return Err(invalid("PidMode", s, "unknown mode"));
                }
            }
        })
    }
}

impl fmt::Display for PidMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Private => f.write_str("private"),
            Self::Host => f.write_str("host"),
            Self::Container(c) => write!(f, "container:{c}"),
            Self::Pod => f.write_str("pod"),
            Self::Target(c) => write!(f, "target:{c}"),
        }
    }
}

impl FromStr for UtsMode {
    type Err = ModelError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "" | "private" => Ok(Self::Private),
            "host" => Ok(Self::Host),
            "pod" => Ok(Self::Pod),
            _ => Err(invalid("UTSMode", s, "unknown mode")),
        }
    }
}

impl fmt::Display for UtsMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Private => "private",
            Self::Host => "host",
            Self::Pod => "pod",
        })
    }
}

impl FromStr for CgroupnsMode {
    type Err = ModelError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "private" => Ok(Self::Private),
            "host" => Ok(Self::Host),
            _ => Err(invalid("CgroupnsMode", s, "unknown mode")),
        }
    }
}

impl fmt::Display for CgroupnsMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Private => "private",
            Self::Host => "host",
        })
    }
}
