//! Image builds (`docker build`, `berth build`): a Dockerfile (berth-dockerfile parses it) run
//! step by step on the engine's own machinery, as dockerd's builder does: a RUN is a container
//! of the step's parent image, a COPY writes into a snapshot of it, every step's result is an
//! image whose parent is the step before (so `docker run <step id>` debugs a failed build), and
//! the config and history are dockerd's ([`image_config`]). Unlike dockerd, only the stages the
//! target needs are built, the cache is keyed by content ([`cache`]), and a step's layer is its
//! snapshot committed as it is, never unpacked again ([`layer`]). See docs/build.md.

mod cache;
mod cache_mounts;
mod context;
mod copy;
mod dispatch;
mod error;
mod gofmt;
mod image_config;
mod layer;
mod mounts;
mod options;
mod prune;
mod run;
mod stage;

use std::io::Read;

use berth_types::Digest;
use tokio::sync::mpsc::UnboundedSender;

pub(crate) use cache_mounts::CacheMounts;
pub use cache_mounts::CacheMountsPruned;
pub use error::BuildError;
pub use image_config::go_html_escape;
pub use options::{BuildNetwork, BuildOptions, RemoveContainers};
pub use prune::{CachePruneOptions, CachePruned, CacheRecord, DEFAULT_CACHE_MAX_BYTES};

use crate::images::Progress;
use crate::{Engine, Result};

/// What a build reports as it goes; the Docker API adapter prints these as dockerd's stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BuildEvent {
    /// A step starts: `Step number/total : instruction`.
    Step {
        number: usize,
        total: usize,
        instruction: String,
    },
    /// The step's result came from the cache.
    UsingCache,
    /// A step's container runs.
    Running { container: String },
    /// A FROM runs the base image's ONBUILD triggers, this many.
    Triggers(usize),
    /// Output of a RUN.
    Output { stderr: bool, data: Vec<u8> },
    /// A step's container was removed.
    Removed { container: String },
    /// A step is done: the image it made (or found in the cache).
    StepDone { image: Digest },
    /// A stage is done.
    StageDone { image: Digest },
    /// Pulling a base image.
    Pull(Progress),
    /// Something the user should know (unused build args).
    Warning(String),
    /// The build is done.
    Built { image: Digest },
    /// The result got a name.
    Tagged { reference: String },
}

/// Where a build reports; sending never fails the build (a client that went away does not stop
/// it: dockerd finishes a build whose client hung up, and so do we).
#[derive(Debug, Clone, Default)]
pub struct Reporter(Option<UnboundedSender<BuildEvent>>);

impl Reporter {
    pub fn new(tx: UnboundedSender<BuildEvent>) -> Self {
        Self(Some(tx))
    }

    fn send(&self, event: BuildEvent) {
        if let Some(tx) = &self.0 {
            let _ = tx.send(event);
        }
    }
}

impl Engine {
    /// Builds the image `opts` describes from the context `context` (a tar stream, plain or
    /// compressed, as `POST /build` receives it) and returns its id. The context is unpacked
    /// into a directory of its own, removed when the build ends, whatever the outcome.
    pub async fn build_image(
        &self,
        context: impl Read + Send + 'static,
        opts: BuildOptions,
        reporter: Reporter,
    ) -> Result<Digest> {
        // Bad names are the client's error before anything is read or run, as with dockerd.
        for tag in &opts.tags {
            let reference: berth_types::Reference = tag.parse()?;
            if reference.digest().is_some() {
                return Err(crate::Error::TagWithDigest(tag.clone()));
            }
        }
        let context = self.unpack_context(context, opts.secrets.clone()).await?;
        let dockerfile = context.dockerfile(&opts.dockerfile).await?;
        let plan = stage::Plan::new(&dockerfile, &opts)?;
        let built = self.run_plan(&plan, &context, &opts, &reporter).await;
        let tagged = match built {
            Ok(image) => self
                .tag_built(&image, &opts.tags, &reporter)
                .await
                .map(|()| image),
            Err(e) => Err(e),
        };
        // Whatever the outcome, the steps made so far count against the cache's limit (once
        // tagged, the result itself is safe from it).
        if let Err(e) = self.enforce_cache_limit().await {
            tracing::warn!(error = %e, "build cache limit");
        }
        tagged
    }

    async fn tag_built(&self, image: &Digest, tags: &[String], reporter: &Reporter) -> Result<()> {
        for reference in tags {
            self.tag_image(&image.to_string(), reference).await?;
            reporter.send(BuildEvent::Tagged {
                reference: reference.clone(),
            });
        }
        Ok(())
    }
}
