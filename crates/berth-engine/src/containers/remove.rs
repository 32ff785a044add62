//! `docker rm`: the process (with `-f`), the runtime state, the mount, the writable layer, the
//! logs and generated files, and the record, in that order, so an interrupted removal can be
//! retried.

use super::{runtime, State, Status};
use crate::events::EventType;
use crate::{Engine, Error, Result};

impl Engine {
    pub async fn remove_container(
        &self,
        name_or_id: &str,
        force: bool,
        volumes: bool,
    ) -> Result<()> {
        let c = self.container(name_or_id).await?;
        let entry = self.inner.containers.entry(&c.id, &c.state);
        let op = entry.op.lock().await;
        let c = self.container(&c.id).await?;
        if !force {
            if c.state.status == Status::Restarting {
                return Err(Error::RemoveRestarting(c.name.clone()));
            }
            if c.state.status.is_live() {
                return Err(Error::RemoveRunning(c.id.clone()));
            }
        } else if self.stop_by_user(&c.id).await?.is_live() {
            let mut rx = entry.state.subscribe();
            let _ = runtime::run(self.runtime().kill(&c.id, "SIGKILL", false)).await;
            drop(op);
            let stopped = tokio::time::timeout(
                std::time::Duration::from_secs(30),
                rx.wait_for(|s| !s.status.is_live()),
            )
            .await
            .is_ok_and(|r| r.is_ok());
            if !stopped {
                return Err(Error::StopTimedOut(c.id.clone()));
            }
            return Box::pin(self.remove_stopped(&c.id, volumes)).await;
        }
        drop(op);
        self.remove_stopped(&c.id, volumes).await
    }

    /// `volumes` (`rm -v`, `--rm`): its anonymous volumes go too.
    async fn remove_stopped(&self, id: &str, volumes: bool) -> Result<()> {
        let c = self.container(id).await?;
        let entry = self.inner.containers.entry(&c.id, &c.state);
        let _op = entry.op.lock().await;
        let removing = self
            .update_state(&c.id, |state| {
                let stopped = !state.status.is_live();
                if stopped {
                    state.status = Status::Removing;
                }
                stopped
            })
            .await?;
        if !removing {
            return Err(Error::RemoveRunning(c.id.clone()));
        }
        self.delete_runtime_state(&c.id).await;
        self.cleanup_after_exit(&c.id).await;
        let bundle = self.bundle_dir(&c.id);
        let data = self.data_dir(&c.id);
        let shim = self.shim_dir(&c.id);
        let key = c.id.clone();
        let refs = self
            .with_store(move |store| {
                let record = store.metadata.get_container(&key)?;
                let refs = store.metadata.container_volume_refs(&key)?;
                let views = store.metadata.container_image_mounts(&key)?;
                crate::pods::remove_snapshots(
                    store,
                    std::iter::once(record.snapshot_key.as_str())
                        .chain(views.iter().map(|v| v.snapshot_key.as_str())),
                )?;
                for dir in [&bundle, &data, &shim] {
                    match std::fs::remove_dir_all(dir) {
                        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                            return Err(Error::Io {
                                action: "remove",
                                path: dir.clone(),
                                source: e,
                            })
                        }
                        _ => {}
                    }
                }
                store.metadata.delete_container(&key)?;
                Ok(refs)
            })
            .await?;
        if volumes {
            self.remove_anonymous_volumes(refs).await;
        }
        entry.state.send_replace(State {
            removed: true,
            ..c.state.clone()
        });
        self.inner.containers.forget(&c.id);
        self.events().publish(
            EventType::Container,
            "destroy",
            &c.id,
            self.container_event_attrs(&c),
        );
        Ok(())
    }
}
