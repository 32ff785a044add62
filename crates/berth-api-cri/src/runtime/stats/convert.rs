//! Engine samples as the CRI's stats, after containerd's `container_stats_list.go` and
//! `sandbox_stats_linux.go`; and the CPU rate over consecutive samples.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use berth_engine::containers::CgroupStats;
use berth_engine::networks::InterfaceStats;
use berth_engine::pods::{LayerUsage, PodContainerStats, PodStats};
use chrono::{DateTime, Utc};

use crate::proto::{
    ContainerAttributes, ContainerStats, CpuUsage, FilesystemIdentifier, FilesystemUsage,
    LinuxPodSandboxStats, MemoryUsage, NetworkInterfaceUsage, NetworkUsage, PodSandboxAttributes,
    PodSandboxStats, ProcessUsage, SwapUsage, UInt64Value,
};

/// Above this a limit is "unlimited": the kernel rounds `max` down to pages, so it is not
/// exactly `u64::MAX` (containerd's and cAdvisor's bound).
const UNLIMITED: u64 = 1 << 62;

/// A sample kept for the next one's rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct CpuSample {
    at: DateTime<Utc>,
    usage_ns: u64,
}

/// The last CPU sample of each container and pod, so `usage_nano_cores` is a rate over the
/// previous call (containerd keeps it in its container and sandbox stores).
#[derive(Debug, Default)]
pub(in crate::runtime) struct CpuRates {
    last: Mutex<HashMap<String, CpuSample>>,
}

/// Samples older than this belong to removed containers (or an idle client): dropped, so the
/// map does not grow with every container that ever ran.
const FORGET_AFTER: chrono::TimeDelta = chrono::TimeDelta::minutes(10);

impl CpuRates {
    /// Nanocores since the previous sample of `id`, recording this one. None on the first
    /// sample, a zero or negative interval, or a counter that went back (a new cgroup under
    /// the same id): containerd leaves the field unset then.
    fn rate(&self, id: &str, at: DateTime<Utc>, usage_ns: u64) -> Option<u64> {
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        last.retain(|_, s| at - s.at < FORGET_AFTER);
        let previous = last.insert(id.to_string(), CpuSample { at, usage_ns })?;
        rate(previous, CpuSample { at, usage_ns })
    }
}

fn rate(previous: CpuSample, now: CpuSample) -> Option<u64> {
    let interval = (now.at - previous.at)
        .num_nanoseconds()
        .filter(|n| *n > 0)?;
    let used = now.usage_ns.checked_sub(previous.usage_ns)?;
    // Nanoseconds of CPU per second of wall time; u128 keeps a long interval from overflowing.
    let per_second = u128::from(used) * 1_000_000_000 / u128::from(interval.unsigned_abs());
    u64::try_from(per_second).ok()
}

/// A container's stats; `rates` gets its CPU sample.
pub(super) fn container(s: &PodContainerStats, rates: &CpuRates) -> ContainerStats {
    let pc = &s.container;
    let spec = &pc.container.config.spec;
    let at = nanos(s.read);
    ContainerStats {
        attributes: Some(ContainerAttributes {
            id: pc.container.id.clone(),
            metadata: Some(crate::runtime::containers::metadata(pc)),
            labels: spec.labels.clone().into_iter().collect(),
            annotations: spec.annotations.clone().into_iter().collect(),
        }),
        cpu: s
            .cgroup
            .as_ref()
            .and_then(|cg| cpu(&pc.container.id, cg, s.read, rates)),
        memory: s.cgroup.as_ref().and_then(|cg| memory(cg, at)),
        writable_layer: Some(writable_layer(&s.writable_layer)),
        swap: s.cgroup.as_ref().and_then(|cg| swap(cg, at)),
        io: None,
    }
}

/// A pod's stats; `rates` gets its CPU sample and its containers'.
pub(super) fn pod(s: &PodStats, rates: &CpuRates) -> PodSandboxStats {
    let spec = &s.pod.spec;
    let at = nanos(s.read);
    let containers: Vec<ContainerStats> =
        s.containers.iter().map(|c| container(c, rates)).collect();
    // The pod cgroup's count (pause included) where it has the pids controller, else
    // containerd's sum over the containers.
    let process_count = s
        .cgroup
        .as_ref()
        .and_then(|cg| cg.pids.as_ref())
        .map(|p| p.current)
        .unwrap_or_else(|| {
            s.containers
                .iter()
                .filter_map(|c| c.cgroup.as_ref()?.pids.as_ref().map(|p| p.current))
                .sum()
        });
    PodSandboxStats {
        attributes: Some(PodSandboxAttributes {
            id: s.pod.id.clone(),
            metadata: Some(crate::runtime::pods::metadata(spec)),
            labels: spec.labels.clone().into_iter().collect(),
            annotations: spec.annotations.clone().into_iter().collect(),
        }),
        linux: Some(LinuxPodSandboxStats {
            cpu: s
                .cgroup
                .as_ref()
                .and_then(|cg| cpu(&s.pod.id, cg, s.read, rates)),
            memory: s.cgroup.as_ref().and_then(|cg| memory(cg, at)),
            network: s.interfaces.as_deref().map(|i| network(i, at)),
            process: Some(ProcessUsage {
                timestamp: at,
                process_count: value(process_count),
            }),
            containers,
            io: None,
        }),
        windows: None,
    }
}

fn cpu(id: &str, cg: &CgroupStats, read: DateTime<Utc>, rates: &CpuRates) -> Option<CpuUsage> {
    let total = cg.cpu.as_ref()?.usage.total;
    Some(CpuUsage {
        timestamp: nanos(read),
        usage_core_nano_seconds: value(total),
        usage_nano_cores: rates.rate(id, read, total).and_then(value),
        psi: None,
    })
}

/// memory.stat's value under its v1 (hierarchical `total_*`) or v2 name.
pub(in crate::runtime) fn stat(raw: &BTreeMap<String, u64>, v1: &str, v2: &str) -> u64 {
    raw.get(v1).or_else(|| raw.get(v2)).copied().unwrap_or(0)
}

fn memory(cg: &CgroupStats, at: i64) -> Option<MemoryUsage> {
    let m = cg.memory.as_ref()?;
    let working_set = working_set(
        m.usage.usage,
        stat(&m.raw, "total_inactive_file", "inactive_file"),
    );
    Some(MemoryUsage {
        timestamp: at,
        working_set_bytes: value(working_set),
        available_bytes: (m.usage.limit <= UNLIMITED)
            .then(|| m.usage.limit.saturating_sub(working_set))
            .and_then(value),
        usage_bytes: value(m.usage.usage),
        rss_bytes: value(stat(&m.raw, "total_rss", "anon")),
        page_faults: value(stat(&m.raw, "total_pgfault", "pgfault")),
        major_page_faults: value(stat(&m.raw, "total_pgmajfault", "pgmajfault")),
        psi: None,
    })
}

/// The kubelet's working set: usage less the inactive page cache (what the kernel can drop
/// first), never below zero.
pub(in crate::runtime) fn working_set(usage: u64, inactive_file: u64) -> u64 {
    usage.saturating_sub(inactive_file)
}

/// Swap alone, from the memory+swap entry berth-cgroups reports (v1's meaning, v2 converted);
/// none without swap accounting. Available only under a swap limit.
fn swap(cg: &CgroupStats, at: i64) -> Option<SwapUsage> {
    let m = cg.memory.as_ref()?;
    let both = m.swap.as_ref()?;
    let usage = both.usage.saturating_sub(m.usage.usage);
    let limited = both.limit <= UNLIMITED && m.usage.limit <= UNLIMITED;
    Some(SwapUsage {
        timestamp: at,
        swap_available_bytes: limited
            .then(|| (both.limit.saturating_sub(m.usage.limit)).saturating_sub(usage))
            .and_then(value),
        swap_usage_bytes: value(usage),
    })
}

fn writable_layer(l: &LayerUsage) -> FilesystemUsage {
    FilesystemUsage {
        timestamp: nanos(l.read),
        fs_id: Some(FilesystemIdentifier {
            mountpoint: l.filesystem.to_string_lossy().into_owned(),
        }),
        used_bytes: value(l.used_bytes),
        inodes_used: value(l.inodes_used),
    }
}

/// Every interface; the default is eth0 (the CNI's), or the first one without it (containerd).
fn network(interfaces: &[InterfaceStats], at: i64) -> NetworkUsage {
    let all: Vec<NetworkInterfaceUsage> = interfaces
        .iter()
        .map(|i| NetworkInterfaceUsage {
            name: i.name.clone(),
            rx_bytes: value(i.rx_bytes),
            rx_errors: value(i.rx_errors),
            tx_bytes: value(i.tx_bytes),
            tx_errors: value(i.tx_errors),
        })
        .collect();
    NetworkUsage {
        timestamp: at,
        default_interface: all
            .iter()
            .find(|i| i.name == "eth0")
            .or_else(|| all.first())
            .cloned(),
        interfaces: all,
    }
}

fn value(value: u64) -> Option<UInt64Value> {
    Some(UInt64Value { value })
}

fn nanos(t: DateTime<Utc>) -> i64 {
    t.timestamp_nanos_opt().unwrap_or_default()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
