//! Kernel parameters (moby `WithSysctls`, and the defaults of `WithCommonOptions`).

use oci_spec::runtime::{Linux, Spec};

use super::{NsMode, SpecContext};
use crate::model::ContainerSpec;
use crate::spec::error::SpecError;
use crate::spec::resources::{self, SharedNamespaces};

/// Sets `linux.sysctl`: the defaults for a private network namespace, then the model's, none
/// of them in a namespace shared with the host or another container.
pub(in crate::spec) fn sysctls(
    spec: &mut Spec,
    model: &ContainerSpec,
    _ctx: &SpecContext<'_>,
) -> Result<(), SpecError> {
    let ns = &model.namespaces;
    let sysctls = resources::sysctls(
        &model.security.sysctls,
        SharedNamespaces {
            net: !model.network.mode.has_own_namespace(),
            ipc: NsMode::from(&ns.ipc) != NsMode::Private,
            uts: NsMode::from(&ns.uts) == NsMode::Host,
        },
    )?;
    spec.linux_mut()
        .get_or_insert_with(Linux::default)
        .set_sysctl((!sysctls.is_empty()).then_some(sysctls));
    Ok(())
}
