use berth_engine::containers::CgroupStats;
use berth_engine::networks::InterfaceStats;
use chrono::{TimeDelta, TimeZone, Utc};

use super::*;

fn at(seconds: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_700_000_000 + seconds, 0).unwrap()
}

/// A cgroup with `usage` bytes of memory under `limit`, and memory.stat's `raw` keys.
fn memory_stats(usage: u64, limit: u64, raw: &[(&str, u64)]) -> CgroupStats {
    let mut cg = CgroupStats::default();
    let m = cg.memory.get_or_insert_with(Default::default);
    m.usage.usage = usage;
    m.usage.limit = limit;
    m.raw = raw.iter().map(|(k, v)| (k.to_string(), *v)).collect();
    cg
}

#[test]
fn the_cpu_rate_is_over_the_previous_sample_and_unset_without_one() {
    let rates = CpuRates::default();
    assert_eq!(rates.rate("c1", at(0), 5_000_000_000), None);
    // 1.5 s of CPU in 2 s of wall time: 0.75 cores.
    assert_eq!(rates.rate("c1", at(2), 6_500_000_000), Some(750_000_000));
    // Each id has its own.
    assert_eq!(rates.rate("c2", at(2), 1), None);
    // No time passed, or the counter went back (a new cgroup): unset, as containerd.
    assert_eq!(rates.rate("c1", at(2), 7_000_000_000), None);
    assert_eq!(rates.rate("c1", at(3), 1_000), None);
    // The next rate is over the sample that went back.
    assert_eq!(
        rates.rate("c1", at(4), 1_000_000_000 + 1_000),
        Some(1_000_000_000)
    );
}

#[test]
fn old_samples_are_forgotten() {
    let rates = CpuRates::default();
    assert_eq!(rates.rate("gone", at(0), 1), None);
    let later = at(0) + FORGET_AFTER + TimeDelta::seconds(1);
    assert_eq!(rates.rate("other", later, 1), None);
    assert!(!rates.last.lock().unwrap().contains_key("gone"));
}

#[test]
fn cpu_reports_the_counter_and_the_rate_on_the_second_call() {
    let rates = CpuRates::default();
    let mut cg = CgroupStats::default();
    cg.cpu.get_or_insert_with(Default::default).usage.total = 1_000;
    let first = cpu("c", &cg, at(0), &rates).unwrap();
    assert_eq!(first.usage_core_nano_seconds, value(1_000));
    assert_eq!(first.usage_nano_cores, None);
    assert_eq!(first.timestamp, nanos(at(0)));
    cg.cpu.get_or_insert_with(Default::default).usage.total = 1_000_000_000;
    let second = cpu("c", &cg, at(1), &rates).unwrap();
    assert_eq!(second.usage_nano_cores, value(999_999_000));
    assert_eq!(cpu("c", &CgroupStats::default(), at(2), &rates), None);
}

#[test]
fn the_working_set_is_usage_less_inactive_file() {
    assert_eq!(working_set(100, 30), 70);
    assert_eq!(working_set(10, 30), 0);
}

#[test]
fn memory_from_cgroup_v2_names() {
    let cg = memory_stats(
        100 << 20,
        256 << 20,
        &[
            ("inactive_file", 10 << 20),
            ("anon", 60 << 20),
            ("pgfault", 7),
            ("pgmajfault", 2),
        ],
    );
    let m = memory(&cg, 42).unwrap();
    assert_eq!(m.timestamp, 42);
    assert_eq!(m.usage_bytes, value(100 << 20));
    assert_eq!(m.working_set_bytes, value(90 << 20));
    assert_eq!(m.available_bytes, value(166 << 20));
    assert_eq!(m.rss_bytes, value(60 << 20));
    assert_eq!(m.page_faults, value(7));
    assert_eq!(m.major_page_faults, value(2));
}

#[test]
fn memory_from_cgroup_v1_hierarchical_names_and_no_limit() {
    // v1's unlimited is the page-rounded i64 maximum, v2's u64::MAX.
    for unlimited in [0x7FFF_FFFF_FFFF_F000, u64::MAX] {
        let cg = memory_stats(
            50,
            unlimited,
            &[
                ("inactive_file", 1),
                ("total_inactive_file", 20),
                ("total_rss", 25),
                ("total_pgfault", 3),
                ("total_pgmajfault", 1),
            ],
        );
        let m = memory(&cg, 0).unwrap();
        assert_eq!(m.working_set_bytes, value(30));
        assert_eq!(m.available_bytes, None);
        assert_eq!(m.rss_bytes, value(25));
        assert_eq!(m.page_faults, value(3));
    }
    assert_eq!(memory(&CgroupStats::default(), 0), None);
}

#[test]
fn swap_is_memory_and_swap_less_memory() {
    let mut cg = memory_stats(100, 1_000, &[]);
    assert_eq!(swap(&cg, 0), None, "no swap accounting");
    let m = cg.memory.as_mut().unwrap();
    let mut both = m.usage.clone();
    both.usage = 130;
    both.limit = 1_500;
    m.swap = Some(both);
    let s = swap(&cg, 9).unwrap();
    assert_eq!(s.timestamp, 9);
    assert_eq!(s.swap_usage_bytes, value(30));
    assert_eq!(s.swap_available_bytes, value(470));
}

#[test]
fn the_default_interface_is_eth0_else_the_first() {
    let iface = |name: &str, rx_bytes| InterfaceStats {
        name: name.into(),
        rx_bytes,
        tx_errors: 3,
        ..InterfaceStats::default()
    };
    let n = network(&[iface("net1", 5), iface("eth0", 7)], 1);
    let default = n.default_interface.unwrap();
    assert_eq!(
        (default.name.as_str(), default.rx_bytes),
        ("eth0", value(7))
    );
    assert_eq!(default.tx_errors, value(3));
    assert_eq!(n.interfaces.len(), 2);
    let n = network(&[iface("net1", 5)], 1);
    assert_eq!(n.default_interface.unwrap().name, "net1");
    assert_eq!(network(&[], 1).default_interface, None);
}
