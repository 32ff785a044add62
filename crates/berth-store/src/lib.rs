//! Storage under the Berth engine, modelled on containerd's: a content-addressed blob store
//! ([`content`]), an overlayfs snapshotter ([`snapshot`]), the metadata database of images and
//! containers ([`metadata`]) and the garbage collector that ties them together ([`gc`]).
//!
//! Everything is synchronous; the daemon calls it from `spawn_blocking`. Layout on disk, schema
//! and GC rules are described in `docs/storage.md`.

pub mod content;
mod error;
mod fsutil;
pub mod gc;
pub mod metadata;
pub mod snapshot;
mod sqlite;

use std::path::{Path, PathBuf};
use std::time::SystemTime;

pub use error::{Error, Result};

/// The three stores under one data root, as the engine uses them:
///
/// ```text
/// <root>/content/      ContentStore
/// <root>/overlay/      Snapshotter
/// <root>/metadata.db   MetadataDb
/// ```
#[derive(Debug)]
pub struct Store {
    root: PathBuf,
    pub content: content::ContentStore,
    pub snapshots: snapshot::Snapshotter,
    pub metadata: metadata::MetadataDb,
}

impl Store {
    /// Opens (creating if needed) every store under `root`; the snapshotter's open removes the
    /// leftovers of interrupted operations.
    pub fn open(root: impl Into<PathBuf>) -> Result<Self> {
        let root = root.into();
        Ok(Self {
            content: content::ContentStore::open(root.join("content"))?,
            snapshots: snapshot::Snapshotter::open(root.join("overlay"))?,
            metadata: metadata::MetadataDb::open(root.join("metadata.db"))?,
            root,
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// [`gc::collect`] over these stores.
    pub fn gc(&self, cutoff: SystemTime) -> Result<gc::GcReport> {
        gc::collect(&self.content, &self.snapshots, &self.metadata, cutoff)
    }
}
