//! A container's filesystem from outside: `docker export`, `docker diff` and `docker cp`.
//!
//! Work happens on a private mount under `<exec-root>/tmp/`: for a live container a bind mount
//! of its rootfs (so the container may stop meanwhile without pulling the mount away from us),
//! for a stopped one its snapshot, read-only (upper as the top lower layer) unless the operation
//! writes. A stopped container cannot start while its snapshot is mounted here: the container's
//! operation lock is held until the mount is gone. Paths given by the user are resolved inside
//! the root by the kernel (`RESOLVE_IN_ROOT`, in berth-image), never by string joining.

use std::collections::HashSet;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use berth_image::{Change, PathStat, UnpackOptions};
use berth_store::snapshot::Mount;

use super::{io_err, Container};
use crate::spec::MountType;
use crate::{Engine, Error, Result};

/// A private mount of a container's root filesystem (or of an image it mounts) under
/// `<exec-root>/tmp/`, which a start of berthd clears after a crash; unmounted (lazily: a
/// reader may still hold a file) and its directory removed when dropped.
pub(crate) struct RootfsMount {
    pub(crate) path: PathBuf,
}

impl RootfsMount {
    /// Mounts `mounts` on a new directory `<exec-root>/tmp/<prefix><random>`; the directory
    /// goes again if that fails.
    pub(crate) fn new(engine: &Engine, prefix: &str, mounts: &[Mount]) -> Result<Self> {
        let path = engine
            .config()
            .exec_root
            .join("tmp")
            .join(format!("{prefix}{}", crate::random_hex(8)));
        std::fs::create_dir_all(&path).map_err(io_err("create", &path))?;
        if let Err(e) = berth_store::snapshot::mount(mounts, &path) {
            let _ = std::fs::remove_dir(&path);
            return Err(e.into());
        }
        Ok(Self { path })
    }
}

impl Drop for RootfsMount {
    fn drop(&mut self) {
        if let Err(e) = nix::mount::umount2(&self.path, nix::mount::MntFlags::MNT_DETACH) {
            tracing::warn!(path = %self.path.display(), error = %e, "unmount container rootfs");
        }
        let _ = std::fs::remove_dir(&self.path);
    }
}

/// Options of `PUT /containers/{id}/archive`.
#[derive(Debug, Clone, Copy, Default)]
pub struct ExtractOptions {
    /// Refuse to replace a directory with a non-directory or the other way round.
    pub no_overwrite_dir_non_dir: bool,
    /// Keep the owners recorded in the tar; otherwise everything belongs to root.
    pub copy_uid_gid: bool,
}

/// A missing path inside the container is the user's 404, not an I/O failure of ours.
fn path_error(container: &str, path: &str) -> impl FnOnce(berth_image::Error) -> Error {
    let (container, path) = (container.to_string(), path.to_string());
    move |e| match &e {
        berth_image::Error::Io { source, .. }
            if matches!(source.raw_os_error(), Some(libc::ENOENT | libc::ENOTDIR)) =>
        {
            Error::NoSuchPath { container, path }
        }
        _ => e.into(),
    }
}

/// Where a `docker cp` path of a container is on the host.
struct Target {
    /// The directory the path is resolved in (with `RESOLVE_IN_ROOT`).
    root: PathBuf,
    path: PathBuf,
    /// What refuses writes there: `container rootfs` (`--read-only`) or `mounted volume`.
    read_only: Option<&'static str>,
}

/// `path` of container `c`: in the volume or bind mount whose destination is the deepest one
/// holding it (the container's mounts exist in its own mount namespace only, so a volume is
/// reached through its source, running or not, as dockerd mounts it for the operation), else
/// in the root filesystem mounted at `root`. tmpfs mounts are not reachable, as in dockerd.
fn route(c: &Container, root: &Path, path: &str) -> Target {
    let mut normal = PathBuf::from("/");
    for comp in Path::new(path).components() {
        match comp {
            std::path::Component::Normal(name) => normal.push(name),
            std::path::Component::ParentDir => {
                normal.pop();
            }
            _ => {}
        }
    }
    let mount = c
        .config
        .mounts
        .iter()
        .filter(|m| m.kind != MountType::Tmpfs && normal.starts_with(&m.destination))
        .max_by_key(|m| m.destination.components().count());
    let Some(m) = mount else {
        return Target {
            root: root.to_path_buf(),
            path: PathBuf::from(path),
            read_only: c
                .config
                .spec
                .security
                .readonly_rootfs
                .then_some("container rootfs"),
        };
    };
    let rel = normal.strip_prefix(&m.destination).unwrap_or(Path::new(""));
    // A bind of a single file: its directory is the root, confined to that one name.
    let (root, path) = match (m.source.is_dir(), m.source.parent(), m.source.file_name()) {
        (false, Some(dir), Some(name)) => (dir.to_path_buf(), Path::new("/").join(name)),
        _ => (m.source.clone(), Path::new("/").join(rel)),
    };
    Target {
        root,
        path,
        read_only: (!m.rw).then_some("mounted volume"),
    }
}

/// Whether anything in this mount namespace is mounted at or below `dir` (or the table cannot
/// be read: then nothing may be deleted through it).
fn holds_mounts(dir: &Path) -> bool {
    berth_sys::mountinfo::mount_points()
        .map_or(true, |points| points.iter().any(|mp| mp.starts_with(dir)))
}

/// The name `docker cp` gives the top entry of an archive of `path` (Docker's
/// `filepath.Base` of the requested path: `/etc/` → `etc`, `/etc/.` → `.`).
fn archive_name(path: &str) -> String {
    if path.ends_with("/.") || path == "." {
        return ".".to_string();
    }
    match path.trim_end_matches('/').rsplit('/').next() {
        Some(base) if !base.is_empty() => base.to_string(),
        _ => ".".to_string(),
    }
}

impl Engine {
    /// Removes what operations a crash interrupted left: private rootfs mounts under
    /// `<exec-root>/tmp/` (unmounted first; a directory still holding files after that is left
    /// alone rather than risk deleting a container's files), load/commit staging files under
    /// `<data-root>/tmp/`, and the directories of containers whose create the crash cut off
    /// before their record was stored (`known` are the ids that have one). Called at startup,
    /// before anything can use them.
    pub(crate) async fn remove_fs_leftovers(&self, known: HashSet<String>) {
        let mounts = self.config().exec_root.join("tmp");
        let staging = self.config().data_root.join("tmp");
        let dirs = [
            self.config().data_root.join("containers"),
            self.config().exec_root.join("containers"),
        ];
        let _ = tokio::task::spawn_blocking(move || {
            for entry in dirs.iter().flat_map(std::fs::read_dir).flatten().flatten() {
                let name = entry.file_name();
                if known.contains(name.to_string_lossy().as_ref()) {
                    continue;
                }
                let path = entry.path();
                // A create stores the record before it mounts anything; should something be
                // mounted here anyway, deleting through it could reach a layer or a host path.
                if holds_mounts(&path) {
                    tracing::warn!(path = %path.display(), "leftover container directory holds mounts; kept");
                    continue;
                }
                tracing::info!(path = %path.display(), "removing the directory of a container that was never recorded");
                if let Err(e) = std::fs::remove_dir_all(&path) {
                    tracing::warn!(path = %path.display(), error = %e, "leftover container directory");
                }
            }
            for entry in std::fs::read_dir(&mounts).into_iter().flatten().flatten() {
                let path = entry.path();
                let _ = nix::mount::umount2(&path, nix::mount::MntFlags::MNT_DETACH);
                if let Err(e) = std::fs::remove_dir(&path) {
                    tracing::warn!(path = %path.display(), error = %e, "leftover rootfs mount point");
                }
            }
            match std::fs::remove_dir_all(&staging) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    tracing::warn!(path = %staging.display(), error = %e, "remove staging files");
                }
                _ => {}
            }
        })
        .await;
    }

    /// Runs `f` on a blocking thread with the container's root filesystem mounted privately
    /// (writable only if `writable`).
    async fn with_rootfs<T, F>(&self, name_or_id: &str, writable: bool, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Container, &Path) -> Result<T> + Send + 'static,
    {
        let c = self.container(name_or_id).await?;
        let entry = self.inner.containers.entry(&c.id, &c.state);
        let op = entry.op.lock().await;
        let c = self.container(&c.id).await?;
        let live = c.state.status.is_live();
        let rootfs = self.bundle_dir(&c.id).join("rootfs");
        let id = c.id.clone();
        let engine = self.clone();
        let mount = self
            .with_store(move |store| {
                let mounts = if live {
                    vec![Mount {
                        fs_type: "bind".to_string(),
                        source: rootfs.display().to_string(),
                        options: vec![if writable { "rw" } else { "ro" }.to_string()],
                    }]
                } else {
                    let key = store.metadata.get_container(&id)?.snapshot_key;
                    if writable {
                        store.snapshots.mounts(&key)?
                    } else {
                        store.snapshots.read_only_mounts(&key)?
                    }
                };
                RootfsMount::new(&engine, "rootfs-", &mounts)
            })
            .await?;
        // A live container has its own mount, which ours does not depend on.
        let _op = if live {
            drop(op);
            None
        } else {
            Some(op)
        };
        tokio::task::spawn_blocking(move || {
            let result = f(&c, &mount.path);
            drop(mount);
            result
        })
        .await
        .map_err(Error::from_join)?
    }

    /// `docker export`: a tar of the container's whole filesystem, written to `out`.
    pub async fn export_container(
        &self,
        name_or_id: &str,
        mut out: impl Write + Send + 'static,
    ) -> Result<()> {
        let c = self
            .with_rootfs(name_or_id, false, move |c, root| {
                berth_image::write_tar_from_dir(root, &mut out)?;
                out.flush().map_err(io_err("write export of", root))?;
                Ok(c.clone())
            })
            .await?;
        self.events().publish(
            crate::events::EventType::Container,
            "export",
            &c.id,
            self.container_event_attrs(&c),
        );
        Ok(())
    }

    /// `docker diff`: what the container changed compared to its image.
    pub async fn container_changes(&self, name_or_id: &str) -> Result<Vec<Change>> {
        let c = self.container(name_or_id).await?;
        self.with_store(move |store| {
            let key = store.metadata.get_container(&c.id)?.snapshot_key;
            let upper = store.snapshots.upper_dir(&key)?;
            let lowers = store.snapshots.lower_dirs(&key)?;
            Ok(without_init_paths(berth_image::changes(&upper, &lowers)?))
        })
        .await
    }

    /// `HEAD /containers/{id}/archive`: what `path` is inside the container.
    pub async fn stat_container_path(&self, name_or_id: &str, path: &str) -> Result<PathStat> {
        let path = path.to_string();
        self.with_rootfs(name_or_id, false, move |c, root| {
            let t = route(c, root, &path);
            let mut stat =
                berth_image::stat_in_root(&t.root, &t.path).map_err(path_error(&c.id, &path))?;
            stat.name = archive_name(&path);
            Ok(stat)
        })
        .await
    }

    /// `GET /containers/{id}/archive`: a tar of `path` (a file, or a directory with everything
    /// below it) written to `out`, entries named after the last component of `path`.
    pub async fn archive_container_path(
        &self,
        name_or_id: &str,
        path: &str,
        mut out: impl Write + Send + 'static,
    ) -> Result<()> {
        let path = path.to_string();
        self.with_rootfs(name_or_id, false, move |c, root| {
            let name = archive_name(&path);
            let t = route(c, root, &path);
            berth_image::write_tar_of_path(&t.root, &t.path, name.as_bytes(), &mut out, None)
                .map_err(path_error(&c.id, &path))?;
            out.flush().map_err(io_err("write archive of", &t.root))
        })
        .await
    }

    /// `PUT /containers/{id}/archive`: extracts the tar in `reader` into directory `path` of
    /// the container, with the layer unpacker's rules (flattened whiteouts; nothing can land
    /// outside the container's root).
    pub async fn extract_to_container(
        &self,
        name_or_id: &str,
        path: &str,
        reader: impl Read + Send + 'static,
        opts: ExtractOptions,
    ) -> Result<()> {
        let path = path.to_string();
        self.with_rootfs(name_or_id, true, move |c, root| {
            let t = route(c, root, &path);
            if let Some(what) = t.read_only {
                return Err(Error::ReadOnlyTarget {
                    container: c.id.clone(),
                    what,
                });
            }
            let (root, inner) = (t.root, t.path);
            let stat =
                berth_image::stat_in_root(&root, &inner).map_err(path_error(&c.id, &path))?;
            let is_dir = stat.mode & libc::S_IFMT == libc::S_IFDIR;
            // A symlink to a directory is a fine extraction point (resolved inside the root).
            let dir = berth_image::open_dir_in_root(&root, &inner).map_err(|e| {
                if is_dir {
                    path_error(&c.id, &path)(e)
                } else {
                    Error::NotADirectory {
                        container: c.id.clone(),
                        path: path.clone(),
                    }
                }
            })?;
            let mut unpack = UnpackOptions::flattened();
            unpack.no_overwrite_dir_non_dir = opts.no_overwrite_dir_non_dir;
            if !opts.copy_uid_gid {
                unpack.owner = Some((0, 0));
            }
            berth_image::unpack_layer_at(reader, dir, &unpack)?;
            Ok(())
        })
        .await
    }
}

/// Paths dockerd keeps in a container's init layer (below its writable one), which `docker
/// diff` therefore never reports: the mount targets of the generated files, and `/dev`, `/proc`
/// and `/sys`, which are mounts in a running container, so anything under them in the writable
/// layer is a mount target too.
const INIT_FILES: [&str; 6] = [
    "/.dockerenv",
    "/etc/resolv.conf",
    "/etc/hosts",
    "/etc/hostname",
    "/etc/mtab",
    "/dev/console",
];
const INIT_TREES: [&str; 3] = ["/dev", "/proc", "/sys"];

/// The init layer's paths relative to the root (for a commit to leave out).
pub(crate) fn init_layer_paths() -> Vec<&'static Path> {
    INIT_FILES
        .iter()
        .chain(&INIT_TREES)
        .map(|p| Path::new(p.trim_start_matches('/')))
        .collect()
}

/// `changes` without the init layer's paths; `/etc` stays only if something else in it changed.
fn without_init_paths(changes: Vec<berth_image::Change>) -> Vec<berth_image::Change> {
    let is_init = |p: &Path| {
        INIT_FILES.iter().any(|f| p == Path::new(f)) || INIT_TREES.iter().any(|t| p.starts_with(t))
    };
    let kept: Vec<_> = changes.into_iter().filter(|c| !is_init(&c.path)).collect();
    let etc = Path::new("/etc");
    let etc_touched = kept
        .iter()
        .any(|c| c.path != etc && c.path.starts_with(etc));
    kept.into_iter()
        .filter(|c| c.path != etc || etc_touched || c.kind == berth_image::ChangeKind::Deleted)
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
