//! Cgroup limits, devices and rlimits, in the units the runtime spec uses (a `--cpus` of Docker
//! is already a quota over a period here), so every adapter fills the same fields.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// CPU limits.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Cpu {
    /// Relative weight (cgroup v1 shares, converted to a v2 weight by the runtime).
    pub shares: Option<u64>,
    /// Microseconds per `period`; -1 is unlimited.
    pub quota: Option<i64>,
    /// Microseconds.
    pub period: Option<u64>,
    /// Docker's `--cpus` as asked, in billionths of a CPU, beside the quota it became: the
    /// host's CPU count bounds it when the spec is built.
    pub nano_cpus: Option<u64>,
    /// `0-3,5`.
    pub cpus: Option<String>,
    /// Memory nodes, same syntax.
    pub mems: Option<String>,
}

/// Memory limits in bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Memory {
    pub limit: Option<i64>,
    pub reservation: Option<i64>,
    /// Memory plus swap, as the runtime spec counts it.
    pub swap: Option<i64>,
    /// 0..=100; `None`: the kernel's.
    pub swappiness: Option<u64>,
    pub disable_oom_killer: bool,
}

/// A block device's weight.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceWeight {
    /// Host device node; its numbers are looked up when the spec is built.
    pub path: PathBuf,
    pub weight: u16,
}

/// A block device's bytes or operations per second.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceRate {
    pub path: PathBuf,
    pub rate: u64,
}

/// Block I/O weights and throttles.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct BlockIo {
    /// 10..=1000.
    pub weight: Option<u16>,
    pub weight_devices: Vec<DeviceWeight>,
    pub read_bps: Vec<DeviceRate>,
    pub write_bps: Vec<DeviceRate>,
    pub read_iops: Vec<DeviceRate>,
    pub write_iops: Vec<DeviceRate>,
}

/// A host device node (or a directory of them) to create in the container and allow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceRequest {
    pub host_path: PathBuf,
    /// `None`: the same path as on the host.
    pub container_path: Option<PathBuf>,
    /// A combination of `r`, `w` and `m`.
    pub access: String,
}

/// The kind of device a cgroup rule covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceKind {
    All,
    Char,
    Block,
}

/// A device cgroup rule; `None` numbers are wildcards.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceRule {
    pub allow: bool,
    pub kind: DeviceKind,
    pub major: Option<i64>,
    pub minor: Option<i64>,
    pub access: String,
}

/// A process resource limit; `u64::MAX` is unlimited.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rlimit {
    /// The name without its prefix: `nofile`, `nproc`, `core`, ...
    pub name: String,
    pub soft: u64,
    pub hard: u64,
}

/// Everything the container's cgroup and process limits say.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Resources {
    pub cpu: Cpu,
    pub memory: Memory,
    /// -1 is unlimited; `None`: the runtime's default.
    pub pids_limit: Option<i64>,
    pub block_io: BlockIo,
    /// Page size (`2MB`, `1GB`) to limit in bytes. The CRI sets them; Docker cannot.
    pub hugepages: BTreeMap<String, u64>,
    /// Raw cgroup v2 files (`memory.high`), as the CRI's `unified`.
    pub unified: BTreeMap<String, String>,
    pub devices: Vec<DeviceRequest>,
    pub device_rules: Vec<DeviceRule>,
    /// -1000..=1000.
    pub oom_score_adj: i32,
    pub rlimits: Vec<Rlimit>,
    /// The parent of the container's cgroup; `None`: the daemon's.
    pub cgroup_parent: Option<String>,
}
