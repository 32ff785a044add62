use std::collections::HashMap;

use berth_engine::containers::{BlkioEntry, CgroupStats, Status};
use berth_engine::networks::InterfaceStats;
use berth_engine::pods::{LayerUsage, PodContainerStats, ProcessCounts};
use chrono::Utc;

use super::catalog::{self, Labels, Sink};
use crate::proto::{Metric, MetricType};
use crate::runtime::containers::tests::pod_container;

fn labels() -> Labels<'static> {
    Labels {
        container: "app",
        id: "c0ffee",
        image: "busybox",
        name: "c0ffee",
        namespace: "default",
        pod: "web",
    }
}

fn sample(status: Status, cgroup: Option<CgroupStats>) -> PodContainerStats {
    let processes = cgroup.as_ref().map(|_| ProcessCounts {
        processes: 2,
        threads: 3,
        file_descriptors: 9,
        sockets: 1,
    });
    PodContainerStats {
        container: pod_container(status, 0, false),
        read: Utc::now(),
        cgroup,
        processes,
        writable_layer: LayerUsage {
            used_bytes: 4096,
            capacity_bytes: 1 << 30,
            ..LayerUsage::default()
        },
    }
}

fn running_cgroup() -> CgroupStats {
    let mut cg = CgroupStats::default();
    let cpu = cg.cpu.get_or_insert_with(Default::default);
    cpu.usage.total = 2_500_000_000;
    cpu.usage.user = 2_000_000_000;
    cpu.usage.kernel = 500_000_000;
    let m = cg.memory.get_or_insert_with(Default::default);
    m.usage.usage = 100;
    m.raw = [("inactive_file".to_string(), 30), ("anon".to_string(), 60)].into();
    cg.pids.get_or_insert_with(Default::default).current = 3;
    let entry = |op: &str, value| BlkioEntry {
        major: 8,
        minor: 0,
        op: op.into(),
        value,
    };
    let b = cg.blkio.get_or_insert_with(Default::default);
    b.io_service_bytes_recursive = vec![entry("Read", 4096), entry("Write", 512)];
    b.io_serviced_recursive = vec![entry("Read", 1), entry("Write", 1), entry("Total", 2)];
    cg
}

fn metrics(s: &PodContainerStats) -> Vec<Metric> {
    let mut sink = Sink::new(&labels(), s.read);
    catalog::container(&mut sink, s);
    catalog::network(
        &mut sink,
        &[
            InterfaceStats {
                name: "eth0".into(),
                rx_bytes: 10,
                ..InterfaceStats::default()
            },
            InterfaceStats {
                name: "eth1".into(),
                ..InterfaceStats::default()
            },
        ],
    );
    sink.into_metrics()
}

fn value(metrics: &[Metric], name: &str) -> Option<u64> {
    let m = metrics.iter().find(|m| m.name == name)?;
    Some(m.value.as_ref().unwrap().value)
}

#[test]
fn descriptors_are_unique_and_carry_the_base_labels() {
    let descriptors = catalog::descriptors();
    let mut names: Vec<&str> = descriptors.iter().map(|d| d.name.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), descriptors.len());
    for d in &descriptors {
        assert_eq!(
            d.label_keys[..6],
            ["container", "id", "image", "name", "namespace", "pod"]
        );
        assert!(!d.help.is_empty(), "{}", d.name);
    }
}

#[test]
fn every_metric_matches_its_descriptor_and_type() {
    let descriptors: HashMap<String, usize> = catalog::descriptors()
        .into_iter()
        .map(|d| (d.name, d.label_keys.len()))
        .collect();
    let all = metrics(&sample(Status::Running, Some(running_cgroup())));
    let mut seen: Vec<&str> = all.iter().map(|m| m.name.as_str()).collect();
    seen.sort_unstable();
    seen.dedup();
    // A running container with networking reports every metric of the catalog.
    assert_eq!(seen.len(), descriptors.len());
    for m in &all {
        assert_eq!(
            Some(&m.label_values.len()),
            descriptors.get(&m.name),
            "{}",
            m.name
        );
        // cAdvisor's naming: counters end in _total, but for the failure count; the inode
        // total is the filesystem's size, a gauge.
        let counter = (m.name.ends_with("_total") && m.name != "container_fs_inodes_total")
            || m.name == "container_memory_failcnt";
        let kind = if counter {
            MetricType::Counter
        } else {
            MetricType::Gauge
        };
        assert_eq!(m.metric_type, i32::from(kind), "{}", m.name);
    }
}

#[test]
fn values_are_the_samples_in_whole_seconds_and_bytes() {
    let all = metrics(&sample(Status::Running, Some(running_cgroup())));
    assert_eq!(value(&all, "container_cpu_usage_seconds_total"), Some(2));
    assert_eq!(value(&all, "container_cpu_user_seconds_total"), Some(2));
    assert_eq!(value(&all, "container_cpu_system_seconds_total"), Some(0));
    assert_eq!(value(&all, "container_memory_working_set_bytes"), Some(70));
    assert_eq!(value(&all, "container_memory_rss"), Some(60));
    assert_eq!(value(&all, "container_threads"), Some(3));
    assert_eq!(value(&all, "container_fs_usage_bytes"), Some(4096));
    assert_eq!(value(&all, "container_fs_writes_bytes_total"), Some(512));
    assert_eq!(value(&all, "container_fs_reads_total"), Some(1));
    // The pod's spec: 20 ms of every (default) period, 1 MiB.
    assert_eq!(value(&all, "container_spec_cpu_quota"), Some(20_000));
    assert_eq!(
        value(&all, "container_spec_memory_limit_bytes"),
        Some(1 << 20)
    );
    let rx: Vec<(&str, u64)> = all
        .iter()
        .filter(|m| m.name == "container_network_receive_bytes_total")
        .map(|m| (m.label_values[6].as_str(), m.value.as_ref().unwrap().value))
        .collect();
    assert_eq!(rx, [("eth0", 10), ("eth1", 0)]);
}

#[test]
fn a_stopped_container_has_no_cgroup_or_process_metrics() {
    let all = metrics(&sample(Status::Exited, None));
    for name in [
        "container_cpu_usage_seconds_total",
        "container_memory_working_set_bytes",
        "container_processes",
    ] {
        assert_eq!(value(&all, name), None, "{name}");
    }
    assert_eq!(value(&all, "container_fs_usage_bytes"), Some(4096));
    assert!(value(&all, "container_start_time_seconds").is_some());
}
