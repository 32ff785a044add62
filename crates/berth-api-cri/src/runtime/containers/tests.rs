use std::path::PathBuf;

use berth_engine::containers::{Config, Container, State, Status};
use berth_engine::model::{
    AppArmor, DeviceRequest, GroupPolicy, IdMapping, IpcMode, LogSpec, MountKind, MountRequest,
    NetworkMode, Owner, PidMode, ProcMount, Propagation, Seccomp, Selinux, UserNamespace, UtsMode,
};
use berth_engine::pods::{PodContainer, PodContainerMetadata, PodContainerRequest};
use tonic::Code;

use super::convert::container_request;
use super::report::{container, container_filter, container_status, state};
use crate::error::RequestError;
use crate::proto::{
    self, security_profile::ProfileType, ContainerConfig, ContainerMetadata, ContainerState,
    ImageSpec, KeyValue, LinuxContainerConfig, LinuxContainerResources,
    LinuxContainerSecurityContext, LinuxPodSandboxConfig, LinuxSandboxSecurityContext,
    MountPropagation, NamespaceMode, NamespaceOption, PodSandboxConfig, SecurityProfile,
};

const POD: &str = "p0d1d";

fn config() -> ContainerConfig {
    ContainerConfig {
        metadata: Some(ContainerMetadata {
            name: "app".into(),
            attempt: 3,
        }),
        image: Some(ImageSpec {
            image: "sha256:abc".into(),
            ..ImageSpec::default()
        }),
        log_path: "app/3.log".into(),
        ..ContainerConfig::default()
    }
}

fn sandbox() -> PodSandboxConfig {
    PodSandboxConfig {
        log_directory: "/var/log/pods/ns_web_u1".into(),
        linux: Some(LinuxPodSandboxConfig {
            cgroup_parent: "/kubepods/podu1".into(),
            security_context: Some(LinuxSandboxSecurityContext::default()),
            ..LinuxPodSandboxConfig::default()
        }),
        ..PodSandboxConfig::default()
    }
}

fn request(c: ContainerConfig) -> Result<PodContainerRequest, RequestError> {
    container_request(POD, c, &sandbox())
}

/// `c` with the security context `f` changes.
fn secured(f: impl FnOnce(&mut LinuxContainerSecurityContext)) -> ContainerConfig {
    let mut sc = LinuxContainerSecurityContext::default();
    f(&mut sc);
    ContainerConfig {
        linux: Some(LinuxContainerConfig {
            security_context: Some(sc),
            ..LinuxContainerConfig::default()
        }),
        ..config()
    }
}

fn with_resources(r: LinuxContainerResources) -> ContainerConfig {
    ContainerConfig {
        linux: Some(LinuxContainerConfig {
            resources: Some(r),
            ..LinuxContainerConfig::default()
        }),
        ..config()
    }
}

fn code(r: Result<PodContainerRequest, RequestError>) -> Code {
    tonic::Status::from(r.unwrap_err()).code()
}

fn bind(host: &str, target: &str) -> proto::Mount {
    proto::Mount {
        host_path: host.into(),
        container_path: target.into(),
        ..proto::Mount::default()
    }
}

#[test]
fn identity_owner_image_log_and_cgroup_parent() {
    let mut c = config();
    c.labels.insert("app".into(), "web".into());
    c.annotations.insert("a".into(), "1".into());
    let r = request(c).unwrap();
    assert_eq!(r.pod_id, POD);
    assert_eq!(
        r.metadata,
        PodContainerMetadata {
            name: "app".into(),
            attempt: 3
        }
    );
    assert_eq!(r.spec.owner, Owner::Pod(POD.parse().unwrap()));
    assert_eq!(r.spec.image, "sha256:abc");
    assert_eq!(r.spec.labels.get("app").map(String::as_str), Some("web"));
    assert_eq!(r.spec.annotations.get("a").map(String::as_str), Some("1"));
    assert_eq!(
        r.spec.log,
        LogSpec::Cri {
            path: "/var/log/pods/ns_web_u1/app/3.log".into()
        }
    );
    assert_eq!(
        r.spec.resources.cgroup_parent.as_deref(),
        Some("/kubepods/podu1")
    );
    assert_eq!(r.spec.network.mode, NetworkMode::Pod(POD.parse().unwrap()));
    assert_eq!(r.spec.check_owner().map_err(|e| e.to_string()), Ok(()));
}

#[test]
fn no_log_path_or_directory_is_no_log() {
    let mut c = config();
    c.log_path.clear();
    assert_eq!(request(c).unwrap().spec.log, LogSpec::None);
    let mut s = sandbox();
    s.log_directory.clear();
    assert_eq!(
        container_request(POD, config(), &s).unwrap().spec.log,
        LogSpec::None
    );
    // filepath.Join: an absolute log_path stays under the directory.
    let mut c = config();
    c.log_path = "/x.log".into();
    assert_eq!(
        request(c).unwrap().spec.log,
        LogSpec::Cri {
            path: "/var/log/pods/ns_web_u1/x.log".into()
        }
    );
}

#[test]
fn metadata_image_and_pod_id_are_required() {
    let mut c = config();
    c.metadata = None;
    assert!(matches!(
        request(c),
        Err(RequestError::Missing(_, "config.metadata"))
    ));
    let mut c = config();
    c.metadata = Some(ContainerMetadata::default());
    let err = request(c).unwrap_err();
    assert!(err.to_string().contains("config.metadata.name"), "{err}");
    let mut c = config();
    c.image = None;
    assert_eq!(code(request(c)), Code::InvalidArgument);
    assert!(matches!(
        container_request("../x", config(), &sandbox()),
        Err(RequestError::PodId(_))
    ));
}

#[test]
fn command_and_args_become_entrypoint_and_cmd() {
    let mut c = config();
    c.command = vec!["/bin/sh".into()];
    let p = request(c.clone()).unwrap().spec.process;
    assert_eq!(p.entrypoint, Some(vec!["/bin/sh".to_string()]));
    // A command alone leaves no cmd: the model's rule drops the image's.
    assert_eq!(p.cmd, None);
    c.args = vec!["-c".into(), "true".into()];
    let p = request(c.clone()).unwrap().spec.process;
    assert_eq!(p.cmd, Some(vec!["-c".to_string(), "true".to_string()]));
    c.command.clear();
    let p = request(c).unwrap().spec.process;
    assert_eq!(p.entrypoint, None);
    assert_eq!(p.cmd, Some(vec!["-c".to_string(), "true".to_string()]));
}

#[test]
fn process_fields() {
    let mut c = config();
    c.working_dir = "/srv".into();
    c.envs = vec![KeyValue {
        key: "A".into(),
        value: b"b=c".to_vec(),
    }];
    c.stdin = true;
    c.stdin_once = true;
    c.tty = true;
    c.stop_signal = proto::Signal::Sigquit.into();
    let p = request(c.clone()).unwrap().spec.process;
    assert_eq!(p.working_dir, Some(PathBuf::from("/srv")));
    assert_eq!(p.env, ["A=b=c"]);
    assert!(p.stdin && p.stdin_once && p.tty);
    assert_eq!(p.stop_signal.as_deref(), Some("SIGQUIT"));
    c.stop_signal = proto::Signal::Sigrtminplus3.into();
    let p = request(c.clone()).unwrap().spec.process;
    assert_eq!(p.stop_signal.as_deref(), Some("SIGRTMIN+3"));
    c.stop_signal = proto::Signal::RuntimeDefault.into();
    assert_eq!(request(c.clone()).unwrap().spec.process.stop_signal, None);
    c.stop_signal = 999;
    assert_eq!(code(request(c.clone())), Code::InvalidArgument);
    c.stop_signal = 0;
    c.envs[0].value = vec![0xff];
    assert!(matches!(request(c), Err(RequestError::Utf8 { .. })));
}

#[test]
fn users_and_groups_as_containerd() {
    fn id(value: i64) -> Option<proto::Int64Value> {
        Some(proto::Int64Value { value })
    }
    let user = |f: fn(&mut LinuxContainerSecurityContext)| {
        request(secured(f)).map(|r| r.spec.process.user)
    };
    assert_eq!(user(|_| {}).unwrap(), None);
    assert_eq!(
        user(|s| s.run_as_user = id(1000)).unwrap().as_deref(),
        Some("1000")
    );
    assert_eq!(
        user(|s| {
            s.run_as_user = id(1000);
            s.run_as_group = id(2000);
        })
        .unwrap()
        .as_deref(),
        Some("1000:2000")
    );
    // The name wins over the uid.
    assert_eq!(
        user(|s| {
            s.run_as_user = id(1000);
            s.run_as_username = "www".into();
            s.run_as_group = id(0);
        })
        .unwrap()
        .as_deref(),
        Some("www:0")
    );
    assert!(matches!(
        user(|s| s.run_as_group = id(5)),
        Err(RequestError::GroupWithoutUser(5))
    ));
    assert!(matches!(
        user(|s| s.run_as_user = id(-1)),
        Err(RequestError::Negative(_))
    ));
    assert!(matches!(
        user(|s| s.run_as_user = id(1 << 32)),
        Err(RequestError::Range { .. })
    ));
    let s = request(secured(|s| {
        s.supplemental_groups = vec![10, 20];
        s.supplemental_groups_policy = proto::SupplementalGroupsPolicy::Strict.into();
    }))
    .unwrap()
    .spec
    .security;
    assert_eq!(s.groups, ["10", "20"]);
    assert_eq!(s.group_policy, GroupPolicy::Strict);
    assert_eq!(
        code(request(secured(|s| s.supplemental_groups_policy = 7))),
        Code::InvalidArgument
    );
    assert_eq!(
        code(request(secured(|s| s.supplemental_groups = vec![-3]))),
        Code::InvalidArgument
    );
}

#[test]
fn host_path_mounts() {
    let mut c = config();
    let mut ro = bind("/data", "/srv/./data/");
    ro.readonly = true;
    ro.recursive_read_only = true;
    let mut slave = bind("/mnt", "/mnt");
    slave.propagation = MountPropagation::PropagationHostToContainer.into();
    let mut shared = bind("/shared", "/shared");
    shared.propagation = MountPropagation::PropagationBidirectional.into();
    c.mounts = vec![ro, slave, shared];
    let mounts = request(c).unwrap().spec.storage.mounts;
    assert_eq!(
        mounts[0],
        MountRequest {
            target: "/srv/data".into(),
            readonly: true,
            kind: MountKind::Bind {
                source: "/data".into(),
                propagation: Propagation::Rprivate,
                recursive: true,
                recursive_readonly: true,
                create_host_path: true,
                idmap: None,
            },
        }
    );
    let propagation = |m: &MountRequest| match &m.kind {
        MountKind::Bind { propagation, .. } => Some(*propagation),
        _ => None,
    };
    assert_eq!(propagation(&mounts[1]), Some(Propagation::Rslave));
    assert_eq!(propagation(&mounts[2]), Some(Propagation::Rshared));
}

#[test]
fn image_mounts() {
    let mut c = config();
    c.mounts = vec![proto::Mount {
        container_path: "/models".into(),
        image: Some(ImageSpec {
            image: "sha256:def".into(),
            ..ImageSpec::default()
        }),
        image_sub_path: "v1".into(),
        readonly: true,
        ..proto::Mount::default()
    }];
    let image = |readonly| MountRequest {
        target: "/models".into(),
        readonly,
        kind: MountKind::Image {
            reference: "sha256:def".into(),
            subpath: Some("v1".into()),
        },
    };
    assert_eq!(
        request(c.clone()).unwrap().spec.storage.mounts,
        [image(true)]
    );
    // Asked writable it stays so, for the engine to refuse (KEP 4639: read-only only).
    c.mounts[0].readonly = false;
    assert_eq!(request(c).unwrap().spec.storage.mounts, [image(false)]);
}

#[test]
fn status_reports_the_image_an_image_volume_mounts() {
    let mut pc = pod_container(Status::Running, 0, false);
    let image_id: berth_types::Digest = format!("sha256:{}", "b".repeat(64)).parse().unwrap();
    let storage = &mut pc.container.config.spec.storage;
    storage.mounts = vec![MountRequest {
        target: "/mnt/image".into(),
        readonly: true,
        kind: MountKind::Image {
            reference: "busybox:1".into(),
            subpath: Some("etc".into()),
        },
    }];
    pc.container.config.image_mounts = vec![berth_engine::pods::ImageMount {
        target: "/mnt/image".into(),
        image_id: image_id.clone(),
        snapshot_key: "c0ffee-image-0".into(),
        subpath: Some("etc".into()),
    }];
    let s = container_status(&pc);
    assert_eq!(
        s.mounts,
        [proto::Mount {
            container_path: "/mnt/image".into(),
            readonly: true,
            image: Some(ImageSpec {
                image: "busybox:1".into(),
                image_ref: image_id.to_string(),
                ..ImageSpec::default()
            }),
            image_sub_path: "etc".into(),
            ..proto::Mount::default()
        }]
    );
}

#[test]
fn bad_mounts_are_refused() {
    let refused = |m: proto::Mount| {
        let mut c = config();
        c.mounts = vec![m];
        request(c).unwrap_err()
    };
    assert!(matches!(
        refused(bind("/data", "rel")),
        RequestError::RelativePath {
            field: "config.mounts.container_path",
            ..
        }
    ));
    assert!(matches!(
        refused(bind("data", "/data")),
        RequestError::RelativePath {
            field: "config.mounts.host_path",
            ..
        }
    ));
    assert!(matches!(
        refused(bind("", "/data")),
        RequestError::MountSource(_)
    ));
    let mut rro = bind("/data", "/data");
    rro.recursive_read_only = true;
    assert!(matches!(
        refused(rro.clone()),
        RequestError::RecursiveReadOnlyRw(_)
    ));
    rro.readonly = true;
    rro.propagation = MountPropagation::PropagationBidirectional.into();
    let e = refused(rro);
    assert!(
        matches!(e, RequestError::RecursiveReadOnlyPropagation { .. }),
        "{e}"
    );
    assert_eq!(tonic::Status::from(e).code(), Code::InvalidArgument);
    let mut odd = bind("/data", "/data");
    odd.propagation = 9;
    assert!(matches!(refused(odd), RequestError::UnknownEnum { .. }));
    let mut half_mapped = bind("/data", "/data");
    half_mapped.uid_mappings = vec![proto::IdMapping {
        length: 1,
        ..proto::IdMapping::default()
    }];
    assert_eq!(
        tonic::Status::from(refused(half_mapped)).code(),
        Code::InvalidArgument
    );
}

#[test]
fn id_mapped_host_paths_keep_their_mappings() {
    let map = proto::IdMapping {
        container_id: 0,
        host_id: 100_000,
        length: 65536,
    };
    let mut mapped = bind("/data", "/data");
    mapped.uid_mappings = vec![map];
    mapped.gid_mappings = vec![map];
    let mut c = config();
    c.mounts = vec![mapped];
    let mounts = request(c).unwrap().spec.storage.mounts;
    let MountKind::Bind { idmap, .. } = &mounts[0].kind else {
        panic!("{mounts:?}");
    };
    let m = IdMapping {
        container_id: 0,
        host_id: 100_000,
        size: 65536,
    };
    assert_eq!(
        idmap.as_ref(),
        Some(&UserNamespace {
            uid_mappings: vec![m],
            gid_mappings: vec![m],
        })
    );
}

#[test]
fn devices() {
    let mut c = config();
    c.devices = vec![
        proto::Device {
            host_path: "/dev/fuse".into(),
            container_path: "/dev/fuse".into(),
            permissions: "rw".into(),
        },
        proto::Device {
            host_path: "/dev/null".into(),
            ..proto::Device::default()
        },
    ];
    assert_eq!(
        request(c.clone()).unwrap().spec.resources.devices,
        [
            DeviceRequest {
                host_path: "/dev/fuse".into(),
                container_path: Some("/dev/fuse".into()),
                access: "rw".into(),
            },
            DeviceRequest {
                host_path: "/dev/null".into(),
                container_path: None,
                access: "rwm".into(),
            }
        ]
    );
    c.devices[0].permissions = "rx".into();
    assert!(matches!(
        request(c),
        Err(RequestError::DevicePermissions { .. })
    ));
}

#[test]
fn resources() {
    let r = request(with_resources(LinuxContainerResources {
        cpu_period: 100_000,
        cpu_quota: 50_000,
        cpu_shares: 512,
        memory_limit_in_bytes: 1 << 30,
        oom_score_adj: 999,
        cpuset_cpus: "0-1".into(),
        cpuset_mems: "0".into(),
        hugepage_limits: vec![proto::HugepageLimit {
            page_size: "2MB".into(),
            limit: 4 << 20,
        }],
        unified: [("memory.high".to_string(), "1G".to_string())].into(),
        memory_swap_limit_in_bytes: 0,
    }))
    .unwrap()
    .spec
    .resources;
    assert_eq!(r.cpu.period, Some(100_000));
    assert_eq!(r.cpu.quota, Some(50_000));
    assert_eq!(r.cpu.shares, Some(512));
    assert_eq!(
        (r.cpu.cpus.as_deref(), r.cpu.mems.as_deref()),
        (Some("0-1"), Some("0"))
    );
    assert_eq!(r.memory.limit, Some(1 << 30));
    // No swap unless asked for: memory plus swap is the limit.
    assert_eq!(r.memory.swap, Some(1 << 30));
    assert_eq!(r.oom_score_adj, 999);
    assert_eq!(r.hugepages.get("2MB"), Some(&(4 << 20)));
    assert_eq!(r.unified.get("memory.high").map(String::as_str), Some("1G"));

    let r = request(with_resources(LinuxContainerResources {
        memory_limit_in_bytes: 100,
        memory_swap_limit_in_bytes: 300,
        ..LinuxContainerResources::default()
    }))
    .unwrap()
    .spec
    .resources;
    assert_eq!(r.memory.swap, Some(300));
    let r = request(config()).unwrap().spec.resources;
    assert_eq!(
        (r.cpu.period, r.memory.limit, r.memory.swap),
        (None, None, None)
    );

    assert!(matches!(
        request(with_resources(LinuxContainerResources {
            oom_score_adj: 1001,
            ..LinuxContainerResources::default()
        })),
        Err(RequestError::Range { .. })
    ));
    assert!(matches!(
        request(with_resources(LinuxContainerResources {
            cpu_shares: -2,
            ..LinuxContainerResources::default()
        })),
        Err(RequestError::Negative("config.linux.resources.cpu_shares"))
    ));
}

#[test]
fn capabilities_get_the_cap_prefix() {
    let s = request(secured(|s| {
        s.capabilities = Some(proto::Capability {
            add_capabilities: vec!["NET_ADMIN".into(), "sys_time".into()],
            drop_capabilities: vec!["ALL".into()],
            ..proto::Capability::default()
        });
        s.no_new_privs = true;
        s.readonly_rootfs = true;
    }))
    .unwrap()
    .spec
    .security;
    assert_eq!(s.capabilities.add, ["CAP_NET_ADMIN", "CAP_SYS_TIME"]);
    assert_eq!(s.capabilities.drop, ["ALL"]);
    assert!(s.no_new_privileges && s.readonly_rootfs);
    assert!(matches!(
        request(secured(|s| s.capabilities = Some(proto::Capability {
            add_capabilities: vec!["FLY".into()],
            ..proto::Capability::default()
        }))),
        Err(RequestError::Capability(_))
    ));
}

#[test]
fn privileged_needs_a_privileged_sandbox() {
    let c = secured(|s| s.privileged = true);
    assert!(matches!(
        request(c.clone()),
        Err(RequestError::PrivilegedSandbox)
    ));
    let mut s = sandbox();
    if let Some(sc) = s.linux.as_mut().and_then(|l| l.security_context.as_mut()) {
        sc.privileged = true;
    }
    let sec = container_request(POD, c, &s).unwrap().spec.security;
    assert!(sec.privileged);
    assert_eq!((sec.masked_paths, sec.readonly_paths), (None, None));
}

#[test]
fn masked_and_readonly_paths_as_the_kubelet_gives_them() {
    let s = request(secured(|s| {
        s.masked_paths = vec!["/proc/kcore".into()];
        s.readonly_paths = vec!["/proc/sys".into()];
    }))
    .unwrap()
    .spec
    .security;
    assert_eq!(s.proc_mount, ProcMount::Default);
    assert_eq!(s.masked_paths, Some(vec!["/proc/kcore".to_string()]));
    assert_eq!(s.readonly_paths, Some(vec!["/proc/sys".to_string()]));
    // procMount: Unmasked is sent as no paths at all.
    let s = request(config()).unwrap().spec.security;
    assert_eq!(s.proc_mount, ProcMount::Unmasked);
    assert_eq!((s.masked_paths, s.readonly_paths), (None, None));
}

#[test]
fn seccomp_typed_and_deprecated() {
    let typed = |t: ProfileType, r: &str| {
        request(secured(|s| {
            s.seccomp = Some(SecurityProfile {
                profile_type: t.into(),
                localhost_ref: r.into(),
            })
        }))
        .map(|r| r.spec.security.seccomp)
    };
    #[allow(deprecated)]
    let legacy = |p: &str| {
        request(secured(|s| s.seccomp_profile_path = p.into())).map(|r| r.spec.security.seccomp)
    };
    assert_eq!(
        typed(ProfileType::RuntimeDefault, "").unwrap(),
        Seccomp::Default
    );
    assert_eq!(
        typed(ProfileType::Unconfined, "").unwrap(),
        Seccomp::Unconfined
    );
    assert_eq!(
        typed(ProfileType::Localhost, "/p.json").unwrap(),
        Seccomp::Localhost("/p.json".into())
    );
    assert!(matches!(
        typed(ProfileType::RuntimeDefault, "/p.json"),
        Err(RequestError::LocalhostRef(_))
    ));
    assert_eq!(legacy("").unwrap(), Seccomp::Unconfined);
    assert_eq!(legacy("runtime/default").unwrap(), Seccomp::Default);
    assert_eq!(legacy("docker/default").unwrap(), Seccomp::Default);
    assert_eq!(legacy("unconfined").unwrap(), Seccomp::Unconfined);
    assert_eq!(
        legacy("localhost//p.json").unwrap(),
        Seccomp::Localhost("/p.json".into())
    );
    assert_eq!(
        code(legacy("bogus").map(|_| unreachable!())),
        Code::InvalidArgument
    );
}

#[test]
fn apparmor_and_selinux_are_kept() {
    let a = request(secured(|s| {
        s.apparmor = Some(SecurityProfile {
            profile_type: ProfileType::Localhost.into(),
            localhost_ref: "localhost/k8s-nginx".into(),
        })
    }))
    .unwrap()
    .spec
    .security
    .apparmor;
    assert_eq!(a, AppArmor::Profile("k8s-nginx".into()));
    #[allow(deprecated)]
    let legacy = |p: &str| {
        request(secured(|s| s.apparmor_profile = p.into())).map(|r| r.spec.security.apparmor)
    };
    assert_eq!(legacy("").unwrap(), AppArmor::Default);
    assert_eq!(legacy("unconfined").unwrap(), AppArmor::Unconfined);
    assert!(matches!(legacy("nope"), Err(RequestError::Profile { .. })));

    let label = |t: &str| proto::SeLinuxOption {
        r#type: t.into(),
        level: "s0:c1".into(),
        ..proto::SeLinuxOption::default()
    };
    let own = request(secured(|s| s.selinux_options = Some(label("ctr_t"))))
        .unwrap()
        .spec
        .security
        .selinux;
    let Selinux::Label(l) = own else {
        panic!("{own:?}")
    };
    assert_eq!(
        (l.kind.as_deref(), l.level.as_deref(), l.user),
        (Some("ctr_t"), Some("s0:c1"), None)
    );
    // Without its own, the sandbox's.
    let mut s = sandbox();
    if let Some(sc) = s.linux.as_mut().and_then(|l| l.security_context.as_mut()) {
        sc.selinux_options = Some(label("pod_t"));
    }
    let from_pod = container_request(POD, config(), &s)
        .unwrap()
        .spec
        .security
        .selinux;
    assert!(matches!(from_pod, Selinux::Label(l) if l.kind.as_deref() == Some("pod_t")));
    assert_eq!(
        request(config()).unwrap().spec.security.selinux,
        Selinux::Default
    );
}

fn sandbox_ns(ns: NamespaceOption) -> PodSandboxConfig {
    let mut s = sandbox();
    if let Some(sc) = s.linux.as_mut().and_then(|l| l.security_context.as_mut()) {
        sc.namespace_options = Some(ns);
    }
    s
}

fn with_ns(ns: NamespaceOption) -> ContainerConfig {
    secured(|s| s.namespace_options = Some(ns))
}

#[test]
fn namespaces_are_the_pods_or_the_hosts() {
    let pid = |p: NamespaceMode| NamespaceOption {
        pid: p.into(),
        ..NamespaceOption::default()
    };
    let r = request(with_ns(pid(NamespaceMode::Container)))
        .unwrap()
        .spec;
    assert_eq!(r.network.mode, NetworkMode::Pod(POD.parse().unwrap()));
    assert_eq!(
        (r.namespaces.ipc, r.namespaces.uts, r.namespaces.pid),
        (IpcMode::Pod, UtsMode::Pod, PidMode::Private)
    );
    assert_eq!(
        request(with_ns(pid(NamespaceMode::Pod)))
            .unwrap()
            .spec
            .namespaces
            .pid,
        PidMode::Pod
    );
    let target = NamespaceOption {
        pid: NamespaceMode::Target.into(),
        target_id: "c1".into(),
        ..NamespaceOption::default()
    };
    assert_eq!(
        request(with_ns(target)).unwrap().spec.namespaces.pid,
        PidMode::Target("c1".into())
    );
    assert!(matches!(
        request(with_ns(pid(NamespaceMode::Target))),
        Err(RequestError::Missing(..))
    ));
    assert!(matches!(
        request(with_ns(NamespaceOption {
            pid: 8,
            ..NamespaceOption::default()
        })),
        Err(RequestError::UnknownEnum { .. })
    ));

    // A host-network, host-IPC, host-PID sandbox: its containers join the host's.
    let host = NamespaceOption {
        network: NamespaceMode::Node.into(),
        ipc: NamespaceMode::Node.into(),
        pid: NamespaceMode::Node.into(),
        ..NamespaceOption::default()
    };
    let r = container_request(POD, with_ns(host.clone()), &sandbox_ns(host))
        .unwrap()
        .spec;
    assert_eq!(r.network.mode, NetworkMode::Host);
    assert_eq!(
        (r.namespaces.ipc, r.namespaces.uts, r.namespaces.pid),
        (IpcMode::Host, UtsMode::Host, PidMode::Host)
    );
    // NODE in a sandbox that is not: the sandbox's, as containerd joins it.
    let pid_node = request(with_ns(pid(NamespaceMode::Node))).unwrap().spec;
    assert_eq!(pid_node.namespaces.pid, PidMode::Pod);
}

#[test]
fn user_namespaces_match_the_sandbox() {
    let map = |host_id| proto::IdMapping {
        host_id,
        container_id: 0,
        length: 65536,
    };
    let userns = |mode: NamespaceMode, uids: Vec<proto::IdMapping>| NamespaceOption {
        userns_options: Some(proto::UserNamespace {
            mode: mode.into(),
            gids: uids.clone(),
            uids,
        }),
        ..NamespaceOption::default()
    };
    let pod = userns(NamespaceMode::Pod, vec![map(100_000)]);
    let r = container_request(POD, with_ns(pod.clone()), &sandbox_ns(pod.clone())).unwrap();
    let m = IdMapping {
        container_id: 0,
        host_id: 100_000,
        size: 65536,
    };
    assert_eq!(
        r.spec.namespaces.user,
        Some(UserNamespace {
            uid_mappings: vec![m],
            gid_mappings: vec![m],
        })
    );
    let other = userns(NamespaceMode::Pod, vec![map(200_000)]);
    assert!(matches!(
        container_request(POD, with_ns(other), &sandbox_ns(pod.clone())),
        Err(RequestError::UserNamespaceMismatch)
    ));
    assert!(matches!(
        request(with_ns(userns(NamespaceMode::Pod, vec![]))),
        Err(RequestError::UserNamespace { .. })
    ));
    assert!(matches!(
        request(with_ns(userns(NamespaceMode::Node, vec![map(1)]))),
        Err(RequestError::UserNamespace { .. })
    ));
    let node = userns(NamespaceMode::Node, vec![]);
    assert_eq!(request(with_ns(node)).unwrap().spec.namespaces.user, None);
}

#[test]
fn cdi_devices_are_not_supported() {
    let mut c = config();
    c.cdi_devices = vec![proto::CdiDevice {
        name: "vendor.com/gpu=0".into(),
    }];
    assert_eq!(code(request(c)), Code::Unimplemented);
}

/// A container of pod [`POD`] as the engine reports it (the metrics tests sample it too).
pub(in crate::runtime) fn pod_container(
    status: Status,
    exit_code: i32,
    oom_killed: bool,
) -> PodContainer {
    let mut c = config();
    let mut ro = bind("/data", "/data");
    ro.readonly = true;
    ro.recursive_read_only = true;
    let mut slave = bind("/mnt", "/mnt");
    slave.propagation = MountPropagation::PropagationHostToContainer.into();
    c.mounts = vec![ro, slave];
    c.labels.insert("app".into(), "web".into());
    c.annotations.insert("a".into(), "1".into());
    c.linux = Some(LinuxContainerConfig {
        resources: Some(LinuxContainerResources {
            cpu_quota: 20_000,
            memory_limit_in_bytes: 1 << 20,
            oom_score_adj: -10,
            ..LinuxContainerResources::default()
        }),
        security_context: None,
    });
    c.stop_signal = proto::Signal::Sigrtmaxminus2.into();
    let spec = request(c).unwrap().spec;
    let at = |s| chrono::DateTime::from_timestamp(s, 7).unwrap();
    PodContainer {
        pod_id: POD.into(),
        metadata: PodContainerMetadata {
            name: "app".into(),
            attempt: 3,
        },
        container: Container {
            id: "c0ffee".into(),
            name: "k8s_app".into(),
            image_id: format!("sha256:{}", "a".repeat(64)).parse().unwrap(),
            created: at(1),
            config: Config {
                spec,
                extension: None,
                image_name: "docker.io/library/nginx:latest".into(),
                path: String::new(),
                args: vec![],
                hostname: String::new(),
                mounts: vec![],
                inherited_mounts: vec![],
                links: vec![],
                image_mounts: vec![],
            },
            state: State {
                status,
                exit_code,
                oom_killed,
                error: "boom".into(),
                started_at: Some(at(2)),
                finished_at: Some(at(3)),
                ..State::default()
            },
            log_path: PathBuf::new(),
        },
    }
}

#[test]
fn states_of_engine_statuses() {
    assert_eq!(state(Status::Created), ContainerState::ContainerCreated);
    assert_eq!(state(Status::Running), ContainerState::ContainerRunning);
    assert_eq!(state(Status::Paused), ContainerState::ContainerRunning);
    assert_eq!(state(Status::Exited), ContainerState::ContainerExited);
    assert_eq!(state(Status::Dead), ContainerState::ContainerUnknown);
}

#[test]
fn list_entry() {
    let c = container(&pod_container(Status::Running, 0, false));
    let digest = format!("sha256:{}", "a".repeat(64));
    assert_eq!(c.id, "c0ffee");
    assert_eq!(c.pod_sandbox_id, POD);
    assert_eq!(c.metadata, config().metadata);
    assert_eq!(c.image.map(|i| i.image).as_deref(), Some("sha256:abc"));
    assert_eq!(
        (c.image_ref.as_str(), c.image_id.as_str()),
        (digest.as_str(), digest.as_str())
    );
    assert_eq!(c.state, i32::from(ContainerState::ContainerRunning));
    assert_eq!(c.created_at, 1_000_000_007);
    assert_eq!(c.labels.get("app").map(String::as_str), Some("web"));
    assert_eq!(c.annotations.get("a").map(String::as_str), Some("1"));
}

#[test]
fn status_times_and_reasons() {
    let s = container_status(&pod_container(Status::Created, 0, false));
    assert_eq!((s.started_at, s.finished_at, s.reason.as_str()), (0, 0, ""));
    let s = container_status(&pod_container(Status::Running, 0, false));
    assert_eq!((s.started_at, s.finished_at), (2_000_000_007, 0));
    assert_eq!(s.reason, "");
    let s = container_status(&pod_container(Status::Exited, 0, false));
    assert_eq!(
        (s.started_at, s.finished_at),
        (2_000_000_007, 3_000_000_007)
    );
    assert_eq!(s.reason, "Completed");
    let s = container_status(&pod_container(Status::Exited, 2, false));
    assert_eq!((s.exit_code, s.reason.as_str()), (2, "Error"));
    let s = container_status(&pod_container(Status::Exited, 137, true));
    assert_eq!(s.reason, "OOMKilled");
    assert_eq!(s.message, "boom");
    assert_eq!(s.state, i32::from(ContainerState::ContainerExited));
}

#[test]
fn status_echoes_the_request() {
    let s = container_status(&pod_container(Status::Running, 0, false));
    assert_eq!(s.id, "c0ffee");
    assert_eq!(s.metadata, config().metadata);
    assert_eq!(s.created_at, 1_000_000_007);
    assert_eq!(s.image.map(|i| i.image).as_deref(), Some("sha256:abc"));
    assert!(s.image_ref.starts_with("sha256:aaaa"));
    assert_eq!(s.log_path, "/var/log/pods/ns_web_u1/app/3.log");
    assert_eq!(s.labels.get("app").map(String::as_str), Some("web"));
    assert_eq!(s.annotations.get("a").map(String::as_str), Some("1"));
    assert_eq!(s.stop_signal, i32::from(proto::Signal::Sigrtmaxminus2));
    let mut ro = bind("/data", "/data");
    ro.readonly = true;
    ro.recursive_read_only = true;
    let mut slave = bind("/mnt", "/mnt");
    slave.propagation = MountPropagation::PropagationHostToContainer.into();
    assert_eq!(s.mounts, [ro, slave]);
    let r = s.resources.and_then(|r| r.linux).unwrap();
    assert_eq!(
        (
            r.cpu_quota,
            r.memory_limit_in_bytes,
            r.memory_swap_limit_in_bytes,
            r.oom_score_adj
        ),
        (20_000, 1 << 20, 1 << 20, -10)
    );
}

#[test]
fn list_filters_become_the_engine_filter() {
    let f = container_filter(Some(proto::ContainerFilter {
        id: "c0".into(),
        state: Some(proto::ContainerStateValue {
            state: ContainerState::ContainerExited.into(),
        }),
        pod_sandbox_id: POD.into(),
        label_selector: [("app".to_string(), "web".to_string())].into(),
    }));
    assert_eq!(f.id.as_deref(), Some("c0"));
    assert_eq!(f.pod_id.as_deref(), Some(POD));
    assert_eq!(f.status, Some(Status::Exited));
    assert_eq!(f.labels.get("app").map(String::as_str), Some("web"));
    let running = container_filter(Some(proto::ContainerFilter {
        state: Some(proto::ContainerStateValue {
            state: ContainerState::ContainerRunning.into(),
        }),
        ..proto::ContainerFilter::default()
    }));
    assert_eq!(running.status, Some(Status::Running));
    assert_eq!(running.id, None);
    assert_eq!(
        container_filter(Some(proto::ContainerFilter::default())),
        Default::default()
    );
    assert_eq!(container_filter(None), Default::default());
}
