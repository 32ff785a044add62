//! The build cache: a step's key is a digest of what the step reads — the image it runs on,
//! the config it would record (its command line names the content hash of what a COPY copies,
//! and the build args a RUN sees), and what else changes its result (RUN's mounts and network).
//! Two steps with one key make the same image, so a hit reuses the image the first made
//! (`metadata.build_cache`). Only what a step reads is in its key: a change to one source file
//! misses from the first step that copies it, and every step before still hits.

use berth_store::metadata::CacheEntry;
use berth_types::Digest;
use serde::Serialize;
use sha2::{Digest as _, Sha256};

use super::image_config::RunConfig;
use crate::{Engine, Result};

/// The key's layout version: a change in what goes into keys must not hit old entries.
const VERSION: u32 = 2;

#[derive(Serialize)]
struct KeyInput<'a, E: Serialize> {
    version: u32,
    parent: &'a Digest,
    config: &'a RunConfig,
    extra: &'a E,
}

/// The cache key of a step on `parent` that records `config` (its `container_config`, whose
/// `Cmd` describes the step) and whose result also depends on `extra`.
pub(super) fn key(parent: &Digest, config: &RunConfig, extra: &impl Serialize) -> Digest {
    let input = KeyInput {
        version: VERSION,
        parent,
        config,
        extra,
    };
    let bytes = serde_json::to_vec(&input).unwrap_or_else(|e| {
        // Plain structs, strings and maps always serialize; were one ever not to, the key must
        // not collide with every other such failure.
        format!("unserializable: {e} {}", crate::random_hex(32)).into_bytes()
    });
    Digest::sha256_from_bytes(&Sha256::digest(&bytes).into())
}

impl Engine {
    /// The image a step with `key` made, if it is still there.
    pub(super) async fn cached_step(&self, key: &Digest) -> Result<Option<Digest>> {
        let key = key.clone();
        self.with_store(move |store| Ok(store.metadata.use_cache_entry(&key)?.map(|e| e.image_id)))
            .await
    }

    /// Remembers that the step with `key` made `image`.
    pub(super) async fn remember_step(
        &self,
        key: Digest,
        image: Digest,
        size: u64,
        description: String,
    ) -> Result<()> {
        let now = chrono::Utc::now();
        let entry = CacheEntry {
            key,
            image_id: image,
            size,
            description,
            created: now,
            last_used: now,
            usage_count: 0,
        };
        self.with_store(move |store| Ok(store.metadata.put_cache_entry(&entry)?))
            .await
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
