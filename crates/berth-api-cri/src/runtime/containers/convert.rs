//! CreateContainer's `ContainerConfig`, with the config of its sandbox, as the engine's typed
//! request: containerd's CRI server is the reference (`internal/cri/server/container_create*.go`,
//! `internal/cri/opts/spec_linux_opts.go`, `internal/cri/sputil`). What the image provides
//! (entrypoint, user, env) is merged by the engine when it builds the spec.

use std::path::{Component, Path, PathBuf};

use berth_engine::model::{
    AppArmor, CapChanges, ContainerSpec, Cpu, DeviceRequest, GroupPolicy, IdMapping, IpcMode,
    LogSpec, Memory, MountKind, MountRequest, Namespaces, NetworkMode, Networking, Owner, PidMode,
    PodId, ProcMount, ProcessSpec, Propagation, Resources, Seccomp, Security, Selinux,
    SelinuxLabel, Storage, UserNamespace, UtsMode,
};
use berth_engine::pods::{PodContainerMetadata, PodContainerRequest};
use berth_engine::spec::ALL_CAPABILITIES;

use crate::error::RequestError;
use crate::proto::{
    self, security_profile::ProfileType, ContainerConfig, LinuxContainerResources,
    LinuxContainerSecurityContext, LinuxSandboxSecurityContext, MountPropagation, NamespaceMode,
    PodSandboxConfig, SupplementalGroupsPolicy,
};

const RPC: &str = "CreateContainer";

/// The request the engine creates `config`'s container from, in pod `pod_id` made from
/// `sandbox`. Windows fields are ignored; CDI devices are refused (no CDI registry yet).
pub(in crate::runtime) fn container_request(
    pod_id: &str,
    config: ContainerConfig,
    sandbox: &PodSandboxConfig,
) -> Result<PodContainerRequest, RequestError> {
    let meta = config
        .metadata
        .ok_or(RequestError::Missing(RPC, "config.metadata"))?;
    if meta.name.is_empty() {
        return Err(RequestError::Missing(RPC, "config.metadata.name"));
    }
    let image = config.image.map(|i| i.image).unwrap_or_default();
    if image.is_empty() {
        return Err(RequestError::NoImage(RPC));
    }
    if !config.cdi_devices.is_empty() {
        return Err(RequestError::Unsupported(
            "CDI devices (config.CDI_devices)",
        ));
    }
    let pod: PodId = pod_id
        .parse()
        .map_err(|_| RequestError::PodId(pod_id.to_string()))?;
    let linux = config.linux.unwrap_or_default();
    let sc = linux.security_context.unwrap_or_default();
    let sandbox_linux = sandbox.linux.as_ref();
    let sandbox_sc = sandbox_linux.and_then(|l| l.security_context.as_ref());

    let (network, namespaces) = namespaces(&pod, &sc, sandbox_sc)?;
    let mut resources = resources(linux.resources.unwrap_or_default())?;
    resources.devices = config
        .devices
        .into_iter()
        .map(device)
        .collect::<Result<_, _>>()?;
    resources.cgroup_parent = sandbox_linux
        .map(|l| l.cgroup_parent.clone())
        .filter(|p| !p.is_empty());
    let process = ProcessSpec {
        // Go's nil and empty lists are one on the wire: an empty command keeps the image's
        // entrypoint, empty args the image's cmd; a command alone drops the image's cmd too
        // (the model's rule, containerd's WithProcessArgs).
        entrypoint: (!config.command.is_empty()).then_some(config.command),
        cmd: (!config.args.is_empty()).then_some(config.args),
        env: config
            .envs
            .into_iter()
            .map(|kv| match String::from_utf8(kv.value) {
                Ok(value) => Ok(format!("{}={value}", kv.key)),
                Err(_) => Err(RequestError::Utf8 {
                    field: "config.envs",
                    key: kv.key,
                }),
            })
            .collect::<Result<_, _>>()?,
        working_dir: (!config.working_dir.is_empty()).then(|| PathBuf::from(config.working_dir)),
        user: user(&sc)?,
        tty: config.tty,
        stdin: config.stdin,
        stdin_once: config.stdin_once,
        stop_signal: stop_signal(config.stop_signal)?,
        ..ProcessSpec::default()
    };
    let spec = ContainerSpec {
        owner: Owner::Pod(pod.clone()),
        image,
        labels: config.labels.into_iter().collect(),
        annotations: config.annotations.into_iter().collect(),
        process,
        network: Networking {
            mode: network,
            ..Networking::default()
        },
        namespaces,
        storage: Storage {
            mounts: config
                .mounts
                .into_iter()
                .map(mount)
                .collect::<Result<_, _>>()?,
            ..Storage::default()
        },
        resources,
        security: security(sc, sandbox_sc)?,
        log: log(&sandbox.log_directory, &config.log_path),
        ..ContainerSpec::default()
    };
    Ok(PodContainerRequest {
        pod_id: pod.to_string(),
        metadata: PodContainerMetadata {
            name: meta.name,
            attempt: meta.attempt,
        },
        spec,
    })
}

/// The CRI log file: the sandbox's directory joined with the container's path, as Go's
/// `filepath.Join` (an absolute `log_path` stays under the directory); without either, no log
/// at all, as containerd.
fn log(directory: &str, path: &str) -> LogSpec {
    if directory.is_empty() || path.is_empty() {
        return LogSpec::None;
    }
    LogSpec::Cri {
        path: Path::new(directory).join(path.trim_start_matches('/')),
    }
}

/// `user[:group]` as containerd's GenerateUserString: the name wins over the uid; a group alone
/// is an error; neither leaves the image's user.
fn user(sc: &LinuxContainerSecurityContext) -> Result<Option<String>, RequestError> {
    let id = |v: &Option<proto::Int64Value>, field| {
        v.as_ref().map(|v| numeric_id(v.value, field)).transpose()
    };
    let uid = id(&sc.run_as_user, "config.linux.security_context.run_as_user")?;
    let gid = id(
        &sc.run_as_group,
        "config.linux.security_context.run_as_group",
    )?;
    let user = match (&sc.run_as_username, uid) {
        (name, _) if !name.is_empty() => name.clone(),
        (_, Some(uid)) => uid,
        (_, None) => {
            return match &sc.run_as_group {
                Some(g) => Err(RequestError::GroupWithoutUser(g.value)),
                None => Ok(None),
            }
        }
    };
    Ok(Some(match gid {
        Some(gid) => format!("{user}:{gid}"),
        None => user,
    }))
}

/// A uid or gid as the model's string; ids are 32 bits on Linux.
fn numeric_id(value: i64, field: &'static str) -> Result<String, RequestError> {
    match u32::try_from(value) {
        Ok(id) => Ok(id.to_string()),
        Err(_) if value < 0 => Err(RequestError::Negative(field)),
        Err(_) => Err(RequestError::Range {
            field,
            value,
            min: 0,
            max: u32::MAX.into(),
        }),
    }
}

/// The signal's name as containerd stores it (`SIGRTMIN+1` for `SIGRTMINPLUS1`); the runtime's
/// default is `None`, the image's or SIGTERM.
fn stop_signal(value: i32) -> Result<Option<String>, RequestError> {
    match proto::Signal::try_from(value) {
        Ok(proto::Signal::RuntimeDefault) => Ok(None),
        Ok(signal) => Ok(Some(
            signal
                .as_str_name()
                .replacen("PLUS", "+", 1)
                .replacen("MINUS", "-", 1),
        )),
        Err(_) => Err(RequestError::UnknownEnum {
            field: "config.stop_signal",
            value,
        }),
    }
}

/// The network mode and the other namespaces. containerd joins the sandbox's network, IPC and
/// UTS namespaces whatever the container's options say (the kubelet sends the pod's): they are
/// the host's where the sandbox's options say NODE, and the sandbox has the host's UTS with the
/// host's network. PID is the container's choice: its own (CONTAINER), a target's, or else the
/// sandbox's, which is the host's when the sandbox's is NODE.
fn namespaces(
    pod: &PodId,
    sc: &LinuxContainerSecurityContext,
    sandbox: Option<&LinuxSandboxSecurityContext>,
) -> Result<(NetworkMode, Namespaces), RequestError> {
    let pod_ns = sandbox.and_then(|s| s.namespace_options.as_ref());
    let host = |mode: Option<i32>| mode == Some(NamespaceMode::Node as i32);
    let host_network = host(pod_ns.map(|n| n.network));
    let ns = sc.namespace_options.clone().unwrap_or_default();
    let pid = match NamespaceMode::try_from(ns.pid) {
        Ok(NamespaceMode::Container) => PidMode::Private,
        Ok(NamespaceMode::Target) if ns.target_id.is_empty() => {
            return Err(RequestError::Missing(
                RPC,
                "config.linux.security_context.namespace_options.target_id",
            ))
        }
        Ok(NamespaceMode::Target) => PidMode::Target(ns.target_id.clone()),
        Ok(NamespaceMode::Pod | NamespaceMode::Node) if host(pod_ns.map(|n| n.pid)) => {
            PidMode::Host
        }
        Ok(NamespaceMode::Pod | NamespaceMode::Node) => PidMode::Pod,
        Err(_) => {
            return Err(RequestError::UnknownEnum {
                field: "config.linux.security_context.namespace_options.pid",
                value: ns.pid,
            })
        }
    };
    let user = user_namespace(
        ns.userns_options.as_ref(),
        "config.linux.security_context.namespace_options.userns_options",
    )?;
    let pod_user = user_namespace(
        pod_ns.and_then(|n| n.userns_options.as_ref()),
        "sandbox_config.linux.security_context.namespace_options.userns_options",
    )?;
    if user != pod_user {
        return Err(RequestError::UserNamespaceMismatch);
    }
    let namespaces = Namespaces {
        ipc: if host(pod_ns.map(|n| n.ipc)) {
            IpcMode::Host
        } else {
            IpcMode::Pod
        },
        pid,
        uts: if host_network {
            UtsMode::Host
        } else {
            UtsMode::Pod
        },
        cgroup: None,
        user,
    };
    let network = if host_network {
        NetworkMode::Host
    } else {
        NetworkMode::Pod(pod.clone())
    };
    Ok((network, namespaces))
}

/// containerd's parseUsernsIDs: NODE (the host's) takes no mappings, POD needs one line of
/// each; `None` is the host's.
/// NamespaceOption.userns_options as the engine's: POD with one uid and one gid mapping of
/// container id 0 (the kubelet's; the engine maps the pod's root), or NODE (`None`).
pub(in crate::runtime) fn user_namespace(
    u: Option<&proto::UserNamespace>,
    field: &'static str,
) -> Result<Option<UserNamespace>, RequestError> {
    let Some(u) = u else { return Ok(None) };
    let invalid = |reason| RequestError::UserNamespace { field, reason };
    let mapping = |m: &[proto::IdMapping]| match m {
        [m] if m.container_id != 0 => Err(invalid("the mapping must start at container id 0")),
        [m] if m.length >= 1 => Ok(vec![IdMapping {
            container_id: m.container_id,
            host_id: m.host_id,
            size: m.length,
        }]),
        [_] => Err(invalid("a mapping's length must be at least 1")),
        _ => Err(invalid(
            "POD mode needs exactly one UID and one GID mapping",
        )),
    };
    match NamespaceMode::try_from(u.mode) {
        Ok(NamespaceMode::Node) if u.uids.is_empty() && u.gids.is_empty() => Ok(None),
        Ok(NamespaceMode::Node) => Err(invalid("NODE mode takes no mappings")),
        Ok(NamespaceMode::Pod) => Ok(Some(UserNamespace {
            uid_mappings: mapping(&u.uids)?,
            gid_mappings: mapping(&u.gids)?,
        })),
        _ => Err(invalid("mode must be POD or NODE")),
    }
}

/// A path inside the container: absolute, cleaned lexically as Go's `filepath.Clean`.
fn container_path(field: &'static str, path: &str) -> Result<PathBuf, RequestError> {
    if !path.starts_with('/') {
        return Err(RequestError::RelativePath {
            field,
            value: path.to_string(),
        });
    }
    let mut out = PathBuf::from("/");
    for c in Path::new(path).components() {
        match c {
            Component::Normal(p) => out.push(p),
            Component::ParentDir => {
                out.pop();
            }
            _ => {}
        }
    }
    Ok(out)
}

/// One CRI mount: a host path (containerd's `rbind` with the propagation asked) or an image
/// volume.
fn mount(m: proto::Mount) -> Result<MountRequest, RequestError> {
    let target = container_path("config.mounts.container_path", &m.container_path)?;
    let idmap = mount_idmap(&m)?;
    let image = m.image.map(|i| i.image).filter(|i| !i.is_empty());
    match (image, m.host_path.is_empty()) {
        (Some(_), true) if idmap.is_some() => Err(RequestError::Unsupported(
            "id-mapped image volumes (config.mounts uid_mappings, gid_mappings with an image)",
        )),
        // Image volumes are read-only by definition (KEP 4639): the engine refuses one asked
        // writable, as containerd does, rather than quietly making it read-only.
        (Some(reference), true) => Ok(MountRequest {
            target,
            readonly: m.readonly,
            kind: MountKind::Image {
                reference,
                subpath: (!m.image_sub_path.is_empty()).then(|| PathBuf::from(m.image_sub_path)),
            },
        }),
        (None, false) => {
            if !m.host_path.starts_with('/') {
                return Err(RequestError::RelativePath {
                    field: "config.mounts.host_path",
                    value: m.host_path,
                });
            }
            let asked = MountPropagation::try_from(m.propagation).map_err(|_| {
                RequestError::UnknownEnum {
                    field: "config.mounts.propagation",
                    value: m.propagation,
                }
            })?;
            if m.recursive_read_only && !m.readonly {
                return Err(RequestError::RecursiveReadOnlyRw(m.host_path));
            }
            if m.recursive_read_only && asked != MountPropagation::PropagationPrivate {
                return Err(RequestError::RecursiveReadOnlyPropagation {
                    host_path: m.host_path,
                    propagation: asked.as_str_name(),
                });
            }
            let propagation = match asked {
                MountPropagation::PropagationPrivate => Propagation::Rprivate,
                MountPropagation::PropagationHostToContainer => Propagation::Rslave,
                MountPropagation::PropagationBidirectional => Propagation::Rshared,
            };
            Ok(MountRequest {
                target,
                readonly: m.readonly,
                kind: MountKind::Bind {
                    source: PathBuf::from(m.host_path),
                    propagation,
                    recursive: true,
                    recursive_readonly: m.recursive_read_only,
                    // containerd makes a missing host directory rather than failing.
                    create_host_path: true,
                    idmap,
                },
            })
        }
        _ => Err(RequestError::MountSource(m.container_path)),
    }
}

/// A host-path mount's id mappings (the kubelet's for a pod with a user namespace), as
/// containerd 2 passes them: the OCI mount's `uidMappings`/`gidMappings`, both or neither.
fn mount_idmap(m: &proto::Mount) -> Result<Option<UserNamespace>, RequestError> {
    let maps = |list: &[proto::IdMapping]| -> Vec<IdMapping> {
        list.iter()
            .map(|m| IdMapping {
                container_id: m.container_id,
                host_id: m.host_id,
                size: m.length,
            })
            .collect()
    };
    let invalid = |reason| RequestError::UserNamespace {
        field: "config.mounts uid_mappings, gid_mappings",
        reason,
    };
    match (m.uid_mappings.is_empty(), m.gid_mappings.is_empty()) {
        (true, true) => Ok(None),
        (false, false) => {
            let user = UserNamespace {
                uid_mappings: maps(&m.uid_mappings),
                gid_mappings: maps(&m.gid_mappings),
            };
            let all = user.uid_mappings.iter().chain(&user.gid_mappings);
            if all.clone().any(|m| m.size == 0) {
                return Err(invalid("a mapping's length must be at least 1"));
            }
            Ok(Some(user))
        }
        _ => Err(invalid(
            "an id-mapped mount needs both uid and gid mappings",
        )),
    }
}

fn device(d: proto::Device) -> Result<DeviceRequest, RequestError> {
    if d.host_path.is_empty() {
        return Err(RequestError::Missing(RPC, "config.devices.host_path"));
    }
    if !d.permissions.chars().all(|c| matches!(c, 'r' | 'w' | 'm')) {
        return Err(RequestError::DevicePermissions {
            path: d.host_path,
            permissions: d.permissions,
        });
    }
    Ok(DeviceRequest {
        container_path: match d.container_path.as_str() {
            "" => None,
            p => Some(container_path("config.devices.container_path", p)?),
        },
        host_path: PathBuf::from(d.host_path),
        // runc reads an empty access as all of it; say so, as Docker's --device does.
        access: match d.permissions.as_str() {
            "" => "rwm".to_string(),
            _ => d.permissions,
        },
    })
}

/// The limits; CRI's zeros are "not specified" (containerd's WithResources). Without a swap
/// limit, memory plus swap is the memory limit: containerd's "no swap by default".
pub(super) fn resources(r: LinuxContainerResources) -> Result<Resources, RequestError> {
    let unsigned = |v: i64, field| match u64::try_from(v) {
        Ok(0) => Ok(None),
        Ok(v) => Ok(Some(v)),
        Err(_) => Err(RequestError::Negative(field)),
    };
    let nonzero = |v: i64| (v != 0).then_some(v);
    let text = |s: String| (!s.is_empty()).then_some(s);
    let limit = nonzero(r.memory_limit_in_bytes);
    let oom_score_adj = i32::try_from(r.oom_score_adj)
        .ok()
        .filter(|v| (-1000..=1000).contains(v))
        .ok_or(RequestError::Range {
            field: "config.linux.resources.oom_score_adj",
            value: r.oom_score_adj,
            min: -1000,
            max: 1000,
        })?;
    Ok(Resources {
        cpu: Cpu {
            shares: unsigned(r.cpu_shares, "config.linux.resources.cpu_shares")?,
            quota: nonzero(r.cpu_quota),
            period: unsigned(r.cpu_period, "config.linux.resources.cpu_period")?,
            cpus: text(r.cpuset_cpus),
            mems: text(r.cpuset_mems),
            ..Cpu::default()
        },
        memory: Memory {
            limit,
            swap: nonzero(r.memory_swap_limit_in_bytes).or(limit),
            ..Memory::default()
        },
        hugepages: r
            .hugepage_limits
            .into_iter()
            .map(|h| (h.page_size, h.limit))
            .collect(),
        unified: r.unified.into_iter().collect(),
        oom_score_adj,
        ..Resources::default()
    })
}

/// Privileges and confinement; the sandbox gives what containerd takes from it: whether a
/// privileged container is allowed, and the SELinux label when the container has none.
fn security(
    mut sc: LinuxContainerSecurityContext,
    sandbox: Option<&LinuxSandboxSecurityContext>,
) -> Result<Security, RequestError> {
    if sc.privileged && !sandbox.is_some_and(|s| s.privileged) {
        return Err(RequestError::PrivilegedSandbox);
    }
    // Kubelets before 1.22 send only these deprecated fields: still read as the fallback.
    #[allow(deprecated)]
    let (legacy_seccomp, legacy_apparmor) = (
        std::mem::take(&mut sc.seccomp_profile_path),
        std::mem::take(&mut sc.apparmor_profile),
    );
    let caps = sc.capabilities.unwrap_or_default();
    let names = |names: Vec<String>| -> Result<Vec<String>, RequestError> {
        names.iter().map(|n| capability(n)).collect()
    };
    // The kubelet asks for an unmasked /proc (procMount: Unmasked) by sending no paths at all;
    // containerd then masks nothing, which ProcMount::Unmasked says. A privileged container
    // gets none either way (the engine's defaults for it).
    let unmasked = sc.masked_paths.is_empty() && sc.readonly_paths.is_empty();
    let given = |paths: Vec<String>| (!sc.privileged && !unmasked).then_some(paths);
    let selinux = sc
        .selinux_options
        .as_ref()
        .or(sandbox.and_then(|s| s.selinux_options.as_ref()))
        .map(selinux)
        .unwrap_or_default();
    Ok(Security {
        privileged: sc.privileged,
        capabilities: CapChanges {
            add: names(caps.add_capabilities)?,
            drop: names(caps.drop_capabilities)?,
        },
        no_new_privileges: sc.no_new_privs,
        seccomp: seccomp(sc.seccomp, &legacy_seccomp)?,
        apparmor: apparmor(sc.apparmor, &legacy_apparmor)?,
        selinux,
        proc_mount: if unmasked && !sc.privileged {
            ProcMount::Unmasked
        } else {
            ProcMount::Default
        },
        masked_paths: given(sc.masked_paths.clone()),
        readonly_paths: given(sc.readonly_paths.clone()),
        readonly_rootfs: sc.readonly_rootfs,
        groups: sc
            .supplemental_groups
            .iter()
            .map(|&g| numeric_id(g, "config.linux.security_context.supplemental_groups"))
            .collect::<Result<_, _>>()?,
        group_policy: match SupplementalGroupsPolicy::try_from(sc.supplemental_groups_policy) {
            Ok(SupplementalGroupsPolicy::Merge) => GroupPolicy::Merge,
            Ok(SupplementalGroupsPolicy::Strict) => GroupPolicy::Strict,
            Err(_) => {
                return Err(RequestError::UnknownEnum {
                    field: "config.linux.security_context.supplemental_groups_policy",
                    value: sc.supplemental_groups_policy,
                })
            }
        },
        ..Security::default()
    })
}

/// The model's canonical name (`CAP_NET_ADMIN`, or `ALL`). CRI names have no `CAP_` prefix and
/// containerd adds it; one already there is tolerated.
fn capability(name: &str) -> Result<String, RequestError> {
    let upper = name.to_ascii_uppercase();
    if upper == "ALL" {
        return Ok(upper);
    }
    let full = if upper.starts_with("CAP_") {
        upper
    } else {
        format!("CAP_{upper}")
    };
    if ALL_CAPABILITIES.iter().any(|(n, _)| *n == full) {
        Ok(full)
    } else {
        Err(RequestError::Capability(name.to_string()))
    }
}

fn selinux(o: &proto::SeLinuxOption) -> Selinux {
    let part = |s: &str| (!s.is_empty()).then(|| s.to_string());
    let label = SelinuxLabel {
        user: part(&o.user),
        role: part(&o.role),
        kind: part(&o.r#type),
        level: part(&o.level),
    };
    if label == SelinuxLabel::default() {
        Selinux::Default
    } else {
        Selinux::Label(label)
    }
}

/// A deprecated profile string (`runtime/default`, `docker/default`, `unconfined`,
/// `localhost/<ref>`) as the typed profile, as containerd's generateSecurityProfile.
fn legacy_profile(path: &str, field: &'static str) -> Result<proto::SecurityProfile, RequestError> {
    let (profile_type, localhost_ref) = match path {
        "runtime/default" | "docker/default" => (ProfileType::RuntimeDefault, ""),
        "unconfined" => (ProfileType::Unconfined, ""),
        p => match p.strip_prefix("localhost/") {
            Some(r) => (ProfileType::Localhost, r),
            None => {
                return Err(RequestError::Profile {
                    field,
                    value: path.to_string(),
                })
            }
        },
    };
    Ok(proto::SecurityProfile {
        profile_type: profile_type.into(),
        localhost_ref: localhost_ref.to_string(),
    })
}

/// A typed profile's kind and its localhost reference (`localhost/` trimmed, as containerd).
fn profile(
    p: &proto::SecurityProfile,
    field: &'static str,
) -> Result<(ProfileType, String), RequestError> {
    let kind = ProfileType::try_from(p.profile_type).map_err(|_| RequestError::UnknownEnum {
        field,
        value: p.profile_type,
    })?;
    if kind != ProfileType::Localhost && !p.localhost_ref.is_empty() {
        return Err(RequestError::LocalhostRef(field));
    }
    let reference = p.localhost_ref.trim_start_matches("localhost/");
    Ok((kind, reference.to_string()))
}

/// The typed field over the deprecated path; neither is unconfined, as containerd (whose
/// `unset_seccomp_profile` is empty by default). A privileged container gets none anyway.
fn seccomp(p: Option<proto::SecurityProfile>, legacy: &str) -> Result<Seccomp, RequestError> {
    const FIELD: &str = "config.linux.security_context.seccomp";
    let p = match (p, legacy) {
        (Some(p), _) => p,
        (None, "") => return Ok(Seccomp::Unconfined),
        (None, path) => legacy_profile(path, "config.linux.security_context.seccomp_profile_path")?,
    };
    Ok(match profile(&p, FIELD)? {
        (ProfileType::RuntimeDefault, _) => Seccomp::Default,
        (ProfileType::Unconfined, _) => Seccomp::Unconfined,
        (ProfileType::Localhost, path) => Seccomp::Localhost(PathBuf::from(path)),
    })
}

/// As [`seccomp`], but neither is the runtime's default profile, as containerd. Kept in the
/// model: the host has no AppArmor and the engine loads no profile yet.
fn apparmor(p: Option<proto::SecurityProfile>, legacy: &str) -> Result<AppArmor, RequestError> {
    const FIELD: &str = "config.linux.security_context.apparmor";
    let p = match (p, legacy) {
        (Some(p), _) => p,
        (None, "") => return Ok(AppArmor::Default),
        (None, path) => legacy_profile(path, "config.linux.security_context.apparmor_profile")?,
    };
    Ok(match profile(&p, FIELD)? {
        (ProfileType::RuntimeDefault, _) => AppArmor::Default,
        (ProfileType::Unconfined, _) => AppArmor::Unconfined,
        (ProfileType::Localhost, name) => AppArmor::Profile(name),
    })
}
