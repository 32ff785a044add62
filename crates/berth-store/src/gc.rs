//! Mark and sweep garbage collection over the three stores.
//!
//! Roots are the metadata database's images (index, manifest, config and layer blobs, and the
//! committed snapshot of each layer) and containers (their active snapshot). Marking a snapshot
//! marks its whole parent chain; a kept layer blob keeps the gzip copy a push made of it. Anything created or written after the cut-off is also a root:
//! that protects a pull or unpack in progress whose image row does not exist yet.
//!
//! The sweep removes unmarked snapshots (children before parents), unmarked blobs, ingests not
//! written since the cut-off that no writer holds, and snapshot directories without a row.
//!
//! The caller must keep image and container creation out while `collect` runs (the engine holds
//! its store lock for writing): a pull that finds an old unreferenced blob and records an image
//! using it between the mark and the sweep would otherwise lose that blob.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::time::SystemTime;

use berth_types::Digest;

use crate::content::ContentStore;
use crate::error::Result;
use crate::metadata::MetadataDb;
use crate::snapshot::Snapshotter;

/// What one collection removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GcReport {
    /// Blobs deleted, with their sizes.
    pub blobs: Vec<(Digest, u64)>,
    /// Snapshot keys removed.
    pub snapshots: Vec<String>,
    /// Refs of the stale ingests removed.
    pub ingests: Vec<String>,
    /// Snapshot directories and links that had no row (crash leftovers).
    pub leftovers: Vec<PathBuf>,
    /// Bytes of the deleted blobs.
    pub bytes_freed: u64,
}

/// Runs one mark and sweep. Blobs, snapshots and ingests newer than `cutoff` are kept whether
/// referenced or not.
pub fn collect(
    content: &ContentStore,
    snapshots: &Snapshotter,
    metadata: &MetadataDb,
    cutoff: SystemTime,
) -> Result<GcReport> {
    let roots = metadata.gc_roots()?;
    let mut report = GcReport::default();

    // Mark snapshots: roots, recent ones, and every parent of a marked one.
    let infos = snapshots.walk()?;
    let parents: HashMap<&str, Option<&str>> = infos
        .iter()
        .map(|i| (i.key.as_str(), i.parent.as_deref()))
        .collect();
    let mut marked: HashSet<&str> = HashSet::new();
    let cutoff_utc: chrono::DateTime<chrono::Utc> = cutoff.into();
    let starts = infos.iter().filter_map(|i| {
        (roots.snapshots.contains(&i.key) || i.created >= cutoff_utc).then_some(i.key.as_str())
    });
    for start in starts {
        let mut next = Some(start);
        while let Some(key) = next {
            if !marked.insert(key) {
                break;
            }
            next = parents.get(key).copied().flatten();
        }
    }
    // walk() lists parents before children; sweeping backwards removes children first, and an
    // unmarked snapshot never has a marked child.
    for info in infos.iter().rev() {
        if !marked.contains(info.key.as_str()) {
            snapshots.remove(&info.key)?;
            report.snapshots.push(info.key.clone());
        }
    }

    let blobs = content.walk()?;
    let mut kept: HashSet<&Digest> = blobs
        .iter()
        .filter(|b| roots.blobs.contains(&b.digest) || b.modified >= cutoff)
        .map(|b| &b.digest)
        .collect();
    for (source, gzip) in &roots.gzip {
        if kept.contains(source) {
            kept.insert(gzip);
        }
    }
    for blob in &blobs {
        if kept.contains(&blob.digest) {
            continue;
        }
        let size = content.delete(&blob.digest)?;
        report.bytes_freed += size;
        report.blobs.push((blob.digest.clone(), size));
    }
    let deleted: Vec<Digest> = report.blobs.iter().map(|(d, _)| d.clone()).collect();
    metadata.forget_gzip_blobs(&deleted)?;

    report.ingests = content.prune_ingests(cutoff)?;
    report.leftovers = snapshots.cleanup()?;
    Ok(report)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
