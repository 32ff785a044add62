//! Volumes: `docker volume create/ls/inspect/rm/prune`, and what containers do with them —
//! named and anonymous volumes resolved at create (with the container's refs, in one
//! transaction), mounted and filled from the image at start, released when the process exits,
//! anonymous ones removed with `rm -v` / `--rm`. Records and refs live in the metadata DB; the
//! files under `<data-root>/volumes/<name>/_data`. See docs/volumes.md.

pub(crate) mod local;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use berth_store::metadata;
use berth_store::Store;
use chrono::{DateTime, Utc};

use crate::containers::{is_mountpoint, label_matches};
use crate::events::EventType;
use crate::spec::{valid_volume_name, MountPoint, MountType, VolumeRequest};
use crate::{Engine, Error, Result};

pub use local::DRIVER;

/// The label Docker 23+ puts on anonymous volumes.
pub const ANONYMOUS_LABEL: &str = "com.docker.volume.anonymous";

/// A volume as the engine reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Volume {
    pub name: String,
    pub driver: String,
    /// Where its data is on the host (`.../volumes/<name>/_data`).
    pub mountpoint: PathBuf,
    pub labels: BTreeMap<String, String>,
    pub options: BTreeMap<String, String>,
    pub anonymous: bool,
    pub created: DateTime<Utc>,
}

/// `docker volume create`.
#[derive(Debug, Clone, Default)]
pub struct VolumeCreate {
    /// `None` or empty: a random name, as dockerd.
    pub name: Option<String>,
    /// Empty: `local`.
    pub driver: String,
    pub labels: BTreeMap<String, String>,
    pub options: BTreeMap<String, String>,
}

/// Filters of `docker volume ls`, already parsed by the API layer.
#[derive(Debug, Clone, Default)]
pub struct VolumeListOptions {
    /// `dangling=true`: only volumes no container uses; `false`: only used ones.
    pub dangling: Option<bool>,
    pub drivers: Vec<String>,
    /// `label=k` / `label=k=v`: all must match.
    pub labels: Vec<String>,
    /// Substrings of the name; any may match.
    pub names: Vec<String>,
}

/// Filters of `docker volume prune`.
#[derive(Debug, Clone, Default)]
pub struct VolumePruneOptions {
    /// `all=true`: named volumes too, not only anonymous ones (Docker 23+).
    pub all: bool,
    pub labels: Vec<String>,
    pub labels_not: Vec<String>,
}

/// What `docker volume prune` removed.
#[derive(Debug, Clone, Default)]
pub struct VolumesPruned {
    pub names: Vec<String>,
    pub space_reclaimed: u64,
}

/// A volume in `docker system df`.
#[derive(Debug, Clone)]
pub struct VolumeUsage {
    pub volume: Volume,
    pub size: u64,
    /// Containers (running or not) that mount it.
    pub ref_count: usize,
}

fn check_name(name: &str) -> Result<()> {
    if valid_volume_name(name) {
        Ok(())
    } else {
        Err(Error::InvalidVolumeName(name.to_string()))
    }
}

fn check_driver(driver: &str) -> Result<&'static str> {
    match driver {
        "" | DRIVER => Ok(DRIVER),
        other => Err(Error::UnknownVolumeDriver(other.to_string())),
    }
}

/// What a new container's volume requests resolve to.
pub(crate) struct Resolved {
    /// Volumes to create with the container (existing named ones are kept as they are).
    pub volumes: Vec<metadata::Volume>,
    /// `(volume, destination)` per mount point.
    pub refs: Vec<(String, String)>,
    pub points: Vec<MountPoint>,
}

impl Engine {
    pub(crate) fn volumes_root(&self) -> PathBuf {
        self.config().data_root.join("volumes")
    }

    fn volume_data(&self, name: &str) -> PathBuf {
        self.volumes_root().join(name).join("_data")
    }

    fn volume_from_record(&self, v: metadata::Volume) -> Volume {
        Volume {
            mountpoint: self.volume_data(&v.name),
            name: v.name,
            driver: v.driver,
            labels: v.labels,
            options: v.options,
            anonymous: v.anonymous,
            created: v.created,
        }
    }

    fn create_volume_dir(&self, name: &str) -> Result<PathBuf> {
        let data = self.volume_data(name);
        std::fs::create_dir_all(&data).map_err(|source| Error::Io {
            action: "create",
            path: data.clone(),
            source,
        })?;
        Ok(data)
    }

    fn volume_event(&self, action: &str, name: &str, mut attrs: BTreeMap<String, String>) {
        attrs.insert("driver".into(), DRIVER.into());
        self.events()
            .publish(EventType::Volume, action, name, attrs);
    }

    /// `docker volume create`: an existing volume of that name is returned as it is (dockerd
    /// does the same when the driver matches).
    pub async fn create_volume(&self, req: VolumeCreate) -> Result<Volume> {
        let driver = check_driver(&req.driver)?;
        let mut labels = req.labels;
        // An unnamed volume is anonymous, as dockerd makes it: labelled, and pruned by default.
        let (name, anonymous) = match req.name.filter(|n| !n.is_empty()) {
            Some(n) => (n, false),
            None => {
                labels.insert(ANONYMOUS_LABEL.into(), String::new());
                (crate::random_hex(32), true)
            }
        };
        check_name(&name)?;
        local::validate_options(&name, &req.options)?;
        let record = metadata::Volume {
            name: name.clone(),
            driver: driver.to_string(),
            labels,
            options: req.options,
            anonymous,
            created: Utc::now(),
        };
        let engine = self.clone();
        let (record, created) = self
            .with_store(move |store| {
                if let Ok(existing) = store.metadata.get_volume(&record.name) {
                    return Ok((existing, false));
                }
                engine.create_volume_dir(&record.name)?;
                match store.metadata.create_volume(&record) {
                    Ok(()) => Ok((record, true)),
                    // Created meanwhile by someone else: theirs it is.
                    Err(berth_store::Error::VolumeExists(_)) => {
                        Ok((store.metadata.get_volume(&record.name)?, false))
                    }
                    Err(e) => Err(e.into()),
                }
            })
            .await?;
        if created {
            self.volume_event("create", &name, BTreeMap::new());
        }
        Ok(self.volume_from_record(record))
    }

    /// `docker volume inspect`.
    pub async fn volume(&self, name: &str) -> Result<Volume> {
        let name = name.to_string();
        let record = self
            .with_store(move |store| Ok(store.metadata.get_volume(&name)?))
            .await?;
        Ok(self.volume_from_record(record))
    }

    /// `docker volume ls`, by name.
    pub async fn list_volumes(&self, opts: VolumeListOptions) -> Result<Vec<Volume>> {
        let (records, refs) = self
            .with_store(|store| {
                Ok((
                    store.metadata.list_volumes()?,
                    store.metadata.volume_refs(None)?,
                ))
            })
            .await?;
        Ok(records
            .into_iter()
            .filter(|v| {
                let used = refs.iter().any(|r| r.volume == v.name);
                opts.dangling.is_none_or(|d| d != used)
                    && (opts.drivers.is_empty() || opts.drivers.contains(&v.driver))
                    && opts.labels.iter().all(|l| label_matches(&v.labels, l))
                    && (opts.names.is_empty() || opts.names.iter().any(|n| v.name.contains(n)))
            })
            .map(|v| self.volume_from_record(v))
            .collect())
    }

    /// `docker volume rm [-f]`: refused while any container (running or not) uses it; `force`
    /// makes a missing volume fine.
    pub async fn remove_volume(&self, name: &str, force: bool) -> Result<()> {
        let engine = self.clone();
        let key = name.to_string();
        let removed = self
            .with_store(move |store| engine.destroy_volume(store, &key))
            .await;
        match removed {
            Ok(()) => {
                self.volume_event("destroy", name, BTreeMap::new());
                Ok(())
            }
            Err(Error::Store(berth_store::Error::VolumeNotFound(_))) if force => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Deletes the record (refused while in use), then the files: a crash in between leaves a
    /// directory without a record, which nothing lists and the next create of that name reuses.
    fn destroy_volume(&self, store: &Store, name: &str) -> Result<()> {
        store.metadata.delete_volume(name)?;
        let data = self.volume_data(name);
        if is_mountpoint(&data) {
            local::unmount(name, &data)?;
        }
        let dir = self.volumes_root().join(name);
        match std::fs::remove_dir_all(&dir) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::Io {
                action: "remove",
                path: dir,
                source: e,
            }),
            _ => Ok(()),
        }
    }

    /// `docker volume prune`: unused anonymous volumes, and unused named ones with `all`.
    pub async fn prune_volumes(&self, opts: VolumePruneOptions) -> Result<VolumesPruned> {
        let unused = self
            .list_volumes(VolumeListOptions {
                dangling: Some(true),
                ..Default::default()
            })
            .await?;
        let mut pruned = VolumesPruned::default();
        for v in unused {
            if !(opts.all || v.anonymous)
                || !opts.labels.iter().all(|l| label_matches(&v.labels, l))
                || opts.labels_not.iter().any(|l| label_matches(&v.labels, l))
            {
                continue;
            }
            let data = v.mountpoint.clone();
            let size =
                tokio::task::spawn_blocking(move || berth_store::snapshot::disk_usage(&data))
                    .await
                    .map_err(Error::from_join)?
                    .map_or(0, |u| u.size);
            match self.remove_volume(&v.name, false).await {
                Ok(()) => {
                    pruned.space_reclaimed += size;
                    pruned.names.push(v.name);
                }
                // Taken by a new container meanwhile: not ours to prune any more.
                Err(e) => tracing::info!(volume = %v.name, error = %e, "prune skipped"),
            }
        }
        self.events().publish(
            EventType::Volume,
            "prune",
            "",
            BTreeMap::from([("reclaimed".to_string(), pruned.space_reclaimed.to_string())]),
        );
        Ok(pruned)
    }

    /// Volumes with their sizes and reference counts, for `docker system df`.
    pub async fn volume_usage(&self) -> Result<Vec<VolumeUsage>> {
        let volumes = self.list_volumes(VolumeListOptions::default()).await?;
        let refs = self
            .with_store(|store| Ok(store.metadata.volume_refs(None)?))
            .await?;
        let sizes = {
            let dirs: Vec<PathBuf> = volumes.iter().map(|v| v.mountpoint.clone()).collect();
            tokio::task::spawn_blocking(move || {
                dirs.iter()
                    .map(|d| berth_store::snapshot::disk_usage(d).map_or(0, |u| u.size))
                    .collect::<Vec<_>>()
            })
            .await
            .map_err(Error::from_join)?
        };
        Ok(volumes
            .into_iter()
            .zip(sizes)
            .map(|(volume, size)| {
                let mut users: Vec<&str> = refs
                    .iter()
                    .filter(|r| r.volume == volume.name)
                    .map(|r| r.container.as_str())
                    .collect();
                users.dedup();
                VolumeUsage {
                    ref_count: users.len(),
                    volume,
                    size,
                }
            })
            .collect())
    }

    /// Names the volumes of a new container's requests (random 64-hex names for anonymous
    /// ones), checks drivers and options, and describes the mount points. `volume_driver` is
    /// the container's `--volume-driver`.
    pub(crate) fn resolve_volumes(
        &self,
        store: &Store,
        requests: &[VolumeRequest],
        volume_driver: &str,
    ) -> Result<Resolved> {
        let mut out = Resolved {
            volumes: Vec::new(),
            refs: Vec::new(),
            points: Vec::new(),
        };
        for req in requests {
            let driver = check_driver(if req.driver.is_empty() {
                volume_driver
            } else {
                &req.driver
            })?;
            let (name, anonymous) = match &req.name {
                Some(n) => (n.clone(), false),
                None => (crate::random_hex(32), true),
            };
            check_name(&name)?;
            let existing = store.metadata.get_volume(&name).ok();
            if existing.is_none() {
                local::validate_options(&name, &req.driver_options)?;
                let mut labels = req.labels.clone();
                if anonymous {
                    labels.insert(ANONYMOUS_LABEL.into(), String::new());
                }
                out.volumes.push(metadata::Volume {
                    name: name.clone(),
                    driver: driver.to_string(),
                    labels,
                    options: req.driver_options.clone(),
                    anonymous,
                    created: Utc::now(),
                });
            }
            let destination = req.destination.to_string_lossy().into_owned();
            out.refs.push((name.clone(), destination));
            out.points.push(MountPoint {
                kind: MountType::Volume,
                source: self.volume_data(&name),
                name,
                destination: req.destination.clone(),
                driver: existing.map_or_else(|| driver.to_string(), |v| v.driver),
                mode: req.mode.clone(),
                rw: !req.read_only,
                propagation: String::new(),
            });
        }
        Ok(out)
    }

    /// Creates the directories of the volumes a new container brings; returns those that did
    /// not exist, for [`Self::discard_volume_dirs`] if the container is not recorded after all.
    pub(crate) fn make_volume_dirs(&self, volumes: &[metadata::Volume]) -> Result<Vec<PathBuf>> {
        let mut made = Vec::new();
        for v in volumes {
            let dir = self.volumes_root().join(&v.name);
            if !dir.exists() {
                made.push(dir);
            }
            if let Err(e) = self.create_volume_dir(&v.name) {
                self.discard_volume_dirs(&made);
                return Err(e);
            }
        }
        Ok(made)
    }

    pub(crate) fn discard_volume_dirs(&self, dirs: &[PathBuf]) {
        for d in dirs {
            let _ = std::fs::remove_dir_all(d);
        }
    }

    /// Announces volumes a container create made.
    pub(crate) fn volumes_created(&self, names: &[String]) {
        for n in names {
            self.volume_event("create", n, BTreeMap::new());
        }
    }

    /// At start, on the blocking pool with the rootfs mounted: holds volume `name` for
    /// `container`, mounting it if it is the first holder and has a filesystem of its own,
    /// and fills it from the image unless `nocopy`. Returns the directory to bind.
    pub(crate) fn attach_volume(
        &self,
        store: &Store,
        container: &str,
        point: &MountPoint,
        nocopy: bool,
        rootfs: &Path,
    ) -> Result<PathBuf> {
        let name = point.name.as_str();
        let record = store.metadata.get_volume(name)?;
        // A plain volume whose directory went missing (a removal raced this container's
        // create) is recreated empty rather than failing the start.
        let data = self.create_volume_dir(name)?;
        {
            let mut holders = self
                .inner
                .volume_holders
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            let first = holders.hold(container, name);
            if first && local::needs_mount(&record.options) && !is_mountpoint(&data) {
                local::mount(name, &record.options, &data)?;
            }
            // Under the lock: two containers starting on a new volume copy once.
            if !nocopy {
                local::copy_up(name, rootfs, &point.destination, &data)?;
            }
        }
        self.volume_event(
            "mount",
            name,
            BTreeMap::from([
                ("container".to_string(), container.to_string()),
                (
                    "destination".to_string(),
                    point.destination.to_string_lossy().into_owned(),
                ),
                ("read/write".to_string(), point.rw.to_string()),
                ("propagation".to_string(), point.propagation.clone()),
            ]),
        );
        Ok(data)
    }

    /// The process of `container` is gone: its volumes are released, and those with a
    /// filesystem of their own that nobody holds any more are unmounted. Idempotent.
    pub(crate) fn release_volumes(&self, store: &Store, container: &str) {
        let released = self
            .inner
            .volume_holders
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .release(container);
        for (name, last) in released {
            if last {
                let data = self.volume_data(&name);
                let mounted = store
                    .metadata
                    .get_volume(&name)
                    .is_ok_and(|v| local::needs_mount(&v.options));
                if mounted && is_mountpoint(&data) {
                    if let Err(e) = local::unmount(&name, &data) {
                        tracing::warn!(volume = %name, error = %e, "unmount volume");
                    }
                }
            }
            self.volume_event(
                "unmount",
                &name,
                BTreeMap::from([("container".to_string(), container.to_string())]),
            );
        }
    }

    /// After a restart: a running container we re-attached to holds its volumes again (they
    /// are still mounted: it kept running).
    pub(crate) fn rehold_volumes(&self, store: &Store, container: &str) -> Result<()> {
        let refs = store.metadata.container_volume_refs(container)?;
        let mut holders = self
            .inner
            .volume_holders
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        for r in refs {
            holders.hold(container, &r.volume);
        }
        Ok(())
    }

    /// After a restart: volume filesystems that no running container holds are unmounted
    /// (their last user exited while berthd was away).
    pub(crate) fn unmount_idle_volumes(&self, store: &Store) -> Result<()> {
        for v in store.metadata.list_volumes()? {
            let held = self
                .inner
                .volume_holders
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .is_held(&v.name);
            let data = self.volume_data(&v.name);
            if !held && local::needs_mount(&v.options) && is_mountpoint(&data) {
                local::unmount(&v.name, &data)?;
            }
        }
        Ok(())
    }

    /// With `rm -v` and `--rm`: the anonymous volumes among `refs` (the removed container's)
    /// that no other container uses. Named volumes always stay.
    pub(crate) async fn remove_anonymous_volumes(&self, refs: Vec<metadata::VolumeRef>) {
        for r in refs {
            let name = r.volume.clone();
            let anonymous = self.volume(&name).await.is_ok_and(|v| v.anonymous);
            if !anonymous {
                continue;
            }
            match self.remove_volume(&name, true).await {
                Ok(()) => {}
                // Shared through --volumes-from: it stays with its other users.
                Err(e) if e.kind() == berth_types::ErrorKind::Conflict => {}
                Err(e) => tracing::warn!(volume = %name, error = %e, "remove anonymous volume"),
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
