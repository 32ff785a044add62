//! What happens when a container's process exits: berthd watches the shim's control socket,
//! whose EOF means "exited, exit file written", records the exit, cleans up, and applies the
//! restart policy (Docker's back-off) or `--rm`.

use std::sync::atomic::Ordering;
use std::time::Duration;

use berth_shim::Control;

use super::{is_mountpoint, Container, State, Status};
use crate::events::EventType;
use crate::model::RestartPolicy;
use crate::Engine;

/// Waits (on a blocking thread) for the shim in `dir` to close its control socket, then reads
/// the exit it recorded (`None`: it died without one).
async fn wait_for_exit(dir: std::path::PathBuf) -> Option<berth_shim::ExitRecord> {
    let dir2 = dir.clone();
    let _ = tokio::task::spawn_blocking(move || {
        Control::connect(&dir2).and_then(|mut ctl| ctl.wait_closed())
    })
    .await;
    tokio::task::spawn_blocking(move || berth_shim::read_exit(&dir))
        .await
        .ok()
        .and_then(|r| r.ok())
        .flatten()
}

impl Engine {
    /// Waits (on a blocking thread) for the shim's control socket to close, then records the exit.
    pub(crate) fn watch_exit(&self, id: String) {
        let engine = self.clone();
        tokio::spawn(async move {
            let exit = wait_for_exit(engine.shim_dir(&id)).await;
            engine.handle_exit(&id, exit).await;
        });
    }

    /// The process is gone: record how, clean the runtime state and the mount, then apply the
    /// restart policy or `--rm`.
    pub(super) async fn handle_exit(&self, id: &str, exit: Option<berth_shim::ExitRecord>) {
        let Ok(c) = self.container(id).await else {
            return;
        };
        // Independent (the runtime's state and cgroup; our rootfs mount): overlapped.
        tokio::join!(self.delete_runtime_state(id), self.cleanup_after_exit(id));
        // Its execs died with it; dockerd forgets them too.
        self.inner.containers.execs.forget_container(id);
        let restarting = self
            .inner
            .containers
            .entry(id, &c.state)
            .restarting
            .load(Ordering::SeqCst);
        let auto_remove = c.config.spec.auto_remove && !restarting;
        // On the current state: a stop or remove since `c` was read set `stopped_by_user`, which
        // the restart decision reads, and must not be lost either.
        let mut recorded = None;
        let saved = self
            .update_state(id, |state| {
                record_exit(state, exit.as_ref());
                let restart = !auto_remove && self.should_restart(&c, state);
                // Waiting out the back-off is dockerd's `restarting` state: a plain remove is
                // refused.
                if restart {
                    state.status = Status::Restarting;
                }
                recorded = Some((state.clone(), restart));
            })
            .await;
        if let Err(e) = saved {
            tracing::error!(container = id, error = %e, "record exit");
        }
        let Some((state, restart)) = recorded else {
            return;
        };
        let mut attrs = self.container_event_attrs(&c);
        attrs.insert("exitCode".into(), state.exit_code.to_string());
        if state.oom_killed {
            self.events().publish(
                EventType::Container,
                "oom",
                id,
                self.container_event_attrs(&c),
            );
        }
        self.events()
            .publish(EventType::Container, "die", id, attrs);
        if auto_remove {
            let engine = self.clone();
            let id = id.to_string();
            tokio::spawn(async move {
                if let Err(e) = engine.remove_container(&id, true, true).await {
                    tracing::warn!(container = %id, error = %e, "auto-remove");
                }
            });
            return;
        }
        if restart {
            self.schedule_restart(id.to_string(), state.restart_count);
        }
    }

    fn should_restart(&self, c: &Container, state: &State) -> bool {
        if state.stopped_by_user {
            return false;
        }
        match c.config.spec.restart {
            RestartPolicy::Always | RestartPolicy::UnlessStopped => true,
            RestartPolicy::OnFailure { max_retries } => {
                state.exit_code != 0 && max_retries.is_none_or(|max| state.restart_count < max)
            }
            RestartPolicy::No => false,
        }
    }

    /// Restarts after Docker's back-off: 100 ms doubling per consecutive restart, at most 1 min.
    pub(super) fn schedule_restart(&self, id: String, restarts: u32) {
        let engine = self.clone();
        let delay = Duration::from_millis(100u64.saturating_mul(1 << restarts.min(10)))
            .min(Duration::from_secs(60));
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            let Ok(c) = engine.container(&id).await else {
                return;
            };
            let entry = engine.inner.containers.entry(&c.id, &c.state);
            let _op = entry.op.lock().await;
            let Ok(c) = engine.container(&id).await else {
                return;
            };
            // A stop, kill or remove during the back-off cancelled the restart.
            if c.state.status != Status::Restarting || c.state.stopped_by_user {
                return;
            }
            let mut state = c.state.clone();
            state.restart_count += 1;
            engine.events().publish(
                EventType::Container,
                "restart",
                &id,
                engine.container_event_attrs(&c),
            );
            if let Err(e) = engine.start_locked(&c, state).await {
                tracing::warn!(container = %id, error = %e, "restart");
            }
        });
    }

    /// Takes the container off its networks, unmounts the rootfs and releases the volumes; the
    /// snapshot (the container's writable
    /// layer) stays.
    pub(crate) async fn cleanup_after_exit(&self, id: &str) {
        self.teardown_networking(id).await;
        let bundle = self.bundle_dir(id);
        let engine = self.clone();
        let id = id.to_string();
        let _ = self
            .with_store(move |store| {
                let rootfs = bundle.join("rootfs");
                if is_mountpoint(&rootfs) {
                    let _ = berth_store::snapshot::unmount(&rootfs);
                }
                crate::pods::unmount_image_mounts(&bundle);
                engine.release_volumes(store, &id);
                Ok(())
            })
            .await;
    }
}

/// Marks the process of `state` exited, as the shim recorded it (`None`: it died without a
/// record).
fn record_exit(state: &mut State, exit: Option<&berth_shim::ExitRecord>) {
    // cleanup_after_exit took the container off its networks.
    state.networks.clear();
    state.ports.clear();
    state.status = Status::Exited;
    state.exits += 1;
    state.pid = 0;
    state.shim_pid = 0;
    match exit {
        Some(e) => {
            state.exit_code = e.code;
            state.oom_killed = e.oom_killed;
            state.finished_at = chrono::DateTime::parse_from_rfc3339(&e.finished_at)
                .ok()
                .map(|t| t.with_timezone(&chrono::Utc))
                .or_else(|| Some(chrono::Utc::now()));
        }
        None => {
            // The shim died without writing the exit file (killed, or the host crashed).
            state.exit_code = 255;
            state.error = "container monitor exited without recording the exit status".into();
            state.finished_at = Some(chrono::Utc::now());
        }
    }
}
