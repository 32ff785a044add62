//! What each instruction does to a stage, with the history text and `container_config`
//! dockerd's builder records for it (docs/build.md, "Images").

use std::collections::BTreeMap;

use berth_dockerfile::instructions::CommandLine;
use berth_dockerfile::stages::Base;
use berth_dockerfile::{Expander, Instruction, InstructionKind};
use berth_types::Digest;

use super::gofmt;
use super::image_config::{HealthConfig, ImageConfig, RunConfig};
use super::mounts::{Script, HEREDOC_DIR};
use super::stage::{Build, Earlier, Made, Plan, StageState, Steps};
use super::{cache, BuildError, BuildEvent, BuildOptions, RemoveContainers};
use crate::images::PullOptions;
use crate::{Engine, Error, Result};

/// Build args every Dockerfile may use without declaring them; dockerd keeps them out of the
/// history and the cache key unless declared.
pub(super) const PROXY_ARGS: [&str; 8] = [
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "FTP_PROXY",
    "ftp_proxy",
    "NO_PROXY",
    "no_proxy",
];

/// The value a build arg gets: the one passed, else the default.
fn arg_value(opts: &BuildOptions, name: &str, default: Option<String>) -> Option<String> {
    match opts.build_args.get(name) {
        Some(Some(v)) => Some(v.clone()),
        _ => default,
    }
}

impl Engine {
    /// FROM: the stage's state on its base (an earlier stage, `scratch`, or an image, pulled
    /// when missing or asked to), then the base's ONBUILD triggers.
    pub(super) async fn start_stage(
        &self,
        b: Build<'_>,
        index: usize,
        done: &[Option<StageState>],
        steps: &mut Steps,
    ) -> Result<StageState> {
        let Build { plan, reporter, .. } = b;
        steps.announce(&plan.stages.stages()[index].from, reporter);
        let resolved = &plan.graph.stages[index];
        let mut state = match &resolved.base {
            Base::Stage(i) => {
                let mut state = done[*i].clone().ok_or(BuildError::NoStage)?;
                state.args.clear();
                state.cmd_set = false;
                state
            }
            Base::Scratch => StageState::new(None, Vec::new(), scratch_config()),
            Base::Image(name) => {
                let platform = resolved.platform.as_ref().map(ToString::to_string);
                let image = self.base_image(name, platform, b).await?;
                let config: ImageConfig =
                    serde_json::from_str(&image.config).map_err(Error::Json)?;
                StageState::new(Some(image.id), image.layers, config)
            }
        };
        let triggers = state.config.config.on_build.take().unwrap_or_default();
        if triggers.is_empty() {
            if let Some(image) = &state.image {
                reporter.send(BuildEvent::StepDone {
                    image: image.clone(),
                });
            }
        } else {
            reporter.send(BuildEvent::Triggers(triggers.len()));
            for trigger in triggers {
                let parsed = berth_dockerfile::instructions::Onbuild {
                    expression: trigger,
                }
                .trigger()
                .map_err(BuildError::from)?;
                Box::pin(self.dispatch(&mut state, &parsed, b, index, done)).await?;
            }
        }
        Ok(state)
    }

    /// The base image `name`: local unless missing or `pull`.
    pub(super) async fn base_image(
        &self,
        name: &str,
        platform: Option<String>,
        b: Build<'_>,
    ) -> Result<berth_store::metadata::Image> {
        let Build { opts, reporter, .. } = b;
        let local = {
            let name = name.to_string();
            self.with_store(move |store| crate::images::resolve(store, &name))
                .await
        };
        match local {
            Ok(image) if !opts.pull => return Ok(image),
            Err(Error::NoSuchImage(_)) | Ok(_) => {}
            Err(e) => return Err(e),
        }
        let host = name
            .parse::<berth_types::Reference>()
            .map(|r| r.domain().to_string())
            .unwrap_or_default();
        let pull = PullOptions {
            platform: platform.or_else(|| opts.platform.clone()),
            credentials: opts.credentials.get(&host).cloned().unwrap_or_default(),
        };
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let forward = {
            let reporter = reporter.clone();
            tokio::spawn(async move {
                while let Some(p) = rx.recv().await {
                    reporter.send(BuildEvent::Pull(p));
                }
            })
        };
        let pulled = self
            .pull_image(name, pull, crate::images::Reporter::new(tx))
            .await;
        let _ = forward.await;
        let id = pulled?;
        self.with_store(move |store| Ok(store.metadata.get_image(&id)?))
            .await
    }

    /// One instruction of a stage (not FROM).
    pub(super) async fn dispatch(
        &self,
        state: &mut StageState,
        step: &Instruction,
        b: Build<'_>,
        index: usize,
        done: &[Option<StageState>],
    ) -> Result<()> {
        let plan = b.plan;
        if let InstructionKind::Arg(decls) = &step.kind {
            return self.arg_step(state, step, decls, b).await;
        }
        let expanded = match &step.kind {
            // Left to the shell, or stored as written.
            InstructionKind::Run(_)
            | InstructionKind::Cmd(_)
            | InstructionKind::Entrypoint(_)
            | InstructionKind::Healthcheck(_)
            | InstructionKind::Shell(_)
            | InstructionKind::Onbuild(_) => step.clone(),
            _ => {
                let vars = state.variables();
                let mut expander = Expander::new(plan.lexer(), &vars);
                step.expand(&mut expander)
                    .map_err(|e| BuildError::from(e.with_file(plan.file())))?
            }
        };
        let shell = state.shell();
        let mut config = state.config.config.clone();
        let mut author = None;
        let text = match &expanded.kind {
            InstructionKind::Env(pairs) => {
                for kv in pairs {
                    set_env(&mut config.env, &kv.key, &kv.value);
                }
                let shown: Vec<String> = pairs
                    .iter()
                    .map(|kv| format!("{}={}", kv.key, kv.value))
                    .collect();
                format!("ENV {}", shown.join(" "))
            }
            InstructionKind::Label(pairs) => {
                let labels = config.labels.get_or_insert_with(BTreeMap::new);
                for kv in pairs {
                    labels.insert(kv.key.clone(), kv.value.clone());
                }
                let shown: Vec<String> = pairs
                    .iter()
                    .map(|kv| format!("{}={}", kv.key, kv.value))
                    .collect();
                format!("LABEL {}", shown.join(" "))
            }
            InstructionKind::Expose(ports) => {
                let set = config.exposed_ports.get_or_insert_with(BTreeMap::new);
                for port in ports {
                    let port = if port.contains('/') {
                        port.clone()
                    } else {
                        format!("{port}/tcp")
                    };
                    set.insert(port, Default::default());
                }
                // dockerd records them sorted.
                let mut shown = ports.clone();
                shown.sort();
                format!("EXPOSE {}", shown.join(" "))
            }
            InstructionKind::Volume(paths) => {
                let set = config.volumes.get_or_insert_with(BTreeMap::new);
                for p in paths {
                    set.insert(p.clone(), Default::default());
                }
                format!("VOLUME {}", gofmt::list(paths))
            }
            InstructionKind::User(user) => {
                config.user = user.clone();
                format!("USER {user}")
            }
            InstructionKind::StopSignal(signal) => {
                check_signal(signal)?;
                config.stop_signal = Some(signal.clone());
                format!("STOPSIGNAL {signal}")
            }
            InstructionKind::Shell(new) => {
                config.shell = Some(new.clone());
                // Recorded with the new shell already.
                let text = format!("SHELL {}", gofmt::list(new));
                let made = metadata_made(new, &text, config, None);
                return self.finish_metadata(state, made, step, b).await;
            }
            InstructionKind::Maintainer(name) => {
                author = Some(name.clone());
                format!("MAINTAINER {name}")
            }
            InstructionKind::Onbuild(onbuild) => {
                config
                    .on_build
                    .get_or_insert_with(Vec::new)
                    .push(onbuild.expression.clone());
                format!("ONBUILD {}", onbuild.expression)
            }
            InstructionKind::Cmd(cmd) => {
                let argv = command(&shell, cmd);
                let text = format!("CMD {}", gofmt::quote_list(&argv));
                config.cmd = Some(argv);
                text
            }
            InstructionKind::Entrypoint(entrypoint) => {
                let argv = command(&shell, entrypoint);
                let text = format!("ENTRYPOINT {}", gofmt::quote_list(&argv));
                config.entrypoint = Some(argv);
                // An ENTRYPOINT drops the base image's CMD, not one this stage set.
                if !state.cmd_set {
                    config.cmd = None;
                }
                text
            }
            InstructionKind::Healthcheck(check) => {
                let health = health_config(check);
                let text = format!("HEALTHCHECK {}", health_text(&health));
                config.healthcheck = Some(health);
                text
            }
            InstructionKind::Workdir(dir) => {
                let resolved = resolve_workdir(&config.working_dir, dir);
                config.working_dir = resolved.clone();
                return self
                    .workdir_step(state, config, &shell, &resolved, step, b)
                    .await;
            }
            InstructionKind::Run(_) => {
                let earlier = Earlier { index, done };
                return self.run_instruction(state, step, &shell, b, earlier).await;
            }
            InstructionKind::Copy(_) | InstructionKind::Add(_) => {
                return self
                    .copy_instruction(state, &expanded, b, index, done, &shell)
                    .await;
            }
            InstructionKind::From(_) | InstructionKind::Arg(_) => {
                return Err(BuildError::NoStage.into())
            }
        };
        if matches!(expanded.kind, InstructionKind::Cmd(_)) {
            state.cmd_set = true;
        }
        let made = metadata_made(&shell, &text, config, author);
        self.finish_metadata(state, made, step, b).await
    }

    /// A step that changes only the config: on a hit the cached image, else a new one.
    async fn finish_metadata(
        &self,
        state: &mut StageState,
        made: Made,
        step: &Instruction,
        b: Build<'_>,
    ) -> Result<()> {
        // A new image's blobs exist before its row: no GC in between (see `record_step`).
        let _gc = self.inner.gc_lock.read().await;
        let parent = state.image.clone().unwrap_or_else(scratch_digest);
        let key = cache::key(&parent, &made.probe, &());
        if self.try_cache(state, &key, b).await? {
            return Ok(());
        }
        self.record_step(state, made, key, step.original.clone(), b.reporter)
            .await
    }

    /// ARG: declares build args in the stage, each default expanded with what came before.
    async fn arg_step(
        &self,
        state: &mut StageState,
        step: &Instruction,
        decls: &[berth_dockerfile::instructions::ArgDecl],
        b: Build<'_>,
    ) -> Result<()> {
        let Build { plan, opts, .. } = b;
        let mut shown = Vec::new();
        for decl in decls {
            let default = match &decl.default {
                Some(d) => Some(expand_word(plan, step, d, &state.variables())?),
                None => None,
            };
            shown.push(match &decl.default {
                Some(d) => format!("{}={d}", decl.name),
                None => decl.name.clone(),
            });
            let value = arg_value(opts, &decl.name, default).or_else(|| {
                // A global ARG (or a predefined one) re-declared without a default takes the
                // global value.
                plan.graph.global_args.get(&decl.name).cloned()
            });
            state.args.retain(|(k, _)| k != &decl.name);
            state.args.push((decl.name.clone(), value));
        }
        let text = format!("ARG {}", shown.join(" "));
        let made = metadata_made(&state.shell(), &text, state.config.config.clone(), None);
        self.finish_metadata(state, made, step, b).await
    }

    /// LABEL steps for the `labels` option, on the last stage.
    pub(super) async fn api_label(
        &self,
        state: &mut StageState,
        key: &str,
        value: &str,
        steps: &mut Steps,
        b: Build<'_>,
    ) -> Result<()> {
        let reporter = b.reporter;
        let _gc = self.inner.gc_lock.read().await;
        let text = format!("LABEL {key}={value}");
        steps.announce_text(text.clone(), reporter);
        let mut config = state.config.config.clone();
        config
            .labels
            .get_or_insert_with(BTreeMap::new)
            .insert(key.to_string(), value.to_string());
        let made = metadata_made(&state.shell(), &text, config, None);
        let parent = state.image.clone().unwrap_or_else(scratch_digest);
        let cache_key = cache::key(&parent, &made.probe, &());
        if self.try_cache(state, &cache_key, b).await? {
            return Ok(());
        }
        self.record_step(state, made, cache_key, text, reporter)
            .await
    }

    /// RUN: a container of the current image; its changes become the step's layer. Its
    /// `--mount` options are expanded as BuildKit expands them (ENV and build args); the
    /// command is left to the shell.
    async fn run_instruction(
        &self,
        state: &mut StageState,
        step: &Instruction,
        shell: &[String],
        b: Build<'_>,
        earlier: Earlier<'_>,
    ) -> Result<()> {
        let Build { opts, reporter, .. } = b;
        let expanded = {
            let vars = state.variables();
            let mut expander = Expander::new(b.plan.lexer(), &vars);
            step.expand(&mut expander)
                .map_err(|e| BuildError::from(e.with_file(b.plan.file())))?
        };
        let InstructionKind::Run(run) = &expanded.kind else {
            return Err(BuildError::NoStage.into());
        };
        let mounts = run
            .mounts
            .iter()
            .map(|m| {
                m.to_mount().map_err(|e| {
                    BuildError::from(berth_dockerfile::DockerfileError::from(
                        berth_dockerfile::ErrorKind::from(e),
                    ))
                })
            })
            .collect::<std::result::Result<Vec<_>, _>>()?;
        let (argv, script) = run_argv(shell, run)?;
        let planned = self
            .plan_mounts(&mounts, &state.config.config.working_dir, b, earlier)
            .await?;
        let build_env = state.build_env();
        let mut probe = state.config.config.clone();
        probe.cmd = Some(if build_env.is_empty() {
            argv.clone()
        } else {
            std::iter::once(format!("|{}", build_env.len()))
                .chain(build_env.iter().cloned())
                .chain(argv.iter().cloned())
                .collect()
        });
        probe.entrypoint = None;
        let network = match run.network {
            berth_dockerfile::instructions::Network::Default => None,
            berth_dockerfile::instructions::Network::None => Some(super::BuildNetwork::None),
            berth_dockerfile::instructions::Network::Host => Some(super::BuildNetwork::Host),
        };
        let parent = state.image.clone().unwrap_or_else(scratch_digest);
        let key = cache::key(
            &parent,
            &probe,
            &RunKey {
                network: format!("{network:?}"),
                mounts: planned.iter().map(|p| &p.key).collect(),
                script: script.as_ref().map(|s| s.content.as_str()),
            },
        );
        if self.try_cache(state, &key, b).await? {
            return Ok(());
        }
        let image = self.ensure_parent_image(state).await?;
        let prepared = self
            .prepare_mounts(&planned, script.as_ref(), &state.layers, b)
            .await?;
        // The proxy build args reach the process without being declared, as dockerd passes
        // them, and stay out of the key and the history.
        let mut build_env = build_env;
        for name in PROXY_ARGS {
            let declared = state.args.iter().any(|(k, _)| k == name);
            if let (false, Some(Some(value))) = (declared, opts.build_args.get(name)) {
                build_env.push(format!("{name}={value}"));
            }
        }
        let ran = self
            .run_step(
                super::run::RunStep {
                    parent: &image,
                    config: &state.config.config,
                    argv: argv.clone(),
                    build_env,
                    network: network.as_ref(),
                    mounts: &prepared,
                },
                opts,
                reporter,
            )
            .await?;
        let parent_chain = state.layers.last().map(|l| l.chain_id.clone());
        // From the layer's commit to its image's row, nothing refers to it: no GC between.
        let _gc = self.inner.gc_lock.read().await;
        let taken = self
            .take_layer(&ran.id, parent_chain.as_ref(), prepared.stubs.clone())
            .await;
        let secret_env = prepared.secret_env;
        drop(prepared);
        if opts.remove != RemoveContainers::Never || secret_env {
            self.remove_run(&ran.id, reporter).await;
        }
        let (layer, size) = taken?;
        let created_by = probe.cmd.clone().unwrap_or_default().join(" ");
        let made = Made {
            created_by,
            probe: RunConfig {
                hostname: String::new(),
                ..probe
            },
            config: state.config.config.clone(),
            container: Some(ran.id),
            layer,
            size,
            author: None,
        };
        self.record_step(state, made, key, step.original.clone(), reporter)
            .await
    }

    /// The image a container can be created from: a `FROM scratch` stage has none until its
    /// first step, so one with no layers is recorded.
    async fn ensure_parent_image(&self, state: &mut StageState) -> Result<Digest> {
        match &state.image {
            Some(image) => Ok(image.clone()),
            None => Err(BuildError::Unsupported(
                "RUN in a stage FROM scratch before any file is there".into(),
            )
            .into()),
        }
    }

    /// The stopped container `id`'s changes as a layer on `parent` (its snapshot committed as
    /// it is); `None` when it changed nothing.
    /// `stubs`: mount points the step's mounts needed ([`super::mounts::stubs`]).
    async fn take_layer(
        &self,
        id: &str,
        parent: Option<&Digest>,
        stubs: Vec<std::path::PathBuf>,
    ) -> Result<(Option<berth_store::metadata::Layer>, u64)> {
        let key = id.to_string();
        let parent = parent.cloned();
        let ingest = format!("build-{}", crate::random_hex(16));
        self.with_store(move |store| {
            super::layer::commit_if_changed(store, &key, parent.as_ref(), &ingest, &stubs)
        })
        .await
    }
}

/// What a RUN's cache key holds beyond its config.
#[derive(serde::Serialize)]
struct RunKey<'a> {
    network: String,
    mounts: Vec<&'a super::mounts::MountKey>,
    /// A heredoc run as a file: its command line names only the file.
    script: Option<&'a str>,
}

/// Expands `word` of `instruction` against `vars`.
fn expand_word(
    plan: &Plan,
    instruction: &Instruction,
    word: &str,
    vars: &BTreeMap<String, String>,
) -> Result<String> {
    let mut expander = Expander::new(plan.lexer(), vars);
    expander.word(word).map_err(|e| {
        BuildError::Dockerfile(
            berth_dockerfile::DockerfileError::from(berth_dockerfile::ErrorKind::Expand(e))
                .at_line(instruction.location.start_line)
                .in_instruction(instruction.name())
                .with_file(plan.file()),
        )
        .into()
    })
}

/// A metadata step as dockerd records it: `#(nop) ` and the text as the command, the state's
/// config after the step.
fn metadata_made(shell: &[String], text: &str, config: RunConfig, author: Option<String>) -> Made {
    let mut probe = config.clone();
    probe.cmd = Some(
        shell
            .iter()
            .cloned()
            .chain(["#(nop) ".to_string(), text.to_string()])
            .collect(),
    );
    Made {
        created_by: format!("{} #(nop)  {text}", shell.join(" ")),
        probe,
        config,
        container: None,
        layer: None,
        size: 0,
        author,
    }
}

/// `KEY=value` replacing an earlier `KEY`.
fn set_env(env: &mut Vec<String>, key: &str, value: &str) {
    let entry = format!("{key}={value}");
    match env
        .iter_mut()
        .find(|e| e.split_once('=').map_or(e.as_str(), |(k, _)| k) == key)
    {
        Some(e) => *e = entry,
        None => env.push(entry),
    }
}

/// A CMD or ENTRYPOINT: exec form as is, shell form wrapped in the shell.
fn command(shell: &[String], line: &CommandLine) -> Vec<String> {
    match line {
        CommandLine::Exec(argv) => argv.clone(),
        CommandLine::Shell(text) => shell.iter().cloned().chain([text.clone()]).collect(),
    }
}

/// A RUN's argv, by BuildKit's heredoc rules (dockerfile2llb `dispatchRun`): a lone heredoc
/// (`RUN <<EOF`) is the shell's script, or, when it starts with `#!`, a file the shell runs
/// (the [`Script`], mounted at [`HEREDOC_DIR`]); heredocs feeding a command (`RUN python3
/// <<EOF`, `RUN cat <<A >a <<B >b`) go back into the command line for the shell to read.
fn run_argv(
    shell: &[String],
    run: &berth_dockerfile::instructions::Run,
) -> Result<(Vec<String>, Option<Script>)> {
    let with_shell = |arg: String| shell.iter().cloned().chain([arg]).collect();
    match (&run.command, run.heredocs.as_slice()) {
        (_, []) => Ok((command(shell, &run.command), None)),
        (CommandLine::Shell(text), [doc]) if lone_heredoc(text, &doc.name) => {
            let content = doc.chomped().into_owned();
            if doc.content.starts_with("#!") {
                let file = format!("{HEREDOC_DIR}/{}", doc.name);
                let script = Script {
                    name: doc.name.clone(),
                    content,
                };
                Ok((with_shell(file), Some(script)))
            } else {
                Ok((with_shell(content), None))
            }
        }
        (CommandLine::Shell(text), docs) => {
            let mut full = text.clone();
            for doc in docs {
                full.push('\n');
                full.push_str(&doc.content);
                full.push_str(&doc.name);
            }
            Ok((with_shell(full), None))
        }
        (CommandLine::Exec(_), _) => {
            Err(BuildError::Unsupported("RUN in exec form with a heredoc".into()).into())
        }
    }
}

/// Whether a RUN's command is only the heredoc `name` (`<<EOF`, `<<-"EOF"`, `<<'EOF'`).
fn lone_heredoc(text: &str, name: &str) -> bool {
    let Some(word) = text.trim().strip_prefix("<<") else {
        return false;
    };
    let word = word.strip_prefix('-').unwrap_or(word);
    let unquoted = ['"', '\'']
        .iter()
        .find_map(|q| word.strip_prefix(*q).and_then(|w| w.strip_suffix(*q)))
        .unwrap_or(word);
    unquoted == name
}

/// A WORKDIR against the current one.
pub(super) fn resolve_workdir(current: &str, dir: &str) -> String {
    let joined = if dir.starts_with('/') {
        std::path::PathBuf::from(dir)
    } else {
        std::path::Path::new(if current.is_empty() { "/" } else { current }).join(dir)
    };
    let mut out = std::path::PathBuf::from("/");
    for c in joined.components() {
        match c {
            std::path::Component::Normal(n) => out.push(n),
            std::path::Component::ParentDir => {
                out.pop();
            }
            _ => {}
        }
    }
    out.to_string_lossy().into_owned()
}

fn health_config(check: &berth_dockerfile::instructions::Healthcheck) -> HealthConfig {
    let ns = |d: &Option<std::time::Duration>| {
        d.map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
    };
    match check {
        berth_dockerfile::instructions::Healthcheck::None => HealthConfig {
            test: check.test(),
            ..HealthConfig::default()
        },
        berth_dockerfile::instructions::Healthcheck::Cmd {
            interval,
            timeout,
            start_period,
            start_interval,
            retries,
            ..
        } => HealthConfig {
            test: check.test(),
            interval: ns(interval),
            timeout: ns(timeout),
            start_period: ns(start_period),
            start_interval: ns(start_interval),
            retries: retries.map_or(0, i64::from),
        },
    }
}

/// `%q` of dockerd 20.10's `*HealthConfig`: `&{["CMD" "true"] "30s" "5s" "0s" '\x03'}`.
fn health_text(h: &HealthConfig) -> String {
    format!(
        "&{{{} {} {} {} {}}}",
        gofmt::quote_list(&h.test),
        gofmt::quote(&gofmt::duration(h.interval)),
        gofmt::quote(&gofmt::duration(h.timeout)),
        gofmt::quote(&gofmt::duration(h.start_period)),
        gofmt::quote_rune(h.retries)
    )
}

/// dockerd refuses an unknown STOPSIGNAL at build time.
fn check_signal(signal: &str) -> Result<()> {
    let name = signal.trim_start_matches("SIG");
    let known = signal.parse::<u8>().is_ok_and(|n| (1..=64).contains(&n))
        || format!("SIG{name}")
            .parse::<nix::sys::signal::Signal>()
            .is_ok()
        || name.starts_with("RTMIN")
        || name.starts_with("RTMAX");
    if known {
        Ok(())
    } else {
        Err(BuildError::InvalidSignal(signal.to_string()).into())
    }
}

/// The config a `FROM scratch` stage starts with.
fn scratch_config() -> ImageConfig {
    ImageConfig {
        architecture: crate::images::import::go_arch().to_string(),
        os: "linux".into(),
        ..ImageConfig::default()
    }
}

/// The parent a `FROM scratch` stage's first step is keyed on.
pub(super) fn scratch_digest() -> Digest {
    Digest::sha256_from_bytes(&[0; 32])
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
