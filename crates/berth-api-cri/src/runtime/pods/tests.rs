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
            pid: PidMode::Container
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
