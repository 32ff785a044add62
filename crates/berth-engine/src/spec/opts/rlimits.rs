//! Process resource limits (moby `WithRlimits`).

use oci_spec::runtime::Spec;

use super::{process, SpecContext};
use crate::model::ContainerSpec;
use crate::spec::error::SpecError;
use crate::spec::resources::{posix_rlimit, rlimit_type};

/// Sets `process.rlimits`: none unless asked, so the runtime's inherited limits apply.
pub(in crate::spec) fn rlimits(
    spec: &mut Spec,
    model: &ContainerSpec,
    _ctx: &SpecContext<'_>,
) -> Result<(), SpecError> {
    let limits = model
        .resources
        .rlimits
        .iter()
        .map(|r| posix_rlimit(&r.name, rlimit_type(&r.name)?, r.soft, r.hard))
        .collect::<Result<Vec<_>, _>>()?;
    process(spec).set_rlimits((!limits.is_empty()).then_some(limits));
    Ok(())
}
