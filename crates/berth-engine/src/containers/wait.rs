//! `docker wait`.

use super::State;
use crate::{Engine, Result};

/// `docker wait --condition`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WaitCondition {
    #[default]
    NotRunning,
    NextExit,
    Removed,
}

impl Engine {
    /// `docker wait`: the exit code once `condition` holds.
    pub async fn wait_container(
        &self,
        name_or_id: &str,
        condition: WaitCondition,
    ) -> Result<State> {
        let c = self.container(name_or_id).await?;
        let entry = self.inner.containers.entry(&c.id, &c.state);
        let mut rx = entry.state.subscribe();
        drop(entry);
        let result = match condition {
            // An exit ends the wait even when a restart follows (dockerd's restarting state
            // counts as stopped for waiters).
            WaitCondition::NotRunning => rx
                .wait_for(|s| !s.status.is_live())
                .await
                .map(|s| s.clone()),
            WaitCondition::NextExit => {
                let exits = c.state.exits;
                rx.wait_for(|s| s.exits > exits || s.removed)
                    .await
                    .map(|s| s.clone())
            }
            WaitCondition::Removed => rx.wait_for(|s| s.removed).await.map(|s| s.clone()),
        };
        // A closed channel means the entry was dropped: the container is gone.
        Ok(result.unwrap_or_else(|_| rx.borrow().clone()))
    }
}
