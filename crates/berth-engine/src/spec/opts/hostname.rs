//! The UTS names (moby `daemon/container.go` `setHostname`, `WithCommonOptions`).

use oci_spec::runtime::Spec;

use super::SpecContext;
use crate::model::{ContainerSpec, NetworkMode, UtsMode};
use crate::spec::error::SpecError;

/// The container's hostname, which `HOSTNAME` also shows: the request's, else the host's with
/// host networking, else the short id.
pub(in crate::spec) fn container_hostname(model: &ContainerSpec, ctx: &SpecContext<'_>) -> String {
    match model.network.hostname.as_deref().filter(|n| !n.is_empty()) {
        Some(name) => name.to_string(),
        None if model.network.mode == NetworkMode::Host => ctx.host_hostname.clone(),
        None => ctx.id.as_str().chars().take(12).collect(),
    }
}

/// Sets `hostname` and `domainname`, only in a private UTS namespace (another one's names are
/// that namespace's owner's to set).
pub(in crate::spec) fn hostname(
    spec: &mut Spec,
    model: &ContainerSpec,
    ctx: &SpecContext<'_>,
) -> Result<(), SpecError> {
    let private = model.namespaces.uts == UtsMode::Private;
    let name = container_hostname(model, ctx);
    spec.set_hostname((private && !name.is_empty()).then_some(name));
    spec.set_domainname(
        model
            .network
            .domainname
            .clone()
            .filter(|d| private && !d.is_empty()),
    );
    Ok(())
}
