//! Privileges of the process and what /proc hides (moby `WithCapabilities`, `WithNoNewPrivileges`,
//! `oci/defaults.go`). The mounts' read-only flags are the mounts step's.

use oci_spec::runtime::{Linux, Root, Spec};

use super::{process, SpecContext};
use crate::model::{ContainerSpec, ProcMount};
use crate::spec::caps::{available_only, effective_capabilities, process_capabilities, to_oci};
use crate::spec::error::SpecError;
use crate::spec::{DEFAULT_MASKED_PATHS, DEFAULT_READONLY_PATHS};

/// Sets the process's capabilities (bounding, effective and permitted alike, as dockerd),
/// `noNewPrivileges`, the masked and read-only paths and `root.readonly`.
pub(in crate::spec) fn security(
    spec: &mut Spec,
    model: &ContainerSpec,
    ctx: &SpecContext<'_>,
) -> Result<(), SpecError> {
    let security = &model.security;
    let requested = &security.capabilities;
    let caps = to_oci(&available_only(
        effective_capabilities(&requested.add, &requested.drop, security.privileged)?,
        ctx.host_capabilities,
        &requested.add,
    )?);
    let capabilities = process_capabilities(caps);
    let p = process(spec);
    p.set_capabilities(Some(capabilities));
    p.set_no_new_privileges(security.no_new_privileges.then_some(true));
    // Berth loads no LSM profiles yet (docs/container-spec.md, Security options).
    p.set_apparmor_profile(None);
    p.set_selinux_label(None);

    let defaults = |paths: &[&str]| {
        let confined = !security.privileged && security.proc_mount == ProcMount::Default;
        confined.then(|| paths.iter().map(|p| p.to_string()).collect())
    };
    let linux = spec.linux_mut().get_or_insert_with(Linux::default);
    linux.set_masked_paths(
        security
            .masked_paths
            .clone()
            .or_else(|| defaults(&DEFAULT_MASKED_PATHS)),
    );
    linux.set_readonly_paths(
        security
            .readonly_paths
            .clone()
            .or_else(|| defaults(&DEFAULT_READONLY_PATHS)),
    );
    spec.root_mut()
        .get_or_insert_with(Root::default)
        .set_readonly(Some(security.readonly_rootfs));
    Ok(())
}
