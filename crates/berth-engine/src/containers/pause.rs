//! `docker pause` and `docker unpause`: the runtime freezes or thaws the container's cgroup.

use super::{runtime, Status};
use crate::events::EventType;
use crate::{Engine, Error, Result};

impl Engine {
    /// `docker pause` / `docker unpause`.
    pub async fn pause_container(&self, name_or_id: &str, pause: bool) -> Result<()> {
        let c = self.container(name_or_id).await?;
        let entry = self.inner.containers.entry(&c.id, &c.state);
        let _op = entry.op.lock().await;
        let c = self.container(&c.id).await?;
        let (from, to, event) = if pause {
            (Status::Running, Status::Paused, "pause")
        } else {
            (Status::Paused, Status::Running, "unpause")
        };
        if c.state.status != from {
            return Err(if pause && c.state.status == Status::Paused {
                Error::AlreadyPaused(c.id.clone())
            } else if !pause {
                Error::NotPaused(c.id.clone())
            } else {
                Error::NotRunning(c.id.clone())
            });
        }
        let rt = self.runtime();
        runtime::run(if pause {
            rt.pause(&c.id)
        } else {
            rt.resume(&c.id)
        })
        .await?;
        // Unless it exited meanwhile: its exit stays recorded.
        self.update_state(&c.id, |state| {
            if state.status == from {
                state.status = to;
            }
        })
        .await?;
        self.events().publish(
            EventType::Container,
            event,
            &c.id,
            self.container_event_attrs(&c),
        );
        Ok(())
    }
}
