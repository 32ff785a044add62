//! Pod sandbox RPCs, one file each, and the protobuf ↔ engine conversions they share: the
//! engine gets a typed [`PodSpec`] and never sees protobuf.

mod list;
mod remove;
mod run;
mod status;
mod stop;
mod update;

use std::net::IpAddr;
use std::path::PathBuf;

use berth_engine::pods::{
    DnsConfig, PidMode, Pod, PodNamespaces, PodPhase, PodResources, PodSecurity, PodSpec,
    PortMapping, Protocol, Seccomp,
};

pub(super) use list::list_pod_sandbox;
pub(super) use remove::remove_pod_sandbox;
pub(super) use run::run_pod_sandbox;
pub(super) use status::{pod_sandbox_status, status};
pub(super) use stop::stop_pod_sandbox;
pub(super) use update::update_pod_sandbox_resources;

use crate::error::RequestError;
use crate::proto::{
    self, security_profile::ProfileType, LinuxContainerResources, NamespaceMode, PodSandboxConfig,
    PodSandboxMetadata, PodSandboxState,
};

/// RunPodSandbox's config as the engine's pod spec.
fn pod_spec(config: PodSandboxConfig, runtime_handler: String) -> Result<PodSpec, RequestError> {
    let meta = config
        .metadata
        .ok_or(RequestError::Missing("RunPodSandbox", "config.metadata"))?;
    if meta.name.is_empty() || meta.namespace.is_empty() || meta.uid.is_empty() {
        return Err(RequestError::Missing(
            "RunPodSandbox",
            "config.metadata name, namespace and uid",
        ));
    }
    let linux = config.linux.unwrap_or_default();
    let mut security = linux.security_context.unwrap_or_default();
    // Kubelets before 1.19 send only this deprecated field: still read as the fallback.
    #[allow(deprecated)]
    let legacy_seccomp = std::mem::take(&mut security.seccomp_profile_path);
    let ns = security.namespace_options.unwrap_or_default();
    let id = |v: Option<proto::Int64Value>, what| {
        v.map(|v| u32::try_from(v.value).map_err(|_| RequestError::Negative(what)))
            .transpose()
    };
    Ok(PodSpec {
        name: meta.name,
        namespace: meta.namespace,
        uid: meta.uid,
        attempt: meta.attempt,
        hostname: config.hostname,
        log_directory: config.log_directory,
        dns: config.dns_config.map(|d| DnsConfig {
            servers: d.servers,
            searches: d.searches,
            options: d.options,
        }),
        port_mappings: config
            .port_mappings
            .into_iter()
            .map(port_mapping)
            .collect::<Result<_, _>>()?,
        labels: config.labels.into_iter().collect(),
        annotations: config.annotations.into_iter().collect(),
        runtime_handler,
        cgroup_parent: linux.cgroup_parent,
        namespaces: PodNamespaces {
            host_network: ns.network == NamespaceMode::Node as i32,
            host_ipc: ns.ipc == NamespaceMode::Node as i32,
            pid: match NamespaceMode::try_from(ns.pid) {
                Ok(NamespaceMode::Pod) => PidMode::Pod,
                Ok(NamespaceMode::Container) => PidMode::Container,
                Ok(NamespaceMode::Node) => PidMode::Node,
                _ => return Err(RequestError::SandboxPidMode(ns.pid)),
            },
            user: super::containers::user_namespace(
                ns.userns_options.as_ref(),
                "config.linux.security_context.namespace_options.userns_options",
            )?,
        },
        sysctls: linux.sysctls.into_iter().collect(),
        security: PodSecurity {
            privileged: security.privileged,
            run_as_user: id(security.run_as_user, "run_as_user")?,
            run_as_group: id(security.run_as_group, "run_as_group")?,
            supplemental_groups: security
                .supplemental_groups
                .into_iter()
                .map(|g| {
                    u32::try_from(g).map_err(|_| RequestError::Negative("supplemental_groups"))
                })
                .collect::<Result<_, _>>()?,
            readonly_rootfs: security.readonly_rootfs,
            seccomp: seccomp(security.seccomp, &legacy_seccomp)?,
        },
        overhead: linux.overhead.map(resources),
        resources: linux.resources.map(resources),
    })
}

fn port_mapping(p: proto::PortMapping) -> Result<PortMapping, RequestError> {
    let port = |v: i32| u16::try_from(v).map_err(|_| RequestError::Port(v));
    Ok(PortMapping {
        protocol: match proto::Protocol::try_from(p.protocol) {
            Ok(proto::Protocol::Udp) => Protocol::Udp,
            Ok(proto::Protocol::Sctp) => Protocol::Sctp,
            _ => Protocol::Tcp,
        },
        container_port: port(p.container_port)?,
        host_port: port(p.host_port)?,
        host_ip: match p.host_ip.as_str() {
            "" => None,
            ip => Some(
                ip.parse::<IpAddr>()
                    .map_err(|_| RequestError::HostIp(ip.to_string()))?,
            ),
        },
    })
}

fn resources(r: LinuxContainerResources) -> PodResources {
    PodResources {
        cpu_period: u64::try_from(r.cpu_period).unwrap_or(0),
        cpu_quota: r.cpu_quota,
        cpu_shares: u64::try_from(r.cpu_shares).unwrap_or(0),
        memory_limit: r.memory_limit_in_bytes,
    }
}

/// The sandbox's profile: the typed field (kubelet 1.22+) over the deprecated path (1.20's
/// `runtime/default`, `docker/default`, `unconfined`, `localhost/<path>`); neither is
/// unconfined, as containerd.
fn seccomp(profile: Option<proto::SecurityProfile>, path: &str) -> Result<Seccomp, RequestError> {
    let localhost = |p: &str| Seccomp::Localhost(PathBuf::from(p.trim_start_matches("localhost/")));
    match profile {
        Some(p) => match ProfileType::try_from(p.profile_type) {
            Ok(ProfileType::RuntimeDefault) => Ok(Seccomp::RuntimeDefault),
            Ok(ProfileType::Unconfined) => Ok(Seccomp::Unconfined),
            Ok(ProfileType::Localhost) => Ok(localhost(&p.localhost_ref)),
            Err(_) => Err(RequestError::Seccomp(p.profile_type.to_string())),
        },
        None => match path {
            "" | "unconfined" => Ok(Seccomp::Unconfined),
            "runtime/default" | "docker/default" => Ok(Seccomp::RuntimeDefault),
            p if p.starts_with("localhost/") => Ok(localhost(p)),
            other => Err(RequestError::Seccomp(other.to_string())),
        },
    }
}

pub(in crate::runtime) fn metadata(spec: &PodSpec) -> PodSandboxMetadata {
    PodSandboxMetadata {
        name: spec.name.clone(),
        uid: spec.uid.clone(),
        namespace: spec.namespace.clone(),
        attempt: spec.attempt,
    }
}

fn state(pod: &Pod) -> i32 {
    match pod.state.phase {
        PodPhase::Ready => PodSandboxState::SandboxReady,
        PodPhase::Creating | PodPhase::NotReady => PodSandboxState::SandboxNotready,
    }
    .into()
}

fn created_at(pod: &Pod) -> i64 {
    pod.created.timestamp_nanos_opt().unwrap_or_default()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
