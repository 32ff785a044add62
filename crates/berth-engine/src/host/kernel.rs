//! The running kernel, from uname(2).

/// uname(2)'s answers `docker info` reports; empty when the call fails.
#[derive(Debug, Clone, Default)]
pub(crate) struct Uname {
    pub release: String,
    pub machine: String,
    pub nodename: String,
}

pub(crate) fn uname() -> Uname {
    nix::sys::utsname::uname().map_or_else(
        |_| Uname::default(),
        |u| Uname {
            release: u.release().to_string_lossy().into_owned(),
            machine: u.machine().to_string_lossy().into_owned(),
            nodename: u.nodename().to_string_lossy().into_owned(),
        },
    )
}

/// `(major, minor)` of the running kernel: which syscalls the seccomp profile may name.
pub(crate) fn kernel_version() -> Option<(u32, u32)> {
    parse_release(&uname().release)
}

/// `6.8.0-45-generic` → `(6, 8)`.
pub(super) fn parse_release(release: &str) -> Option<(u32, u32)> {
    let mut parts = release.split(|c: char| !c.is_ascii_digit());
    Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
}

/// Whether overlayfs takes id-mapped layers (Linux 5.19), which pod user namespaces need for
/// the containers' root filesystems; whether the layers' filesystem supports id-mapped mounts
/// is known only at the mount, which says so.
pub fn idmapped_layers() -> bool {
    kernel_version().is_some_and(|v| v >= (5, 19)) && berth_sys::newmount::mount_setattr_supported()
}

/// Whether bind mounts can be made read-only with everything below them (`rro`, through
/// `mount_setattr`, Linux 5.12+): the CRI advertises it per runtime handler.
pub fn recursive_readonly_mounts() -> bool {
    berth_sys::newmount::mount_setattr_supported()
}
