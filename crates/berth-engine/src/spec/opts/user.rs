//! The process's user (moby `WithUser`). The engine resolves the user and the model's groups
//! in the image (`resolve_user`) before building, since that reads the image's files.

use oci_spec::runtime::{Spec, User};

use super::{process, SpecContext};
use crate::model::ContainerSpec;
use crate::spec::error::SpecError;

/// Sets `process.user` from the resolved user; `additionalGids` always lists the primary gid.
pub(in crate::spec) fn user(
    spec: &mut Spec,
    _model: &ContainerSpec,
    ctx: &SpecContext<'_>,
) -> Result<(), SpecError> {
    let mut user = User::default();
    user.set_uid(ctx.user.uid);
    user.set_gid(ctx.user.gid);
    user.set_additional_gids(Some(ctx.user.additional_gids.clone()));
    process(spec).set_user(user);
    Ok(())
}
