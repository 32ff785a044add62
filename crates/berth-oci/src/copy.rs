//! Copying a directory tree with its modes, owners and symlinks, for `tmpcopyup` (a tmpfs over a
//! rootfs directory starts with that directory's content, as crun does).

use std::io;
use std::os::unix::fs::{lchown, symlink, FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use nix::sys::stat::{Mode, SFlag};

/// Names the file an io error is about; the caller adds what the copy was for.
fn at(path: &Path) -> impl FnOnce(io::Error) -> io::Error + '_ {
    move |e| io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

/// Copies the content of directory `from` into the existing directory `to`: directories, regular
/// files, symlinks (not followed) and special files, each with its owner and permission bits.
/// Hard links become separate files; timestamps and extended attributes are not kept.
///
/// Iterative, so a very deep tree in an image cannot overflow the stack.
pub(crate) fn copy_tree(from: &Path, to: &Path) -> io::Result<()> {
    let mut pending: Vec<(PathBuf, PathBuf)> = vec![(from.to_path_buf(), to.to_path_buf())];
    // Directory modes are applied last, so a read-only directory can still be filled.
    let mut dirs: Vec<(PathBuf, std::fs::Metadata)> = Vec::new();
    while let Some((src_dir, dst_dir)) = pending.pop() {
        for entry in std::fs::read_dir(&src_dir).map_err(at(&src_dir))? {
            let entry = entry.map_err(at(&src_dir))?;
            let src = entry.path();
            let dst = dst_dir.join(entry.file_name());
            let meta = std::fs::symlink_metadata(&src).map_err(at(&src))?;
            let kind = meta.file_type();
            if kind.is_dir() {
                std::fs::create_dir(&dst).map_err(at(&dst))?;
                pending.push((src, dst.clone()));
                dirs.push((dst, meta));
                continue;
            }
            if kind.is_symlink() {
                let target = std::fs::read_link(&src).map_err(at(&src))?;
                symlink(&target, &dst).map_err(at(&dst))?;
                lchown(&dst, Some(meta.uid()), Some(meta.gid())).map_err(at(&dst))?;
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
        }
    }
    for (dir, meta) in dirs.iter().rev() {
        set_owner_and_mode(dir, meta)?;
    }
    Ok(())
}

/// Owner first: chown clears set-id bits, which the mode then restores.
pub(crate) fn set_owner_and_mode(path: &Path, meta: &std::fs::Metadata) -> io::Result<()> {
    lchown(path, Some(meta.uid()), Some(meta.gid())).map_err(at(path))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(meta.mode() & 0o7777))
        .map_err(at(path))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
