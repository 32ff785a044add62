//! Networking: which network namespace a container gets and what it asks of its networks.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::error::{invalid, ModelError};
use super::owner::PodId;
use super::peer;

/// Where a container's network namespace comes from.
///
/// String forms (Docker's, plus `pod:<id>`): `default`, `bridge`, `host`, `none`,
/// `container:<name or id>`, `pod:<id>`, else the name or id of a network.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NetworkMode {
    /// The daemon's default network (today the default bridge); Docker's `""` and `default`.
    #[default]
    Default,
    /// The default bridge network, named.
    Bridge,
    /// The host's namespace.
    Host,
    /// A namespace of its own with loopback only.
    None,
    /// The namespace of another container, by name or id.
    Container(String),
    /// A user network by name or id.
    Named(String),
    /// The namespace of a pod sandbox (the CRI's POD network mode).
    Pod(PodId),
}

impl NetworkMode {
    /// Whether the container gets a namespace of its own (to set up, and to bring loopback up).
    pub fn has_own_namespace(&self) -> bool {
        !matches!(self, Self::Host | Self::Container(_) | Self::Pod(_))
    }

    /// The network to attach to: the default bridge by its name, a user network, or none.
    pub fn network(&self) -> Option<&str> {
        match self {
            Self::Default | Self::Bridge => Some(crate::networks::DEFAULT_NETWORK),
            Self::Named(name) => Some(name),
            Self::Host | Self::None | Self::Container(_) | Self::Pod(_) => None,
        }
    }

    /// The container whose namespace this one joins.
    pub fn joined_container(&self) -> Option<&str> {
        match self {
            Self::Container(peer) => Some(peer),
            _ => None,
        }
    }
}

impl FromStr for NetworkMode {
    type Err = ModelError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "" | "default" => Self::Default,
            "bridge" => Self::Bridge,
            "host" => Self::Host,
            "none" => Self::None,
            _ => {
                if let Some(container) = peer("NetworkMode", s, "container:") {
                    Self::Container(container?)
                } else if let Some(pod) = peer("NetworkMode", s, "pod:") {
                    Self::Pod(pod?.parse()?)
                } else {
                    Self::Named(s.to_string())
                }
            }
        })
    }
}

impl fmt::Display for NetworkMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Default => f.write_str("default"),
            Self::Bridge => f.write_str("bridge"),
            Self::Host => f.write_str("host"),
            Self::None => f.write_str("none"),
            Self::Container(c) => write!(f, "container:{c}"),
            Self::Named(n) => f.write_str(n),
            Self::Pod(p) => write!(f, "pod:{p}"),
        }
    }
}

/// Transport protocol of a published or exposed port.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Protocol {
    #[default]
    Tcp,
    Udp,
    /// The CRI allows it; the Docker conversion never produces it (Berth's ports refuse it).
    Sctp,
}

impl FromStr for Protocol {
    type Err = ModelError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "tcp" => Ok(Self::Tcp),
            "udp" => Ok(Self::Udp),
            "sctp" => Ok(Self::Sctp),
            _ => Err(invalid("protocol", s, "must be tcp, udp or sctp")),
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Tcp => "tcp",
            Self::Udp => "udp",
            Self::Sctp => "sctp",
        })
    }
}

/// A container port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Port {
    pub number: u16,
    pub protocol: Protocol,
}

/// A port to publish on the host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortMapping {
    pub container: Port,
    /// `None`: every address of the host.
    pub host_ip: Option<IpAddr>,
    /// Inclusive range to pick a free host port from; `(0, 0)` is any free port, `(p, p)` one.
    pub host_ports: (u16, u16),
}

/// What a container asks of one network: addresses, names and driver options.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct EndpointRequest {
    pub ipv4_address: Option<IpAddr>,
    pub ipv6_address: Option<IpAddr>,
    pub link_local_ips: Vec<IpAddr>,
    pub aliases: Vec<String>,
    /// Per-network links (`name:alias`) on a user network.
    pub links: Vec<String>,
    pub mac_address: Option<String>,
    pub driver_options: BTreeMap<String, String>,
}

/// A legacy link: another container by name, known here by `alias`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkRequest {
    pub container: String,
    pub alias: String,
}

/// An extra /etc/hosts line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostEntry {
    pub hostname: String,
    /// An address, or Docker's `host-gateway` (kept as written; resolved at start).
    pub address: String,
}

/// DNS settings for the generated resolv.conf; empty lists take the host's or the network's.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Dns {
    pub servers: Vec<String>,
    pub search: Vec<String>,
    pub options: Vec<String>,
}

/// The container's networking.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Networking {
    pub mode: NetworkMode,
    /// No namespace setup at all (Docker's `NetworkDisabled`).
    pub disabled: bool,
    /// `None`: the short id, or the host's name with host networking.
    pub hostname: Option<String>,
    pub domainname: Option<String>,
    /// By network name or id; the mode's network is attached even when absent.
    pub endpoints: BTreeMap<String, EndpointRequest>,
    pub ports: Vec<PortMapping>,
    /// Publish every exposed port (the request's and the image's) on a free host port.
    pub publish_all: bool,
    pub exposed: Vec<Port>,
    pub links: Vec<LinkRequest>,
    pub dns: Dns,
    pub extra_hosts: Vec<HostEntry>,
}
