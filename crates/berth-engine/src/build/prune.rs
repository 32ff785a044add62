//! The build cache's size: what `docker system df` shows of it, `docker builder prune` (and
//! `system prune`), and the limit a build enforces when it ends, least recently used first.
//! Dropping an entry drops the step's image once nothing else needs it (no tag, no image built
//! on it, no container, no other entry), and GC then frees its layer.

use std::collections::HashSet;

use berth_store::metadata::CacheEntry;
use berth_types::Digest;

use crate::{Engine, Result};

/// The limit when the configuration sets none: the cache is for speed, not storage.
pub const DEFAULT_CACHE_MAX_BYTES: u64 = 20 << 30;

/// `docker builder prune`'s options.
#[derive(Debug, Clone, Default)]
pub struct CachePruneOptions {
    /// `--all`: every entry, not only those of untagged images.
    pub all: bool,
    /// `--keep-storage`: keep the most recently used entries up to this many bytes.
    pub keep_bytes: u64,
    /// `until=`: only entries last used before this Unix time (seconds).
    pub until: Option<i64>,
}

/// What a prune removed.
#[derive(Debug, Clone, Default)]
pub struct CachePruned {
    /// The keys of the entries dropped.
    pub deleted: Vec<Digest>,
    /// Bytes freed: the dropped steps' layers and the blobs GC deleted.
    pub space_reclaimed: u64,
}

/// One entry as `docker system df -v` lists build cache.
#[derive(Debug, Clone)]
pub struct CacheRecord {
    pub entry: CacheEntry,
    /// Whether an image someone can name (a tag) or a container uses the step's image.
    pub in_use: bool,
}

impl Engine {
    /// The cache entries, least recently used first.
    pub async fn build_cache(&self) -> Result<Vec<CacheRecord>> {
        self.with_store(|store| {
            let containers = store.metadata.list_containers()?;
            store
                .metadata
                .cache_entries()?
                .into_iter()
                .map(|entry| {
                    let in_use = !store.metadata.image_tags(&entry.image_id)?.is_empty()
                        || containers.iter().any(|c| c.image_id == entry.image_id);
                    Ok(CacheRecord { entry, in_use })
                })
                .collect()
        })
        .await
    }

    /// `docker builder prune`: the entries, and the `RUN --mount=type=cache` directories no
    /// step uses (BuildKit prunes its cache mounts with the rest of its cache).
    pub async fn prune_build_cache(&self, opts: CachePruneOptions) -> Result<CachePruned> {
        let mut pruned = self.prune_cache_entries(&opts).await?;
        if opts.keep_bytes == 0 {
            pruned.space_reclaimed += self.prune_build_cache_mounts().await?.bytes;
        }
        Ok(pruned)
    }

    /// The entries `opts` selects, least recently used first.
    async fn prune_cache_entries(&self, opts: &CachePruneOptions) -> Result<CachePruned> {
        let records = self.build_cache().await?;
        let candidates = records
            .iter()
            .filter(|r| opts.all || !r.in_use)
            .filter(|r| {
                opts.until
                    .is_none_or(|until| r.entry.last_used.timestamp() < until)
            })
            .map(|r| &r.entry);
        // Least recently used go first, until what stays fits in `keep_bytes`.
        let mut total: u64 = records.iter().map(|r| r.entry.size).sum();
        let mut drop = Vec::new();
        for entry in candidates {
            if opts.keep_bytes > 0 && total <= opts.keep_bytes {
                break;
            }
            // Down to a size, only what takes space goes (a config-only step costs a row).
            if opts.keep_bytes > 0 && entry.size == 0 {
                continue;
            }
            total = total.saturating_sub(entry.size);
            drop.push(entry.clone());
        }
        self.drop_cache_entries(drop).await
    }

    /// After a build: the cache back under its limit.
    pub(super) async fn enforce_cache_limit(&self) -> Result<()> {
        let limit = self.config().build_cache_max_bytes;
        let records = self.build_cache().await?;
        let total: u64 = records.iter().map(|r| r.entry.size).sum();
        if total <= limit {
            return Ok(());
        }
        self.prune_cache_entries(&CachePruneOptions {
            all: true,
            keep_bytes: limit,
            until: None,
        })
        .await
        .map(drop)
    }

    async fn drop_cache_entries(&self, entries: Vec<CacheEntry>) -> Result<CachePruned> {
        if entries.is_empty() {
            return Ok(CachePruned::default());
        }
        let deleted_layers = self
            .with_store(move |store| {
                let keys: Vec<Digest> = entries.iter().map(|e| e.key.clone()).collect();
                store.metadata.delete_cache_entries(&keys)?;
                let kept: HashSet<Digest> = store
                    .metadata
                    .cache_entries()?
                    .into_iter()
                    .map(|e| e.image_id)
                    .collect();
                let mut freed = 0;
                for entry in &entries {
                    let gone = crate::images::remove_unused_chain(store, &entry.image_id, &kept)?;
                    if gone.contains(&entry.image_id) {
                        freed += entry.size;
                    }
                }
                Ok((keys, freed))
            })
            .await?;
        let (deleted, freed) = deleted_layers;
        let report = self.collect_garbage().await?;
        Ok(CachePruned {
            deleted,
            space_reclaimed: freed + report.bytes_freed,
        })
    }
}
