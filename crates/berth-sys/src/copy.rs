//! Copying a directory tree with its metadata: for `tmpcopyup` (a tmpfs over a rootfs directory
//! starts with that directory's content, as crun does) and for a new volume's copy-up (an empty
//! volume mounted over an image directory starts with the image's files, as Docker does).

use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{lchown, symlink, FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use nix::sys::stat::{Mode, SFlag};

/// Names the file an io error is about; the caller adds what the copy was for.
fn at(path: &Path) -> impl FnOnce(io::Error) -> io::Error + '_ {
    move |e| io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

/// Copies the content of directory `from` into the existing directory `to`: directories, regular
/// files, symlinks (not followed) and special files, each with its owner, permission bits,
/// extended attributes (those the target filesystem accepts) and modification time. Hard links
/// become separate files.
///
/// Iterative, so a very deep tree in an image cannot overflow the stack.
pub fn copy_tree(from: &Path, to: &Path) -> io::Result<()> {
    let mut pending: Vec<(PathBuf, PathBuf)> = vec![(from.to_path_buf(), to.to_path_buf())];
    // Directory modes and times are applied last, so a read-only directory can still be filled
    // and filling it does not change its mtime afterwards.
    let mut dirs: Vec<(PathBuf, PathBuf, std::fs::Metadata)> = Vec::new();
    while let Some((src_dir, dst_dir)) = pending.pop() {
        for entry in std::fs::read_dir(&src_dir).map_err(at(&src_dir))? {
            let entry = entry.map_err(at(&src_dir))?;
            let src = entry.path();
            let dst = dst_dir.join(entry.file_name());
            let meta = std::fs::symlink_metadata(&src).map_err(at(&src))?;
            let kind = meta.file_type();
            if kind.is_dir() {
                std::fs::create_dir(&dst).map_err(at(&dst))?;
                pending.push((src.clone(), dst.clone()));
                dirs.push((src, dst, meta));
                continue;
            }
            if kind.is_symlink() {
                let target = std::fs::read_link(&src).map_err(at(&src))?;
                symlink(&target, &dst).map_err(at(&dst))?;
                lchown(&dst, Some(meta.uid()), Some(meta.gid())).map_err(at(&dst))?;
                copy_xattrs(&src, &dst)?;
                set_mtime(&dst, &meta)?;
                continue;
            }
            if kind.is_file() {
                std::fs::copy(&src, &dst).map_err(at(&src))?;
            } else {
                let sflag = if kind.is_fifo() {
                    SFlag::S_IFIFO
                } else if kind.is_char_device() {
                    SFlag::S_IFCHR
                } else if kind.is_block_device() {
                    SFlag::S_IFBLK
                } else {
                    SFlag::S_IFSOCK
                };
                nix::sys::stat::mknod(&dst, sflag, Mode::from_bits_truncate(0o600), meta.rdev())
                    .map_err(|e| at(&dst)(io::Error::from(e)))?;
            }
            set_owner_and_mode(&dst, &meta)?;
            copy_xattrs(&src, &dst)?;
            set_mtime(&dst, &meta)?;
        }
    }
    for (src, dst, meta) in dirs.iter().rev() {
        set_owner_and_mode(dst, meta)?;
        copy_xattrs(src, dst)?;
        set_mtime(dst, meta)?;
    }
    Ok(())
}

/// Owner first: chown clears set-id bits, which the mode then restores.
pub fn set_owner_and_mode(path: &Path, meta: &std::fs::Metadata) -> io::Result<()> {
    lchown(path, Some(meta.uid()), Some(meta.gid())).map_err(at(path))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(meta.mode() & 0o7777))
        .map_err(at(path))
}

/// The access and modification times of `meta`, set on `path` itself (not a symlink's target).
pub fn set_mtime(path: &Path, meta: &std::fs::Metadata) -> io::Result<()> {
    set_times(
        path,
        (meta.atime(), meta.atime_nsec()),
        (meta.mtime(), meta.mtime_nsec()),
    )
}

/// `utimensat(AT_FDCWD, path, [atime, mtime], AT_SYMLINK_NOFOLLOW)`, times as (seconds, nanos).
pub fn set_times(path: &Path, atime: (i64, i64), mtime: (i64, i64)) -> io::Result<()> {
    let cpath = c_path(path)?;
    let ts = |(sec, nsec): (i64, i64)| libc::timespec {
        tv_sec: sec,
        tv_nsec: nsec,
    };
    let times = [ts(atime), ts(mtime)];
    // SAFETY: NUL-terminated path and a two-element timespec array, as the syscall wants.
    let rc = unsafe {
        libc::utimensat(
            libc::AT_FDCWD,
            cpath.as_ptr(),
            times.as_ptr(),
            libc::AT_SYMLINK_NOFOLLOW,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(at(path)(io::Error::last_os_error()))
    }
}

fn c_path(path: &Path) -> io::Result<CString> {
    CString::new(path.as_os_str().as_bytes()).map_err(|e| at(path)(io::Error::other(e)))
}

/// Copies the extended attributes of `src` to `dst` (neither followed if a symlink). A source
/// filesystem without xattrs, or a target that refuses a namespace (tmpfs and `user.*` before
/// Linux 6.6), is not an error: the attributes are kept where they can be.
pub fn copy_xattrs(src: &Path, dst: &Path) -> io::Result<()> {
    let (csrc, cdst) = (c_path(src)?, c_path(dst)?);
    let unsupported = |e: &io::Error| {
        matches!(
            e.raw_os_error(),
            Some(libc::ENOTSUP | libc::EPERM | libc::EACCES)
        )
    };
    let names = match crate::xattr::list(&csrc) {
        Ok(n) => n,
        Err(e) if unsupported(&e) => return Ok(()),
        Err(e) => return Err(at(src)(e)),
    };
    for cname in names {
        let value = match crate::xattr::get(&csrc, &cname) {
            Ok(Some(v)) => v,
            // Removed meanwhile, or a namespace we may not read.
            Ok(None) => continue,
            Err(e) if unsupported(&e) => continue,
            Err(e) => return Err(at(src)(e)),
        };
        // SAFETY: NUL-terminated strings and our own buffer.
        let rc = unsafe {
            libc::lsetxattr(
                cdst.as_ptr(),
                cname.as_ptr(),
                value.as_ptr().cast(),
                value.len(),
                0,
            )
        };
        if rc != 0 {
            let e = io::Error::last_os_error();
            if !unsupported(&e) {
                return Err(at(dst)(e));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
