//! The OCI spec of a sandbox's pause process, built directly (no image, no Docker options):
//! `/pause` from a read-only root holding nothing else, no mounts, no capabilities, in the
//! pod's network namespace and new IPC, UTS and PID namespaces as the pod's options say. A pod
//! with a user namespace of its own has pause create it with the pod's mappings, and a network
//! namespace owned by it (the engine pins that one once pause exists).

use std::path::{Path, PathBuf};

use oci_spec::runtime::{
    Capabilities, LinuxCpu, LinuxDeviceCgroup, LinuxMemory, LinuxNamespace, LinuxNamespaceType,
    LinuxResources, LinuxSeccomp, Process, Root, Spec, User,
};

use super::{PidMode, PodError, PodResources, PodSpec, Seccomp};
use crate::model::UserNamespace;
use crate::spec::{self, SeccompHost};
use crate::Result;

/// The kubelet's (and containerd's) `oom_score_adj` for sandboxes: the last to be killed.
const SANDBOX_OOM_SCORE_ADJ: i32 = -998;

/// The pause image's user (`USER 65535:65535` in registry.k8s.io/pause), unless the pod's
/// security context names one.
const PAUSE_ID: u32 = 65535;

/// The cgroup parent as the runtime's `cgroupsPath` parent: cgroupfs paths only.
pub(super) fn check_cgroup_parent(parent: &str) -> Result<(), PodError> {
    if parent.ends_with(".slice") {
        return Err(PodError::SystemdCgroupParent(parent.to_string()));
    }
    if !parent.is_empty() && !parent.starts_with('/') {
        return Err(PodError::BadCgroupParent {
            parent: parent.to_string(),
            reason: "must be an absolute cgroupfs path",
        });
    }
    Ok(())
}

/// The spec of pod `id`'s pause process; `netns` is its pinned network namespace (`None`:
/// the host's, or a new one in the pod's user namespace).
pub(super) fn sandbox_spec(
    id: &berth_types::ContainerId,
    pod: &PodSpec,
    rootfs: &Path,
    netns: Option<&Path>,
) -> Result<Spec> {
    use LinuxNamespaceType as Ns;
    let ns = |typ, path: Option<&Path>| {
        let mut ns = LinuxNamespace::default();
        ns.set_typ(typ);
        ns.set_path(path.map(Path::to_path_buf));
        ns
    };
    let n = &pod.namespaces;
    let mut namespaces = vec![ns(Ns::Mount, None)];
    if let Some(user) = &n.user {
        // One clone makes the user namespace first, so the others pause creates are its own.
        namespaces.push(ns(Ns::User, None));
        if !n.host_network {
            namespaces.push(ns(Ns::Network, None));
        }
        if user.root_on_host().is_none() {
            return Err(PodError::UserNamespaceRoot.into());
        }
    } else if let Some(path) = netns {
        namespaces.push(ns(Ns::Network, Some(path)));
    }
    if !n.host_ipc {
        namespaces.push(ns(Ns::Ipc, None));
    }
    // A host-network pod has the node's hostname too (containerd's rule).
    let own_uts = !n.host_network;
    if own_uts {
        namespaces.push(ns(Ns::Uts, None));
    }
    // POD and CONTAINER alike give pause a namespace of its own; they differ for the pod's
    // containers (join pause's, or not).
    if n.pid != PidMode::Node {
        namespaces.push(ns(Ns::Pid, None));
    }

    let sec = &pod.security;
    let mut user = User::default();
    user.set_uid(sec.run_as_user.unwrap_or(PAUSE_ID));
    user.set_gid(sec.run_as_group.unwrap_or(PAUSE_ID));
    user.set_additional_gids(
        (!sec.supplemental_groups.is_empty()).then(|| sec.supplemental_groups.clone()),
    );
    let caps: Capabilities = if sec.privileged {
        // All the host can grant: berthd's own bounding set may lack some (no
        // CAP_SYS_RESOURCE on some VMs), and capset refuses more than the bounding set.
        let all = spec::ALL_CAPABILITIES.iter().map(|(n, _)| *n).collect();
        spec::capabilities_to_oci(&spec::available_only(
            all,
            crate::host::bounding_set(),
            &[],
        )?)
    } else {
        Capabilities::new()
    };
    let capabilities = spec::process_capabilities(caps);
    let mut process = Process::default();
    process.set_args(Some(vec!["/pause".into()]));
    process.set_env(Some(vec![
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into(),
    ]));
    process.set_user(user);
    process.set_capabilities(Some(capabilities));
    process.set_no_new_privileges(Some(!sec.privileged));
    process.set_rlimits(None);
    process.set_oom_score_adj(Some(
        SANDBOX_OOM_SCORE_ADJ.max(crate::host::own_oom_score_adj()),
    ));

    let seccomp = if sec.privileged {
        None
    } else {
        seccomp(&sec.seccomp)?
    };
    // Only namespaced sysctls of namespaces the pod owns: the runtime writes them through
    // /proc/sys, so any other key would change the node (runc refuses them too).
    let mut sysctl = spec::sysctls(
        &pod.sysctls,
        spec::SharedNamespaces {
            net: n.host_network,
            ipc: n.host_ipc,
            uts: !own_uts,
        },
    )?;
    if let Some(user) = &n.user {
        ping_range_in(user, &pod.sysctls, &mut sysctl);
    }
    let mut linux = oci_spec::runtime::Linux::default();
    linux.set_namespaces(Some(namespaces));
    linux.set_cgroups_path(Some(spec::cgroups_path(&pod.cgroup_parent, id)?));
    linux.set_resources(Some(resources(pod.overhead, pod.resources)));
    linux.set_devices(None);
    linux.set_sysctl((!sysctl.is_empty()).then_some(sysctl));
    linux.set_seccomp(seccomp);
    linux.set_masked_paths(None);
    linux.set_readonly_paths(None);
    let user = n.user.as_ref();
    linux.set_uid_mappings(user.map(|u| spec::oci_id_mappings(&u.uid_mappings)));
    linux.set_gid_mappings(user.map(|u| spec::oci_id_mappings(&u.gid_mappings)));

    let mut root = Root::default();
    root.set_path(rootfs.to_path_buf());
    root.set_readonly(Some(true));

    let mut out = Spec::default();
    out.set_process(Some(process));
    out.set_root(Some(root));
    out.set_hostname((own_uts && !pod.hostname.is_empty()).then(|| pod.hostname.clone()));
    // The runtime default mounts, as containerd gives a sandbox: the runtime writes the pod's
    // sysctls through the pause's own /proc.
    out.set_mounts(Some(spec::default_mounts(spec::DEFAULT_SHM_SIZE)));
    out.set_annotations(None);
    out.set_hooks(None);
    out.set_linux(Some(linux));
    Ok(out)
}

/// The default `ping_group_range` (every gid) names gids a user namespace does not map, which
/// the kernel refuses: in one, the default becomes the mapped gids. A range the pod asks for is
/// left alone.
fn ping_range_in(
    user: &UserNamespace,
    asked: &std::collections::BTreeMap<String, String>,
    sysctl: &mut std::collections::HashMap<String, String>,
) {
    const KEY: &str = "net.ipv4.ping_group_range";
    if asked.contains_key(KEY) {
        return;
    }
    if let Some(last) = user
        .gid_mappings
        .iter()
        .map(|m| m.container_id.saturating_add(m.size.saturating_sub(1)))
        .max()
    {
        sysctl.insert(KEY.into(), format!("0 {last}"));
    }
}

/// Pod overhead plus the pod's resources, on the sandbox's cgroup; no device is allowed.
fn resources(overhead: Option<PodResources>, pod: Option<PodResources>) -> LinuxResources {
    let parts: Vec<PodResources> = overhead.into_iter().chain(pod).collect();
    let sum_i = |f: fn(&PodResources) -> i64| {
        let v: i64 = parts.iter().map(f).filter(|v| *v > 0).sum();
        (v > 0).then_some(v)
    };
    let sum_u = |f: fn(&PodResources) -> u64| {
        let v: u64 = parts.iter().map(f).sum();
        (v > 0).then_some(v)
    };
    let mut cpu = LinuxCpu::default();
    cpu.set_shares(sum_u(|r| r.cpu_shares));
    cpu.set_quota(sum_i(|r| r.cpu_quota));
    cpu.set_period(
        parts
            .iter()
            .map(|r| r.cpu_period)
            .find(|p| *p > 0)
            .filter(|_| cpu.quota().is_some()),
    );
    let mut memory = LinuxMemory::default();
    memory.set_limit(sum_i(|r| r.memory_limit));
    let mut deny_all = LinuxDeviceCgroup::default();
    deny_all.set_allow(false);
    deny_all.set_access(Some("rwm".into()));
    let mut res = LinuxResources::default();
    res.set_devices(Some(vec![deny_all]));
    res.set_cpu((cpu != LinuxCpu::default()).then_some(cpu));
    res.set_memory(memory.limit().is_some().then_some(memory));
    res
}

/// The pod's seccomp profile for pause: the runtime's default (Docker's profile, which is
/// berth's) or a profile file; for a process without capabilities.
fn seccomp(profile: &Seccomp) -> Result<Option<LinuxSeccomp>> {
    let host = SeccompHost::native(crate::host::kernel_version());
    let docker = match profile {
        Seccomp::Unconfined => return Ok(None),
        Seccomp::RuntimeDefault => spec::seccomp::default_profile(),
        Seccomp::Localhost(path) => {
            let json =
                std::fs::read_to_string(path).map_err(|source| PodError::SeccompProfile {
                    path: PathBuf::from(path),
                    source,
                })?;
            spec::seccomp::parse_profile(&json)?
        }
    };
    Ok(spec::seccomp::convert(&docker, &[], host)?)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
