//! `docker container prune`: removes every container that is not running (created, exited,
//! dead), each through the normal removal path, and reports the writable-layer space freed.

use std::collections::BTreeMap;

use super::{label_matches, ListOptions};
use crate::events::EventType;
use crate::{Engine, Result};

/// Filters of `docker container prune`.
#[derive(Debug, Clone, Default)]
pub struct ContainerPruneOptions {
    /// `until=`: only containers created before this Unix time (seconds).
    pub until: Option<i64>,
    /// `label=k` / `label=k=v`: all must match.
    pub labels: Vec<String>,
    /// `label!=k` / `label!=k=v`: none may match.
    pub labels_not: Vec<String>,
}

/// What `docker container prune` removed.
#[derive(Debug, Clone, Default)]
pub struct ContainersPruned {
    pub ids: Vec<String>,
    /// Sum of the removed containers' writable layers.
    pub space_reclaimed: u64,
}

impl Engine {
    pub async fn prune_containers(&self, opts: ContainerPruneOptions) -> Result<ContainersPruned> {
        let all = self
            .list_containers(ListOptions {
                all: true,
                ..Default::default()
            })
            .await?;
        let mut pruned = ContainersPruned::default();
        for c in all {
            let labels = &c.config.spec.labels;
            if c.state.status.is_live()
                || c.state.status == super::Status::Restarting
                || opts.until.is_some_and(|u| c.created.timestamp() >= u)
                || !opts.labels.iter().all(|l| label_matches(labels, l))
                || opts.labels_not.iter().any(|l| label_matches(labels, l))
            {
                continue;
            }
            let size = self.container_size(&c.id).await.map_or(0, |s| s.rw);
            match self.remove_container(&c.id, false, false).await {
                Ok(()) => {
                    pruned.space_reclaimed += size;
                    pruned.ids.push(c.id);
                }
                // Started (or removed) meanwhile: not ours to prune any more.
                Err(e) => tracing::info!(container = %c.id, error = %e, "prune skipped"),
            }
        }
        self.events().publish(
            EventType::Container,
            "prune",
            "",
            BTreeMap::from([("reclaimed".to_string(), pruned.space_reclaimed.to_string())]),
        );
        Ok(pruned)
    }
}
