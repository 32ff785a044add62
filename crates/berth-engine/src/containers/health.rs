//! Healthchecks: while a container with a `HEALTHCHECK` (from its image or `--health-*`) runs,
//! a task runs the check as an exec at the interval, with a timeout, keeps the last five
//! results and derives `starting` / `healthy` / `unhealthy` as dockerd does. The health is part
//! of the persisted [`State`](super::State), so inspect shows it after a daemon restart, where
//! `restore` starts the task again.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Container, State};
use crate::events::EventType;
use crate::spec::options::Healthcheck;
use crate::{Engine, Error, Result};

/// dockerd's defaults (`container/health.go`).
const DEFAULT_INTERVAL: Duration = Duration::from_secs(30);
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
const DEFAULT_START_INTERVAL: Duration = Duration::from_secs(5);
const DEFAULT_RETRIES: u32 = 3;
/// Results kept in `.State.Health.Log`.
const MAX_LOG_ENTRIES: usize = 5;
/// Output kept per result.
const MAX_OUTPUT: usize = 4096;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HealthStatus {
    #[default]
    Starting,
    Healthy,
    Unhealthy,
}

impl HealthStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Starting => "starting",
            Self::Healthy => "healthy",
            Self::Unhealthy => "unhealthy",
        }
    }
}

/// One probe's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthResult {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// 0 healthy, 1 unhealthy, -1 the probe itself failed (timeout, could not run).
    pub exit_code: i32,
    pub output: String,
}

/// `.State.Health`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    pub status: HealthStatus,
    pub failing_streak: u32,
    pub log: Vec<HealthResult>,
}

/// A healthcheck with dockerd's defaults filled in.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Probe {
    cmd: Vec<String>,
    interval: Duration,
    timeout: Duration,
    start_period: Duration,
    start_interval: Duration,
    retries: u32,
}

fn duration(nanos: i64, default: Duration) -> Duration {
    if nanos > 0 {
        Duration::from_nanos(nanos as u64)
    } else {
        default
    }
}

impl Probe {
    fn new(h: &Healthcheck) -> Option<Self> {
        let cmd = match h.test.split_first() {
            Some((kind, rest)) if kind == "CMD" && !rest.is_empty() => rest.to_vec(),
            Some((kind, rest)) if kind == "CMD-SHELL" && !rest.is_empty() => {
                vec!["/bin/sh".into(), "-c".into(), rest.join(" ")]
            }
            _ => return None,
        };
        Some(Self {
            cmd,
            interval: duration(h.interval, DEFAULT_INTERVAL),
            timeout: duration(h.timeout, DEFAULT_TIMEOUT),
            start_period: duration(h.start_period, Duration::ZERO),
            start_interval: duration(h.start_interval, DEFAULT_START_INTERVAL),
            retries: u32::try_from(h.retries)
                .ok()
                .filter(|r| *r > 0)
                .unwrap_or(DEFAULT_RETRIES),
        })
    }
}

/// Folds one result into the health, as dockerd's `handleProbeResult`: a failure inside the
/// start period does not count while the container has never been healthy.
fn apply_result(h: &mut Health, result: HealthResult, in_start_period: bool, retries: u32) {
    let ok = result.exit_code == 0;
    h.log.push(result);
    if h.log.len() > MAX_LOG_ENTRIES {
        let extra = h.log.len() - MAX_LOG_ENTRIES;
        h.log.drain(..extra);
    }
    if ok {
        h.failing_streak = 0;
        h.status = HealthStatus::Healthy;
    } else if !(in_start_period && h.status == HealthStatus::Starting) {
        h.failing_streak += 1;
        if h.failing_streak >= retries {
            h.status = HealthStatus::Unhealthy;
        }
    }
}

impl Engine {
    /// The container's effective healthcheck (request merged with the image's).
    async fn healthcheck_of(&self, c: &Container) -> Result<Option<Healthcheck>> {
        let image = c.image_id.clone();
        // The kubelet probes a pod's containers itself.
        let Some(super::Extension::DockerCreate(opts)) = c.config.extension.clone() else {
            return Ok(None);
        };
        self.with_store(move |store| {
            let img = store.metadata.get_image(&image)?;
            let image_cfg = super::create::image_config(&img.config)?;
            Ok(crate::spec::merge(&opts, &image_cfg)?.healthcheck)
        })
        .await
    }

    /// Starts the health monitor of a running container; `reset` (on start, not on restore)
    /// begins again from `starting` with an empty log. It ends when this run of the container
    /// ends.
    pub(crate) fn start_health_monitor(&self, c: &Container, reset: bool) {
        let engine = self.clone();
        let c = c.clone();
        tokio::spawn(async move {
            let probe = match engine.healthcheck_of(&c).await {
                Ok(Some(h)) => Probe::new(&h),
                Ok(None) => None,
                Err(e) => {
                    tracing::warn!(container = %c.id, error = %e, "read healthcheck");
                    None
                }
            };
            let Some(probe) = probe else { return };
            engine.run_health_monitor(c, probe, reset).await;
        });
    }

    async fn run_health_monitor(&self, c: Container, probe: Probe, reset: bool) {
        let entry = self.inner.containers.entry(&c.id, &c.state);
        let mut rx = entry.state.subscribe();
        let (exits, started_at) = {
            let s = rx.borrow();
            (s.exits, s.started_at.unwrap_or_else(Utc::now))
        };
        drop(entry);
        if reset || c.state.health.is_none() {
            self.update_health(&c.id, |h| *h = Health::default()).await;
        }
        let this_run_over = move |s: &State| !s.status.is_live() || s.exits != exits;
        loop {
            let in_start_period = Utc::now() - started_at
                < chrono::TimeDelta::from_std(probe.start_period).unwrap_or_default();
            let starting = self
                .inner
                .containers
                .entry(&c.id, &c.state)
                .state
                .borrow()
                .health
                .as_ref()
                .is_none_or(|h| h.status == HealthStatus::Starting);
            let wait = if in_start_period && starting {
                probe.start_interval
            } else {
                probe.interval
            };
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = rx.wait_for(this_run_over) => return,
            }
            if this_run_over(&rx.borrow()) {
                return;
            }
            if rx.borrow().status != super::Status::Running {
                // A paused container cannot run the probe; dockerd skips it too.
                continue;
            }
            let start = Utc::now();
            let (exit_code, output) = match self
                .run_exec_captured(&c.id, probe.cmd.clone(), probe.timeout, MAX_OUTPUT)
                .await
            {
                Ok((Some(code), out)) => (code, out),
                Ok((None, _)) => (
                    -1,
                    format!(
                        "Health check exceeded timeout ({}s)",
                        probe.timeout.as_secs_f64()
                    ),
                ),
                Err(Error::NotRunning(_)) | Err(Error::NoSuchContainer(_)) => return,
                Err(e) => (-1, e.to_string()),
            };
            let result = HealthResult {
                start,
                end: Utc::now(),
                exit_code,
                output,
            };
            let in_start_period = start - started_at
                < chrono::TimeDelta::from_std(probe.start_period).unwrap_or_default();
            let retries = probe.retries;
            let changed = self
                .update_health(&c.id, |h| {
                    let before = h.status;
                    apply_result(h, result, in_start_period, retries);
                    (before != h.status).then_some(h.status)
                })
                .await
                .flatten();
            if let Some(status) = changed {
                let c = self.container(&c.id).await.unwrap_or(c.clone());
                self.events().publish(
                    EventType::Container,
                    &format!("health_status: {}", status.as_str()),
                    &c.id,
                    self.container_event_attrs(&c),
                );
            }
        }
    }

    /// Changes the health of a live container in memory and in the store. Never resurrects a
    /// container that exited meanwhile.
    async fn update_health<T>(&self, id: &str, f: impl FnOnce(&mut Health) -> T) -> Option<T> {
        self.update_state(id, |s| {
            s.status
                .is_live()
                .then(|| f(s.health.get_or_insert_with(Health::default)))
        })
        .await
        .ok()
        .flatten()
    }
}

#[cfg(test)]
mod tests;
