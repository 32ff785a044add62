//! The `local` volume driver, as Docker's: a directory `<data-root>/volumes/<name>/_data`, or,
//! with `type`/`device`/`o` options, a filesystem mounted there at first use and unmounted when
//! its last user stops. Blocking code: callers run it on the blocking pool.

use std::collections::{BTreeMap, HashMap};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use nix::mount::{MntFlags, MsFlags};

use crate::{Error, Result};

/// The only driver there is.
pub const DRIVER: &str = "local";

/// Options the local driver knows (moby `volume/local` `validOpts`, without xfs's `size`).
const OPTIONS: [&str; 3] = ["type", "device", "o"];

/// Checks driver options before anything is created.
pub(crate) fn validate_options(volume: &str, options: &BTreeMap<String, String>) -> Result<()> {
    if let Some(k) = options.keys().find(|k| !OPTIONS.contains(&k.as_str())) {
        return Err(Error::BadVolumeOption {
            volume: volume.to_string(),
            reason: format!("invalid option: {k:?}"),
        });
    }
    let has = |k: &str| options.get(k).is_some_and(|v| !v.is_empty());
    if has("type") != has("device") {
        let missing = if has("type") { "device" } else { "type" };
        return Err(Error::BadVolumeOption {
            volume: volume.to_string(),
            reason: format!("missing required option: {missing:?}"),
        });
    }
    if has("o") && !has("type") {
        return Err(Error::BadVolumeOption {
            volume: volume.to_string(),
            reason: "option \"o\" needs \"type\" and \"device\"".into(),
        });
    }
    Ok(())
}

/// Whether the volume is a mount (`type` + `device`) rather than a plain directory.
pub(crate) fn needs_mount(options: &BTreeMap<String, String>) -> bool {
    options.get("device").is_some_and(|d| !d.is_empty())
}

/// Splits `o` into mount flags and the filesystem's data string, as moby's `mount.ParseOptions`.
pub(crate) fn parse_o(o: &str) -> (MsFlags, String) {
    let mut flags = MsFlags::empty();
    let mut data = Vec::new();
    for word in o.split(',').filter(|w| !w.is_empty()) {
        let (set, clear) = match word {
            "ro" => (MsFlags::MS_RDONLY, MsFlags::empty()),
            "rw" => (MsFlags::empty(), MsFlags::MS_RDONLY),
            "bind" => (MsFlags::MS_BIND, MsFlags::empty()),
            "rbind" => (MsFlags::MS_BIND | MsFlags::MS_REC, MsFlags::empty()),
            "nosuid" => (MsFlags::MS_NOSUID, MsFlags::empty()),
            "suid" => (MsFlags::empty(), MsFlags::MS_NOSUID),
            "nodev" => (MsFlags::MS_NODEV, MsFlags::empty()),
            "dev" => (MsFlags::empty(), MsFlags::MS_NODEV),
            "noexec" => (MsFlags::MS_NOEXEC, MsFlags::empty()),
            "exec" => (MsFlags::empty(), MsFlags::MS_NOEXEC),
            "sync" => (MsFlags::MS_SYNCHRONOUS, MsFlags::empty()),
            "async" => (MsFlags::empty(), MsFlags::MS_SYNCHRONOUS),
            "dirsync" => (MsFlags::MS_DIRSYNC, MsFlags::empty()),
            "noatime" => (MsFlags::MS_NOATIME, MsFlags::empty()),
            "atime" => (MsFlags::empty(), MsFlags::MS_NOATIME),
            "nodiratime" => (MsFlags::MS_NODIRATIME, MsFlags::empty()),
            "relatime" => (MsFlags::MS_RELATIME, MsFlags::empty()),
            "strictatime" => (MsFlags::MS_STRICTATIME, MsFlags::empty()),
            "defaults" => (MsFlags::empty(), MsFlags::empty()),
            other => {
                data.push(other);
                continue;
            }
        };
        flags = (flags | set) & !clear;
    }
    (flags, data.join(","))
}

/// Mounts the volume's filesystem on its `_data` directory.
pub(crate) fn mount(volume: &str, options: &BTreeMap<String, String>, data: &Path) -> Result<()> {
    let get = |k: &str| options.get(k).map(String::as_str).unwrap_or_default();
    let (flags, fs_data) = parse_o(get("o"));
    let fstype = get("type");
    nix::mount::mount(
        Some(get("device")),
        data,
        Some(fstype),
        flags,
        (!fs_data.is_empty()).then_some(fs_data.as_str()),
    )
    .map_err(|source| Error::VolumeMount {
        volume: volume.to_string(),
        action: "mount",
        path: data.to_path_buf(),
        source,
    })
}

/// Detaches the volume's filesystem; a mount that is already gone is fine.
pub(crate) fn unmount(volume: &str, data: &Path) -> Result<()> {
    match nix::mount::umount2(data, MntFlags::MNT_DETACH) {
        Ok(()) | Err(nix::errno::Errno::EINVAL | nix::errno::Errno::ENOENT) => Ok(()),
        Err(source) => Err(Error::VolumeMount {
            volume: volume.to_string(),
            action: "unmount",
            path: data.to_path_buf(),
            source,
        }),
    }
}

/// Fills the empty volume directory `data` with what the image has at `destination` in
/// `rootfs` (the container's mounted root): files, directories, symlinks, owners, modes, xattrs
/// and times, and the directory's own owner and mode, as dockerd's `CopyImagePathContent`.
/// Nothing happens when the volume already has content or the image has no directory there.
pub(crate) fn copy_up(volume: &str, rootfs: &Path, destination: &Path, data: &Path) -> Result<()> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| Error::VolumeCopyUp {
            volume: volume.to_string(),
            path,
            source,
        }
    };
    if std::fs::read_dir(data).map_err(io(data))?.next().is_some() {
        return Ok(());
    }
    // Symlinks in the image resolve inside its root, never to the host.
    let dir = match berth_image::open_dir_in_root(rootfs, destination) {
        Ok(fd) => fd,
        Err(berth_image::Error::Io { source, .. })
            if matches!(
                source.raw_os_error(),
                Some(libc::ENOENT | libc::ENOTDIR | libc::ELOOP)
            ) =>
        {
            return Ok(())
        }
        Err(e) => return Err(e.into()),
    };
    let from = PathBuf::from(format!("/proc/self/fd/{}", dir.as_raw_fd()));
    berth_sys::copy::copy_tree(&from, data).map_err(io(destination))?;
    let meta = std::fs::metadata(&from).map_err(io(destination))?;
    berth_sys::copy::set_owner_and_mode(data, &meta).map_err(io(data))
}

/// Who holds which volume mounted: containers that are running (or starting) with it. The
/// first holder of a volume mounts it, the last one to go unmounts it.
#[derive(Debug, Default)]
pub(crate) struct Holders {
    by_container: HashMap<String, Vec<String>>,
    counts: HashMap<String, usize>,
}

impl Holders {
    /// Records that `container` holds `volume`; true when it is the volume's first holder.
    /// Holding the same volume twice (two mount points) counts once.
    pub(crate) fn hold(&mut self, container: &str, volume: &str) -> bool {
        let held = self.by_container.entry(container.to_string()).or_default();
        if held.iter().any(|v| v == volume) {
            return false;
        }
        held.push(volume.to_string());
        let n = self.counts.entry(volume.to_string()).or_default();
        *n += 1;
        *n == 1
    }

    /// Drops what `container` holds; returns each volume with whether it was the last holder.
    /// Releasing twice returns nothing the second time.
    pub(crate) fn release(&mut self, container: &str) -> Vec<(String, bool)> {
        let held = self.by_container.remove(container).unwrap_or_default();
        held.into_iter()
            .map(|v| {
                let n = self.counts.entry(v.clone()).or_default();
                *n = n.saturating_sub(1);
                let last = *n == 0;
                if last {
                    self.counts.remove(&v);
                }
                (v, last)
            })
            .collect()
    }

    pub(crate) fn is_held(&self, volume: &str) -> bool {
        self.counts.contains_key(volume)
    }
}
