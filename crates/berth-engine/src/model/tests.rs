use std::fmt::Display;
use std::str::FromStr;

use super::*;

/// Every canonical string parses to `value` and prints back the same.
fn round_trips<T>(cases: &[(&str, T)])
where
    T: FromStr<Err = ModelError> + Display + PartialEq + std::fmt::Debug,
{
    for (text, value) in cases {
        let parsed: T = text.parse().unwrap();
        assert_eq!(&parsed, value, "{text}");
        assert_eq!(parsed.to_string(), *text);
    }
}

/// Each input is refused with this message.
fn refuses<T: FromStr<Err = ModelError> + std::fmt::Debug>(cases: &[(&str, &str)]) {
    for (text, message) in cases {
        let err = text.parse::<T>().unwrap_err();
        assert_eq!(err.to_string(), *message, "{text}");
        assert_eq!(err.kind(), berth_types::ErrorKind::InvalidArgument);
    }
}

fn pod(id: &str) -> PodId {
    id.parse().unwrap()
}

#[test]
fn network_modes() {
    round_trips(&[
        ("default", NetworkMode::Default),
        ("bridge", NetworkMode::Bridge),
        ("host", NetworkMode::Host),
        ("none", NetworkMode::None),
        ("container:web", NetworkMode::Container("web".into())),
        ("pod:p1", NetworkMode::Pod(pod("p1"))),
        ("backend", NetworkMode::Named("backend".into())),
    ]);
    assert_eq!("".parse::<NetworkMode>().unwrap(), NetworkMode::Default);
    refuses::<NetworkMode>(&[
        (
            "container:",
            "invalid NetworkMode \"container:\": unknown mode",
        ),
        ("pod:", "invalid NetworkMode \"pod:\": unknown mode"),
        (
            "pod:a/b",
            "invalid pod id \"a/b\": use letters, digits, '_', '+', '-' and '.'",
        ),
    ]);
}

#[test]
fn network_mode_helpers() {
    let m = |s: &str| s.parse::<NetworkMode>().unwrap();
    assert_eq!(m("default").network(), Some("bridge"));
    assert_eq!(m("backend").network(), Some("backend"));
    assert_eq!(m("host").network(), None);
    assert_eq!(m("container:web").joined_container(), Some("web"));
    assert!(m("none").has_own_namespace());
    assert!(!m("pod:p1").has_own_namespace());
}

#[test]
fn namespace_modes() {
    round_trips(&[
        ("private", IpcMode::Private),
        ("shareable", IpcMode::Shareable),
        ("host", IpcMode::Host),
        ("none", IpcMode::None),
        ("container:db", IpcMode::Container("db".into())),
        ("pod", IpcMode::Pod),
    ]);
    round_trips(&[
        ("private", PidMode::Private),
        ("host", PidMode::Host),
        ("container:db", PidMode::Container("db".into())),
        ("pod", PidMode::Pod),
        ("target:app", PidMode::Target("app".into())),
    ]);
    round_trips(&[
        ("private", UtsMode::Private),
        ("host", UtsMode::Host),
        ("pod", UtsMode::Pod),
    ]);
    round_trips(&[
        ("private", CgroupnsMode::Private),
        ("host", CgroupnsMode::Host),
    ]);
    // Docker's empty string is the private namespace.
    assert_eq!("".parse::<IpcMode>().unwrap(), IpcMode::Private);
    assert_eq!("".parse::<PidMode>().unwrap(), PidMode::Private);
    assert_eq!("".parse::<UtsMode>().unwrap(), UtsMode::Private);
}

#[test]
fn unknown_namespace_modes_use_the_spec_builders_words() {
    refuses::<IpcMode>(&[
        ("shared", "invalid IpcMode \"shared\": unknown mode"),
        ("container:", "invalid IpcMode \"container:\": unknown mode"),
        ("target:x", "invalid IpcMode \"target:x\": unknown mode"),
    ]);
    refuses::<PidMode>(&[
        ("shareable", "invalid PidMode \"shareable\": unknown mode"),
        ("target:", "invalid PidMode \"target:\": unknown mode"),
    ]);
    refuses::<UtsMode>(&[(
        "container:x",
        "invalid UTSMode \"container:x\": unknown mode",
    )]);
    refuses::<CgroupnsMode>(&[
        ("", "invalid CgroupnsMode \"\": unknown mode"),
        ("shared", "invalid CgroupnsMode \"shared\": unknown mode"),
    ]);
}

#[test]
fn propagations_and_protocols() {
    round_trips(&[
        ("private", Propagation::Private),
        ("rprivate", Propagation::Rprivate),
        ("shared", Propagation::Shared),
        ("rshared", Propagation::Rshared),
        ("slave", Propagation::Slave),
        ("rslave", Propagation::Rslave),
    ]);
    refuses::<Propagation>(&[(
        "rsharde",
        "invalid propagation \"rsharde\": invalid propagation mode",
    )]);
    round_trips(&[
        ("tcp", Protocol::Tcp),
        ("udp", Protocol::Udp),
        ("sctp", Protocol::Sctp),
    ]);
    refuses::<Protocol>(&[(
        "icmp",
        "invalid protocol \"icmp\": must be tcp, udp or sctp",
    )]);
}

#[test]
fn restart_policies_print_as_the_cli_spells_them() {
    for (policy, text) in [
        (RestartPolicy::No, "no"),
        (RestartPolicy::Always, "always"),
        (RestartPolicy::UnlessStopped, "unless-stopped"),
        (RestartPolicy::OnFailure { max_retries: None }, "on-failure"),
        (
            RestartPolicy::OnFailure {
                max_retries: Some(3),
            },
            "on-failure:3",
        ),
    ] {
        assert_eq!(policy.to_string(), text);
    }
}

/// A spec using a value of every enum, as the CRI side would build one.
fn pod_container() -> ContainerSpec {
    let mut s = ContainerSpec {
        owner: Owner::Pod(pod("sandbox1")),
        image: "registry.k8s.io/pause:3.10".into(),
        ..Default::default()
    };
    s.network.mode = NetworkMode::Pod(pod("sandbox1"));
    s.namespaces = Namespaces {
        ipc: IpcMode::Pod,
        pid: PidMode::Target("app".into()),
        uts: UtsMode::Pod,
        cgroup: Some(CgroupnsMode::Private),
        user: Some(UserNamespace {
            uid_mappings: vec![IdMapping {
                container_id: 0,
                host_id: 100_000,
                size: 65_536,
            }],
            gid_mappings: vec![],
        }),
    };
    s.storage.mounts = vec![
        MountRequest {
            target: "/data".into(),
            readonly: true,
            kind: MountKind::Bind {
                source: "/srv".into(),
                propagation: Propagation::Rslave,
                recursive: true,
                recursive_readonly: true,
                create_host_path: false,
                idmap: None,
            },
        },
        MountRequest {
            target: "/models".into(),
            readonly: true,
            kind: MountKind::Image {
                reference: "example.com/weights:1".into(),
                subpath: Some("v2".into()),
            },
        },
    ];
    s.security.seccomp = Seccomp::Localhost("/var/lib/kubelet/seccomp/audit.json".into());
    s.security.proc_mount = ProcMount::Unmasked;
    s.security.group_policy = GroupPolicy::Strict;
    s.security.selinux = Selinux::Label(SelinuxLabel {
        level: Some("s0:c1,c2".into()),
        ..Default::default()
    });
    s.resources.hugepages.insert("2MB".into(), 1 << 30);
    s.resources
        .unified
        .insert("memory.high".into(), "1G".into());
    s.log = LogSpec::Cri {
        path: "/var/log/pods/ns_pod_uid/app/0.log".into(),
    };
    s
}

#[test]
fn the_json_form_is_snake_case_and_round_trips() {
    let spec = pod_container();
    let json = serde_json::to_value(&spec).unwrap();
    assert_eq!(json["format"], 2);
    assert_eq!(json["owner"], serde_json::json!({"pod": "sandbox1"}));
    assert_eq!(
        json["network"]["mode"],
        serde_json::json!({"pod": "sandbox1"})
    );
    assert_eq!(
        json["namespaces"]["pid"],
        serde_json::json!({"target": "app"})
    );
    assert_eq!(json["namespaces"]["ipc"], "pod");
    assert_eq!(json["restart"], "no");
    assert_eq!(
        json["storage"]["mounts"][0]["kind"]["bind"]["propagation"],
        "rslave"
    );
    assert_eq!(json["security"]["selinux"]["label"]["level"], "s0:c1,c2");
    let back: ContainerSpec = serde_json::from_value(json).unwrap();
    assert_eq!(back, spec);

    let on_failure = RestartPolicy::OnFailure {
        max_retries: Some(5),
    };
    let json = serde_json::to_string(&on_failure).unwrap();
    assert_eq!(json, r#"{"on_failure":{"max_retries":5}}"#);
}

#[test]
fn missing_fields_take_their_defaults() {
    // A later engine may add fields; an older row lacks them and must still load.
    let spec: ContainerSpec = serde_json::from_str(r#"{"format": 2, "image": "alpine"}"#).unwrap();
    assert_eq!(spec.image, "alpine");
    assert_eq!(spec.network.mode, NetworkMode::Default);
    assert_eq!(spec.log, LogSpec::JsonFile(FileLogOptions::default()));
    spec.check_format().unwrap();
}

#[test]
fn a_newer_format_is_refused() {
    let spec = ContainerSpec {
        format: ContainerSpec::FORMAT + 1,
        ..Default::default()
    };
    assert_eq!(
        spec.check_format().unwrap_err().to_string(),
        "container spec format 3 is newer than this engine's (2)"
    );
}

#[test]
fn pod_modes_need_the_pod_as_owner() {
    pod_container().check_owner().unwrap();

    let mut other_pod = pod_container();
    other_pod.network.mode = NetworkMode::Pod(pod("sandbox2"));
    assert_eq!(
        other_pod.check_owner().unwrap_err().to_string(),
        "network mode \"pod:sandbox2\" needs the container to belong to that pod"
    );

    let mut docker = ContainerSpec::default();
    docker.check_owner().unwrap();
    docker.namespaces.uts = UtsMode::Pod;
    assert!(matches!(
        docker.check_owner(),
        Err(ModelError::NotInPod { .. })
    ));
}

#[test]
fn owners_have_namespaces() {
    assert_eq!(Owner::Docker.namespace(), "moby");
    assert_eq!(Owner::Pod(pod("p")).namespace(), "k8s.io");
    assert!(serde_json::from_str::<PodId>(r#""..""#).is_err());
}
