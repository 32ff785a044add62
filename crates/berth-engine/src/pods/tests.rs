use std::path::Path;

use super::*;

fn pod(id: &str, phase: PodPhase, app: &str) -> Pod {
    Pod {
        id: id.into(),
        spec: PodSpec {
            labels: BTreeMap::from([("app".into(), app.into()), ("tier".into(), "web".into())]),
            ..PodSpec::default()
        },
        state: PodState {
            phase,
            ..PodState::default()
        },
        created: Utc::now(),
    }
}

#[test]
fn filters_match_id_prefix_readiness_and_every_label() {
    let p = pod("abcdef", PodPhase::Ready, "a");
    let labels = |pairs: &[(&str, &str)]| {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    let f = |id: Option<&str>, ready, l: &[(&str, &str)]| PodFilter {
        id: id.map(Into::into),
        ready,
        labels: labels(l),
    };
    assert!(f(None, None, &[]).matches(&p));
    assert!(f(Some("abcdef"), Some(true), &[("app", "a")]).matches(&p));
    assert!(f(Some("abcdef"), None, &[("app", "a"), ("tier", "web")]).matches(&p));
    // Prefixes are resolved before matching (list::full_id).
    assert!(!f(Some("abc"), None, &[]).matches(&p));
    assert!(!f(None, Some(false), &[]).matches(&p));
    assert!(!f(None, None, &[("app", "a"), ("tier", "db")]).matches(&p));
    assert!(!f(None, None, &[("zone", "")]).matches(&p));
    // A sandbox still being made is not ready.
    assert!(f(None, Some(false), &[]).matches(&pod("x", PodPhase::Creating, "a")));
}

#[test]
fn a_filter_id_prefix_names_one_pod_or_none() {
    let record = |id: &str| berth_store::metadata::PodRecord {
        id: id.into(),
        name: String::new(),
        namespace: String::new(),
        uid: String::new(),
        attempt: 0,
        config: String::new(),
        state: String::new(),
        created: Utc::now(),
    };
    let records = [record("abc1"), record("abc2"), record("def")];
    assert_eq!(list::full_id("d", &records), "def");
    assert_eq!(list::full_id("abc1", &records), "abc1");
    assert_eq!(
        list::full_id("abc", &records),
        "abc",
        "ambiguous: unchanged"
    );
    assert_eq!(list::full_id("x", &records), "x");
}

#[test]
fn cni_gets_the_kubernetes_args_host_ports_dns_and_pod_cidrs() {
    let spec = PodSpec {
        name: "web".into(),
        namespace: "default".into(),
        uid: "u1".into(),
        dns: Some(DnsConfig {
            servers: vec!["10.96.0.10".into()],
            searches: vec!["svc.cluster.local".into()],
            options: vec!["ndots:5".into()],
        }),
        port_mappings: vec![
            PortMapping {
                protocol: Protocol::Tcp,
                container_port: 80,
                host_port: 8080,
                host_ip: Some([127, 0, 0, 1].into()),
            },
            // Informational only: not published.
            PortMapping {
                protocol: Protocol::Udp,
                container_port: 53,
                host_port: 0,
                host_ip: None,
            },
        ],
        ..PodSpec::default()
    };
    let cidrs = [
        "10.244.0.0/24".parse().unwrap(),
        "fd00::/64".parse().unwrap(),
    ];
    let rt = network::runtime_conf("id1", &spec, Path::new("/run/ns"), &cidrs);
    assert_eq!(rt.ifname, "eth0");
    assert_eq!(rt.netns.as_deref(), Some(Path::new("/run/ns")));
    for pair in [
        ("K8S_POD_NAMESPACE", "default"),
        ("K8S_POD_NAME", "web"),
        ("K8S_POD_INFRA_CONTAINER_ID", "id1"),
        ("K8S_POD_UID", "u1"),
    ] {
        assert!(
            rt.args.contains(&(pair.0.to_string(), pair.1.to_string())),
            "{pair:?} in {:?}",
            rt.args
        );
    }
    let caps = &rt.capability_args;
    assert_eq!(caps.port_mappings.len(), 1);
    assert_eq!(
        (
            caps.port_mappings[0].host_port,
            caps.port_mappings[0].container_port
        ),
        (8080, 80)
    );
    assert_eq!(caps.ip_ranges.len(), 2, "one range set per pod CIDR");
    assert_eq!(
        caps.dns.as_ref().map(|d| d.servers.clone()),
        Some(vec!["10.96.0.10".to_string()])
    );
}

#[test]
fn specs_and_states_round_trip_through_their_records() {
    let spec = PodSpec {
        name: "web".into(),
        security: PodSecurity {
            seccomp: Seccomp::Localhost("/p.json".into()),
            ..PodSecurity::default()
        },
        ..PodSpec::default()
    };
    let state = PodState {
        phase: PodPhase::Ready,
        netns: Some("/run/ns".into()),
        ips: vec![[10, 0, 0, 2].into()],
        pid: 42,
        pid_start: 4711,
        network: None,
    };
    let record = berth_store::metadata::PodRecord {
        id: "p1".into(),
        name: "web".into(),
        namespace: String::new(),
        uid: String::new(),
        attempt: 0,
        config: serde_json::to_string(&spec).unwrap(),
        state: serde_json::to_string(&state).unwrap(),
        created: Utc::now(),
    };
    let pod = parse_record(record.clone()).unwrap();
    assert_eq!((pod.spec, pod.state), (spec, state));
    let broken = berth_store::metadata::PodRecord {
        state: "{".into(),
        ..record
    };
    let err = parse_record(broken).unwrap_err();
    assert!(err.to_string().contains("p1"), "{err}");
}

#[test]
fn installing_pause_replaces_a_copy_and_removes_what_a_crash_left_half_written() {
    let dir = tempfile::tempdir().unwrap();
    let pause = dir.path().join("berth-pause");
    std::fs::write(&pause, b"pause v2").unwrap();
    let rootfs = dir.path().join("pause").join("rootfs");
    std::fs::create_dir_all(&rootfs).unwrap();
    std::fs::write(rootfs.join("pause"), b"pause v1").unwrap();
    let stale = dir.path().join("pause").join("pause-0123abcd");
    std::fs::write(&stale, b"pau").unwrap();

    run::install_pause(&pause, &rootfs).unwrap();
    assert_eq!(std::fs::read(rootfs.join("pause")).unwrap(), b"pause v2");
    assert!(!stale.exists(), "a half-written copy is left");
    for d in ["proc", "dev", "sys"] {
        assert!(rootfs.join(d).is_dir(), "no mount point {d}");
    }
    let left: Vec<_> = std::fs::read_dir(dir.path().join("pause"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, ["rootfs"]);
}
