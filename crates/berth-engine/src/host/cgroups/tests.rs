use std::fs;

use super::*;
use crate::spec::{HostConfig, WeightDevice};

fn tree(files: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for f in files {
        let path = dir.path().join(f);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, "").unwrap();
    }
    dir
}

#[test]
fn v1_hierarchies_answer_from_their_root_files() {
    let full = tree(&[
        "memory/memory.memsw.limit_in_bytes",
        "blkio/blkio.bfq.weight",
        "hugetlb/hugetlb.2MB.limit_in_bytes",
    ]);
    let s = CgroupSupport::probe(full.path());
    assert!(s.swap_limit && s.blkio_weight && s.hugetlb);
    let bare = tree(&[
        "memory/memory.limit_in_bytes",
        "blkio/blkio.throttle.read_bps_device",
    ]);
    let s = CgroupSupport::probe(bare.path());
    assert!(!s.swap_limit && !s.blkio_weight && !s.hugetlb);
}

#[test]
fn v2_answers_from_the_first_cgroup_with_the_controller() {
    let with = tree(&[
        "cgroup.controllers",
        "berth/memory.max",
        "berth/memory.swap.max",
        "berth/io.max",
        "berth/io.weight",
    ]);
    let s = CgroupSupport::probe(with.path());
    assert!(s.swap_limit && s.blkio_weight);
    let without = tree(&["cgroup.controllers", "berth/memory.max", "berth/io.max"]);
    let s = CgroupSupport::probe(without.path());
    assert!(!s.swap_limit && !s.blkio_weight);
    // Nothing below the root has the controllers yet: assumed, the runtime names what is missing.
    let unknown = tree(&["cgroup.controllers", "memory.stat"]);
    let s = CgroupSupport::probe(unknown.path());
    assert!(s.swap_limit && s.blkio_weight);
}

#[test]
fn unsupported_limits_are_dropped_with_dockerds_warnings() {
    let mut h = HostConfig {
        memory: 64 << 20,
        blkio_weight: 300,
        blkio_weight_device: vec![WeightDevice {
            path: "/dev/sda".into(),
            weight: 200,
        }],
        ..Default::default()
    };
    let none = CgroupSupport {
        swap_limit: false,
        blkio_weight: false,
        hugetlb: false,
    };
    let warnings = none.drop_unsupported(&mut h);
    assert_eq!(warnings.len(), 3, "{warnings:?}");
    assert!(warnings[0].contains("Memory limited without swap"));
    assert_eq!((h.memory_swap, h.blkio_weight), (-1, 0));
    assert!(h.blkio_weight_device.is_empty());
    // Supported, or nothing asked: nothing changes.
    let all = CgroupSupport {
        swap_limit: true,
        blkio_weight: true,
        hugetlb: true,
    };
    let mut h2 = HostConfig {
        memory: 64 << 20,
        blkio_weight: 300,
        ..Default::default()
    };
    assert!(all.drop_unsupported(&mut h2).is_empty());
    assert_eq!((h2.memory_swap, h2.blkio_weight), (0, 300));
    let mut plain = HostConfig::default();
    assert!(none.drop_unsupported(&mut plain).is_empty());
}

#[test]
fn hugepage_limits_go_only_where_no_hugetlb_controller_can_apply_them() {
    let v2 = tree(&["cgroup.controllers"]);
    fs::write(
        v2.path().join("cgroup.controllers"),
        "cpu memory hugetlb pids\n",
    )
    .unwrap();
    assert!(CgroupSupport::probe(v2.path()).hugetlb);
    fs::write(v2.path().join("cgroup.controllers"), "cpu memory pids\n").unwrap();
    let without = CgroupSupport::probe(v2.path());
    assert!(!without.hugetlb);
    // What a kubelet sends for a pod that asks for no hugepages.
    let asked = std::collections::BTreeMap::from([("2MB".to_string(), 0), ("1GB".to_string(), 0)]);
    let mut limits = asked.clone();
    let warning = without.drop_unsupported_hugepages(&mut limits);
    assert!(limits.is_empty());
    assert_eq!(
        warning.as_deref(),
        Some("the kernel has no hugetlb cgroup controller mounted: hugepage limits (1GB, 2MB) discarded")
    );
    let with = CgroupSupport {
        hugetlb: true,
        ..without
    };
    let mut limits = asked.clone();
    assert_eq!(with.drop_unsupported_hugepages(&mut limits), None);
    assert_eq!(limits, asked);
}
