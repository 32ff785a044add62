//! Mount descriptions (containerd's `mount.Mount`) and the code that performs them.
//!
//! Overlay mounts go through the new mount API: `fsopen("overlay")`, one `fsconfig` call per
//! lower layer with `lowerdir+` (Linux 6.8+), `fsmount`, `move_mount`. Nothing is limited by the
//! one-page option string of `mount(2)`, so hundreds of layers work. Whether the kernel's
//! overlayfs takes `lowerdir+` is probed once per process ([`lowerdir_plus_supported`]); without
//! it the mount falls back to `mount(2)` with lowerdirs made relative to their common parent
//! directory (with the snapshotter's short links that is `l/<26 chars>` per layer), from a thread
//! that has its own working directory (`unshare(CLONE_FS)`), since `chdir` is otherwise
//! process-wide.

use std::ffi::CString;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};
use std::sync::OnceLock;

use nix::errno::Errno;
use nix::mount::{MntFlags, MsFlags};
use serde::{Deserialize, Serialize};

use berth_sys::newmount::{self as sys, MountAttrs};

use crate::error::{Error, Result};

/// How to mount one filesystem, as containerd describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mount {
    /// `overlay` or `bind`.
    #[serde(rename = "type")]
    pub fs_type: String,
    pub source: String,
    /// `mount -o` style options; for overlay `lowerdir` lists layers nearest first, ':'-separated.
    pub options: Vec<String>,
}

impl Mount {
    pub(crate) fn bind(source: &Path, read_only: bool) -> Self {
        Self {
            fs_type: "bind".to_string(),
            source: source.display().to_string(),
            options: vec![
                "rbind".to_string(),
                if read_only { "ro" } else { "rw" }.to_string(),
            ],
        }
    }

    /// Makes a writable overlay `volatile` (Linux 5.10+): overlayfs then never syncs the upper
    /// filesystem, and so unmounting no longer syncs the whole host filesystem under it (10 to
    /// 140 ms measured, growing with whatever else the host has dirty). Only for layers thrown
    /// away with their container (`--rm`, as podman does): after a host crash their contents
    /// cannot be trusted. Other mounts are left as they are.
    pub fn set_volatile(&mut self) {
        let writable = self.options.iter().any(|o| o.starts_with("upperdir="));
        if self.fs_type == "overlay" && writable && !self.options.iter().any(|o| o == VOLATILE) {
            self.options.push(VOLATILE.to_string());
        }
    }

    pub(crate) fn overlay(options: Vec<String>) -> Self {
        Self {
            fs_type: "overlay".to_string(),
            source: "overlay".to_string(),
            options,
        }
    }
}

/// The overlay option of [`Mount::set_volatile`].
const VOLATILE: &str = "volatile";

fn absolute_target(target: &Path) -> Result<PathBuf> {
    std::path::absolute(target).map_err(|e| Error::Io {
        action: "resolve mount target",
        path: target.to_path_buf(),
        source: e,
    })
}

/// Mounts `mounts` on `target`, in order (each on top of the previous one).
pub fn mount(mounts: &[Mount], target: &Path) -> Result<()> {
    let target = absolute_target(target)?;
    for m in mounts {
        match m.fs_type.as_str() {
            "bind" => mount_bind(m, &target)?,
            "overlay" => mount_overlay(&OverlayOptions::parse(m, &target)?, &target)?,
            other => {
                return Err(Error::InvalidMount {
                    target,
                    reason: format!("unsupported mount type {other:?}"),
                })
            }
        }
    }
    Ok(())
}

/// The user namespace a container's layers are id-mapped into, and the host ids of its root.
#[derive(Debug, Clone, Copy)]
pub struct IdmappedLayers<'a> {
    pub userns: BorrowedFd<'a>,
    pub root_uid: u32,
    pub root_gid: u32,
}

/// Mounts an overlay as [`mount`] does for a container in a user namespace (containerd 2's
/// idmapped snapshot): overlayfs itself cannot be id-mapped (no `FS_ALLOW_IDMAP`, EINVAL), but
/// since Linux 5.19 it takes id-mapped layers. So each lower layer is cloned detached
/// (`open_tree`), id-mapped with `idmap.userns` and given to overlayfs as `/proc/self/fd/<n>`;
/// the overlay keeps its layers after the fds close. The upper layer is not mapped: what the
/// container writes carries its host ids, and its root directory is chowned to the
/// namespace's root so that root can write there. Nothing is copied, and the image's layers
/// stay as they are for every other container.
pub fn mount_idmapped(mounts: &[Mount], target: &Path, idmap: &IdmappedLayers<'_>) -> Result<()> {
    let target = absolute_target(target)?;
    for m in mounts {
        if m.fs_type != "overlay" {
            return Err(Error::InvalidMount {
                target,
                reason: format!(
                    "id-mapped layers need an overlay, not a {:?} mount",
                    m.fs_type
                ),
            });
        }
        let mut o = OverlayOptions::parse(m, &target)?;
        let trees = o
            .lowers
            .iter()
            .map(|l| idmapped_tree(l, idmap.userns, &target))
            .collect::<Result<Vec<OwnedFd>>>()?;
        o.lowers = trees
            .iter()
            .map(|t| PathBuf::from(format!("/proc/self/fd/{}", t.as_raw_fd())))
            .collect();
        if let Some(upper) = &o.upper {
            std::os::unix::fs::lchown(upper, Some(idmap.root_uid), Some(idmap.root_gid)).map_err(
                |e| Error::Io {
                    action: "chown the upper layer to the user namespace's root",
                    path: upper.clone(),
                    source: e,
                },
            )?;
        }
        mount_overlay(&o, &target)?;
    }
    Ok(())
}

/// A detached clone of `layer`, id-mapped with `userns`.
fn idmapped_tree(layer: &Path, userns: BorrowedFd<'_>, target: &Path) -> Result<OwnedFd> {
    let fail = |action: &'static str| {
        let target = target.to_path_buf();
        let layer = layer.display().to_string();
        move |source| Error::Mount {
            action,
            target,
            source,
            log: vec![format!("layer {layer}")],
        }
    };
    let tree = sys::open_tree_clone(&cstring(layer, target)?, false)
        .map_err(fail("clone layer for id-mapping (open_tree, Linux 5.2)"))?;
    let attr = sys::MountAttr {
        set: MountAttrs::IDMAP,
        userns: Some(userns),
        ..sys::MountAttr::default()
    };
    sys::mount_setattr(tree.as_fd(), false, &attr).map_err(fail(
        "id-map layer (mount_setattr, Linux 5.12, and a filesystem with id-mapped mounts)",
    ))?;
    Ok(tree)
}

/// Unmounts whatever is mounted on `target`.
pub fn unmount(target: &Path) -> Result<()> {
    nix::mount::umount2(target, MntFlags::empty()).map_err(|source| Error::Mount {
        action: "unmount",
        target: target.to_path_buf(),
        source,
        log: Vec::new(),
    })
}

fn mount_bind(m: &Mount, target: &Path) -> Result<()> {
    let mut flags = MsFlags::MS_BIND;
    if m.options.iter().any(|o| o == "rbind") {
        flags |= MsFlags::MS_REC;
    }
    let sys = |action| {
        let target = target.to_path_buf();
        move |source| Error::Mount {
            action,
            target,
            source,
            log: Vec::new(),
        }
    };
    nix::mount::mount(
        Some(m.source.as_str()),
        target,
        None::<&str>,
        flags,
        None::<&str>,
    )
    .map_err(sys("bind mount"))?;
    if m.options.iter().any(|o| o == "ro") {
        // MS_RDONLY is ignored on the first bind; it takes a remount.
        let ro = MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY;
        if let Err(e) = nix::mount::mount(None::<&str>, target, None::<&str>, ro, None::<&str>) {
            let _ = nix::mount::umount2(target, MntFlags::MNT_DETACH);
            return Err(sys("remount read-only")(e));
        }
    }
    Ok(())
}

/// An overlay mount's options, split into the parts the two mount paths treat differently.
#[derive(Debug, Clone, PartialEq, Eq)]
struct OverlayOptions {
    /// Nearest layer first.
    lowers: Vec<PathBuf>,
    upper: Option<PathBuf>,
    work: Option<PathBuf>,
    read_only: bool,
    /// Anything else (`index=off`, `userxattr`, ...), passed through as is.
    other: Vec<(String, Option<String>)>,
}

impl OverlayOptions {
    fn is_volatile(&self) -> bool {
        self.other.iter().any(|(k, v)| k == VOLATILE && v.is_none())
    }

    fn parse(m: &Mount, target: &Path) -> Result<Self> {
        let mut o = Self {
            lowers: Vec::new(),
            upper: None,
            work: None,
            read_only: false,
            other: Vec::new(),
        };
        for opt in &m.options {
            match opt.split_once('=') {
                Some(("lowerdir", v)) => o.lowers = v.split(':').map(PathBuf::from).collect(),
                Some(("upperdir", v)) => o.upper = Some(PathBuf::from(v)),
                Some(("workdir", v)) => o.work = Some(PathBuf::from(v)),
                Some((k, v)) => o.other.push((k.to_string(), Some(v.to_string()))),
                None if opt == "ro" => o.read_only = true,
                None if opt == "rw" => {}
                None => o.other.push((opt.clone(), None)),
            }
        }
        let invalid = |reason: &str| Error::InvalidMount {
            target: target.to_path_buf(),
            reason: reason.to_string(),
        };
        if o.lowers.iter().any(|l| l.as_os_str().is_empty()) || o.lowers.is_empty() {
            return Err(invalid("overlay needs a non-empty lowerdir"));
        }
        if o.upper.is_some() != o.work.is_some() {
            return Err(invalid(
                "overlay needs both upperdir and workdir, or neither",
            ));
        }
        Ok(o)
    }
}

fn mount_overlay(o: &OverlayOptions, target: &Path) -> Result<()> {
    if let Some(work) = o.work.as_deref().filter(|_| o.is_volatile()) {
        clear_volatile_marker(work)?;
    }
    if lowerdir_plus_supported() {
        return mount_overlay_fsconfig(o, target);
    }
    match mount_overlay_legacy(o, target) {
        // Before Linux 5.10 overlayfs has no `volatile`: such a layer is synced as any other.
        Err(Error::Mount {
            source: Errno::EINVAL,
            ..
        }) if o.is_volatile() => {
            let mut synced = o.clone();
            synced
                .other
                .retain(|(k, v)| !(k == VOLATILE && v.is_none()));
            mount_overlay_legacy(&synced, target)
        }
        other => other,
    }
}

/// Whether overlayfs takes its lower layers one `fsconfig(lowerdir+)` at a time (Linux 6.8+),
/// asked of the kernel once per process by setting a lower layer that does not exist:
/// - 6.8+ resolves the path as it is set: ENOENT;
/// - 6.5 to 6.7 (overlayfs on the new mount API without `lowerdir+`): EINVAL for the key;
/// - before 6.5 overlayfs has the *legacy* fs context, which takes any key without looking at it
///   and fails only at `FSCONFIG_CMD_CREATE`: success here, so an error at set time alone cannot
///   tell;
/// - without `fsopen` (before 5.2): ENOSYS.
fn lowerdir_plus_supported() -> bool {
    static SUPPORTED: OnceLock<bool> = OnceLock::new();
    *SUPPORTED.get_or_init(|| {
        let Ok(fs) = sys::fsopen(c"overlay") else {
            return false;
        };
        let probe = sys::set_string(fs.as_fd(), c"lowerdir+", c"/proc/self/berth-no-such-layer");
        let _ = sys::drain_log(fs.as_fd());
        probe == Err(Errno::ENOENT)
    })
}

/// A volatile mount leaves `<workdir>/work/incompat/volatile` behind, and overlayfs refuses
/// every later mount of the layer while it exists, since a crash may have lost writes. Whoever
/// mounts a layer volatile has said that its contents after a crash do not matter (the
/// container is removed then), so the marker of an earlier run of the same container goes.
fn clear_volatile_marker(work: &Path) -> Result<()> {
    let incompat = work.join("work").join("incompat");
    match std::fs::remove_dir_all(&incompat) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::Io {
            action: "remove overlay volatile marker",
            path: incompat,
            source: e,
        }),
        _ => Ok(()),
    }
}

fn mount_overlay_fsconfig(o: &OverlayOptions, target: &Path) -> Result<()> {
    let fs = sys::fsopen(c"overlay").map_err(|source| Error::Mount {
        action: "fsopen overlay",
        target: target.to_path_buf(),
        source,
        log: Vec::new(),
    })?;
    let fail = |action: &'static str, source: Errno| Error::Mount {
        action,
        target: target.to_path_buf(),
        source,
        log: sys::drain_log(fs.as_fd()),
    };
    for lower in &o.lowers {
        sys::set_string(fs.as_fd(), c"lowerdir+", &cstring(lower, target)?)
            .map_err(|e| fail("add overlay lower layer", e))?;
    }
    if let (Some(upper), Some(work)) = (&o.upper, &o.work) {
        sys::set_string(fs.as_fd(), c"upperdir", &cstring(upper, target)?)
            .map_err(|e| fail("set overlay upperdir", e))?;
        sys::set_string(fs.as_fd(), c"workdir", &cstring(work, target)?)
            .map_err(|e| fail("set overlay workdir", e))?;
    }
    for (key, value) in &o.other {
        let key = cstring(Path::new(key), target)?;
        let r = match value {
            Some(v) => sys::set_string(fs.as_fd(), &key, &cstring(Path::new(v), target)?),
            None => sys::set_flag(fs.as_fd(), &key),
        };
        r.map_err(|e| fail("set overlay option", e))?;
    }
    sys::create(fs.as_fd()).map_err(|e| fail("create overlay", e))?;
    let attrs = if o.read_only {
        MountAttrs::RDONLY
    } else {
        MountAttrs::default()
    };
    let mnt = sys::fsmount(fs.as_fd(), attrs).map_err(|e| fail("fsmount overlay", e))?;
    sys::move_mount(mnt.as_fd(), &cstring(target, target)?).map_err(|e| fail("move_mount", e))
}

/// Longest directory that contains every path in `paths` (all absolute).
fn common_parent(paths: &[&Path]) -> PathBuf {
    let mut base: Vec<Component<'_>> = match paths.first().and_then(|p| p.parent()) {
        Some(p) => p.components().collect(),
        None => return PathBuf::from("/"),
    };
    for p in &paths[1..] {
        let dir: Vec<_> = p
            .parent()
            .map(|d| d.components().collect())
            .unwrap_or_default();
        let same = base.iter().zip(&dir).take_while(|(a, b)| a == b).count();
        base.truncate(same);
    }
    base.iter().collect()
}

/// The `mount(2)` fallback: paths relative to their common parent keep the option string short.
fn mount_overlay_legacy(o: &OverlayOptions, target: &Path) -> Result<()> {
    let mut all: Vec<&Path> = o.lowers.iter().map(PathBuf::as_path).collect();
    all.extend(o.upper.iter().chain(&o.work).map(PathBuf::as_path));
    let base = common_parent(&all);
    let rel = |p: &Path| -> String {
        p.strip_prefix(&base)
            .unwrap_or(p)
            .to_string_lossy()
            .into_owned()
    };
    let mut opts = vec![format!(
        "lowerdir={}",
        o.lowers
            .iter()
            .map(|l| rel(l))
            .collect::<Vec<_>>()
            .join(":")
    )];
    if let (Some(upper), Some(work)) = (&o.upper, &o.work) {
        opts.push(format!("upperdir={}", rel(upper)));
        opts.push(format!("workdir={}", rel(work)));
    }
    for (k, v) in &o.other {
        opts.push(match v {
            Some(v) => format!("{k}={v}"),
            None => k.clone(),
        });
    }
    let data = opts.join(",");
    // mount(2) copies at most one page of options; longer strings would be cut silently.
    if data.len() >= 4096 {
        return Err(Error::InvalidMount {
            target: target.to_path_buf(),
            reason: format!(
                "overlay options are {} bytes even with relative paths, over mount(2)'s one-page \
                 limit, and this kernel lacks fsconfig lowerdir+ (Linux 6.8)",
                data.len()
            ),
        });
    }
    let flags = if o.read_only {
        MsFlags::MS_RDONLY
    } else {
        MsFlags::empty()
    };
    let err = |action, source| Error::Mount {
        action,
        target: target.to_path_buf(),
        source,
        log: Vec::new(),
    };
    std::thread::scope(|s| {
        s.spawn(|| {
            // Our own cwd, so the chdir below does not move every other thread of the daemon.
            nix::sched::unshare(nix::sched::CloneFlags::CLONE_FS)
                .map_err(|e| err("unshare(CLONE_FS)", e))?;
            nix::unistd::chdir(&base).map_err(|e| err("chdir to layer directory", e))?;
            nix::mount::mount(
                Some("overlay"),
                target,
                Some("overlay"),
                flags,
                Some(data.as_str()),
            )
            .map_err(|e| err("mount overlay", e))
        })
        .join()
        .unwrap_or_else(|_| Err(err("mount overlay (thread panicked)", Errno::EIO)))
    })
}

fn cstring(p: &Path, target: &Path) -> Result<CString> {
    CString::new(p.as_os_str().as_bytes()).map_err(|_| Error::InvalidMount {
        target: target.to_path_buf(),
        reason: format!("{} contains a NUL byte", p.display()),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
