//! A read-only view of a program's directory that exists only as a mount fd: what a runtime
//! runs from so that no container can overwrite it through `/proc/<pid>/exe`
//! (CVE-2019-5736). berth-runtime makes one per start of a container process and re-executes
//! itself from it; berthd makes one for its whole life and runs the runtime from it, so the
//! runtime, finding itself on such a view already, skips the re-exec.

use std::ffi::{CStr, CString};
use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::DirBuilderExt;
use std::path::Path;

use crate::newmount::{self, MountAttrs};

/// Adds what was being done to an error.
fn context(what: impl FnOnce() -> String) -> impl FnOnce(io::Error) -> io::Error {
    move |e| io::Error::new(e.kind(), format!("{}: {e}", what()))
}

fn cstring(bytes: &[u8]) -> io::Result<CString> {
    CString::new(bytes)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "a NUL byte in a path"))
}

/// A detached mount of `fs_type` configured by `options`: it exists only as the returned fd,
/// so nothing can reach it by path or remount it.
fn detached_mount(
    fs_type: &CStr,
    options: &[(&CStr, CString)],
    attrs: MountAttrs,
) -> io::Result<OwnedFd> {
    let name = fs_type.to_string_lossy();
    let fs = newmount::fsopen(fs_type)
        .map_err(io::Error::from)
        .map_err(context(|| format!("fsopen {name}")))?;
    for (key, value) in options {
        newmount::set_string(fs.as_fd(), key, value)
            .map_err(io::Error::from)
            .map_err(context(|| {
                format!(
                    "fsconfig {}={}",
                    key.to_string_lossy(),
                    value.to_string_lossy()
                )
            }))?;
    }
    newmount::create(fs.as_fd())
        .map_err(io::Error::from)
        .map_err(context(|| format!("create the superblock of {name}")))?;
    newmount::fsmount(fs.as_fd(), attrs)
        .map_err(io::Error::from)
        .map_err(context(|| format!("fsmount {name}")))
}

/// `dir` seen through a read-only (nosuid, nodev) overlay of it and an empty layer (overlay
/// needs two lower layers when it has no upper one). Linux 6.8+ takes the layers one
/// `lowerdir+` at a time, the empty one a detached tmpfs. Older kernels take one `lowerdir`
/// string (before 6.5 overlayfs has the legacy fs context, which accepts `lowerdir+` and fails
/// only when the superblock is created) and refuse detached mounts as layers: there the empty
/// layer is `<scratch>/.empty-layer`, made if missing.
pub fn read_only_view(dir: &Path, scratch: &Path) -> io::Result<OwnedFd> {
    let attrs = MountAttrs::RDONLY | MountAttrs::NOSUID | MountAttrs::NODEV;
    let one_by_one = || -> io::Result<OwnedFd> {
        let empty = detached_mount(c"tmpfs", &[], MountAttrs::RDONLY)?;
        let empty = format!("/proc/self/fd/{}", empty.as_raw_fd());
        let layers = [
            (c"lowerdir+", cstring(dir.as_os_str().as_bytes())?),
            (c"lowerdir+", cstring(empty.as_bytes())?),
        ];
        detached_mount(c"overlay", &layers, attrs)
    };
    let joined = |first: io::Error| -> io::Result<OwnedFd> {
        let empty = scratch.join(".empty-layer");
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&empty)
            .map_err(context(|| format!("create {}", empty.display())))?;
        // Overlayfs refuses layers inside one another (ELOOP).
        let empty = std::fs::canonicalize(&empty)
            .map_err(context(|| format!("resolve {}", empty.display())))?;
        if empty.starts_with(dir) || dir.starts_with(&empty) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{} overlaps {}", empty.display(), dir.display()),
            ));
        }
        let mut layers = dir.as_os_str().as_bytes().to_vec();
        layers.push(b':');
        layers.extend_from_slice(empty.as_os_str().as_bytes());
        detached_mount(c"overlay", &[(c"lowerdir", cstring(&layers)?)], attrs)
            .map_err(context(|| format!("after lowerdir+ failed ({first})")))
    };
    one_by_one().or_else(joined)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
