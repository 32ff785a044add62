use super::*;
use crate::proto::{LinuxPodSandboxConfig, LinuxSandboxSecurityContext, NamespaceOption};

// A kubelet 1.20's config: the deprecated seccomp path is what it sends.
#[allow(deprecated)]
fn config() -> PodSandboxConfig {
    PodSandboxConfig {
        metadata: Some(PodSandboxMetadata {
            name: "web".into(),
            uid: "u1".into(),
            namespace: "default".into(),
            attempt: 2,
        }),
        hostname: "web-0".into(),
        port_mappings: vec![proto::PortMapping {
            protocol: proto::Protocol::Udp.into(),
            container_port: 53,
            host_port: 1053,
            host_ip: "127.0.0.1".into(),
        }],
        linux: Some(LinuxPodSandboxConfig {
            cgroup_parent: "/kubepods/podu1".into(),
            security_context: Some(LinuxSandboxSecurityContext {
                namespace_options: Some(NamespaceOption {
                    network: NamespaceMode::Node.into(),
                    pid: NamespaceMode::Container.into(),
                    ipc: NamespaceMode::Pod.into(),
                    ..NamespaceOption::default()
                }),
                run_as_user: Some(proto::Int64Value { value: 1000 }),
                seccomp_profile_path: "runtime/default".into(),
                ..LinuxSandboxSecurityContext::default()
            }),
            ..LinuxPodSandboxConfig::default()
        }),
        ..PodSandboxConfig::default()
    }
}

#[test]
fn a_sandbox_config_becomes_the_engine_pod_spec() {
    let spec = pod_spec(config(), String::new()).unwrap();
    assert_eq!(
        (spec.name.as_str(), spec.uid.as_str(), spec.attempt),
        ("web", "u1", 2)
    );
    assert_eq!(
        spec.namespaces,
        PodNamespaces {
            host_network: true,
            host_ipc: false,
            pid: PidMode::Container,
            user: None,
        }
    );
    assert_eq!(spec.security.run_as_user, Some(1000));
    assert_eq!(spec.security.seccomp, Seccomp::RuntimeDefault);
    assert_eq!(
        spec.port_mappings,
        [PortMapping {
            protocol: Protocol::Udp,
            container_port: 53,
            host_port: 1053,
            host_ip: Some([127, 0, 0, 1].into()),
        }]
    );
    assert_eq!(spec.cgroup_parent, "/kubepods/podu1");
}

#[test]
fn bad_sandbox_configs_are_refused_before_the_engine() {
    let mut c = config();
    c.metadata = None;
    assert!(matches!(
        pod_spec(c, String::new()),
        Err(RequestError::Missing(..))
    ));
    let mut c = config();
    c.port_mappings[0].host_port = 70000;
    assert!(matches!(
        pod_spec(c, String::new()),
        Err(RequestError::Port(70000))
    ));
    let mut c = config();
    if let Some(ns) = c
        .linux
        .as_mut()
        .and_then(|l| l.security_context.as_mut())
        .and_then(|s| s.namespace_options.as_mut())
    {
        ns.pid = NamespaceMode::Target.into();
    }
    assert!(matches!(
        pod_spec(c, String::new()),
        Err(RequestError::SandboxPidMode(3))
    ));
}

#[test]
fn seccomp_profiles_old_and_new() {
    let typed = |t: ProfileType, r: &str| {
        seccomp(
            Some(proto::SecurityProfile {
                profile_type: t.into(),
                localhost_ref: r.into(),
            }),
            "unconfined",
        )
        .unwrap()
    };
    assert_eq!(
        typed(ProfileType::RuntimeDefault, ""),
        Seccomp::RuntimeDefault
    );
    assert_eq!(
        typed(ProfileType::Localhost, "/p.json"),
        Seccomp::Localhost("/p.json".into())
    );
    assert_eq!(seccomp(None, "").unwrap(), Seccomp::Unconfined);
    assert_eq!(
        seccomp(None, "localhost//p.json").unwrap(),
        Seccomp::Localhost("/p.json".into())
    );
    assert!(seccomp(None, "bogus").is_err());
}

#[test]
fn list_filters_become_the_engine_filter() {
    let f = list::filter(proto::PodSandboxFilter {
        id: "abc".into(),
        state: Some(proto::PodSandboxStateValue {
            state: PodSandboxState::SandboxNotready.into(),
        }),
        label_selector: [("app".to_string(), "web".to_string())].into(),
    });
    assert_eq!(f.id.as_deref(), Some("abc"));
    assert_eq!(f.ready, Some(false));
    assert_eq!(f.labels.get("app").map(String::as_str), Some("web"));
    let empty = list::filter(proto::PodSandboxFilter::default());
    assert_eq!(empty, berth_engine::pods::PodFilter::default());
}

#[test]
fn status_reports_ips_namespaces_and_identity() {
    let spec = pod_spec(config(), String::new()).unwrap();
    let pod = Pod {
        id: "p1".into(),
        spec,
        state: berth_engine::pods::PodState {
            phase: PodPhase::Ready,
            ips: vec![[10, 1, 0, 5].into(), "fd00::5".parse().unwrap()],
            ..Default::default()
        },
        created: chrono::DateTime::from_timestamp(1, 5).unwrap(),
    };
    let s = status::status(&pod);
    assert_eq!(s.state, i32::from(PodSandboxState::SandboxReady));
    assert_eq!(s.created_at, 1_000_000_005);
    assert_eq!(s.metadata, config().metadata);
    let net = s.network.unwrap();
    assert_eq!(net.ip, "10.1.0.5");
    assert_eq!(net.additional_ips[0].ip, "fd00::5");
    let options = s.linux.unwrap().namespaces.unwrap().options.unwrap();
    assert_eq!(options.network, i32::from(NamespaceMode::Node));
    assert_eq!(options.pid, i32::from(NamespaceMode::Container));
    assert_eq!(options.ipc, i32::from(NamespaceMode::Pod));
    let userns = options.userns_options.unwrap();
    assert_eq!(userns.mode, i32::from(NamespaceMode::Node));
    assert!(userns.uids.is_empty());
}

/// A config whose pod has a network of its own and `userns_options` `u`.
fn with_userns(u: proto::UserNamespace) -> PodSandboxConfig {
    let mut c = config();
    if let Some(ns) = c
        .linux
        .as_mut()
        .and_then(|l| l.security_context.as_mut())
        .and_then(|s| s.namespace_options.as_mut())
    {
        ns.network = NamespaceMode::Pod.into();
        ns.userns_options = Some(u);
    }
    c
}

#[test]
fn pod_user_namespaces_are_parsed_checked_and_reported() {
    let map = |container_id, length| proto::IdMapping {
        container_id,
        host_id: 100_000,
        length,
    };
    let pod_mode = |uids: Vec<proto::IdMapping>| proto::UserNamespace {
        mode: NamespaceMode::Pod.into(),
        gids: uids.clone(),
        uids,
    };
    let spec = pod_spec(with_userns(pod_mode(vec![map(0, 65536)])), String::new()).unwrap();
    let user = spec.namespaces.user.clone().unwrap();
    assert_eq!(user.root_on_host(), Some((100_000, 100_000)));
    assert_eq!(user.uid_mappings.len(), 1);
    assert_eq!(user.gid_mappings[0].size, 65536);

    let pod = Pod {
        id: "p2".into(),
        spec,
        state: berth_engine::pods::PodState::default(),
        created: chrono::DateTime::from_timestamp(1, 0).unwrap(),
    };
    let options = status::status(&pod)
        .linux
        .unwrap()
        .namespaces
        .unwrap()
        .options
        .unwrap();
    assert_eq!(options.userns_options, Some(pod_mode(vec![map(0, 65536)])));

    // critest's refusals: two mappings, container id 0 unmapped, CONTAINER and TARGET modes.
    for bad in [
        pod_mode(vec![map(0, 1), map(1, 1)]),
        pod_mode(vec![map(1, 65536)]),
        pod_mode(vec![map(0, 0)]),
        proto::UserNamespace {
            mode: NamespaceMode::Container.into(),
            ..Default::default()
        },
        proto::UserNamespace {
            mode: NamespaceMode::Target.into(),
            ..Default::default()
        },
    ] {
        assert!(
            matches!(
                pod_spec(with_userns(bad.clone()), String::new()),
                Err(RequestError::UserNamespace { .. })
            ),
            "{bad:?}"
        );
    }
    let node = proto::UserNamespace {
        mode: NamespaceMode::Node.into(),
        ..Default::default()
    };
    assert_eq!(
        pod_spec(with_userns(node), String::new())
            .unwrap()
            .namespaces
            .user,
        None
    );
}
