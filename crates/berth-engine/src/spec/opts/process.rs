//! The main process: arguments, environment, working directory, terminal and OOM score (moby
//! `WithCommonOptions`, `WithOOMScore`), from the model's process over the image's config.

use std::path::PathBuf;

use oci_spec::runtime::{BoxBuilder, Spec};

use super::hostname::container_hostname;
use super::{process as spec_process, SpecContext};
use crate::model::ContainerSpec;
use crate::spec::error::{invalid, SpecError};
use crate::spec::merge::{command, merge_env, process_env};
use crate::spec::options::ImageConfig;

/// Sets `process.args`, `env`, `cwd`, `terminal`, `consoleSize` and `oomScoreAdj`. The image
/// fills what the model leaves to it (its rule in [`crate::model::ProcessSpec`]).
pub(in crate::spec) fn process(
    spec: &mut Spec,
    model: &ContainerSpec,
    image: &ImageConfig,
    ctx: &SpecContext<'_>,
) -> Result<(), SpecError> {
    let p = &model.process;
    let (entrypoint, cmd) = command(p.entrypoint.as_ref(), p.cmd.as_ref(), image)?;
    let cwd = match &p.working_dir {
        Some(dir) => dir.clone(),
        None if image.working_dir.is_empty() => PathBuf::from("/"),
        None => PathBuf::from(&image.working_dir),
    };
    if !cwd.is_absolute() {
        return Err(invalid(
            "WorkingDir",
            cwd.display(),
            "the working directory needs to be an absolute path",
        ));
    }
    let env = process_env(
        &merge_env(&p.env, &image.env),
        &container_hostname(model, ctx),
        p.tty,
        &ctx.linked_env,
    );
    // Only a terminal has a size; a zero dimension was never kept.
    let console_size = p.console_size.filter(|_| p.tty).and_then(|size| {
        BoxBuilder::default()
            .height(u64::from(size.height))
            .width(u64::from(size.width))
            .build()
            .ok()
    });
    let out = spec_process(spec);
    out.set_terminal(Some(p.tty));
    out.set_console_size(console_size);
    out.set_args(Some(entrypoint.into_iter().chain(cmd).collect()));
    out.set_env(Some(env));
    out.set_cwd(cwd);
    out.set_oom_score_adj(Some(model.resources.oom_score_adj));
    Ok(())
}
