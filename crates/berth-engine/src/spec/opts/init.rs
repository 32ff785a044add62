//! `--init` (moby `WithCommonOptions`): a minimal init runs as PID 1, starts the process and
//! reaps zombies; the engine's binary is bound read-only into the container.

use oci_spec::runtime::Spec;

use super::{process, NsMode, SpecContext};
use crate::model::ContainerSpec;
use crate::spec::build::INIT_PATH_IN_CONTAINER;
use crate::spec::error::SpecError;
use crate::spec::mounts;

/// Prepends the init to `process.args` and adds its mount, which the mounts step keeps with
/// the defaults. Only in a private pid namespace: elsewhere PID 1 is another process. Runs
/// after the process step, which sets the args.
pub(in crate::spec) fn init(
    spec: &mut Spec,
    model: &ContainerSpec,
    ctx: &SpecContext<'_>,
) -> Result<(), SpecError> {
    let wanted = model.process.init.unwrap_or(ctx.init_by_default);
    if !wanted || NsMode::from(&model.namespaces.pid) != NsMode::Private {
        return Ok(());
    }
    let path = ctx.init_path.as_ref().ok_or(SpecError::InitUnavailable)?;
    let p = process(spec);
    let args = [INIT_PATH_IN_CONTAINER.to_string(), "--".to_string()]
        .into_iter()
        .chain(p.args().iter().flatten().cloned())
        .collect();
    p.set_args(Some(args));
    let mut m = mounts::mount(INIT_PATH_IN_CONTAINER, "bind", "", &["bind", "ro"]);
    m.set_source(Some(path.clone()));
    spec.mounts_mut().get_or_insert_with(Vec::new).push(m);
    Ok(())
}
