//! A RUN step: a container of the step's parent image, through the engine's own create, attach,
//! start and wait, as dockerd's builder runs one (visible in `docker ps -a` while it runs, with
//! its events); its output goes to the build's client as it comes. Its writable layer then
//! becomes the step's layer ([`super::layer`]).

use std::collections::BTreeMap;

use berth_types::Digest;
use tokio::io::AsyncReadExt;

use super::image_config::RunConfig;
use super::mounts::RunMounts;
use super::{BuildError, BuildEvent, BuildNetwork, BuildOptions, Reporter};
use crate::containers::{AttachOptions, CreateRequest, WaitCondition};
use crate::spec::options::{Healthcheck, Ulimit};
use crate::spec::{CreateOptions, HostConfig, LogConfig};
use crate::{Engine, Error, Result};

/// What one RUN runs.
pub(super) struct RunStep<'a> {
    /// The step's parent image (a recorded image: the container's image).
    pub parent: &'a Digest,
    /// The build's state: env, user, working dir.
    pub config: &'a RunConfig,
    /// The argv (a shell form already wrapped in the stage's SHELL).
    pub argv: Vec<String>,
    /// Build args in scope, `K=V`: in the process's environment, not in the image's.
    pub build_env: Vec<String>,
    /// `RUN --network`, over the build's own.
    pub network: Option<&'a BuildNetwork>,
    /// `RUN --mount`s and a heredoc script's file, made on the host.
    pub mounts: &'a RunMounts,
}

/// A finished RUN container: it exited 0; its snapshot holds what it changed.
pub(super) struct RunContainer {
    pub id: String,
}

impl Engine {
    /// Runs `step` to its exit. A non-zero exit is [`BuildError::RunFailed`] naming the
    /// command; the container is then left or removed as `opts.remove` says, as it is on
    /// success by the caller once its layer is taken.
    pub(super) async fn run_step(
        &self,
        step: RunStep<'_>,
        opts: &BuildOptions,
        reporter: &Reporter,
    ) -> Result<RunContainer> {
        let options = create_options(&step, opts);
        let (id, _warnings) = self
            .create_container(CreateRequest {
                name: None,
                options,
            })
            .await?;
        reporter.send(BuildEvent::Running {
            container: id.clone(),
        });
        let ran = self.run_to_exit(&id, reporter).await;
        let code = match ran {
            Ok(0) => return Ok(RunContainer { id }),
            Ok(code) => Some(code),
            Err(e) => {
                self.discard_run(&id, &step, opts, reporter).await;
                return Err(e);
            }
        };
        self.discard_run(&id, &step, opts, reporter).await;
        Err(BuildError::RunFailed {
            command: step.argv.join(" "),
            code,
        }
        .into())
    }

    /// Attaches, starts, forwards the output, and waits: the exit code.
    async fn run_to_exit(&self, id: &str, reporter: &Reporter) -> Result<i64> {
        let pending = self
            .attach_container(id, AttachOptions { stdin: false })
            .await?;
        let forward = {
            let reporter = reporter.clone();
            tokio::spawn(async move {
                let mut stream = pending.connect().await?.stream;
                forward_output(&mut stream, &reporter).await
            })
        };
        if let Err(e) = self.start_container(id).await {
            // Its attach waits for a start that will not come: it would linger as long as the
            // failed step's container is kept.
            forward.abort();
            return Err(e);
        }
        let state = self.wait_container(id, WaitCondition::NotRunning).await?;
        // The output ends with the process: the shim closes the stream after the last byte.
        match forward.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!(container = id, error = %e, "build step output"),
            Err(e) => tracing::warn!(container = id, error = %e, "build step output"),
        }
        if !state.error.is_empty() {
            return Err(BuildError::RunStart {
                container: id.to_string(),
                message: state.error.clone(),
            }
            .into());
        }
        Ok(i64::from(state.exit_code))
    }

    /// A failed step's container: kept for inspection unless `forcerm` (dockerd's rule), or
    /// unless its environment holds a secret.
    async fn discard_run(
        &self,
        id: &str,
        step: &RunStep<'_>,
        opts: &BuildOptions,
        reporter: &Reporter,
    ) {
        if opts.remove == super::RemoveContainers::Always || step.mounts.secret_env {
            self.remove_run(id, reporter).await;
        }
    }

    /// Removes a RUN container (its volumes too) and says so, as dockerd's builder does.
    pub(super) async fn remove_run(&self, id: &str, reporter: &Reporter) {
        match self.remove_container(id, true, true).await {
            Ok(()) => reporter.send(BuildEvent::Removed {
                container: id.to_string(),
            }),
            Err(e) => tracing::warn!(container = id, error = %e, "remove build container"),
        }
    }
}

/// Docker's multiplexed stream (no tty): 8-byte headers, stream 1 stdout, 2 stderr.
async fn forward_output(
    stream: &mut tokio::net::UnixStream,
    reporter: &Reporter,
) -> std::result::Result<(), Error> {
    let io = |source| Error::Io {
        action: "read build step output",
        path: Default::default(),
        source,
    };
    let mut header = [0u8; 8];
    loop {
        match stream.read_exact(&mut header).await {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(()),
            Err(e) => return Err(io(e)),
        }
        let len = u32::from_be_bytes([header[4], header[5], header[6], header[7]]) as usize;
        let mut data = vec![0u8; len];
        stream.read_exact(&mut data).await.map_err(io)?;
        reporter.send(BuildEvent::Output {
            stderr: header[0] == 2,
            data,
        });
    }
}

/// The container dockerd's builder creates for a RUN: the state's config with the command
/// and no entrypoint, the build args in its environment, no health check, no logs (its output
/// goes to the client), and the build's network, resources and hosts; with the step's mounts.
fn create_options(step: &RunStep<'_>, opts: &BuildOptions) -> CreateOptions {
    let config = step.config;
    let mut env = config.env.clone();
    env.extend(step.build_env.iter().cloned());
    env.extend(step.mounts.env.iter().cloned());
    let network = step.network.unwrap_or(&opts.network);
    CreateOptions {
        image: step.parent.to_string(),
        cmd: Some(step.argv.clone()),
        // `Some([""])`: neither the image's entrypoint nor its command.
        entrypoint: Some(vec![String::new()]),
        env,
        working_dir: config.working_dir.clone(),
        user: config.user.clone(),
        labels: BTreeMap::new(),
        attach_stdout: true,
        attach_stderr: true,
        stop_signal: config.stop_signal.clone().unwrap_or_default(),
        healthcheck: Some(Healthcheck {
            test: vec!["NONE".into()],
            ..Healthcheck::default()
        }),
        host_config: HostConfig {
            network_mode: match network {
                BuildNetwork::Default => "default".into(),
                BuildNetwork::None => "none".into(),
                BuildNetwork::Host => "host".into(),
                BuildNetwork::Named(n) => n.clone(),
            },
            log_config: LogConfig {
                driver: "none".into(),
                config: BTreeMap::new(),
            },
            memory: opts.memory.limit.unwrap_or(0),
            memory_swap: opts.memory.swap.unwrap_or(0),
            cpu_shares: opts.cpu.shares.map_or(0, |s| s as i64),
            cpu_quota: opts.cpu.quota.unwrap_or(0),
            cpu_period: opts.cpu.period.map_or(0, |p| p as i64),
            cpuset_cpus: opts.cpu.cpus.clone().unwrap_or_default(),
            cpuset_mems: opts.cpu.mems.clone().unwrap_or_default(),
            shm_size: opts.shm_size.unwrap_or(0),
            ulimits: opts
                .ulimits
                .iter()
                .map(|u| Ulimit {
                    name: u.name.clone(),
                    soft: u.soft as i64,
                    hard: u.hard as i64,
                })
                .collect(),
            extra_hosts: opts
                .extra_hosts
                .iter()
                .map(|h| format!("{}:{}", h.hostname, h.address))
                .collect(),
            mounts: step.mounts.binds.clone(),
            tmpfs: step.mounts.tmpfs.clone(),
            ..HostConfig::default()
        },
        ..CreateOptions::default()
    }
}
