//! From "what the user asked for" to the OCI runtime spec berth-runtime executes.
//!
//! [`options`] holds the request (Docker's create body) and the image config, [`merge()`] combines
//! them with Docker's rules, and [`build_spec`] produces the spec dockerd would have produced for
//! the same `docker run`. Everything here is pure except [`resolve_user`] (reads the image's
//! /etc/passwd and /etc/group) and device lookups (through [`HostDevices`], fakeable in tests).
//! See docs/container-spec.md for the defaults and where they come from.

mod build;
mod caps;
mod error;
pub mod merge;
mod mounts;
pub mod options;
mod opts;
mod resources;
pub mod seccomp;
mod user;

pub(crate) use build::build_spec;
pub use build::{
    cgroups_path, BuiltSpec, JoinNamespaces, SpecContext, DEFAULT_CGROUP_PARENT,
    DEFAULT_MASKED_PATHS, DEFAULT_READONLY_PATHS, INIT_PATH_IN_CONTAINER,
};
pub(crate) use build::{oom_score_adj, parse_size, validate_log_config};
pub(crate) use caps::normalize as normalize_capabilities;
pub(crate) use caps::process_capabilities;
pub(crate) use caps::to_oci as capabilities_to_oci;
pub use caps::{available_only, effective_capabilities, ALL_CAPABILITIES, DEFAULT_CAPABILITIES};
pub use error::SpecError;
pub(crate) use merge::validate_healthcheck;
pub use merge::{merge, MergedConfig};
pub(crate) use mounts::{
    container_path, default_mounts, docker_user_mounts, model_user_mounts, oci_id_mappings,
    parse_volumes_from, shm_size, tmpfs_mount,
};
pub use mounts::{
    parse_bind, parse_mount, valid_volume_name, HostBind, MountPoint, MountRequest, MountType,
    VolumeRequest, DEFAULT_SHM_SIZE,
};
pub use options::{
    BindOptions, CreateOptions, DriverConfig, EndpointIpam, EndpointSettings, HostConfig,
    ImageConfig, LogConfig, MountSpec, NetworkingConfig, ThrottleDevice, TmpfsOptions,
    VolumeOptions, WeightDevice,
};
pub(crate) use opts::resources::live_resources;
pub(crate) use resources::{
    cpu, memory, parse_cgroup_rule, pids, rlimits, sysctls, SharedNamespaces,
};
pub use resources::{HostDevices, HostFileInfo, HostFileKind, HostFs};
pub use seccomp::SeccompHost;
pub use user::{resolve_user, ResolvedUser};
