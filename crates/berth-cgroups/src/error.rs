use std::io;
use std::path::PathBuf;

/// Everything that can go wrong while managing a container's cgroup. Each variant names the file
/// or directory involved and, where one applies, the controller.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("statfs {path}")]
    Statfs {
        path: PathBuf,
        #[source]
        source: nix::Error,
    },
    #[error("{path} is neither a cgroup v2 mount nor a tmpfs holding v1 hierarchies")]
    NotCgroupFs { path: PathBuf },
    #[error("no cgroup v1 hierarchy is mounted under {root}")]
    NoV1Hierarchies { root: PathBuf },
    #[error("reading {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("parsing {path}: unexpected content {content:?}")]
    Parse { path: PathBuf, content: String },
    #[error("systemd cgroupsPath {0:?} (slice:prefix:name) is not supported; use a cgroupfs path")]
    SystemdCgroupUnsupported(String),
    #[error("invalid cgroupsPath {path:?}: {reason}")]
    InvalidPath { path: String, reason: &'static str },
    #[error("controller {controller} has no entry in /proc/self/cgroup")]
    OwnCgroupNotFound { controller: &'static str },
    #[error("creating cgroup directory {path}")]
    Create {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("removing cgroup directory {path}")]
    Remove {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{controller}: writing {value:?} to {path}")]
    Write {
        controller: &'static str,
        path: PathBuf,
        value: String,
        #[source]
        source: io::Error,
    },
    #[error("{controller}: {path} does not exist (controller not enabled, or not supported by this kernel)")]
    FileMissing {
        controller: &'static str,
        path: PathBuf,
    },
    #[error("controller {controller} is not available on this host but the resources use it")]
    ControllerUnavailable { controller: &'static str },
    #[error("{controller}: {setting} is not supported on cgroup v2")]
    UnsupportedOnV2 {
        controller: &'static str,
        setting: &'static str,
    },
    #[error("unified resources require cgroup v2, but this host uses v1")]
    UnifiedOnV1,
    #[error("unified: invalid key {key:?}")]
    InvalidUnifiedKey { key: String },
    #[error("unified: key {key:?} has no file {path} (controller not enabled, or not supported by this kernel)")]
    UnifiedKeyMissing { key: String, path: PathBuf },
    #[error("memory: swap limit requested but {path} is absent (swap accounting disabled?)")]
    SwapAccountingDisabled { path: PathBuf },
    #[error("memory: swap limit {swap} is below the memory limit {limit}")]
    SwapBelowMemory { swap: i64, limit: i64 },
    #[error("memory: a swap limit needs a memory limit on cgroup v2")]
    SwapWithoutMemory,
    #[error("memory: swappiness {0} is above 100")]
    InvalidSwappiness(u64),
    #[error("memory: new limit {limit} is not above current usage {usage}")]
    MemoryBelowUsage { limit: i64, usage: u64 },
    #[error("hugetlb: invalid page size {0:?}")]
    InvalidPageSize(String),
    #[error("rdma: invalid device name {0:?}")]
    InvalidRdmaDevice(String),
    #[error("net_prio: invalid interface name {0:?}")]
    InvalidInterface(String),
    #[error("devices: invalid access {0:?} (expected letters from \"rwm\")")]
    InvalidDeviceAccess(String),
    #[error("devices: device number {0} out of range")]
    InvalidDeviceNumber(i64),
    #[error("devices: bpf {op} on {path}")]
    Bpf {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(
        "devices: loading the device filter program was refused; before Linux 5.11 BPF \
         programs count against RLIMIT_MEMLOCK, which could not be raised (CAP_SYS_RESOURCE)"
    )]
    BpfMemlock {
        #[source]
        source: io::Error,
    },
    #[error("devices: the kernel rejected the device filter program: {log}")]
    BpfVerifier {
        log: String,
        #[source]
        source: io::Error,
    },
    #[error("freezer: timed out waiting for {path} to freeze")]
    FreezeTimeout { path: PathBuf },
}

pub type Result<T> = std::result::Result<T, Error>;
