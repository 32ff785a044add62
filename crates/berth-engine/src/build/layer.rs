//! A build step's changes become a layer without being unpacked again: the step ran on an
//! active snapshot (a RUN container's rootfs, a COPY's mount), whose upper directory is written
//! as the layer's blob and then committed as the layer's snapshot itself. `docker commit`
//! cannot do this (its container keeps its snapshot); a build step's snapshot is the step's.

use std::io::BufWriter;
use std::path::{Path, PathBuf};

use berth_store::metadata::Layer;
use berth_store::Store;
use berth_types::Digest;

use crate::images::import::{chain_id, layer_media_type};
use crate::{Error, Result};

/// Commits the active snapshot `key`, prepared on `parent` (a chain id), as a new layer: its
/// upper directory is written to the content store uncompressed (as `docker commit` stores
/// layers), and the snapshot is committed under the layer's chain id. Says whether the snapshot
/// is new: an identical layer on the same parent already stored is reused and `key` removed.
/// On failure `key` is left for the caller to remove with the rest of the step.
fn commit_snapshot(
    store: &Store,
    key: &str,
    parent: Option<&Digest>,
    ingest: &str,
) -> Result<(Layer, bool)> {
    let upper = store.snapshots.upper_dir(key)?;
    let mut blob = store.content.writer(ingest, None)?;
    // A partial ingest under this ref (a crash) is not ours to resume.
    blob.truncate()?;
    let written = {
        let mut out = BufWriter::new(&mut blob);
        berth_image::write_layer_from_dir(&upper, &mut out).and_then(|digest| {
            std::io::Write::flush(&mut out)
                .map(|()| digest)
                .map_err(|e| berth_image::Error::Io {
                    action: "write layer of",
                    path: upper.clone(),
                    source: e,
                })
        })
    };
    let digest = match written {
        Ok(d) => d,
        Err(e) => {
            let _ = blob.abort();
            return Err(e.into());
        }
    };
    let blob_digest = blob.commit(digest.size, &digest.diff_id)?;
    let chain = chain_id(parent, &digest.diff_id);
    let created = match store.snapshots.commit(chain.as_str(), key) {
        Ok(()) => true,
        Err(berth_store::Error::SnapshotExists(_)) => {
            store.snapshots.remove(key)?;
            false
        }
        Err(e) => return Err(e.into()),
    };
    let layer = Layer {
        diff_id: digest.diff_id,
        blob_digest,
        blob_size: digest.size,
        media_type: layer_media_type(berth_image::Compression::None).to_string(),
        chain_id: chain,
    };
    Ok((layer, created))
}

/// A build step's snapshot `key` as its layer ([`commit_snapshot`]) and the layer's unpacked
/// size, or no layer when the step changed no file (dockerd then records an empty layer): the
/// snapshot is removed. What the runtime made only to mount on is not a change (dockerd keeps
/// those in an init layer no image records), nor are the mount points of `RUN --mount`s the
/// parent lacked (`stubs`, deepest first), once they are still empty.
pub(super) fn commit_if_changed(
    store: &Store,
    key: &str,
    parent: Option<&Digest>,
    ingest: &str,
    stubs: &[PathBuf],
) -> Result<(Option<Layer>, u64)> {
    let upper = store.snapshots.upper_dir(key)?;
    remove_mount_targets(&upper)?;
    remove_stubs(&upper, stubs)?;
    let empty = std::fs::read_dir(&upper)
        .map_err(|source| Error::Io {
            action: "read",
            path: upper.clone(),
            source,
        })?
        .next()
        .is_none();
    if empty {
        crate::pods::remove_snapshots(store, [key])?;
        return Ok((None, 0));
    }
    let (layer, _) = commit_snapshot(store, key, parent, ingest)?;
    let size = store.snapshots.usage(layer.chain_id.as_str())?.size;
    Ok((Some(layer), size))
}

/// Removes from `upper` what the runtime made only to mount on (`/proc`, `/etc/hosts`, …):
/// the blob leaves them out, and the snapshot must hold exactly what the blob does. No symlink
/// is followed (a step may have made `/etc` one, to the host's).
fn remove_mount_targets(upper: &Path) -> Result<()> {
    for rel in crate::containers::fs::init_layer_paths() {
        berth_image::remove_no_follow(upper, rel, berth_image::Removal::All)?;
    }
    Ok(())
}

/// Removes each of `stubs` (relative to `upper`) that is an empty directory or an empty file,
/// as BuildKit's mount stub cleaner does: the step may have put something there on purpose. No
/// symlink is followed.
fn remove_stubs(upper: &Path, stubs: &[PathBuf]) -> Result<()> {
    for rel in stubs {
        berth_image::remove_no_follow(upper, rel, berth_image::Removal::IfEmpty)?;
    }
    Ok(())
}
