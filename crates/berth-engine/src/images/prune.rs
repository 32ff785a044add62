//! `docker image prune` and garbage collection: deleting image rows only drops references; the
//! store's mark-and-sweep GC then frees the blobs and snapshots nothing references any more.

use std::collections::BTreeMap;
use std::time::SystemTime;

use berth_store::gc::GcReport;

use super::{created_of, familiar, labels_of, parse_config, Removed};
use crate::events::EventType;
use crate::{Engine, Result};

/// Which images `docker image prune` removes; only images no container uses are candidates.
#[derive(Debug, Clone, Default)]
pub struct ImagePruneOptions {
    /// `-a` (`dangling=false`): every unused image, not only untagged ones.
    pub all: bool,
    /// `until=`: only images created before this Unix time (seconds).
    pub until: Option<i64>,
    /// `label=k` / `label=k=v`: all must match.
    pub labels: Vec<String>,
    /// `label!=k` / `label!=k=v`: none may match.
    pub labels_not: Vec<String>,
}

/// What a prune removed.
#[derive(Debug, Clone, Default)]
pub struct Pruned {
    pub removed: Vec<Removed>,
    /// Bytes the garbage collection freed in the content store.
    pub space_reclaimed: u64,
}

fn label_matches(labels: &BTreeMap<String, String>, filter: &str) -> bool {
    match filter.split_once('=') {
        Some((k, v)) => labels.get(k).is_some_and(|have| have == v),
        None => labels.contains_key(filter),
    }
}

impl Engine {
    /// Runs the store's garbage collection. Holds the GC lock for writing, so no import, load
    /// or commit is between its mark and its sweep.
    pub async fn collect_garbage(&self) -> Result<GcReport> {
        let _gc = self.inner.gc_lock.write().await;
        let report = self
            .with_store(|store| Ok(store.gc(SystemTime::now())?))
            .await?;
        tracing::debug!(
            blobs = report.blobs.len(),
            snapshots = report.snapshots.len(),
            bytes = report.bytes_freed,
            "garbage collected"
        );
        Ok(report)
    }

    /// `docker image prune`.
    pub async fn prune_images(&self, opts: ImagePruneOptions) -> Result<Pruned> {
        let removed = self
            .with_store(move |store| {
                let in_use: Vec<_> = store
                    .metadata
                    .list_containers()?
                    .into_iter()
                    .map(|c| c.image_id)
                    .collect();
                let mut removed = Vec::new();
                // Newest first: a build's steps come after the image they were built on, so
                // by the time a step is looked at, the images built on it have been decided.
                for image in store.metadata.list_images()?.into_iter().rev() {
                    // A step something else is built on stays while that does (dockerd's
                    // prune looks at images without children only).
                    if in_use.contains(&image.id)
                        || !store.metadata.image_children(&image.id)?.is_empty()
                    {
                        continue;
                    }
                    let tags = store.metadata.image_tags(&image.id)?;
                    if !opts.all && !tags.is_empty() {
                        continue;
                    }
                    let config = parse_config(&image);
                    if opts.until.is_some_and(|until| created_of(&config) >= until) {
                        continue;
                    }
                    let labels = labels_of(&config);
                    if !opts.labels.iter().all(|l| label_matches(&labels, l))
                        || opts.labels_not.iter().any(|l| label_matches(&labels, l))
                    {
                        continue;
                    }
                    match store.metadata.delete_image(&image.id) {
                        Ok(tags) => {
                            removed.extend(tags.iter().map(|t| Removed::Untagged(familiar(t))));
                            removed.push(Removed::Deleted(image.id.clone()));
                        }
                        // A container was created from it meanwhile: it is in use now.
                        Err(berth_store::Error::ImageInUse { .. }) => {}
                        Err(e) => return Err(e.into()),
                    }
                }
                Ok(removed)
            })
            .await?;
        let report = self.collect_garbage().await?;
        for r in &removed {
            let (action, id) = match r {
                Removed::Untagged(t) => ("untag", t.clone()),
                Removed::Deleted(d) => ("delete", d.to_string()),
            };
            self.events()
                .publish(EventType::Image, action, &id, BTreeMap::new());
        }
        self.events().publish(
            EventType::Image,
            "prune",
            "",
            BTreeMap::from([("reclaimed".to_string(), report.bytes_freed.to_string())]),
        );
        Ok(Pruned {
            removed,
            space_reclaimed: report.bytes_freed,
        })
    }
}
