//! Idmapped bind mounts, made by the runtime on the host side.
//!
//! `mount_setattr(MOUNT_ATTR_IDMAP)` needs CAP_SYS_ADMIN over the source filesystem, i.e. in the
//! host's user namespace, which the container process loses once it is in its own. So the
//! runtime clones each source with `open_tree`, idmaps the detached clone and hands the fd to
//! the container process, which only attaches it with `move_mount` (`rootfs::prepare`).

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use berth_sys::newmount::{self, MountAttr, MountAttrs};
use nix::errno::Errno;
use nix::fcntl::{open, OFlag};
use nix::sys::stat::Mode;
use oci_spec::runtime::LinuxIdMapping;

use crate::error::{io, sys, Error, Result};
use crate::rootfs::{IdmapRequest, IdmapSource};

/// The `uid_map`/`gid_map` text of a mapping list.
pub(crate) fn map_text(maps: &[LinuxIdMapping]) -> String {
    maps.iter()
        .map(|m| format!("{} {} {}\n", m.container_id(), m.host_id(), m.size()))
        .collect()
}

/// Writes the uid and gid maps of the user namespace of `pid` (which must not have any yet).
pub(crate) fn write_id_maps(
    pid: i32,
    uid: &[LinuxIdMapping],
    gid: &[LinuxIdMapping],
) -> Result<()> {
    for (file, maps) in [("uid_map", uid), ("gid_map", gid)] {
        let path = format!("/proc/{pid}/{file}");
        std::fs::write(&path, map_text(maps)).map_err(io("write user namespace mapping", path))?;
    }
    Ok(())
}

/// A user namespace carrying `uid`/`gid`, held by an fd: a helper process unshares it, we write
/// its maps and open it, then the helper exits (the fd keeps the namespace alive).
pub(crate) fn userns_with_maps(uid: &[LinuxIdMapping], gid: &[LinuxIdMapping]) -> Result<OwnedFd> {
    // The helper waits for EOF on this pipe, so it also ends if we die half-way.
    let (wait_r, wait_w) = nix::unistd::pipe2(OFlag::O_CLOEXEC).map_err(sys("create pipe"))?;
    let pid = crate::init::clone_process(libc::CLONE_NEWUSER as libc::c_long)?;
    if pid == 0 {
        drop(wait_w);
        let mut byte = [0u8; 1];
        // Only async-signal-safe calls here: read until the parent closes its end, then leave.
        let _ = nix::unistd::read(wait_r.as_fd(), &mut byte);
        // SAFETY: _exit skips the parent's atexit handlers and buffered output.
        unsafe { libc::_exit(0) }
    }
    drop(wait_r);
    let result = write_id_maps(pid, uid, gid).and_then(|()| {
        let path = format!("/proc/{pid}/ns/user");
        open(
            path.as_str(),
            OFlag::O_RDONLY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .map_err(sys(format!("open {path}")))
    });
    drop(wait_w);
    let _ = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(pid), None);
    result
}

/// Clones `req.source` detached and idmaps the clone with `userns`.
pub(crate) fn idmapped_tree(req: &IdmapRequest, userns: BorrowedFd<'_>) -> Result<OwnedFd> {
    let what = |step: &str| format!("{step} of idmapped mount source {}", req.source.display());
    let source = crate::syscall::cpath(&req.source).map_err(sys(what("path")))?;
    let tree =
        newmount::open_tree_clone(&source, req.recursive_tree).map_err(sys(what("clone")))?;
    let attr = MountAttr {
        set: MountAttrs::IDMAP,
        userns: Some(userns),
        ..MountAttr::default()
    };
    newmount::mount_setattr(tree.as_fd(), req.recursive_idmap, &attr).map_err(|e| {
        let why = match e {
            Errno::ENOSYS => "idmapped mounts need Linux 5.12",
            // Per filesystem: ext4, xfs, vfat 5.12; btrfs 5.15; overlayfs 5.19; tmpfs 6.3.
            _ => "the source filesystem must support idmapped mounts on this kernel",
        };
        sys(format!("{} ({why})", what("idmap")))(e)
    })?;
    Ok(tree)
}

/// Every requested tree, as (mount index, fd). `container_userns` is needed only for requests
/// without mappings of their own; mounts with equal mappings share one helper namespace.
pub(crate) fn prepare(
    requests: &[IdmapRequest],
    container_userns: Option<BorrowedFd<'_>>,
) -> Result<Vec<(usize, OwnedFd)>> {
    let mut helpers: Vec<(&IdmapSource, OwnedFd)> = Vec::new();
    let mut out = Vec::with_capacity(requests.len());
    for req in requests {
        let tree = match &req.maps {
            IdmapSource::ContainerUserns => {
                let userns = container_userns.ok_or_else(|| Error::InvalidMount {
                    destination: req.destination.clone(),
                    reason: "idmap needs the container's user namespace, which it has not".into(),
                })?;
                idmapped_tree(req, userns)?
            }
            own @ IdmapSource::Own { uid, gid } => {
                let known = helpers.iter().position(|(maps, _)| *maps == own);
                let at = match known {
                    Some(at) => at,
                    None => {
                        helpers.push((own, userns_with_maps(uid, gid)?));
                        helpers.len() - 1
                    }
                };
                // In range: found by `position` or just pushed.
                let (_, userns) = &helpers[at];
                idmapped_tree(req, userns.as_fd())?
            }
        };
        tracing::debug!(
            source = %req.source.display(),
            destination = %req.destination.display(),
            recursive = req.recursive_idmap,
            "idmapped mount prepared"
        );
        out.push((req.index, tree));
    }
    Ok(out)
}
