//! A CNI client (spec 1.0 and 1.1, reading results down to 0.1.0): network configuration
//! lists, plugin invocation, the libcni-compatible result cache, and GC.
//!
//! Blocking and free of any async runtime: berthd calls it from `spawn_blocking`. A plugin
//! runs in a process group of its own under a deadline; nothing here changes the caller's
//! namespaces. See `docs/networking.md`.
//!
//! ```no_run
//! use berth_cni::{Cni, NetworkConfigList, RuntimeConf};
//! # fn main() -> Result<(), berth_cni::Error> {
//! let cni = Cni::new(vec!["/usr/lib/cni".into()], "/var/lib/berth/cni".as_ref());
//! let list = NetworkConfigList::load("/etc/cni/net.d/10-berth.conflist".as_ref())?;
//! let rt = RuntimeConf::new("4f1c0ffee", "/run/netns/4f1c0ffee", "eth0");
//! let result = cni.add(&list, &rt)?;
//! println!("{:?}", result.ips);
//! cni.del(&list, &rt)?;
//! # Ok(())
//! # }
//! ```

mod cache;
mod capabilities;
mod client;
mod config;
mod error;
mod invoke;
mod result;
mod spawn;
mod version;

pub use cache::CachedAttachment;
pub use capabilities::{Bandwidth, CapabilityArgs, DnsCapability, IpRange, PortMapping, Protocol};
pub use client::{Cni, GcAttachment, RuntimeConf};
pub use config::{load_dir, ConfigError, NetworkConfigList, Origin, PluginConfig, Problem};
pub use error::{Command, Error, ErrorCode, InvokeError, Operation, PluginError};
pub use result::{CniResult, Dns, Interface, InvalidIpNet, IpConfig, IpNet, ResultError, Route};
pub use version::{InvalidVersion, Version, VersionInfo, SUPPORTED_VERSIONS};
