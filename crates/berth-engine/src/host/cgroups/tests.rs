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
    ]);
    let s = CgroupSupport::probe(full.path());
    assert!(s.swap_limit && s.blkio_weight);
    let bare = tree(&[
        "memory/memory.limit_in_bytes",
        "blkio/blkio.throttle.read_bps_device",
    ]);
    let s = CgroupSupport::probe(bare.path());
    assert!(!s.swap_limit && !s.blkio_weight);
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
