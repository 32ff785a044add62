//! Disk usage: a container's writable layer (`docker ps -s`) and the whole engine's
//! (`docker system df`).

use std::collections::HashMap;

use crate::containers::{Container, ListOptions};
use crate::images::ImageSummary;
use crate::{Engine, Result};

/// `SizeRw` and `SizeRootFs` of a container.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ContainerSize {
    /// Bytes used by the container's upper directory (what it changed).
    pub rw: u64,
    /// `rw` plus the size of its image.
    pub root_fs: u64,
}

/// An image in `docker system df`.
#[derive(Debug, Clone)]
pub struct ImageUsage {
    pub summary: ImageSummary,
    /// Bytes of unpacked layers this image shares with other images.
    pub shared_size: u64,
}

/// Everything `docker system df` reports.
#[derive(Debug, Clone)]
pub struct DiskUsage {
    /// Bytes of all distinct unpacked layers.
    pub layers_size: u64,
    pub images: Vec<ImageUsage>,
    pub containers: Vec<(Container, ContainerSize)>,
    pub volumes: Vec<crate::volumes::VolumeUsage>,
}

/// What one directory of the image store occupies (the CRI's ImageFsInfo).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreUsage {
    pub path: std::path::PathBuf,
    /// Allocated bytes, hard links counted once.
    pub used_bytes: u64,
    pub inodes_used: u64,
}

impl Engine {
    /// The image store's directories and what each uses: the snapshots (unpacked layers and
    /// containers' writable layers) first, then the content store (compressed blobs). Walked
    /// on each call: nothing keeps a running count.
    pub async fn image_store_usage(&self) -> Result<Vec<StoreUsage>> {
        self.with_store(|store| {
            [store.snapshots.root(), store.content.root()]
                .into_iter()
                .map(|path| {
                    let usage = berth_store::snapshot::disk_usage(path)?;
                    Ok(StoreUsage {
                        path: path.to_path_buf(),
                        used_bytes: usage.size,
                        inodes_used: usage.inodes,
                    })
                })
                .collect()
        })
        .await
    }

    pub async fn container_size(&self, name_or_id: &str) -> Result<ContainerSize> {
        let c = self.container(name_or_id).await?;
        self.with_store(move |store| {
            let record = store.metadata.get_container(&c.id)?;
            let image_size = store.metadata.get_image(&record.image_id)?.size;
            let rw = store.snapshots.usage(&record.snapshot_key)?.size;
            Ok(ContainerSize {
                rw,
                root_fs: rw + image_size,
            })
        })
        .await
    }

    /// `docker system df`.
    pub async fn disk_usage(&self) -> Result<DiskUsage> {
        let summaries = self.list_images().await?;
        // Layers are shared as snapshots (by chain id), and sized as unpacked, like image sizes.
        let (layers, sizes) = self
            .with_store(|store| {
                let layers = store
                    .metadata
                    .list_images()?
                    .into_iter()
                    .map(|i| (i.id, i.layers))
                    .collect::<HashMap<_, _>>();
                let mut sizes = HashMap::new();
                for l in layers.values().flatten() {
                    if !sizes.contains_key(&l.chain_id) {
                        let size = store.snapshots.usage(l.chain_id.as_str())?.size;
                        sizes.insert(l.chain_id.clone(), size);
                    }
                }
                Ok((layers, sizes))
            })
            .await?;
        let mut users: HashMap<&berth_types::Digest, u64> = HashMap::new();
        for l in layers.values().flatten() {
            *users.entry(&l.chain_id).or_default() += 1;
        }
        let layers_size = sizes.values().sum();
        let images = summaries
            .into_iter()
            .map(|summary| {
                let shared_size = layers
                    .get(&summary.id)
                    .map(|ls| {
                        ls.iter()
                            .filter(|l| users.get(&l.chain_id).is_some_and(|n| *n > 1))
                            .filter_map(|l| sizes.get(&l.chain_id))
                            .sum()
                    })
                    .unwrap_or(0);
                ImageUsage {
                    summary,
                    shared_size,
                }
            })
            .collect();
        let mut containers = Vec::new();
        for c in self
            .list_containers(ListOptions {
                all: true,
                ..Default::default()
            })
            .await?
        {
            let size = self.container_size(&c.id).await?;
            containers.push((c, size));
        }
        Ok(DiskUsage {
            layers_size,
            images,
            containers,
            volumes: self.volume_usage().await?,
        })
    }
}
