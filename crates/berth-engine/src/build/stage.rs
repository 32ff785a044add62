//! Stages and steps: the plan (which stages the target needs, how many steps the client is
//! told of), a stage's running state, and how a step's result becomes an image — found in the
//! cache by its key, or made and remembered.

use std::collections::BTreeMap;

use berth_dockerfile::{
    Dockerfile, Instruction, InstructionKind, Lexer, Platform, StageGraph, Stages,
};
use berth_store::metadata::Layer;
use berth_types::Digest;
use tokio::sync::watch;

use super::context::Context;
use super::image_config::{History, ImageConfig, RunConfig};
use super::{BuildError, BuildEvent, BuildOptions, Reporter};
use crate::images::import::record_image_bytes;
use crate::{Engine, Error, Result};

/// The shell of shell-form commands until a SHELL says otherwise.
pub(super) const DEFAULT_SHELL: [&str; 2] = ["/bin/sh", "-c"];
/// What dockerd puts in `PATH` when the base image has none.
const DEFAULT_PATH: &str = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// What a build runs: the Dockerfile's stages, resolved with the build args.
pub(super) struct Plan {
    /// The Dockerfile's name, for errors, and its expansion rules (its escape character).
    file: String,
    lexer: Lexer,
    pub stages: Stages,
    pub graph: StageGraph,
    /// Indices of the stages the target needs, dependencies first.
    pub needed: Vec<usize>,
    /// Steps the client is told of: the global ARGs, every FROM and instruction of the
    /// needed stages, and one LABEL per `labels` option.
    pub total: usize,
}

impl Plan {
    pub(super) fn new(dockerfile: &Dockerfile, opts: &BuildOptions) -> Result<Self> {
        let stages = dockerfile.stages().map_err(BuildError::from)?;
        if stages.stages().is_empty() {
            return Err(BuildError::NoStage.into());
        }
        let args: BTreeMap<String, String> = opts
            .build_args
            .iter()
            .filter_map(|(k, v)| v.clone().map(|v| (k.clone(), v)))
            .collect();
        let host = Platform::host();
        let target = match opts.platform.as_deref().filter(|p| !p.is_empty()) {
            Some(p) => Platform::parse(p)
                .map_err(|e| BuildError::Unsupported(format!("platform {p}: {e}")))?,
            None => host.clone(),
        };
        let predefined = berth_dockerfile::predefined_args(&host, &target);
        let graph = stages
            .resolve(&args, &predefined)
            .map_err(BuildError::from)?;
        let target = opts.target.as_deref().filter(|t| !t.is_empty());
        let needed = graph.needed(target).map_err(|e| match target {
            Some(t) if graph.find(t).is_none() => BuildError::UnknownTarget(t.to_string()),
            _ => BuildError::from(e),
        })?;
        let total = stages.global_args().len()
            + needed
                .iter()
                .map(|&i| 1 + stages.stages()[i].instructions.len())
                .sum::<usize>()
            + opts.labels.len();
        Ok(Self {
            file: dockerfile.file.clone(),
            lexer: dockerfile.lexer(),
            stages,
            graph,
            needed,
            total,
        })
    }

    pub(super) fn file(&self) -> &str {
        &self.file
    }

    pub(super) fn lexer(&self) -> Lexer {
        self.lexer
    }

    /// The stage `name` names (by name or index) for stage `index`'s `COPY --from`.
    pub(super) fn source_stage(&self, index: usize, name: &str) -> Option<usize> {
        match name.parse::<usize>() {
            Ok(i) => Some(i).filter(|&i| i < index),
            Err(_) => self.stages.find(name),
        }
    }
}

/// What every step of one build reads.
#[derive(Clone, Copy)]
pub(super) struct Build<'a> {
    pub plan: &'a Plan,
    pub context: &'a Context,
    pub opts: &'a BuildOptions,
    pub reporter: &'a Reporter,
}

/// The stage a step belongs to, and the stages built before it (for `--from` and
/// `--mount=from=`).
#[derive(Clone, Copy)]
pub(super) struct Earlier<'a> {
    pub index: usize,
    pub done: &'a [Option<StageState>],
}

/// A stage being built: the image of its last step and the ARGs in scope.
#[derive(Clone)]
pub(super) struct StageState {
    /// The last step's image; `None` before the first step of a `FROM scratch` stage.
    pub image: Option<Digest>,
    pub layers: Vec<Layer>,
    pub config: ImageConfig,
    /// ARGs declared in the stage, in order, with their values (`None`: declared, unset).
    pub args: Vec<(String, Option<String>)>,
    /// Whether a CMD of this stage set the command (an ENTRYPOINT then keeps it).
    pub cmd_set: bool,
}

impl StageState {
    /// A stage on `image` (`None`: scratch), whose config is `config`.
    pub(super) fn new(image: Option<Digest>, layers: Vec<Layer>, mut config: ImageConfig) -> Self {
        // dockerd's setDefaultPath.
        if !config.config.env.iter().any(|e| e.starts_with("PATH=")) {
            config.config.env.push(DEFAULT_PATH.to_string());
        }
        Self {
            image,
            layers,
            config,
            args: Vec::new(),
            cmd_set: false,
        }
    }

    /// The shell of shell-form commands.
    pub(super) fn shell(&self) -> Vec<String> {
        self.config
            .config
            .shell
            .clone()
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| DEFAULT_SHELL.map(String::from).to_vec())
    }

    /// Variables for expansion: ENV, then ARGs with a value (an ENV of the same name wins).
    pub(super) fn variables(&self) -> BTreeMap<String, String> {
        let mut vars: BTreeMap<String, String> = self
            .args
            .iter()
            .filter_map(|(k, v)| v.clone().map(|v| (k.clone(), v)))
            .collect();
        for e in &self.config.config.env {
            let (k, v) = e.split_once('=').unwrap_or((e, ""));
            vars.insert(k.to_string(), v.to_string());
        }
        vars
    }

    /// The build args a RUN sees, `K=V` sorted: declared ARGs with a value and no ENV of the
    /// same name (dockerd's `prependEnvOnCmd`).
    pub(super) fn build_env(&self) -> Vec<String> {
        let env_names: Vec<&str> = self
            .config
            .config
            .env
            .iter()
            .map(|e| e.split_once('=').map_or(e.as_str(), |(k, _)| k))
            .collect();
        let mut out: Vec<String> = self
            .args
            .iter()
            .filter(|(k, _)| !env_names.contains(&k.as_str()))
            .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={v}")))
            .collect();
        out.sort();
        out.dedup();
        out
    }
}

/// A step's outcome before it is recorded.
pub(super) struct Made {
    /// What `docker history` shows (`/bin/sh -c #(nop)  ENV a=b`).
    pub created_by: String,
    /// The `container_config`: the state's config with the step's command.
    pub probe: RunConfig,
    /// The state's config after the step.
    pub config: RunConfig,
    /// The step's container, for the config's `container`.
    pub container: Option<String>,
    /// The step's layer; `None`: the step changed no file.
    pub layer: Option<Layer>,
    /// The layer's unpacked size, for the cache's accounting.
    pub size: u64,
    /// Set by MAINTAINER.
    pub author: Option<String>,
}

impl Engine {
    /// Looks up the step with `key`; on a hit the state moves to the cached image.
    pub(super) async fn try_cache(
        &self,
        state: &mut StageState,
        key: &Digest,
        b: Build<'_>,
    ) -> Result<bool> {
        let Build { opts, reporter, .. } = b;
        if opts.no_cache {
            return Ok(false);
        }
        let Some(image) = self.cached_step(key).await? else {
            return Ok(false);
        };
        let stored = {
            let image = image.clone();
            self.with_store(move |store| Ok(store.metadata.get_image(&image)?))
                .await
        };
        let stored = match stored {
            Ok(s) => s,
            // Removed since the lookup: a miss.
            Err(Error::Store(berth_store::Error::ImageNotFound(_))) => return Ok(false),
            Err(e) => return Err(e),
        };
        state.config = serde_json::from_str(&stored.config).map_err(Error::Json)?;
        state.layers = stored.layers;
        state.image = Some(image.clone());
        reporter.send(BuildEvent::UsingCache);
        reporter.send(BuildEvent::StepDone { image });
        Ok(true)
    }

    /// Records what a step made as an image on the state's, moves the state to it and
    /// remembers it under `key`. Callers hold the GC lock for reading from before they made
    /// what the image refers to (a layer, blobs) until this returns: until the image's row
    /// exists, GC would take them for garbage.
    pub(super) async fn record_step(
        &self,
        state: &mut StageState,
        made: Made,
        key: Digest,
        description: String,
        reporter: &Reporter,
    ) -> Result<()> {
        let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
        let mut config = state.config.clone();
        let parent = state.image.clone();
        let parent_id = parent.as_ref().map(Digest::to_string).unwrap_or_default();
        if let Some(author) = made.author {
            config.author = author;
        }
        config.config = RunConfig {
            image: parent_id.clone(),
            hostname: String::new(),
            ..made.config
        };
        config.container_config = Some(RunConfig {
            image: parent_id,
            ..made.probe
        });
        config.container = made.container.unwrap_or_default();
        config.created = now.clone();
        config.docker_version = crate::system::VERSION.to_string();
        config.history.push(History {
            created: now,
            author: config.author.clone(),
            created_by: made.created_by,
            comment: String::new(),
            empty_layer: made.layer.is_none(),
        });
        let mut layers = state.layers.clone();
        if let Some(layer) = &made.layer {
            config.rootfs.diff_ids.push(layer.diff_id.to_string());
            layers.push(layer.clone());
        }
        let bytes = config.to_bytes().map_err(Error::Json)?;
        let recorded_layers = layers.clone();
        let image = self
            .with_store(move |store| {
                record_image_bytes(
                    store,
                    &bytes,
                    recorded_layers,
                    std::iter::empty(),
                    parent.as_ref(),
                )
            })
            .await?;
        self.remember_step(key, image.clone(), made.size, description)
            .await?;
        state.image = Some(image.clone());
        state.layers = layers;
        state.config = config;
        reporter.send(BuildEvent::StepDone { image });
        Ok(())
    }

    /// Runs the needed stages and returns the target's image. Stages run side by side as
    /// soon as the stages they need are done; each one's events are held back until those of
    /// the stages before it (in the plan's order) are out, so the client sees the steps in
    /// order, numbered as if one ran after the other.
    pub(super) async fn run_plan(
        &self,
        plan: &Plan,
        context: &Context,
        opts: &BuildOptions,
        reporter: &Reporter,
    ) -> Result<Digest> {
        let mut steps = Steps {
            number: 0,
            total: plan.total,
        };
        for arg in plan.stages.global_args() {
            steps.announce(arg, reporter);
        }
        let slots: Vec<watch::Sender<Slot>> = (0..plan.stages.stages().len())
            .map(|_| watch::channel(Slot::Pending).0)
            .collect();
        let mut outputs = Vec::new();
        let mut runs = Vec::new();
        let mut number = steps.number;
        for &i in &plan.needed {
            let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
            outputs.push(rx);
            let stage_steps = Steps {
                number,
                total: plan.total,
            };
            number += 1 + plan.stages.stages()[i].instructions.len();
            let run = StageRun {
                index: i,
                steps: stage_steps,
                reporter: Reporter::new(tx),
            };
            runs.push(self.run_stage(plan, context, opts, run, &slots));
        }
        let forward = async {
            for mut rx in outputs {
                while let Some(event) = rx.recv().await {
                    reporter.send(event);
                }
            }
        };
        let (results, ()) = tokio::join!(futures_util::future::join_all(runs), forward);
        // The first failure in the plan's order that is not only a consequence of another.
        let consequence =
            |e: &Error| matches!(e, Error::Build(b) if matches!(**b, BuildError::StageFailed));
        let failed = results
            .iter()
            .position(|r| r.as_ref().is_err_and(|e| !consequence(e)))
            .or_else(|| results.iter().position(Result::is_err));
        if let Some(i) = failed {
            if let Some(Err(e)) = results.into_iter().nth(i) {
                return Err(e);
            }
            return Err(BuildError::StageFailed.into());
        }
        let image = results
            .into_iter()
            .last()
            .and_then(|r| r.ok())
            .ok_or(BuildError::NoStage)?;
        self.warn_unused_args(plan, opts, reporter);
        reporter.send(BuildEvent::Built {
            image: image.clone(),
        });
        Ok(image)
    }

    /// One stage, once the stages it needs are done; its outcome goes to `slots` for the
    /// stages that need it.
    async fn run_stage(
        &self,
        plan: &Plan,
        context: &Context,
        opts: &BuildOptions,
        mut run: StageRun,
        slots: &[watch::Sender<Slot>],
    ) -> Result<Digest> {
        let i = run.index;
        let mut done: Vec<Option<StageState>> = vec![None; slots.len()];
        for &dep in &plan.graph.stages[i].deps {
            let mut rx = slots[dep].subscribe();
            let slot = rx
                .wait_for(|s| !matches!(s, Slot::Pending))
                .await
                .map(|s| s.clone());
            match slot {
                Ok(Slot::Done(state)) => done[dep] = Some(*state),
                _ => {
                    slots[i].send_replace(Slot::Failed);
                    return Err(BuildError::StageFailed.into());
                }
            }
        }
        let b = Build {
            plan,
            context,
            opts,
            reporter: &run.reporter,
        };
        let built = async {
            let stage = &plan.stages.stages()[i];
            let mut state = self.start_stage(b, i, &done, &mut run.steps).await?;
            for step in &stage.instructions {
                run.steps.announce(step, b.reporter);
                self.dispatch(&mut state, step, b, i, &done).await?;
            }
            if Some(&i) == plan.needed.last() {
                for (k, v) in &opts.labels {
                    self.api_label(&mut state, k, v, &mut run.steps, b).await?;
                }
            }
            let image = self.ensure_image(&mut state).await?;
            b.reporter.send(BuildEvent::StageDone {
                image: image.clone(),
            });
            Ok::<_, Error>((image, state))
        }
        .await;
        match built {
            Ok((image, state)) => {
                slots[i].send_replace(Slot::Done(Box::new(state)));
                Ok(image)
            }
            Err(e) => {
                slots[i].send_replace(Slot::Failed);
                Err(e)
            }
        }
    }

    /// A stage's image, made when the stage never got one (`FROM scratch` and nothing else).
    async fn ensure_image(&self, state: &mut StageState) -> Result<Digest> {
        if let Some(image) = &state.image {
            return Ok(image.clone());
        }
        let _gc = self.inner.gc_lock.read().await;
        let mut config = state.config.clone();
        config.created = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
        let bytes = config.to_bytes().map_err(Error::Json)?;
        let image = self
            .with_store(move |store| {
                record_image_bytes(store, &bytes, Vec::new(), std::iter::empty(), None)
            })
            .await?;
        state.image = Some(image.clone());
        Ok(image)
    }

    /// Build args the Dockerfile never declares: dockerd warns and goes on.
    fn warn_unused_args(&self, plan: &Plan, opts: &BuildOptions, reporter: &Reporter) {
        let declared = |name: &str| {
            plan.stages
                .global_args()
                .iter()
                .chain(
                    plan.stages
                        .stages()
                        .iter()
                        .flat_map(|s| s.instructions.iter()),
                )
                .any(|i| match &i.kind {
                    InstructionKind::Arg(args) => args.iter().any(|a| a.name == name),
                    _ => false,
                })
        };
        let unused: Vec<&str> = opts
            .build_args
            .keys()
            .map(String::as_str)
            .filter(|k| !super::dispatch::PROXY_ARGS.contains(k) && !declared(k))
            .collect();
        if !unused.is_empty() {
            reporter.send(BuildEvent::Warning(format!(
                "One or more build-args [{}] were not consumed",
                unused.join(" ")
            )));
        }
    }
}

/// A stage's outcome, for the stages that need it.
#[derive(Clone)]
enum Slot {
    Pending,
    Done(Box<StageState>),
    Failed,
}

/// What one stage's run owns: its index, its step numbers and where its events go.
struct StageRun {
    index: usize,
    steps: Steps,
    reporter: Reporter,
}

/// Step numbering, as the client sees it.
pub(super) struct Steps {
    number: usize,
    total: usize,
}

impl Steps {
    pub(super) fn announce(&mut self, step: &Instruction, reporter: &Reporter) {
        self.announce_text(step.original.clone(), reporter);
    }

    pub(super) fn announce_text(&mut self, instruction: String, reporter: &Reporter) {
        self.number += 1;
        reporter.send(BuildEvent::Step {
            number: self.number,
            total: self.total,
            instruction,
        });
    }
}
