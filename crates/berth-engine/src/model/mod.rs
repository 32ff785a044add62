//! The engine's own description of a container: typed values that name what the engine means
//! (a [`NetworkMode`], a [`RestartPolicy`], a [`MountKind`]) rather than how one API spells it.
//!
//! Each API adapter parses its wire format into a [`ContainerSpec`]: the Docker API from its
//! create body ([`ContainerSpec::from_docker`], which keeps dockerd's error messages), the CRI
//! from its `ContainerConfig` without going through Docker's body. The types serialize as
//! snake_case JSON with a [`ContainerSpec::FORMAT`] version, the form the metadata DB will
//! store. See docs/container-model.md for the plan that moves the engine onto it.

mod container;
mod docker;
mod error;
mod logging;
mod mounts;
mod namespaces;
mod network;
mod owner;
mod process;
mod resources;
mod restart;
mod security;

pub use container::ContainerSpec;
pub(crate) use docker::{docker_endpoint, docker_endpoints};
pub use error::ModelError;
pub use logging::{FileLogOptions, LogSpec};
pub use mounts::{MountKind, MountRequest, Propagation, Storage, VolumeDriver, VolumesFrom};
pub use namespaces::{
    CgroupnsMode, IdMapping, IpcMode, Namespaces, PidMode, UserNamespace, UtsMode,
};
pub use network::{
    Dns, EndpointRequest, HostEntry, LinkRequest, NetworkMode, Networking, Port, PortMapping,
    Protocol,
};
pub use owner::{Owner, PodId};
pub use process::{ConsoleSize, HealthCheck, HealthTest, ProcessSpec};
pub use resources::{
    BlockIo, Cpu, DeviceKind, DeviceRate, DeviceRequest, DeviceRule, DeviceWeight, Memory,
    Resources, Rlimit,
};
pub use restart::RestartPolicy;
pub use security::{
    AppArmor, CapChanges, GroupPolicy, ProcMount, Seccomp, Security, Selinux, SelinuxLabel,
};

/// `prefix<peer>` forms (`container:<id>`): `None` without the prefix, else the peer, or the
/// error naming `option` when it is missing.
fn peer(option: &'static str, value: &str, prefix: &str) -> Option<Result<String, ModelError>> {
    value.strip_prefix(prefix).map(|rest| match rest {
        "" => Err(error::invalid(option, value, "unknown mode")),
        peer => Ok(peer.to_string()),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
