//! Expanding an instruction's words when the builder runs it: the words BuildKit expands, and
//! only those. `RUN`, `CMD`, `ENTRYPOINT`, `SHELL` and `HEALTHCHECK` commands are left to the
//! shell; `ARG` defaults are expanded one at a time by the builder, each seeing the ARGs
//! before it; `ONBUILD` triggers are expanded in the build that runs them.

use super::{Add, Copy, Files, From, Instruction, InstructionKind, KeyValue, Run};
use crate::error::{DockerfileError, ErrorKind};
use crate::expand::{ExpandError, Expander};

type Expanded<T> = Result<T, ErrorKind>;

impl Instruction {
    /// This instruction with its words expanded against `expander`'s environment (the ENV and
    /// ARG values in effect before it runs: in `ENV a=1 b=$a`, `$a` is the old value, as the
    /// Dockerfile reference says). The expander records the variables used, which belong in the
    /// build cache key. `RUN --mount` options are checked once expanded.
    ///
    /// The error names the line and instruction, not the file: add it with
    /// [`DockerfileError::with_file`].
    pub fn expand(&self, expander: &mut Expander<'_>) -> Result<Instruction, DockerfileError> {
        let kind = expand_kind(&self.kind, expander).map_err(|kind| {
            DockerfileError::new(kind)
                .at_line(self.location.start_line)
                .in_instruction(self.name())
        })?;
        Ok(Instruction {
            kind,
            ..self.clone()
        })
    }
}

fn word(ex: &mut Expander<'_>, word: &str) -> Expanded<String> {
    Ok(ex.word(word)?)
}

fn optional(ex: &mut Expander<'_>, value: &Option<String>) -> Expanded<Option<String>> {
    value.as_deref().map(|v| word(ex, v)).transpose()
}

fn all(ex: &mut Expander<'_>, words: &[String]) -> Expanded<Vec<String>> {
    words.iter().map(|w| word(ex, w)).collect()
}

fn pairs(ex: &mut Expander<'_>, pairs: &[KeyValue]) -> Expanded<Vec<KeyValue>> {
    pairs
        .iter()
        .map(|pair| {
            Ok(KeyValue {
                key: word(ex, &pair.key)?,
                value: word(ex, &pair.value)?,
            })
        })
        .collect()
}

fn files(ex: &mut Expander<'_>, files: &Files) -> Expanded<Files> {
    let mut inline = files.inline.clone();
    for file in inline.iter_mut().filter(|file| file.expand) {
        file.content = ex.heredoc(&file.content)?;
    }
    Ok(Files {
        sources: all(ex, &files.sources)?,
        inline,
        dest: word(ex, &files.dest)?,
    })
}

fn expand_kind(kind: &InstructionKind, ex: &mut Expander<'_>) -> Expanded<InstructionKind> {
    use InstructionKind as K;
    Ok(match kind {
        K::From(from) => K::From(From {
            base: word(ex, &from.base)?,
            name: from.name.clone(),
            platform: optional(ex, &from.platform)?,
        }),
        K::Run(run) => {
            let mounts = run
                .mounts
                .iter()
                .map(|spec| spec.map_values(|value| ex.word(value)))
                .collect::<Result<Vec<_>, ExpandError>>()?;
            for spec in &mounts {
                spec.to_mount()?;
            }
            K::Run(Run {
                mounts,
                ..run.clone()
            })
        }
        K::Label(labels) => K::Label(pairs(ex, labels)?),
        K::Env(env) => K::Env(pairs(ex, env)?),
        K::Expose(ports) => {
            let mut expanded = Vec::new();
            for port in ports {
                expanded.extend(ex.words(port)?);
            }
            K::Expose(expanded)
        }
        K::Volume(volumes) => {
            let volumes = all(ex, volumes)?;
            K::Volume(
                volumes
                    .iter()
                    .map(|v| super::parse::volume(v))
                    .collect::<Expanded<_>>()?,
            )
        }
        K::User(user) => K::User(word(ex, user)?),
        K::Workdir(dir) => K::Workdir(word(ex, dir)?),
        K::StopSignal(signal) => K::StopSignal(word(ex, signal)?),
        K::Add(add) => K::Add(Add {
            files: files(ex, &add.files)?,
            chown: optional(ex, &add.chown)?,
            chmod: optional(ex, &add.chmod)?,
            checksum: optional(ex, &add.checksum)?,
            ..add.clone()
        }),
        K::Copy(copy) => K::Copy(Copy {
            files: files(ex, &copy.files)?,
            chown: optional(ex, &copy.chown)?,
            chmod: optional(ex, &copy.chmod)?,
            ..copy.clone()
        }),
        K::Cmd(_)
        | K::Entrypoint(_)
        | K::Healthcheck(_)
        | K::Shell(_)
        | K::Arg(_)
        | K::Maintainer(_)
        | K::Onbuild(_) => kind.clone(),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
