use super::*;

#[test]
fn json_shape_matches_runc_events() {
    let stats = Stats {
        cpu: Some(CpuStats {
            usage: CpuUsage {
                total: 10,
                percpu: vec![4, 6],
                kernel: 3,
                user: 7,
            },
            throttling: Some(Throttling {
                periods: 1,
                throttled_periods: 2,
                throttled_time: 3,
            }),
        }),
        pids: Some(PidsStats {
            current: 1,
            limit: 0,
        }),
        hugetlb: BTreeMap::from([("2MB".to_owned(), HugetlbStats::default())]),
        ..Stats::default()
    };
    let json = serde_json::to_value(&stats).unwrap();
    assert_eq!(
        json,
        serde_json::json!({
            "cpu": {
                "usage": {"total": 10, "percpu": [4, 6], "kernel": 3, "user": 7},
                "throttling": {"periods": 1, "throttledPeriods": 2, "throttledTime": 3}
            },
            "pids": {"current": 1, "limit": 0},
            "hugetlb": {"2MB": {"usage": 0, "max": 0, "failcnt": 0}}
        })
    );
    let mem = MemoryStats {
        kernel_tcp: Some(MemoryEntry::default()),
        ..MemoryStats::default()
    };
    let json = serde_json::to_value(mem).unwrap();
    assert!(json.get("kernelTCP").is_some());
    assert!(json.get("swap").is_none());
    let blkio = BlkioStats {
        io_service_bytes_recursive: vec![BlkioEntry {
            major: 8,
            minor: 0,
            op: "Read".to_owned(),
            value: 1,
        }],
        ..BlkioStats::default()
    };
    assert_eq!(
        serde_json::to_value(blkio).unwrap(),
        serde_json::json!({"ioServiceBytesRecursive": [
            {"major": 8, "minor": 0, "op": "Read", "value": 1}
        ]})
    );
}
