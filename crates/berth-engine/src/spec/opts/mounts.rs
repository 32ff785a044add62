//! The mount table (moby `WithMounts`, `oci/defaults.go`): Docker's defaults with the read-only
//! rootfs, privileged `/sys` and writable-cgroup flags, the mounts earlier steps added
//! (`--init`) beside them, then the user's mounts, the generated /etc files and /dev/shm by
//! IPC mode, by depth.

use std::path::{Path, PathBuf};

use oci_spec::runtime::{Linux, Mount, Spec};

use super::{NsMode, SpecContext};
use crate::model::{ContainerSpec, IpcMode, Security};
use crate::spec::error::SpecError;
use crate::spec::mounts::{self, UserMounts, DEFAULT_SHM_SIZE};

/// Sets `mounts` and `linux.rootfsPropagation`; returns the index of the first user mount.
/// `user` is the request's mounts, parsed from the Docker body until the model's are
/// (docs/container-model.md, step 7).
pub(in crate::spec) fn mounts(
    spec: &mut Spec,
    model: &ContainerSpec,
    ctx: &SpecContext<'_>,
    user: &UserMounts,
) -> Result<usize, SpecError> {
    let security = &model.security;
    let ipc = &model.namespaces.ipc;
    let mut destinations: Vec<PathBuf> = user.destinations().map(Path::to_path_buf).collect();
    let mut extra: Vec<Mount> = Vec::new();
    let files = [
        ("/etc/resolv.conf", &ctx.resolv_conf_path),
        ("/etc/hostname", &ctx.hostname_path),
        ("/etc/hosts", &ctx.hosts_path),
    ];
    for (dest, source) in files {
        let Some(source) = source else { continue };
        if destinations.iter().any(|d| d == Path::new(dest)) {
            continue;
        }
        extra.push(mounts::bind_mount(
            source,
            Path::new(dest),
            security.readonly_rootfs,
            "rprivate",
        ));
    }
    let shm_bind = match (ipc, NsMode::from(ipc)) {
        (_, NsMode::Host) => Some(PathBuf::from("/dev/shm")),
        (IpcMode::Shareable, _) | (_, NsMode::Join) => ctx.shm_path.clone(),
        _ => None,
    };
    if let Some(source) = &shm_bind {
        if !destinations.iter().any(|d| d == Path::new("/dev/shm")) {
            extra.push(mounts::bind_mount(
                source,
                Path::new("/dev/shm"),
                false,
                "rprivate",
            ));
        }
    }
    destinations.extend(extra.iter().map(|m| m.destination().clone()));
    let mut user_list: Vec<Mount> = user.mounts.iter().cloned().chain(extra).collect();
    user_list.sort_by_key(mounts::depth);

    let user_dev = destinations.iter().any(|d| d == Path::new("/dev"));
    let no_shm = *ipc == IpcMode::None;
    let step_mounts = spec.mounts_mut().take().unwrap_or_default();
    let shm_size = model.storage.shm_size.unwrap_or(DEFAULT_SHM_SIZE);
    let mut all: Vec<Mount> = mounts::default_mounts(shm_size)
        .into_iter()
        .chain(step_mounts)
        .filter(|m| {
            // A user mount replaces the default at its place; a user /dev replaces all of /dev.
            let dest = m.destination();
            let replaced = destinations.iter().any(|d| d == dest)
                || (user_dev && dest.starts_with("/dev"))
                || (no_shm && dest == Path::new("/dev/shm"));
            !replaced
        })
        .collect();
    all.iter_mut().for_each(|m| default_flags(m, security));
    let first_user_mount = all.len();
    all.extend(user_list);
    spec.set_mounts(Some(all));
    spec.linux_mut()
        .get_or_insert_with(Linux::default)
        .set_rootfs_propagation(user.rootfs_propagation.map(String::from));
    Ok(first_user_mount)
}

/// `ro` on a default mount with a read-only rootfs (not the ones a process writes to); `rw`
/// `/sys` when privileged, and cgroups when privileged or asked for.
fn default_flags(m: &mut Mount, security: &Security) {
    let dest = m.destination().to_string_lossy().into_owned();
    if security.readonly_rootfs
        && !matches!(
            dest.as_str(),
            "/proc" | "/dev/pts" | "/dev/shm" | "/dev/mqueue" | "/dev"
        )
        && !m.options().iter().flatten().any(|o| o == "ro")
    {
        let mut o = m.options().clone().unwrap_or_default();
        o.push("ro".into());
        m.set_options(Some(o));
    }
    if security.privileged && dest == "/sys" {
        clear_ro(m);
    }
    if (security.privileged || security.writable_cgroups) && m.typ().as_deref() == Some("cgroup") {
        clear_ro(m);
    }
}

fn clear_ro(m: &mut Mount) {
    if let Some(opts) = m.options().clone() {
        m.set_options(Some(opts.into_iter().filter(|o| o != "ro").collect()));
    }
}
