//! Live restore: after a daemon restart, re-attach to the shims of running containers and
//! record the exits of the others, then finish or undo what a crash interrupted.

use berth_shim::Control;

use super::Status;
use crate::{Engine, Result};

impl Engine {
    /// Re-attaches to the shims of containers that were running when berthd last stopped; a
    /// shim that is gone means its container exited while we were away.
    pub(crate) async fn restore(&self) -> Result<()> {
        // Every owner's: a pod's containers run on their shims across a restart too.
        let containers = self.all_containers().await?;
        let known = containers.iter().map(|c| c.id.clone()).collect();
        for c in containers {
            let dir = self.shim_dir(&c.id);
            let shim_alive = tokio::task::spawn_blocking(move || Control::connect(&dir).is_ok())
                .await
                .unwrap_or(false);
            match c.state.status {
                status if status.is_live() && shim_alive => {
                    tracing::info!(container = %c.id, "re-attached to running container");
                    let engine = self.clone();
                    let id = c.id.clone();
                    self.with_store(move |store| engine.rehold_volumes(store, &id))
                        .await?;
                    self.watch_exit(c.id.clone());
                    self.start_health_monitor(&c, false);
                }
                status if status.is_live() => {
                    let dir = self.shim_dir(&c.id);
                    let exit = tokio::task::spawn_blocking(move || berth_shim::read_exit(&dir))
                        .await
                        .ok()
                        .and_then(|r| r.ok())
                        .flatten();
                    self.handle_exit(&c.id, exit).await;
                }
                Status::Restarting => {
                    // The crash cut the back-off short: clean up, then wait it out again.
                    self.delete_runtime_state(&c.id).await;
                    self.cleanup_after_exit(&c.id).await;
                    self.schedule_restart(c.id.clone(), c.state.restart_count);
                }
                Status::Removing => {
                    // A removal the crash interrupted: finish it.
                    if let Err(e) = self.remove_container(&c.id, true, false).await {
                        tracing::warn!(container = %c.id, error = %e, "finish interrupted removal");
                    }
                }
                _ => {
                    // Not running by our records: a start the crash interrupted may have left a
                    // created runtime container (with its shim and cgroup) and a mounted rootfs.
                    if shim_alive {
                        tracing::info!(container = %c.id, "discarding a start interrupted by a crash");
                    }
                    self.delete_runtime_state(&c.id).await;
                    self.cleanup_after_exit(&c.id).await;
                }
            }
        }
        let engine = self.clone();
        self.with_store(move |store| engine.unmount_idle_volumes(store))
            .await?;
        self.remove_fs_leftovers(known).await;
        // Nothing is in flight yet, so whatever no image or container references (partial
        // downloads, half-unpacked layers of an interrupted import) can go now.
        let report = self
            .with_store(|store| Ok(store.gc(std::time::SystemTime::now())?))
            .await?;
        if report.bytes_freed > 0 || !report.snapshots.is_empty() {
            tracing::info!(
                bytes = report.bytes_freed,
                snapshots = report.snapshots.len(),
                "removed leftovers of interrupted operations"
            );
        }
        Ok(())
    }
}
