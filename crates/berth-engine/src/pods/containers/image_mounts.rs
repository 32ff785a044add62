//! Image volumes (the CRI's image mounts, KEP 4639), as containerd 2.x makes them: the image
//! must be in the store already (the kubelet pulls it), and its root filesystem, or a directory
//! of it (`image_sub_path`), is bound read-only into the container.
//!
//! Each mount is a read-only view snapshot of the image's layers (`<container id>-image-<n>`),
//! recorded with the container (`image_mounts` in the metadata database: GC keeps the view and
//! the image cannot be removed while mounted). Its lifecycle is the rootfs's: mounted at start
//! under the bundle (`<bundle>/image/<n>`), unmounted when the container exits, the view
//! removed with the container. A crash between making a view and storing the record leaves a
//! view nothing references, which the GC of the next start removes.

use std::path::{Path, PathBuf};

use berth_types::Digest;
use serde::{Deserialize, Serialize};

use crate::containers::{io_err, is_mountpoint, Container, RootfsMount};
use crate::images::resolve;
use crate::model::{MountKind, Storage};
use crate::pods::PodError;
use crate::{Engine, Error, Result};

/// An image a container mounts, resolved at create and kept in its config.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageMount {
    pub target: PathBuf,
    /// The image the reference named at create: what ContainerStatus reports as `image_ref`.
    pub image_id: Digest,
    pub snapshot_key: String,
    pub subpath: Option<PathBuf>,
}

/// The image mounts of `storage`, in order: target, reference and subpath.
fn requested(storage: &Storage) -> impl Iterator<Item = (&Path, &str, Option<&Path>)> {
    storage.mounts.iter().filter_map(|m| match &m.kind {
        MountKind::Image { reference, subpath } => {
            Some((m.target.as_path(), reference.as_str(), subpath.as_deref()))
        }
        _ => None,
    })
}

/// Where image mount `n` of a container is mounted on the host.
fn mount_dir(bundle: &Path, n: usize) -> PathBuf {
    bundle.join("image").join(n.to_string())
}

/// What the spec binds for each image mount before any is mounted (the create's check of the
/// request): its place under the bundle, the subpath joined lexically.
pub(crate) fn planned_sources(bundle: &Path, storage: &Storage) -> Vec<PathBuf> {
    requested(storage)
        .enumerate()
        .map(|(n, (_, _, subpath))| {
            let dir = mount_dir(bundle, n);
            match subpath {
                Some(sub) => dir.join(sub.strip_prefix("/").unwrap_or(sub)),
                None => dir,
            }
        })
        .collect()
}

/// `subpath` inside the image mounted at `root`, resolved by the kernel with `root` as `/`; a
/// missing one is an error naming it.
fn subpath_source(root: &Path, image: &Digest, m: &ImageMount) -> Result<PathBuf> {
    let Some(sub) = &m.subpath else {
        return Ok(root.to_path_buf());
    };
    let wrap = |source| PodError::ImageSubpath {
        target: m.target.clone(),
        image: image.to_string(),
        subpath: sub.clone(),
        source: Box::new(source),
    };
    let real = berth_image::real_path_in_root(root, sub).map_err(wrap)?;
    // RESOLVE_IN_ROOT keeps the answer inside; checked again since the path is mounted next.
    if !real.starts_with(root) {
        let escaped = std::io::Error::from_raw_os_error(libc::EXDEV);
        return Err(wrap(berth_image::Error::Io {
            action: "resolve",
            path: real,
            source: escaped,
        })
        .into());
    }
    Ok(real)
}

/// Unmounts what [`Engine::mount_image_mounts`] mounted for a container, and removes the
/// directories. Nothing there (a Docker container, or never started) is fine.
pub(crate) fn unmount_image_mounts(bundle: &Path) {
    let dir = bundle.join("image");
    for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if is_mountpoint(&path) {
            if let Err(e) = berth_store::snapshot::unmount(&path) {
                tracing::warn!(path = %path.display(), error = %e, "unmount image volume");
                continue;
            }
        }
        let _ = std::fs::remove_dir(&path);
    }
    let _ = std::fs::remove_dir(&dir);
}

impl Engine {
    /// CreateContainer's part: a view of each image `storage` mounts, every subpath checked.
    /// On error, the views made so far are removed.
    pub(crate) fn prepare_image_mounts(
        &self,
        store: &berth_store::Store,
        id: &str,
        storage: &Storage,
    ) -> Result<Vec<ImageMount>> {
        let mut made: Vec<ImageMount> = Vec::new();
        let result =
            requested(storage)
                .enumerate()
                .try_for_each(|(n, (target, reference, subpath))| {
                    let context = |source: Error| PodError::ImageVolume {
                        target: target.to_path_buf(),
                        source: Box::new(source),
                    };
                    let image = resolve(store, reference).map_err(context)?;
                    let m = ImageMount {
                        target: target.to_path_buf(),
                        image_id: image.id.clone(),
                        snapshot_key: format!("{id}-image-{n}"),
                        subpath: subpath.map(Path::to_path_buf),
                    };
                    let parent = image.layers.last().map(|l| l.chain_id.to_string());
                    let mounts = store
                        .snapshots
                        .view(&m.snapshot_key, parent.as_deref())
                        .map_err(|e| context(e.into()))?;
                    made.push(m.clone());
                    if m.subpath.is_some() {
                        // A private mount of the view, gone again when dropped.
                        let scratch = RootfsMount::new(self, "image-", &mounts).map_err(context)?;
                        subpath_source(&scratch.path, &image.id, &m)?;
                    }
                    Ok(())
                });
        match result {
            Ok(()) => Ok(made),
            Err(e) => {
                // Best effort: a view left behind is unreferenced, and GC removes it.
                let _ = remove_snapshots(store, made.iter().map(|m| m.snapshot_key.as_str()));
                Err(e)
            }
        }
    }

    /// StartContainer's part: each view mounted under the bundle (unless a start before the
    /// last exit left it there), and what the spec binds for it, in order.
    pub(crate) fn mount_image_mounts(
        &self,
        store: &berth_store::Store,
        c: &Container,
    ) -> Result<Vec<PathBuf>> {
        let bundle = self.bundle_dir(&c.id);
        c.config
            .image_mounts
            .iter()
            .enumerate()
            .map(|(n, m)| {
                let dir = mount_dir(&bundle, n);
                std::fs::create_dir_all(&dir).map_err(io_err("create", &dir))?;
                if !is_mountpoint(&dir) {
                    let mounts = store.snapshots.mounts(&m.snapshot_key)?;
                    berth_store::snapshot::mount(&mounts, &dir)?;
                }
                subpath_source(&dir, &m.image_id, m)
            })
            .collect()
    }
}

/// Removes snapshots (a container's rootfs, its image mounts' views); one already gone is
/// fine (a removal retried).
pub(crate) fn remove_snapshots<'a>(
    store: &berth_store::Store,
    keys: impl IntoIterator<Item = &'a str>,
) -> Result<()> {
    for key in keys {
        match store.snapshots.remove(key) {
            Ok(()) | Err(berth_store::Error::SnapshotNotFound(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}
