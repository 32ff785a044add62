use super::*;
use crate::pods::{PodNamespaces, PodSecurity};

fn id() -> berth_types::ContainerId {
    berth_types::ContainerId::new(&"a".repeat(64)).unwrap()
}

fn ns_types(s: &Spec) -> Vec<LinuxNamespaceType> {
    let linux = s.linux().as_ref().unwrap();
    linux
        .namespaces()
        .as_ref()
        .unwrap()
        .iter()
        .map(|n| n.typ())
        .collect()
}

#[test]
fn pod_pid_mode_gives_pause_its_own_namespaces() {
    let pod = PodSpec {
        hostname: "web-1".into(),
        cgroup_parent: "/kubepods/burstable/podu1".into(),
        ..PodSpec::default()
    };
    let s = sandbox_spec(&id(), &pod, Path::new("/r"), Some(Path::new("/n"))).unwrap();
    use LinuxNamespaceType as Ns;
    assert_eq!(
        ns_types(&s),
        [Ns::Mount, Ns::Network, Ns::Ipc, Ns::Uts, Ns::Pid]
    );
    assert_eq!(s.hostname().as_deref(), Some("web-1"));
    let linux = s.linux().as_ref().unwrap();
    assert_eq!(
        linux.cgroups_path().as_deref(),
        Some(Path::new(&format!(
            "/kubepods/burstable/podu1/{}",
            "a".repeat(64)
        )))
    );
    let p = s.process().as_ref().unwrap();
    assert_eq!(p.args().as_deref(), Some(&["/pause".to_string()][..]));
    assert_eq!(p.user().uid(), PAUSE_ID);
    assert!(p.oom_score_adj().unwrap() >= SANDBOX_OOM_SCORE_ADJ);
    assert!(s.root().as_ref().unwrap().readonly().unwrap());
    let mounts: Vec<_> = s
        .mounts()
        .iter()
        .flatten()
        .map(|m| m.destination())
        .collect();
    assert!(
        mounts.iter().any(|m| *m == Path::new("/proc")),
        "{mounts:?}"
    );
}

#[test]
fn host_namespaces_are_left_out() {
    let pod = PodSpec {
        namespaces: PodNamespaces {
            host_network: true,
            host_ipc: true,
            pid: PidMode::Node,
            user: None,
        },
        security: PodSecurity {
            run_as_user: Some(0),
            ..PodSecurity::default()
        },
        ..PodSpec::default()
    };
    let s = sandbox_spec(&id(), &pod, Path::new("/r"), None).unwrap();
    assert_eq!(ns_types(&s), [LinuxNamespaceType::Mount]);
    assert_eq!(s.hostname(), &None);
    assert_eq!(s.process().as_ref().unwrap().user().uid(), 0);
}

#[test]
fn only_namespaced_sysctls_of_the_pods_own_namespaces() {
    let with = |key: &str, namespaces: PodNamespaces| PodSpec {
        namespaces,
        sysctls: [(key.to_string(), "1".to_string())].into(),
        ..PodSpec::default()
    };
    let own = PodNamespaces::default();
    let host_net = PodNamespaces {
        host_network: true,
        ..PodNamespaces::default()
    };
    let host_ipc = PodNamespaces {
        host_ipc: true,
        ..PodNamespaces::default()
    };
    let netns = Some(Path::new("/n"));
    let spec = |pod: &PodSpec, netns| sandbox_spec(&id(), pod, Path::new("/r"), netns);

    let s = spec(&with("kernel.shm_rmid_forced", own.clone()), netns).unwrap();
    let sysctl = s.linux().as_ref().unwrap().sysctl().clone().unwrap();
    assert_eq!(sysctl["kernel.shm_rmid_forced"], "1");
    // Unprivileged ports and ping in the pod's own network namespace, as containerd 2.
    assert_eq!(sysctl["net.ipv4.ip_unprivileged_port_start"], "0");

    // Global keys, and keys of a namespace the node shares, would change the node.
    for (key, namespaces, netns) in [
        ("vm.swappiness", own, netns),
        ("kernel.panic", PodNamespaces::default(), netns),
        ("net.ipv4.ip_forward", host_net, None),
        ("kernel.shm_rmid_forced", host_ipc, netns),
    ] {
        let err = spec(&with(key, namespaces), netns).unwrap_err();
        assert!(err.to_string().contains(key), "{err}");
        assert_eq!(err.kind(), berth_types::ErrorKind::InvalidArgument, "{err}");
    }
}

#[test]
fn resources_add_overhead_to_the_pod() {
    let r = |quota, mem| PodResources {
        cpu_period: 100_000,
        cpu_quota: quota,
        cpu_shares: 2,
        memory_limit: mem,
    };
    let res = resources(Some(r(10_000, 1 << 20)), Some(r(50_000, 64 << 20)));
    let cpu = res.cpu().as_ref().unwrap();
    assert_eq!(
        (cpu.quota(), cpu.period(), cpu.shares()),
        (Some(60_000), Some(100_000), Some(4))
    );
    assert_eq!(res.memory().as_ref().unwrap().limit(), Some(65 << 20));
    assert_eq!(resources(None, None).cpu(), &None);
}

#[test]
fn only_cgroupfs_parents() {
    assert!(matches!(
        check_cgroup_parent("kubepods-burstable.slice"),
        Err(PodError::SystemdCgroupParent(_))
    ));
    assert!(check_cgroup_parent("kubepods/x").is_err());
    assert!(check_cgroup_parent("/kubepods/burstable/podx").is_ok());
    assert!(check_cgroup_parent("").is_ok());
}

fn userns(host_id: u32) -> crate::model::UserNamespace {
    let map = crate::model::IdMapping {
        container_id: 0,
        host_id,
        size: 65536,
    };
    crate::model::UserNamespace {
        uid_mappings: vec![map],
        gid_mappings: vec![map],
    }
}

#[test]
fn a_pod_user_namespace_gives_pause_the_mappings_and_a_network_namespace_it_owns() {
    let pod = PodSpec {
        namespaces: PodNamespaces {
            user: Some(userns(100_000)),
            ..PodNamespaces::default()
        },
        ..PodSpec::default()
    };
    // The pinned path is not joined: it is the namespace pause makes, pinned afterwards.
    let s = sandbox_spec(&id(), &pod, Path::new("/r"), None).unwrap();
    let linux = s.linux().as_ref().unwrap();
    let types = ns_types(&s);
    assert!(types.contains(&LinuxNamespaceType::User), "{types:?}");
    assert!(types.contains(&LinuxNamespaceType::Network), "{types:?}");
    assert!(linux
        .namespaces()
        .as_ref()
        .unwrap()
        .iter()
        .all(|n| n.path().is_none()));
    let uid = &linux.uid_mappings().as_ref().unwrap()[0];
    assert_eq!(
        (uid.container_id(), uid.host_id(), uid.size()),
        (0, 100_000, 65536)
    );
    assert_eq!(linux.gid_mappings().as_ref().unwrap().len(), 1);
    // Every gid would include unmapped ones, which the kernel refuses in the namespace.
    let sysctl = linux.sysctl().as_ref().unwrap();
    assert_eq!(sysctl["net.ipv4.ping_group_range"], "0 65535");

    let mut unmapped_root = userns(100_000);
    unmapped_root.uid_mappings[0].container_id = 1;
    let pod = PodSpec {
        namespaces: PodNamespaces {
            user: Some(unmapped_root),
            ..PodNamespaces::default()
        },
        ..PodSpec::default()
    };
    let err = sandbox_spec(&id(), &pod, Path::new("/r"), None).unwrap_err();
    assert_eq!(err.kind(), berth_types::ErrorKind::InvalidArgument, "{err}");
}
