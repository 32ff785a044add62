use super::*;

#[test]
fn memory_rules() {
    let h = |memory, memory_swap| HostConfig {
        memory,
        memory_swap,
        ..Default::default()
    };
    let m = memory(&h(0, 0)).unwrap();
    assert_eq!(
        (m.limit(), m.swap(), m.disable_oom_killer()),
        (None, None, Some(false))
    );
    let m = memory(&h(64 << 20, 0)).unwrap();
    assert_eq!((m.limit(), m.swap()), (Some(64 << 20), Some(128 << 20)));
    let m = memory(&h(64 << 20, -1)).unwrap();
    assert_eq!(m.swap(), None, "-1 = unlimited swap: not set");
    assert!(memory(&h(64 << 20, 32 << 20)).is_err(), "swap < memory");
    assert!(memory(&h(1 << 20, 0)).is_err(), "below 6MB");
    assert!(memory(&h(0, 64 << 20)).is_err(), "swap without memory");
    let bad_swappiness = HostConfig {
        memory_swappiness: Some(101),
        ..Default::default()
    };
    assert!(matches!(
        memory(&bad_swappiness),
        Err(SpecError::InvalidValue {
            option: "MemorySwappiness",
            ..
        })
    ));
    let res = HostConfig {
        memory: 64 << 20,
        memory_reservation: 128 << 20,
        ..Default::default()
    };
    assert!(memory(&res).is_err());
}

#[test]
fn cpu_rules() {
    let nano = HostConfig {
        nano_cpus: 1_500_000_000,
        ..Default::default()
    };
    let c = cpu(&nano).unwrap().unwrap();
    assert_eq!((c.period(), c.quota()), (Some(100_000), Some(150_000)));
    assert!(nano_cpus_within(nano.nano_cpus, 4).is_ok());
    assert!(
        nano_cpus_within(nano.nano_cpus, 1).is_err(),
        "more CPUs than the host has"
    );
    assert!(cpu(&HostConfig::default()).unwrap().is_none());
    let both = HostConfig {
        nano_cpus: 1_000_000_000,
        cpu_quota: 50_000,
        ..Default::default()
    };
    assert!(matches!(cpu(&both), Err(SpecError::Conflict(_))));
    let shares = HostConfig {
        cpu_shares: 512,
        cpuset_cpus: "0-1,3".into(),
        cpu_period: 50_000,
        cpu_quota: 25_000,
        ..Default::default()
    };
    let c = cpu(&shares).unwrap().unwrap();
    assert_eq!(c.shares(), Some(512));
    assert_eq!(c.cpus().as_deref(), Some("0-1,3"));
    assert_eq!((c.period(), c.quota()), (Some(50_000), Some(25_000)));
    let bad = HostConfig {
        cpuset_cpus: "3-1".into(),
        ..Default::default()
    };
    assert!(cpu(&bad).is_err());
}

#[test]
fn pids_and_blkio() {
    let p = |l| {
        pids(&HostConfig {
            pids_limit: l,
            ..Default::default()
        })
        .map(|p| p.limit())
    };
    assert_eq!(
        (p(None), p(Some(0)), p(Some(-5)), p(Some(100))),
        (None, Some(-1), Some(-1), Some(100))
    );
    let w = |weight| {
        block_io(
            &BlockIo {
                weight: Some(weight),
                ..Default::default()
            },
            &HostFs,
        )
    };
    assert_eq!(w(0).unwrap().weight(), Some(0));
    assert!(w(5).is_err() && w(1001).is_err());
}

#[test]
fn cgroup_rules() {
    let r = parse_cgroup_rule("c 1:3 rwm").unwrap();
    assert_eq!(
        (r.typ(), r.major(), r.minor(), r.access().as_deref()),
        (Some(LinuxDeviceType::C), Some(1), Some(3), Some("rwm"))
    );
    let r = parse_cgroup_rule("b *:* m").unwrap();
    assert_eq!((r.major(), r.minor()), (None, None));
    assert_eq!(parse_cgroup_rule("a *:* rwm").unwrap().typ(), None);
    for bad in ["c 1:3", "x 1:3 rwm", "c a:3 rwm", "c 1:3 rwx", "c 13 rw"] {
        assert!(parse_cgroup_rule(bad).is_err(), "{bad}");
    }
}

#[test]
fn ulimits() {
    let u = |name: &str, soft, hard| Ulimit {
        name: name.into(),
        soft,
        hard,
    };
    let r = rlimits(&[u("nofile", 1024, 4096), u("core", -1, -1)]).unwrap();
    assert_eq!(r[0].typ(), PosixRlimitType::RlimitNofile);
    assert_eq!((r[0].soft(), r[0].hard()), (1024, 4096));
    assert_eq!(r[1].hard(), u64::MAX);
    for bad in [
        vec![u("nofile", 10, 5)],
        vec![u("bogus", 1, 1)],
        vec![u("nofile", -2, 1)],
        vec![u("nproc", 1, 1), u("nproc", 2, 2)],
    ] {
        assert!(matches!(
            rlimits(&bad),
            Err(SpecError::InvalidUlimit { .. })
        ));
    }
}

#[test]
fn sysctl_rules() {
    let private = SharedNamespaces {
        net: false,
        ipc: false,
        uts: false,
    };
    let given = [("net.core.somaxconn".to_string(), "1024".to_string())].into();
    let s = sysctls(&given, private).unwrap();
    assert_eq!(s["net.core.somaxconn"], "1024");
    assert_eq!(s["net.ipv4.ip_unprivileged_port_start"], "0");
    let host_net = SharedNamespaces {
        net: true,
        ..private
    };
    assert!(sysctls(&given, host_net).is_err());
    assert!(sysctls(&Default::default(), host_net).unwrap().is_empty());
    let not_ns = [("vm.swappiness".to_string(), "1".to_string())].into();
    assert!(sysctls(&not_ns, private).is_err());
}
