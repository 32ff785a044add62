//! Paths inside a container's root filesystem, for `docker cp`: the user names a path as the
//! container sees it, and it is resolved by the kernel with the root as `/`
//! (`openat2(RESOLVE_IN_ROOT)`), so `..` and symlinks (absolute or relative, to `/`, to `..`)
//! never lead out of the root. The last component is not followed (`docker cp` copies a
//! symlink as a symlink), except when the path ends in `/` or `/.`, which asks for the
//! directory itself.

use std::ffi::{CStr, CString};
use std::fs::File;
use std::io::Write;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use crate::diff::{Mode, TarWriter};
use crate::error::{io as io_err, Result};
use crate::sys;

/// What `docker cp` shows about a path (the `X-Docker-Container-Path-Stat` header).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathStat {
    /// The last component of the path as given (`/` for the root).
    pub name: String,
    pub size: u64,
    /// `st_mode`: file type and permission bits.
    pub mode: u32,
    /// Modification time, Unix seconds and nanoseconds.
    pub mtime: (i64, i64),
    /// The target of a symlink, as stored; empty for anything else.
    pub link_target: String,
}

/// A path split for resolution: the directory that holds it (resolved in the root) and its
/// name there, or the directory itself when the path asks for it.
enum Resolved {
    Entry { parent: OwnedFd, name: CString },
    Dir(OwnedFd),
}

fn open_root(root: &Path) -> Result<OwnedFd> {
    Ok(File::options()
        .read(true)
        .custom_flags(libc::O_DIRECTORY | libc::O_CLOEXEC)
        .open(root)
        .map_err(io_err("open root", root))?
        .into())
}

/// The components of `path`, without empty and `.` ones; whether it asked for a directory.
fn split(path: &Path) -> (Vec<&[u8]>, bool) {
    let bytes = path.as_os_str().as_bytes();
    let wants_dir = bytes.ends_with(b"/") || bytes.ends_with(b"/.") || bytes == b".";
    let comps = bytes
        .split(|b| *b == b'/')
        .filter(|c| !c.is_empty() && *c != b".")
        .collect();
    (comps, wants_dir)
}

fn resolve(root: &Path, path: &Path) -> Result<(OwnedFd, Resolved)> {
    let root_fd = open_root(root)?;
    let (comps, wants_dir) = split(path);
    let err = |action| io_err(action, root.join(path.strip_prefix("/").unwrap_or(path)));
    let resolved = match comps.split_last() {
        // `..` as the last component names a directory; the kernel clamps it in the root.
        Some((last, parent)) if !wants_dir && *last != b".." => {
            let parent = sys::cstring(&parent.join(&b'/')).map_err(err("resolve"))?;
            let dir = if parent.is_empty() {
                root_fd.try_clone().map_err(err("resolve"))?
            } else {
                sys::open_in_root(root_fd.as_fd(), &parent, libc::O_PATH | libc::O_DIRECTORY)
                    .map_err(err("resolve"))?
            };
            Resolved::Entry {
                parent: dir,
                name: sys::cstring(last).map_err(err("resolve"))?,
            }
        }
        _ => {
            let full = sys::cstring(&comps.join(&b'/')).map_err(err("resolve"))?;
            let fd = if full.is_empty() {
                root_fd.try_clone().map_err(err("resolve"))?
            } else {
                sys::open_in_root(root_fd.as_fd(), &full, libc::O_RDONLY | libc::O_DIRECTORY)
                    .map_err(err("resolve"))?
            };
            Resolved::Dir(fd)
        }
    };
    Ok((root_fd, resolved))
}

/// The last component of `path` as `docker cp` names it.
fn base_name(path: &Path) -> String {
    let (comps, _) = split(path);
    comps.last().map_or_else(
        || "/".to_string(),
        |c| String::from_utf8_lossy(c).into_owned(),
    )
}

/// `lstat` of `path` inside `root` (see the module docs for how it is resolved). A missing path
/// is an [`Error::Io`](crate::Error::Io) whose source is `NotFound`.
pub fn stat_in_root(root: &Path, path: &Path) -> Result<PathStat> {
    let shown = root.join(path.strip_prefix("/").unwrap_or(path));
    let (_root, resolved) = resolve(root, path)?;
    let (st, link_target) = match &resolved {
        Resolved::Dir(fd) => (
            sys::fstat(fd.as_fd()).map_err(io_err("stat", &shown))?,
            Vec::new(),
        ),
        Resolved::Entry { parent, name } => {
            let st = sys::lstat_at(parent.as_fd(), name)
                .map_err(io_err("stat", &shown))?
                .ok_or_else(|| {
                    io_err("stat", &shown)(std::io::Error::from_raw_os_error(libc::ENOENT))
                })?;
            let link = if st.st_mode & libc::S_IFMT == libc::S_IFLNK {
                sys::readlinkat(parent.as_fd(), name).map_err(io_err("read symlink", &shown))?
            } else {
                Vec::new()
            };
            (st, link)
        }
    };
    Ok(PathStat {
        name: base_name(path),
        size: u64::try_from(st.st_size).unwrap_or(0),
        mode: st.st_mode,
        mtime: (st.st_mtime, st.st_mtime_nsec),
        link_target: String::from_utf8_lossy(&link_target).into_owned(),
    })
}

/// Opens directory `path` inside `root` (following a final symlink, inside the root), as the
/// place to extract an archive into with [`crate::unpack_layer_at`].
pub fn open_dir_in_root(root: &Path, path: &Path) -> Result<OwnedFd> {
    let shown = root.join(path.strip_prefix("/").unwrap_or(path));
    let root_fd = open_root(root)?;
    let (comps, _) = split(path);
    let full = sys::cstring(&comps.join(&b'/')).map_err(io_err("resolve", &shown))?;
    if full.is_empty() {
        return Ok(root_fd);
    }
    sys::open_in_root(root_fd.as_fd(), &full, libc::O_RDONLY | libc::O_DIRECTORY)
        .map_err(io_err("resolve", &shown))
}

/// Where `path` inside `root` is on the host, resolved by the kernel with `root` as `/` (a
/// final symlink followed, inside the root), for mounting part of a tree nothing can change
/// (a read-only image view): the answer stays true only as long as the tree does.
pub fn real_path_in_root(root: &Path, path: &Path) -> Result<PathBuf> {
    let shown = root.join(path.strip_prefix("/").unwrap_or(path));
    let root_fd = open_root(root)?;
    let (comps, _) = split(path);
    let full = sys::cstring(&comps.join(&b'/')).map_err(io_err("resolve", &shown))?;
    let fd = if full.is_empty() {
        root_fd
    } else {
        sys::open_in_root(root_fd.as_fd(), &full, libc::O_PATH)
            .map_err(io_err("resolve", &shown))?
    };
    // The kernel's name of what the fd holds: the host path, every symlink resolved.
    let link = PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd()));
    std::fs::read_link(&link).map_err(io_err("resolve", &shown))
}

/// Opens regular file `path` inside `root` for reading, symlinks resolved inside the root
/// (an unpacked `docker save` archive links repeated layers to each other).
pub fn open_file_in_root(root: &Path, path: &Path) -> Result<File> {
    let shown = root.join(path.strip_prefix("/").unwrap_or(path));
    let root_fd = open_root(root)?;
    let (comps, _) = split(path);
    let full = sys::cstring(&comps.join(&b'/')).map_err(io_err("resolve", &shown))?;
    let fd = sys::open_in_root(root_fd.as_fd(), &full, libc::O_RDONLY)
        .map_err(io_err("open", &shown))?;
    let st = sys::fstat(fd.as_fd()).map_err(io_err("stat", &shown))?;
    if st.st_mode & libc::S_IFMT != libc::S_IFREG {
        return Err(io_err("open", &shown)(std::io::Error::from_raw_os_error(
            libc::EINVAL,
        )));
    }
    Ok(File::from(fd))
}

/// How [`remove_no_follow`] treats what it finds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removal {
    /// The entry and, for a directory, everything below it.
    All,
    /// Only an empty directory or an empty regular file (a mount point a step left unused).
    IfEmpty,
}

/// Removes `path` below `root` (an overlay upper directory a container wrote, where any
/// component may be a symlink it planted) following no symlink, neither on the way (a
/// component that is not a real directory ends the walk: nothing is removed) nor below.
/// Returns whether something was removed.
pub fn remove_no_follow(root: &Path, path: &Path, how: Removal) -> Result<bool> {
    let shown = root.join(path.strip_prefix("/").unwrap_or(path));
    let err = |action| io_err(action, &shown);
    let (comps, _) = split(path);
    let Some((last, parents)) = comps.split_last() else {
        return Ok(false);
    };
    let mut dir = open_root(root)?;
    for comp in parents {
        let name = sys::cstring(comp).map_err(err("resolve"))?;
        let flags = libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW;
        match sys::openat(dir.as_fd(), &name, flags, 0) {
            Ok(fd) => dir = fd,
            Err(e)
                if matches!(
                    e.raw_os_error(),
                    Some(libc::ENOENT | libc::ENOTDIR | libc::ELOOP)
                ) =>
            {
                return Ok(false)
            }
            Err(e) => return Err(err("resolve")(e)),
        }
    }
    let name = sys::cstring(last).map_err(err("resolve"))?;
    let Some(st) = sys::lstat_at(dir.as_fd(), &name).map_err(err("stat"))? else {
        return Ok(false);
    };
    let kind = st.st_mode & libc::S_IFMT;
    let removed = match (how, kind) {
        (Removal::All, libc::S_IFDIR) => sys::remove_all_at(dir.as_fd(), &name),
        (Removal::All, _) => sys::unlinkat(dir.as_fd(), &name, 0),
        (Removal::IfEmpty, libc::S_IFDIR) => {
            match sys::unlinkat(dir.as_fd(), &name, libc::AT_REMOVEDIR) {
                Err(e) if e.raw_os_error() == Some(libc::ENOTEMPTY) => return Ok(false),
                other => other,
            }
        }
        (Removal::IfEmpty, libc::S_IFREG) if st.st_size == 0 => {
            sys::unlinkat(dir.as_fd(), &name, 0)
        }
        (Removal::IfEmpty, _) => return Ok(false),
    };
    removed.map_err(err("remove"))?;
    Ok(true)
}

/// Writes a tar of `path` inside `root` to `out`, its entries named `name`, `name/...` (a
/// directory with everything below it, or a single file, symlink or device), in the same
/// format as [`crate::write_tar_from_dir`]. `skip` leaves out the paths below `path` (given
/// relative to it, `a/b`) it says yes to, with everything below them (`COPY --exclude`).
pub fn write_tar_of_path<W: Write>(
    root: &Path,
    path: &Path,
    name: &[u8],
    out: W,
    skip: Option<&dyn Fn(&Path) -> bool>,
) -> Result<()> {
    let shown = root.join(path.strip_prefix("/").unwrap_or(path));
    let (root_fd, resolved) = resolve(root, path)?;
    let (parent, entry_name): (OwnedFd, CString) = match resolved {
        Resolved::Entry { parent, name } => (parent, name),
        // A directory asked for as itself: archive it through its parent's view of `.`.
        Resolved::Dir(fd) => (fd, CString::from(c".")),
    };
    let _keep = root_fd;
    let mut w = TarWriter::new(&shown, out, Mode::Full);
    // Children of the entry are named `name/child`; of a nameless one, `child`.
    w.skip = skip.map(|f| (f, if name.is_empty() { 0 } else { name.len() + 1 }));
    let name_c: &CStr = &entry_name;
    w.entry(parent.as_fd(), name_c, b"", name.to_vec())?;
    w.finish()?;
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
