//! Every metric berth reports: name, help, type and label keys (cAdvisor's names, which the
//! kubelet re-exports), and how a container's sample becomes them.

use berth_engine::containers::{BlkioEntry, BlkioStats};
use berth_engine::networks::InterfaceStats;
use berth_engine::pods::PodContainerStats;
use chrono::{DateTime, Utc};

use crate::proto::{Metric, MetricDescriptor, MetricType, UInt64Value};
use crate::runtime::stats::{memory_stat, working_set};

/// One metric's descriptor: the keys are [`BASE_KEYS`] then `extra`.
#[derive(Debug)]
pub(super) struct Def {
    pub name: &'static str,
    help: &'static str,
    kind: MetricType,
    extra: &'static [&'static str],
}

/// The labels of every metric, as containerd 2.2 sets them.
const BASE_KEYS: [&str; 6] = ["container", "id", "image", "name", "namespace", "pod"];

const fn def(name: &'static str, help: &'static str, kind: MetricType) -> Def {
    Def {
        name,
        help,
        kind,
        extra: &[],
    }
}

const fn def_with(
    name: &'static str,
    help: &'static str,
    kind: MetricType,
    extra: &'static [&'static str],
) -> Def {
    Def {
        name,
        help,
        kind,
        extra,
    }
}

use MetricType::{Counter, Gauge};

const NET: &[&str] = &["interface"];
const FS: &[&str] = &["device"];
const FAILURE: &[&str] = &["failure_type", "scope"];
const BLKIO: &[&str] = &["device", "major", "minor", "operation"];

pub(super) const CPU_USAGE: Def = def(
    "container_cpu_usage_seconds_total",
    "Cumulative cpu time consumed in seconds.",
    Counter,
);
pub(super) const CPU_USER: Def = def(
    "container_cpu_user_seconds_total",
    "Cumulative user cpu time consumed in seconds.",
    Counter,
);
pub(super) const CPU_SYSTEM: Def = def(
    "container_cpu_system_seconds_total",
    "Cumulative system cpu time consumed in seconds.",
    Counter,
);
pub(super) const CFS_PERIODS: Def = def(
    "container_cpu_cfs_periods_total",
    "Number of elapsed enforcement period intervals.",
    Counter,
);
pub(super) const CFS_THROTTLED_PERIODS: Def = def(
    "container_cpu_cfs_throttled_periods_total",
    "Number of throttled period intervals.",
    Counter,
);
pub(super) const CFS_THROTTLED_SECONDS: Def = def(
    "container_cpu_cfs_throttled_seconds_total",
    "Total time duration the container has been throttled.",
    Counter,
);
pub(super) const MEM_USAGE: Def = def(
    "container_memory_usage_bytes",
    "Current memory usage in bytes, including all memory regardless of when it was accessed.",
    Gauge,
);
pub(super) const MEM_MAX_USAGE: Def = def(
    "container_memory_max_usage_bytes",
    "Maximum memory usage recorded in bytes.",
    Gauge,
);
pub(super) const MEM_WORKING_SET: Def = def(
    "container_memory_working_set_bytes",
    "Current working set in bytes.",
    Gauge,
);
pub(super) const MEM_RSS: Def = def("container_memory_rss", "Size of RSS in bytes.", Gauge);
pub(super) const MEM_CACHE: Def = def(
    "container_memory_cache",
    "Number of bytes of page cache memory.",
    Gauge,
);
pub(super) const MEM_MAPPED_FILE: Def = def(
    "container_memory_mapped_file",
    "Size of memory mapped files in bytes.",
    Gauge,
);
pub(super) const MEM_KERNEL: Def = def(
    "container_memory_kernel_usage",
    "Size of kernel memory allocated in bytes.",
    Gauge,
);
pub(super) const MEM_SWAP: Def = def(
    "container_memory_swap",
    "Container swap usage in bytes.",
    Gauge,
);
pub(super) const MEM_FAILCNT: Def = def(
    "container_memory_failcnt",
    "Number of memory usage hits limits.",
    Counter,
);
pub(super) const MEM_FAILURES: Def = def_with(
    "container_memory_failures_total",
    "Cumulative count of memory allocation failures.",
    Counter,
    FAILURE,
);
pub(super) const OOM_EVENTS: Def = def(
    "container_oom_events_total",
    "Count of out of memory events observed for the container.",
    Counter,
);
pub(super) const PROCESSES: Def = def(
    "container_processes",
    "Number of processes running inside the container.",
    Gauge,
);
pub(super) const THREADS: Def = def(
    "container_threads",
    "Number of threads running inside the container.",
    Gauge,
);
pub(super) const THREADS_MAX: Def = def(
    "container_threads_max",
    "Maximum number of threads allowed inside the container, 0 for unlimited.",
    Gauge,
);
pub(super) const FILE_DESCRIPTORS: Def = def(
    "container_file_descriptors",
    "Number of open file descriptors for the container.",
    Gauge,
);
pub(super) const SOCKETS: Def = def(
    "container_sockets",
    "Number of open sockets for the container.",
    Gauge,
);
pub(super) const SPEC_CPU_SHARES: Def = def(
    "container_spec_cpu_shares",
    "CPU share of the container.",
    Gauge,
);
pub(super) const SPEC_CPU_PERIOD: Def = def(
    "container_spec_cpu_period",
    "CPU period of the container.",
    Gauge,
);
pub(super) const SPEC_CPU_QUOTA: Def = def(
    "container_spec_cpu_quota",
    "CPU quota of the container.",
    Gauge,
);
pub(super) const SPEC_MEM_LIMIT: Def = def(
    "container_spec_memory_limit_bytes",
    "Memory limit for the container.",
    Gauge,
);
pub(super) const SPEC_MEM_SWAP_LIMIT: Def = def(
    "container_spec_memory_swap_limit_bytes",
    "Memory swap limit for the container.",
    Gauge,
);
pub(super) const FS_USAGE: Def = def_with(
    "container_fs_usage_bytes",
    "Number of bytes that are consumed by the container on this filesystem.",
    Gauge,
    FS,
);
pub(super) const FS_LIMIT: Def = def_with(
    "container_fs_limit_bytes",
    "Number of bytes that can be consumed by the container on this filesystem.",
    Gauge,
    FS,
);
pub(super) const FS_INODES_TOTAL: Def =
    def_with("container_fs_inodes_total", "Number of Inodes.", Gauge, FS);
pub(super) const FS_INODES_FREE: Def = def_with(
    "container_fs_inodes_free",
    "Number of available Inodes.",
    Gauge,
    FS,
);
pub(super) const BLKIO_USAGE: Def = def_with(
    "container_blkio_device_usage_total",
    "Blkio device bytes usage.",
    Counter,
    BLKIO,
);
pub(super) const FS_READ_BYTES: Def = def_with(
    "container_fs_reads_bytes_total",
    "Cumulative count of bytes read.",
    Counter,
    FS,
);
pub(super) const FS_READS: Def = def_with(
    "container_fs_reads_total",
    "Cumulative count of reads completed.",
    Counter,
    FS,
);
pub(super) const FS_WRITE_BYTES: Def = def_with(
    "container_fs_writes_bytes_total",
    "Cumulative count of bytes written.",
    Counter,
    FS,
);
pub(super) const FS_WRITES: Def = def_with(
    "container_fs_writes_total",
    "Cumulative count of writes completed.",
    Counter,
    FS,
);
pub(super) const START_TIME: Def = def(
    "container_start_time_seconds",
    "Start time of the container since unix epoch in seconds.",
    Gauge,
);
pub(super) const LAST_SEEN: Def = def(
    "container_last_seen",
    "Last time a container was seen by the exporter.",
    Gauge,
);
pub(super) const NET_RX_BYTES: Def = def_with(
    "container_network_receive_bytes_total",
    "Cumulative count of bytes received.",
    Counter,
    NET,
);
pub(super) const NET_RX_PACKETS: Def = def_with(
    "container_network_receive_packets_total",
    "Cumulative count of packets received.",
    Counter,
    NET,
);
pub(super) const NET_RX_ERRORS: Def = def_with(
    "container_network_receive_errors_total",
    "Cumulative count of errors encountered while receiving.",
    Counter,
    NET,
);
pub(super) const NET_RX_DROPPED: Def = def_with(
    "container_network_receive_packets_dropped_total",
    "Cumulative count of packets dropped while receiving.",
    Counter,
    NET,
);
pub(super) const NET_TX_BYTES: Def = def_with(
    "container_network_transmit_bytes_total",
    "Cumulative count of bytes transmitted.",
    Counter,
    NET,
);
pub(super) const NET_TX_PACKETS: Def = def_with(
    "container_network_transmit_packets_total",
    "Cumulative count of packets transmitted.",
    Counter,
    NET,
);
pub(super) const NET_TX_ERRORS: Def = def_with(
    "container_network_transmit_errors_total",
    "Cumulative count of errors encountered while transmitting.",
    Counter,
    NET,
);
pub(super) const NET_TX_DROPPED: Def = def_with(
    "container_network_transmit_packets_dropped_total",
    "Cumulative count of packets dropped while transmitting.",
    Counter,
    NET,
);

/// What ListMetricDescriptors lists.
pub(super) const ALL: &[&Def] = &[
    &CPU_USAGE,
    &CPU_USER,
    &CPU_SYSTEM,
    &CFS_PERIODS,
    &CFS_THROTTLED_PERIODS,
    &CFS_THROTTLED_SECONDS,
    &MEM_USAGE,
    &MEM_MAX_USAGE,
    &MEM_WORKING_SET,
    &MEM_RSS,
    &MEM_CACHE,
    &MEM_MAPPED_FILE,
    &MEM_KERNEL,
    &MEM_SWAP,
    &MEM_FAILCNT,
    &MEM_FAILURES,
    &OOM_EVENTS,
    &PROCESSES,
    &THREADS,
    &THREADS_MAX,
    &FILE_DESCRIPTORS,
    &SOCKETS,
    &SPEC_CPU_SHARES,
    &SPEC_CPU_PERIOD,
    &SPEC_CPU_QUOTA,
    &SPEC_MEM_LIMIT,
    &SPEC_MEM_SWAP_LIMIT,
    &FS_USAGE,
    &FS_LIMIT,
    &FS_INODES_TOTAL,
    &FS_INODES_FREE,
    &BLKIO_USAGE,
    &FS_READ_BYTES,
    &FS_READS,
    &FS_WRITE_BYTES,
    &FS_WRITES,
    &START_TIME,
    &LAST_SEEN,
    &NET_RX_BYTES,
    &NET_RX_PACKETS,
    &NET_RX_ERRORS,
    &NET_RX_DROPPED,
    &NET_TX_BYTES,
    &NET_TX_PACKETS,
    &NET_TX_ERRORS,
    &NET_TX_DROPPED,
];

pub(super) fn descriptors() -> Vec<MetricDescriptor> {
    ALL.iter()
        .map(|d| MetricDescriptor {
            name: d.name.to_string(),
            help: d.help.to_string(),
            label_keys: BASE_KEYS
                .iter()
                .chain(d.extra)
                .map(|k| k.to_string())
                .collect(),
        })
        .collect()
}

/// The [`BASE_KEYS`] values of one container (or the pod's sandbox).
#[derive(Debug)]
pub(super) struct Labels<'a> {
    pub container: &'a str,
    pub id: &'a str,
    pub image: &'a str,
    pub name: &'a str,
    pub namespace: &'a str,
    pub pod: &'a str,
}

/// Collects one sample's metrics, all with its labels and time.
pub(super) struct Sink {
    base: [String; 6],
    at: i64,
    metrics: Vec<Metric>,
}

impl Sink {
    pub(super) fn new(l: &Labels<'_>, read: DateTime<Utc>) -> Self {
        Sink {
            base: [l.container, l.id, l.image, l.name, l.namespace, l.pod].map(str::to_string),
            at: read.timestamp_nanos_opt().unwrap_or_default(),
            metrics: Vec::new(),
        }
    }

    pub(super) fn push(&mut self, d: &Def, value: u64) {
        self.push_with(d, &[], value);
    }

    /// `extra` holds the values of `d`'s own keys, in order; a short or long list is a bug
    /// in this module, caught by its tests, and is padded or cut rather than sent unmatched.
    pub(super) fn push_with(&mut self, d: &Def, extra: &[&str], value: u64) {
        debug_assert_eq!(extra.len(), d.extra.len(), "{}", d.name);
        let extra = (0..d.extra.len()).map(|i| extra.get(i).copied().unwrap_or_default());
        self.metrics.push(Metric {
            name: d.name.to_string(),
            timestamp: self.at,
            metric_type: d.kind.into(),
            label_values: self
                .base
                .iter()
                .cloned()
                .chain(extra.map(str::to_string))
                .collect(),
            value: Some(UInt64Value { value }),
        });
    }

    pub(super) fn into_metrics(self) -> Vec<Metric> {
        self.metrics
    }
}

const NANOS_PER_SECOND: u64 = 1_000_000_000;

/// A container's metrics: the cgroup's and its processes' while it runs, its spec, writable
/// layer and times always. Seconds are whole: the CRI's values are integers.
pub(super) fn container(sink: &mut Sink, s: &PodContainerStats) {
    let ct = &s.container.container;
    let res = &ct.config.spec.resources;
    let nonneg = |v: Option<i64>| v.and_then(|v| u64::try_from(v).ok()).unwrap_or(0);
    sink.push(&SPEC_CPU_SHARES, res.cpu.shares.unwrap_or(0));
    sink.push(&SPEC_CPU_PERIOD, res.cpu.period.unwrap_or(0));
    sink.push(&SPEC_CPU_QUOTA, nonneg(res.cpu.quota));
    sink.push(&SPEC_MEM_LIMIT, nonneg(res.memory.limit));
    sink.push(&SPEC_MEM_SWAP_LIMIT, nonneg(res.memory.swap));
    let layer = &s.writable_layer;
    let device = [layer.filesystem.to_str().unwrap_or_default()];
    sink.push_with(&FS_USAGE, &device, layer.used_bytes);
    sink.push_with(&FS_LIMIT, &device, layer.capacity_bytes);
    sink.push_with(&FS_INODES_TOTAL, &device, layer.inodes_total);
    sink.push_with(&FS_INODES_FREE, &device, layer.inodes_free);
    if let Some(started) = ct.state.started_at {
        sink.push(&START_TIME, u64::try_from(started.timestamp()).unwrap_or(0));
    }
    sink.push(&LAST_SEEN, u64::try_from(s.read.timestamp()).unwrap_or(0));
    sink.push(&OOM_EVENTS, u64::from(ct.state.oom_killed));
    if let Some(p) = &s.processes {
        sink.push(&PROCESSES, p.processes);
        sink.push(&THREADS, p.threads);
        sink.push(&FILE_DESCRIPTORS, p.file_descriptors);
        sink.push(&SOCKETS, p.sockets);
    }
    let Some(cg) = &s.cgroup else {
        return;
    };
    if let Some(cpu) = &cg.cpu {
        sink.push(&CPU_USAGE, cpu.usage.total / NANOS_PER_SECOND);
        sink.push(&CPU_USER, cpu.usage.user / NANOS_PER_SECOND);
        sink.push(&CPU_SYSTEM, cpu.usage.kernel / NANOS_PER_SECOND);
        let t = cpu.throttling.clone().unwrap_or_default();
        sink.push(&CFS_PERIODS, t.periods);
        sink.push(&CFS_THROTTLED_PERIODS, t.throttled_periods);
        sink.push(&CFS_THROTTLED_SECONDS, t.throttled_time / NANOS_PER_SECOND);
    }
    if let Some(m) = &cg.memory {
        let raw = &m.raw;
        sink.push(&MEM_USAGE, m.usage.usage);
        sink.push(&MEM_MAX_USAGE, m.usage.max);
        sink.push(
            &MEM_WORKING_SET,
            working_set(
                m.usage.usage,
                memory_stat(raw, "total_inactive_file", "inactive_file"),
            ),
        );
        sink.push(&MEM_RSS, memory_stat(raw, "total_rss", "anon"));
        sink.push(&MEM_CACHE, m.cache);
        sink.push(
            &MEM_MAPPED_FILE,
            memory_stat(raw, "total_mapped_file", "file_mapped"),
        );
        // v1's kmem counter, else v2's memory.stat line (kernels 5.18 and later).
        let kernel = m.kernel.as_ref().map(|k| k.usage);
        sink.push(
            &MEM_KERNEL,
            kernel.unwrap_or_else(|| memory_stat(raw, "kernel", "kernel")),
        );
        let swap = m
            .swap
            .as_ref()
            .map_or(0, |s| s.usage.saturating_sub(m.usage.usage));
        sink.push(&MEM_SWAP, swap);
        sink.push(&MEM_FAILCNT, m.usage.failcnt);
        for (kind, v1, v2) in [
            ("pgfault", "total_pgfault", "pgfault"),
            ("pgmajfault", "total_pgmajfault", "pgmajfault"),
        ] {
            sink.push_with(
                &MEM_FAILURES,
                &[kind, "container"],
                memory_stat(raw, v1, v2),
            );
        }
    }
    if let Some(p) = &cg.pids {
        sink.push(&THREADS_MAX, p.limit);
    }
    if let Some(b) = &cg.blkio {
        blkio(sink, b);
    }
}

/// Per device (`major:minor`, as the cgroup names it): bytes by operation, and the reads and
/// writes in bytes and in operations.
fn blkio(sink: &mut Sink, b: &BlkioStats) {
    for e in &b.io_service_bytes_recursive {
        let (device, major, minor) = (device(e), e.major.to_string(), e.minor.to_string());
        sink.push_with(&BLKIO_USAGE, &[&device, &major, &minor, &e.op], e.value);
    }
    for (entries, read, write) in [
        (
            &b.io_service_bytes_recursive,
            &FS_READ_BYTES,
            &FS_WRITE_BYTES,
        ),
        (&b.io_serviced_recursive, &FS_READS, &FS_WRITES),
    ] {
        for e in entries {
            let d = match e.op.as_str() {
                "Read" => read,
                "Write" => write,
                _ => continue,
            };
            sink.push_with(d, &[&device(e)], e.value);
        }
    }
}

fn device(e: &BlkioEntry) -> String {
    format!("{}:{}", e.major, e.minor)
}

/// The pod's interfaces, one series per interface.
pub(super) fn network(sink: &mut Sink, interfaces: &[InterfaceStats]) {
    for i in interfaces {
        let name = [i.name.as_str()];
        for (d, v) in [
            (&NET_RX_BYTES, i.rx_bytes),
            (&NET_RX_PACKETS, i.rx_packets),
            (&NET_RX_ERRORS, i.rx_errors),
            (&NET_RX_DROPPED, i.rx_dropped),
            (&NET_TX_BYTES, i.tx_bytes),
            (&NET_TX_PACKETS, i.tx_packets),
            (&NET_TX_ERRORS, i.tx_errors),
            (&NET_TX_DROPPED, i.tx_dropped),
        ] {
            sink.push_with(d, &name, v);
        }
    }
}
