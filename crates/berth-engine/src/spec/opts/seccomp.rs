//! The seccomp filter (moby `WithSeccomp`). Runs after the security step: the default
//! profile's capability-conditional rules follow the spec's bounding set.

use oci_spec::runtime::{Linux, Spec};

use super::SpecContext;
use crate::model::{ContainerSpec, Seccomp};
use crate::spec::caps::from_oci;
use crate::spec::error::SpecError;
use crate::spec::seccomp::{convert, default_profile, parse_profile, profile_file};

/// Sets `linux.seccomp`: none when privileged or unconfined.
pub(in crate::spec) fn seccomp(
    spec: &mut Spec,
    model: &ContainerSpec,
    ctx: &SpecContext<'_>,
) -> Result<(), SpecError> {
    let security = &model.security;
    let profile = match &security.seccomp {
        _ if security.privileged => None,
        Seccomp::Unconfined => None,
        Seccomp::Default => Some(default_profile()),
        Seccomp::Inline(json) => Some(parse_profile(json)?),
        Seccomp::Localhost(path) => Some(profile_file(path)?),
    };
    let filter = match profile {
        Some(profile) => {
            let bounding = spec
                .process()
                .as_ref()
                .and_then(|p| p.capabilities().as_ref())
                .and_then(|c| c.bounding().as_ref())
                .map(from_oci)
                .unwrap_or_default();
            convert(&profile, &bounding, ctx.seccomp_host)?
        }
        None => None,
    };
    spec.linux_mut()
        .get_or_insert_with(Linux::default)
        .set_seccomp(filter);
    Ok(())
}
