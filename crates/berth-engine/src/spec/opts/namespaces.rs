//! The namespaces (moby `WithNamespaces`), in dockerd's order: mount, network, uts, pid, ipc,
//! cgroup, with a pod's user namespace after the mount's. `host` modes leave one out; joined ones
//! take their path from the context.

use std::path::PathBuf;

use oci_spec::runtime::{Linux, LinuxNamespace, LinuxNamespaceType, Spec};

use super::{NsMode, SpecContext};
use crate::model::{CgroupnsMode, ContainerSpec, NetworkMode};
use crate::spec::error::SpecError;

/// Sets `linux.namespaces`. A joined namespace without its path in the context is an error.
pub(in crate::spec) fn namespaces(
    spec: &mut Spec,
    model: &ContainerSpec,
    ctx: &SpecContext<'_>,
) -> Result<(), SpecError> {
    let modes = &model.namespaces;
    let net_mode = &model.network.mode;
    let net_host = *net_mode == NetworkMode::Host;
    let net_join = !net_host && !net_mode.has_own_namespace();
    let cgroupns_private = match modes.cgroup {
        None => ctx.cgroup_v2,
        Some(CgroupnsMode::Private) => true,
        Some(CgroupnsMode::Host) => false,
    };
    use LinuxNamespaceType as Ns;
    let mut namespaces = vec![namespace(Ns::Mount, None)];
    // Only a pod's container has one: its pod's, which pause made with the mappings.
    if modes.user.is_some() {
        namespaces.push(namespace(
            Ns::User,
            join_path("userns_options", &"POD", ctx.join.user.as_ref())?,
        ));
    }
    if !net_host {
        let path = if net_join {
            join_path("NetworkMode", net_mode, ctx.join.net.as_ref())?
        } else {
            ctx.join.net.as_ref()
        };
        namespaces.push(namespace(Ns::Network, path));
    }
    match NsMode::from(&modes.uts) {
        NsMode::Private => namespaces.push(namespace(Ns::Uts, None)),
        NsMode::Join => namespaces.push(namespace(
            Ns::Uts,
            join_path("UTSMode", &modes.uts, ctx.join.uts.as_ref())?,
        )),
        NsMode::Host => {}
    }
    match NsMode::from(&modes.pid) {
        NsMode::Private => namespaces.push(namespace(Ns::Pid, None)),
        NsMode::Join => namespaces.push(namespace(
            Ns::Pid,
            join_path("PidMode", &modes.pid, ctx.join.pid.as_ref())?,
        )),
        NsMode::Host => {}
    }
    match NsMode::from(&modes.ipc) {
        NsMode::Private => namespaces.push(namespace(Ns::Ipc, None)),
        NsMode::Join => namespaces.push(namespace(
            Ns::Ipc,
            join_path("IpcMode", &modes.ipc, ctx.join.ipc.as_ref())?,
        )),
        NsMode::Host => {}
    }
    if cgroupns_private {
        namespaces.push(namespace(Ns::Cgroup, None));
    }

    spec.linux_mut()
        .get_or_insert_with(Linux::default)
        .set_namespaces(Some(namespaces));
    Ok(())
}

fn namespace(typ: LinuxNamespaceType, path: Option<&PathBuf>) -> LinuxNamespace {
    let mut ns = LinuxNamespace::default();
    ns.set_typ(typ);
    ns.set_path(path.cloned());
    ns
}

fn join_path<'p>(
    option: &'static str,
    value: &dyn std::fmt::Display,
    path: Option<&'p PathBuf>,
) -> Result<Option<&'p PathBuf>, SpecError> {
    path.map(Some)
        .ok_or_else(|| SpecError::MissingNamespacePath {
            option,
            value: value.to_string(),
        })
}
