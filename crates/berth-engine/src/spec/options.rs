//! What the user asked for: Docker's container-create body (`Config` + `HostConfig`) as Rust types,
//! and the parts of an image config that provide defaults.
//!
//! Field names are snake_case; serde renames them to Docker's spelling so the API layer can
//! deserialize the create body straight into [`CreateOptions`], and the metadata DB stores the same
//! JSON. Docker sends `null` for most unset fields, so collections treat `null` as empty.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};

/// Docker's sets (`ExposedPorts`, `Volumes`) are JSON objects whose values are always `{}`.
pub type EmptySet = BTreeMap<String, EmptyObject>;

/// The `{}` value of Docker's JSON sets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmptyObject {}

/// A container-create request: Docker's `ContainerConfig` with its `HostConfig`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct CreateOptions {
    pub image: String,
    /// `None` (or empty): take the image's Cmd, as Docker does.
    #[serde(deserialize_with = "str_slice")]
    pub cmd: Option<Vec<String>>,
    /// `None`: take the image's Entrypoint. `Some([])`: no entrypoint, keep the image's Cmd.
    /// `Some([""])` (`--entrypoint ""`): no entrypoint and no image Cmd either.
    #[serde(deserialize_with = "str_slice")]
    pub entrypoint: Option<Vec<String>>,
    #[serde(deserialize_with = "nullable")]
    pub env: Vec<String>,
    pub working_dir: String,
    pub user: String,
    pub hostname: String,
    pub domainname: String,
    #[serde(deserialize_with = "nullable")]
    pub labels: BTreeMap<String, String>,
    pub tty: bool,
    pub open_stdin: bool,
    pub stdin_once: bool,
    pub attach_stdin: bool,
    pub attach_stdout: bool,
    pub attach_stderr: bool,
    pub stop_signal: String,
    /// Seconds to wait after the stop signal before SIGKILL; `None` is the daemon default (10).
    pub stop_timeout: Option<i64>,
    #[serde(deserialize_with = "nullable")]
    pub exposed_ports: EmptySet,
    /// Anonymous volumes to create at these container paths.
    #[serde(deserialize_with = "nullable")]
    pub volumes: EmptySet,
    pub healthcheck: Option<Healthcheck>,
    /// Docker's `NetworkDisabled`: no network namespace setup at all.
    pub network_disabled: bool,
    /// The deprecated container-wide `MacAddress`: the API adapter moves it into the
    /// endpoint of `NetworkMode` (API 1.44's rule), so the engine never reads it.
    #[serde(skip_serializing)]
    pub mac_address: String,
    #[serde(deserialize_with = "nullable")]
    pub host_config: HostConfig,
    /// Per-network settings (`--ip`, `--network-alias`, `--mac-address`, more networks).
    #[serde(deserialize_with = "nullable")]
    pub networking_config: NetworkingConfig,
}

/// Docker's `NetworkingConfig`: endpoint settings by network name or id.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct NetworkingConfig {
    #[serde(deserialize_with = "nullable")]
    pub endpoints_config: BTreeMap<String, EndpointSettings>,
}

/// What a container asks of one network (Docker's `EndpointSettings`, the configured part),
/// kept from create to removal: inspect lists it whether or not the container runs, and a
/// start attaches what it says (networks/attach.rs).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct EndpointSettings {
    #[serde(rename = "IPAMConfig", deserialize_with = "nullable")]
    pub ipam_config: EndpointIpam,
    #[serde(deserialize_with = "nullable")]
    pub aliases: Vec<String>,
    /// `--link name[:alias]` on a user network: the alias is a name of `name` for this
    /// container alone (the docker CLI sends them here and in `HostConfig.Links`).
    #[serde(deserialize_with = "nullable")]
    pub links: Vec<String>,
    pub mac_address: String,
    /// Options for the network driver, kept and shown (the bridge driver uses none).
    #[serde(deserialize_with = "nullable")]
    pub driver_opts: BTreeMap<String, String>,
    /// As the client gave it until a start attaches the endpoint, then the network's id,
    /// which stays after the exit (as dockerd keeps it).
    #[serde(rename = "NetworkID")]
    pub network_id: String,
    /// The names of the last attachment on a user network, kept after the exit as dockerd
    /// keeps them.
    #[serde(rename = "DNSNames", deserialize_with = "nullable")]
    pub dns_names: Vec<String>,
}

/// `--ip` / `--ip6` / `--link-local-ip`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct EndpointIpam {
    #[serde(rename = "IPv4Address")]
    pub ipv4_address: String,
    #[serde(rename = "IPv6Address")]
    pub ipv6_address: String,
    #[serde(rename = "LinkLocalIPs", deserialize_with = "nullable")]
    pub link_local_ips: Vec<String>,
}

impl EndpointIpam {
    pub fn is_empty(&self) -> bool {
        self.ipv4_address.is_empty()
            && self.ipv6_address.is_empty()
            && self.link_local_ips.is_empty()
    }
}

/// Docker's `HealthConfig`. Durations are nanoseconds, 0 meaning "inherit / default".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Healthcheck {
    /// `[]` inherit, `["NONE"]` disable, `["CMD", args...]` or `["CMD-SHELL", command]`.
    #[serde(deserialize_with = "nullable")]
    pub test: Vec<String>,
    pub interval: i64,
    pub timeout: i64,
    pub start_period: i64,
    pub start_interval: i64,
    pub retries: i64,
}

/// Docker's `HostConfig` (with its inlined `Resources`), limited to what Berth implements.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct HostConfig {
    /// `-v` strings: `src:dst[:opts]`, `name:dst[:opts]` or just `dst` (anonymous volume).
    #[serde(deserialize_with = "nullable")]
    pub binds: Vec<String>,
    /// `--mount`: binds, volumes and tmpfs in the structured form.
    #[serde(deserialize_with = "nullable")]
    pub mounts: Vec<MountSpec>,
    /// `--volumes-from <container>[:ro|:rw]`.
    #[serde(deserialize_with = "nullable")]
    pub volumes_from: Vec<String>,
    /// `--volume-driver`: the driver of volumes `-v` creates; empty is `local`.
    pub volume_driver: String,
    /// `--tmpfs`: container path -> mount options (`"size=64m,mode=1777"`).
    #[serde(deserialize_with = "nullable")]
    pub tmpfs: BTreeMap<String, String>,
    pub readonly_rootfs: bool,
    pub privileged: bool,
    #[serde(deserialize_with = "nullable")]
    pub cap_add: Vec<String>,
    #[serde(deserialize_with = "nullable")]
    pub cap_drop: Vec<String>,
    /// `no-new-privileges[:true|false]`, `seccomp=unconfined|builtin|<profile JSON>`,
    /// `apparmor=...` and `label=...` (accepted, not enforced: no LSM support yet).
    #[serde(deserialize_with = "nullable")]
    pub security_opt: Vec<String>,
    /// `--init`; `None` follows the daemon default.
    pub init: Option<bool>,
    /// Bytes; 0 = unlimited.
    pub memory: i64,
    /// Memory + swap in bytes; 0 = twice `memory`, -1 = unlimited swap.
    pub memory_swap: i64,
    pub memory_reservation: i64,
    /// 0..=100; `None` or -1 = kernel default.
    pub memory_swappiness: Option<i64>,
    pub oom_kill_disable: Option<bool>,
    /// CPUs in units of 1e-9 (`--cpus 1.5` = 1_500_000_000).
    #[serde(rename = "NanoCpus")]
    pub nano_cpus: i64,
    pub cpu_shares: i64,
    pub cpu_period: i64,
    pub cpu_quota: i64,
    pub cpuset_cpus: String,
    pub cpuset_mems: String,
    /// `None`, 0 or negative: unlimited.
    pub pids_limit: Option<i64>,
    /// 10..=1000, 0 = unset.
    pub blkio_weight: u16,
    /// `--blkio-weight-device`.
    #[serde(deserialize_with = "nullable")]
    pub blkio_weight_device: Vec<WeightDevice>,
    /// `--device-read-bps` (bytes per second).
    #[serde(deserialize_with = "nullable")]
    pub blkio_device_read_bps: Vec<ThrottleDevice>,
    /// `--device-write-bps`.
    #[serde(deserialize_with = "nullable")]
    pub blkio_device_write_bps: Vec<ThrottleDevice>,
    /// `--device-read-iops` (operations per second).
    #[serde(rename = "BlkioDeviceReadIOps", deserialize_with = "nullable")]
    pub blkio_device_read_iops: Vec<ThrottleDevice>,
    /// `--device-write-iops`.
    #[serde(rename = "BlkioDeviceWriteIOps", deserialize_with = "nullable")]
    pub blkio_device_write_iops: Vec<ThrottleDevice>,
    #[serde(deserialize_with = "nullable")]
    pub ulimits: Vec<Ulimit>,
    #[serde(deserialize_with = "nullable")]
    pub devices: Vec<DeviceMapping>,
    /// `--device-cgroup-rule`: `"c 1:3 rwm"`, `"b *:* m"`, ...
    #[serde(deserialize_with = "nullable")]
    pub device_cgroup_rules: Vec<String>,
    #[serde(deserialize_with = "nullable")]
    pub restart_policy: RestartPolicy,
    pub auto_remove: bool,
    /// `bridge` (or `default`), `host`, `none`, `container:<id>` or a network name.
    pub network_mode: String,
    #[serde(deserialize_with = "nullable")]
    pub port_bindings: BTreeMap<String, Option<Vec<PortBinding>>>,
    pub publish_all_ports: bool,
    #[serde(deserialize_with = "nullable")]
    pub dns: Vec<String>,
    #[serde(deserialize_with = "nullable")]
    pub dns_search: Vec<String>,
    #[serde(deserialize_with = "nullable")]
    pub dns_options: Vec<String>,
    /// `--link name[:alias]` (legacy links on the default bridge; see networks/links.rs).
    #[serde(deserialize_with = "nullable")]
    pub links: Vec<String>,
    /// `host:ip` entries for /etc/hosts.
    #[serde(deserialize_with = "nullable")]
    pub extra_hosts: Vec<String>,
    /// `/dev/shm` size in bytes; 0 = 64 MiB.
    pub shm_size: i64,
    /// Initial `[height, width]` of the tty (API 1.42+), so the first program sees the client's
    /// terminal size before any resize request arrives.
    #[serde(deserialize_with = "nullable")]
    pub console_size: Vec<u32>,
    #[serde(deserialize_with = "nullable")]
    pub sysctls: BTreeMap<String, String>,
    pub oom_score_adj: i64,
    #[serde(deserialize_with = "nullable")]
    pub group_add: Vec<String>,
    /// `""`/`private`/`shareable`, `host`, `none` or `container:<id>`.
    pub ipc_mode: String,
    /// `""` (private), `host` or `container:<id>`.
    pub pid_mode: String,
    /// `""` (private) or `host`.
    #[serde(rename = "UTSMode")]
    pub uts_mode: String,
    /// `""` (daemon default: private on cgroup v2), `private` or `host`.
    pub cgroupns_mode: String,
    pub cgroup_parent: String,
    #[serde(deserialize_with = "nullable")]
    pub log_config: LogConfig,
    /// Overrides the default masked paths (the CLI sends `[]` for `systempaths=unconfined`).
    pub masked_paths: Option<Vec<String>>,
    /// Overrides the default read-only paths.
    pub readonly_paths: Option<Vec<String>>,
    #[serde(deserialize_with = "nullable")]
    pub annotations: BTreeMap<String, String>,
    /// The OCI runtime by name: `""` is the daemon's ([`crate::system::DEFAULT_RUNTIME`]).
    pub runtime: String,
    /// `""` or `default` on Linux (dockerd's rule).
    pub isolation: String,
}

/// A block device's I/O weight (Docker's `blkiodev.WeightDevice`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct WeightDevice {
    pub path: String,
    pub weight: u16,
}

/// A block device's bytes or operations per second (Docker's `blkiodev.ThrottleDevice`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ThrottleDevice {
    pub path: String,
    pub rate: u64,
}

/// One `--mount` (Docker's `mount.Mount`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct MountSpec {
    /// `bind`, `volume` or `tmpfs`.
    #[serde(rename = "Type")]
    pub kind: String,
    /// Host path (bind), volume name (empty: anonymous volume); none for tmpfs.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub source: String,
    pub target: String,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub read_only: bool,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub consistency: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bind_options: Option<BindOptions>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub volume_options: Option<VolumeOptions>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tmpfs_options: Option<TmpfsOptions>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct BindOptions {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub propagation: String,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub non_recursive: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub create_mountpoint: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct VolumeOptions {
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub no_copy: bool,
    #[serde(
        deserialize_with = "nullable",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub labels: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub driver_config: Option<DriverConfig>,
    /// A subdirectory of the volume to mount (API 1.45); refused rather than ignored.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub subpath: String,
}

/// A volume driver and its options (`volume-driver`, `volume-opt`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DriverConfig {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(
        deserialize_with = "nullable",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub options: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct TmpfsOptions {
    /// Bytes; 0 = the kernel's default (half of RAM).
    #[serde(skip_serializing_if = "is_zero")]
    pub size_bytes: i64,
    /// Permission bits; 0 = tmpfs's default (1777).
    #[serde(skip_serializing_if = "is_zero_u32")]
    pub mode: u32,
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

fn is_zero_u32(n: &u32) -> bool {
    *n == 0
}

/// One `--ulimit name=soft[:hard]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Ulimit {
    pub name: String,
    pub soft: i64,
    pub hard: i64,
}

/// One `--device host[:container[:perms]]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DeviceMapping {
    pub path_on_host: String,
    /// Empty: same as `path_on_host`.
    pub path_in_container: String,
    /// Subset of `rwm`; empty means `rwm`.
    pub cgroup_permissions: String,
}

/// `--restart`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RestartPolicy {
    /// `""`/`no`, `always`, `unless-stopped` or `on-failure`.
    pub name: String,
    pub maximum_retry_count: i64,
}

/// One published port.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct PortBinding {
    pub host_ip: String,
    pub host_port: String,
}

/// `--log-driver` and `--log-opt`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct LogConfig {
    /// `""` (daemon default: json-file), `json-file`, `local` or `none`.
    #[serde(rename = "Type")]
    pub driver: String,
    /// `max-size`, `max-file`, ...
    #[serde(deserialize_with = "nullable")]
    pub config: BTreeMap<String, String>,
}

/// The `config` object of an image config (OCI image spec plus Docker's `Healthcheck`), which
/// provides the defaults a create request does not override.
///
/// Our own type rather than oci-spec's `image::Config`: that one has no `Healthcheck`, and Docker
/// images carry one.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ImageConfig {
    #[serde(deserialize_with = "nullable")]
    pub env: Vec<String>,
    #[serde(deserialize_with = "str_slice")]
    pub entrypoint: Option<Vec<String>>,
    #[serde(deserialize_with = "str_slice")]
    pub cmd: Option<Vec<String>>,
    pub working_dir: String,
    pub user: String,
    #[serde(deserialize_with = "nullable")]
    pub exposed_ports: EmptySet,
    #[serde(deserialize_with = "nullable")]
    pub volumes: EmptySet,
    #[serde(deserialize_with = "nullable")]
    pub labels: BTreeMap<String, String>,
    pub stop_signal: String,
    pub healthcheck: Option<Healthcheck>,
}

/// `null` -> `T::default()`, for Docker's habit of sending `null` for empty collections.
fn nullable<'de, D, T>(de: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(de)?.unwrap_or_default())
}

/// Docker's `StrSlice`: `null`, a JSON array of strings, or a single string (one element).
fn str_slice<'de, D>(de: D) -> Result<Option<Vec<String>>, D::Error>
where
    D: Deserializer<'de>,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(Option::<OneOrMany>::deserialize(de)?.map(|v| match v {
        OneOrMany::One(s) => vec![s],
        OneOrMany::Many(v) => v,
    }))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
