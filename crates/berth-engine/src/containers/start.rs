//! `docker start`: networking, bundle, shim, then `runtime start`.

use super::{runtime, Container, State, Status};
use crate::events::EventType;
use crate::networks::NetSetup;
use crate::{Engine, Error, Result};

impl Engine {
    /// `docker start`. Returns false when it was already running (the API's 304).
    pub async fn start_container(&self, name_or_id: &str) -> Result<bool> {
        let c = self.container(name_or_id).await?;
        let entry = self.inner.containers.entry(&c.id, &c.state);
        let _op = entry.op.lock().await;
        let c = self.container(&c.id).await?;
        if c.state.status.is_live() {
            return Ok(false);
        }
        if c.state.status == Status::Removing {
            return Err(Error::ContainerRemoving(c.id.clone()));
        }
        let mut state = c.state.clone();
        state.stopped_by_user = false;
        if let Err(e) = self.start_locked(&c, state).await {
            if c.config.spec.auto_remove {
                // As dockerd: a `--rm` container that cannot start is removed, so the client's
                // wait for its removal ends.
                let engine = self.clone();
                let id = c.id.clone();
                tokio::spawn(async move {
                    let _ = engine.remove_container(&id, true, true).await;
                });
            }
            return Err(e);
        }
        Ok(true)
    }

    /// Mounts, writes the bundle, starts the shim and the process. Callers hold the op lock.
    pub(crate) async fn start_locked(&self, c: &Container, mut state: State) -> Result<()> {
        let t0 = std::time::Instant::now();
        let net = match self.setup_networking(c).await {
            Ok(n) => n,
            Err(e) => {
                self.cleanup_after_exit(&c.id).await;
                return Err(e);
            }
        };
        let t_net = t0.elapsed();
        let engine = self.clone();
        let container = c.clone();
        let setup = net.clone();
        let prepared = self
            .with_store(move |store| engine.prepare_bundle(store, &container, &setup))
            .await;
        let (mut shim_cmd, user) = match prepared {
            Ok(v) => v,
            Err(e) => {
                self.abort_start(&c.id, &net).await;
                return Err(e);
            }
        };
        let t_prepared = t0.elapsed();
        // Nothing to do between create and start for a pod's container (no network of its own
        // to set up, no attach to wait for): one runtime process does both.
        shim_cmd.start = c.in_pod();
        let started = self.spawn_shim(shim_cmd).await;
        let t_shim = t0.elapsed();
        let started = match started {
            Ok(s) => s,
            Err(e) => {
                self.abort_start(&c.id, &net).await;
                return Err(e);
            }
        };
        if net.netns.is_none() && c.config.spec.network.mode.has_own_namespace() {
            // Its own network namespace: loopback up, as Docker does even for `--network none`.
            let pid = started.pid;
            let up = tokio::task::spawn_blocking(move || berth_sys::netns::loopback_up(pid)).await;
            if let Ok(Err(e)) = up {
                tracing::warn!(container = %c.id, error = %e, "bring up loopback");
            }
        }
        self.connect_waiting_attachers(&c.id).await;
        let t_attached = t0.elapsed();
        if !c.in_pod() {
            if let Err(e) = runtime::run(self.runtime().start(&c.id)).await {
                self.delete_runtime_state(&c.id).await;
                self.abort_start(&c.id, &net).await;
                return Err(e);
            }
        }
        tracing::debug!(
            container = %c.id,
            network_us = t_net.as_micros() as u64,
            prepare_us = (t_prepared - t_net).as_micros() as u64,
            shim_us = (t_shim - t_prepared).as_micros() as u64,
            attach_us = (t_attached - t_shim).as_micros() as u64,
            runtime_start_us = (t0.elapsed() - t_attached).as_micros() as u64,
            "started"
        );
        state.status = Status::Running;
        state.pid = started.pid;
        state.shim_pid = started.shim_pid;
        state.exit_code = 0;
        state.oom_killed = false;
        state.error.clear();
        state.started_at = Some(chrono::Utc::now());
        state.user = Some(user);
        // The health monitor starts this run from `starting`.
        state.health = None;
        state.networks.clone_from(&net.endpoints);
        state.ports.clone_from(&net.ports);
        if let Err(e) = self.save_state(&c.id, state).await {
            // Unrecorded, the process would run unwatched on attachments nobody releases.
            self.delete_runtime_state(&c.id).await;
            self.abort_start(&c.id, &net).await;
            return Err(e);
        }
        self.events().publish(
            EventType::Container,
            "start",
            &c.id,
            self.container_event_attrs(c),
        );
        self.watch_exit(c.id.clone());
        self.start_health_monitor(c, true);
        Ok(())
    }

    /// Undoes a start that failed after [`Self::setup_networking`]: its attachments (not in the
    /// container's state yet), then what an exit cleans.
    async fn abort_start(&self, id: &str, net: &NetSetup) {
        self.release_networking(id, &net.endpoints, &net.ports)
            .await;
        self.cleanup_after_exit(id).await;
    }
}
