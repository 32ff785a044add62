//! Content checksums of paths in a build context: the builder's cache key for `COPY` and `ADD`
//! sources, after BuildKit's `contenthash`. A path's digest covers, for it and everything below
//! it, the names (relative to the path), file contents, type, permission bits, owner, symlink
//! targets, device numbers and xattrs (`security.capability`, none else of `security.*` or
//! `system.*`, which hosts label differently), as BuildKit's tarsum-v1 header selection does.
//! Times are left out, as there: touching a file, or a fresh extraction, keeps the cache.
//!
//! Every file is reached from the context's root fd: the path asked for is resolved with
//! `openat2(RESOLVE_IN_ROOT)` (a symlink on the way stays inside the context), the walk below it
//! opens each entry relative to its directory without following symlinks, and a symlink is
//! hashed as its target text, never followed (only the path asked for itself, on request).

use std::collections::HashMap;
use std::ffi::{CStr, CString, OsStr};
use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use berth_types::Digest;
use sha2::{Digest as _, Sha256};

use super::ContextError;
use crate::sys;

/// Tags the digest format, so a change of format can never collide with old cache keys.
const FORMAT: &[u8] = b"berth build-context checksum v1\0";

/// Symlinks followed for [`ChecksumOptions::follow_final_symlink`] before giving up (Linux's
/// own limit).
const MAX_SYMLINK_HOPS: u32 = 40;

const READ_BUFFER: usize = 64 * 1024;

/// What the caller's predicate says about one path below the one checksummed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Selection {
    /// Counted; below a directory the predicate is asked again.
    Include,
    /// Not counted, and nothing below a directory is looked at.
    Exclude,
    /// Not counted itself, but a directory's entries are asked about; the directory counts
    /// after all if something below it does (an exception pattern re-including a file).
    Descend,
}

/// Knobs for [`checksum`].
#[derive(Default)]
pub struct ChecksumOptions<'a> {
    /// When the path itself is a symlink: checksum what it points to (resolved inside the
    /// context) instead of the link. A path ending in `/` always means the directory.
    pub follow_final_symlink: bool,
    /// Decides for each path below the one checksummed (given relative to it, e.g. `a/b` for
    /// `src/a/b` when checksumming `src`); `None` counts everything.
    pub select: Option<&'a dyn Fn(&Path) -> Selection>,
}

/// The digest of `path` (relative to the context root `root`; `..` and absolute symlinks are
/// kept inside it) and everything below it. Deterministic: the same tree gives the same digest
/// on any host, whatever the times and inode numbers.
pub fn checksum(
    root: BorrowedFd<'_>,
    path: &Path,
    opts: &ChecksumOptions<'_>,
) -> Result<Digest, ContextError> {
    let failed = |source| ContextError::Checksum {
        path: path.to_path_buf(),
        source,
    };
    let (dir, name) =
        locate_following(root, path.as_os_str().as_bytes(), opts.follow_final_symlink)
            .map_err(failed)?;
    let mut hasher = Sha256::new();
    hasher.update(FORMAT);
    let mut walk = Walk {
        select: opts.select,
        out: hasher,
        pending: Vec::new(),
        hardlinks: HashMap::new(),
        buf: vec![0; READ_BUFFER],
    };
    walk.visit(dir.as_fd(), &name, &mut Vec::new())
        .map_err(failed)?;
    let bytes: [u8; 32] = walk.out.finalize().into();
    Ok(Digest::sha256_from_bytes(&bytes))
}

/// Resolves `path` to its directory and its name there (`.` for a directory itself), following
/// a final symlink when asked, each hop resolved from the root again.
fn locate_following(
    root: BorrowedFd<'_>,
    path: &[u8],
    follow: bool,
) -> io::Result<(OwnedFd, CString)> {
    let mut path = path.to_vec();
    for _ in 0..MAX_SYMLINK_HOPS {
        let (dir, name) = locate(root, &path)?;
        if !follow || name.as_bytes() == b"." {
            return Ok((dir, name));
        }
        let st = sys::lstat_at(dir.as_fd(), &name)?
            .ok_or_else(|| io::Error::from_raw_os_error(libc::ENOENT))?;
        if st.st_mode & libc::S_IFMT != libc::S_IFLNK {
            return Ok((dir, name));
        }
        let target = sys::readlinkat(dir.as_fd(), &name)?;
        // A relative target is relative to the link's directory, which the kernel finds
        // again from the path that led to the link (so `..` in it is right, and clamped).
        path = match path.iter().rposition(|b| *b == b'/') {
            Some(slash) if !target.starts_with(b"/") => {
                [&path[..=slash], target.as_slice()].concat()
            }
            _ => target,
        };
    }
    Err(io::Error::from_raw_os_error(libc::ELOOP))
}

/// Splits `path` into the directory holding it, opened inside the root, and its last
/// component, not followed. A path naming a directory outright (empty, ending in `/`, `.` or
/// `..`) is that directory and `.`.
fn locate(root: BorrowedFd<'_>, path: &[u8]) -> io::Result<(OwnedFd, CString)> {
    let comps: Vec<&[u8]> = path
        .split(|b| *b == b'/')
        .filter(|c| !c.is_empty())
        .collect();
    let open_dir = |comps: &[&[u8]]| -> io::Result<OwnedFd> {
        if comps.is_empty() {
            return root.try_clone_to_owned();
        }
        let joined = sys::cstring(&comps.join(&b'/'))?;
        sys::open_in_root(root, &joined, libc::O_PATH | libc::O_DIRECTORY)
    };
    let dot = || sys::cstring(b".");
    match comps.split_last() {
        None => Ok((open_dir(&[])?, dot()?)),
        Some((last, _)) if path.ends_with(b"/") || *last == b"." || *last == b".." => {
            Ok((open_dir(&comps)?, dot()?))
        }
        Some((last, parent)) => Ok((open_dir(parent)?, sys::cstring(last)?)),
    }
}

/// One checksum walk: records `(path, entry digest)` for every counted entry, depth first with
/// names in byte order, into `out`.
struct Walk<'a> {
    select: Option<&'a dyn Fn(&Path) -> Selection>,
    out: Sha256,
    /// Directories met with [`Selection::Descend`] and not recorded yet, outermost first.
    pending: Vec<(Vec<u8>, [u8; 32])>,
    /// Digests of files with more than one link, by (device, inode): read once.
    hardlinks: HashMap<(u64, u64), [u8; 32]>,
    buf: Vec<u8>,
}

impl Walk<'_> {
    /// Checksums `name` in `dir`, at `rel` below the path asked for (empty for that path).
    fn visit(&mut self, dir: BorrowedFd<'_>, name: &CStr, rel: &mut Vec<u8>) -> io::Result<()> {
        let selection = match self.select {
            Some(select) if !rel.is_empty() => select(Path::new(OsStr::from_bytes(rel))),
            _ => Selection::Include,
        };
        if selection == Selection::Exclude {
            return Ok(());
        }
        let st =
            sys::lstat_at(dir, name)?.ok_or_else(|| io::Error::from_raw_os_error(libc::ENOENT))?;
        if !sys::is_dir(&st) {
            // A file to descend into is a file left out.
            if selection == Selection::Include {
                let digest = self.leaf(dir, name, &st)?;
                self.record(rel, digest);
            }
            return Ok(());
        }
        let fd = sys::openat(dir, name, libc::O_RDONLY | libc::O_DIRECTORY, 0)?;
        let st = same_file(&st, sys::fstat(fd.as_fd())?)?;
        let header = entry_hasher(dir, name, &st)?.finalize().into();
        let depth = self.pending.len();
        match selection {
            Selection::Descend => self.pending.push((rel.clone(), header)),
            _ => self.record(rel, header),
        }
        let len = rel.len();
        for child in sys::read_dir(fd.as_fd())? {
            if len > 0 {
                rel.push(b'/');
            }
            rel.extend_from_slice(child.as_bytes());
            self.visit(fd.as_fd(), &child, rel)?;
            rel.truncate(len);
        }
        // Still pending: nothing below was counted, so neither is this directory.
        self.pending.truncate(depth);
        Ok(())
    }

    /// Adds one counted entry, after the pending directories above it.
    fn record(&mut self, rel: &[u8], digest: [u8; 32]) {
        for (path, digest) in std::mem::take(&mut self.pending) {
            write_record(&mut self.out, &path, &digest);
        }
        write_record(&mut self.out, rel, &digest);
    }

    /// The digest of a non-directory: its metadata, and for a regular file its content.
    fn leaf(&mut self, dir: BorrowedFd<'_>, name: &CStr, st: &libc::stat) -> io::Result<[u8; 32]> {
        let kind = st.st_mode & libc::S_IFMT;
        if kind == libc::S_IFLNK {
            let mut h = entry_hasher(dir, name, st)?;
            let target = sys::readlinkat(dir, name)?;
            put_bytes(&mut h, &target);
            return Ok(h.finalize().into());
        }
        if kind != libc::S_IFREG {
            return Ok(entry_hasher(dir, name, st)?.finalize().into());
        }
        let id = (st.st_dev, st.st_ino);
        if st.st_nlink > 1 {
            if let Some(digest) = self.hardlinks.get(&id) {
                return Ok(*digest);
            }
        }
        // Non-blocking: should a fifo take the file's place, the open does not hang.
        let fd = sys::openat(
            dir,
            name,
            libc::O_RDONLY | libc::O_NONBLOCK | libc::O_NOCTTY,
            0,
        )?;
        let st = same_file(st, sys::fstat(fd.as_fd())?)?;
        let mut h = entry_hasher(dir, name, &st)?;
        let size = u64::try_from(st.st_size).unwrap_or(0);
        h.update(size.to_le_bytes());
        let mut file = File::from(fd);
        let mut read = 0u64;
        loop {
            let n = match file.read(&mut self.buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            h.update(&self.buf[..n]);
            read += n as u64;
        }
        if read != size {
            return Err(changed());
        }
        let digest: [u8; 32] = h.finalize().into();
        if st.st_nlink > 1 {
            self.hardlinks.insert(id, digest);
        }
        Ok(digest)
    }
}

/// The opened file must be the one `lstat` saw: the context is not ours alone to change.
fn same_file(seen: &libc::stat, opened: libc::stat) -> io::Result<libc::stat> {
    let kind = |st: &libc::stat| st.st_mode & libc::S_IFMT;
    if (seen.st_dev, seen.st_ino, kind(seen)) == (opened.st_dev, opened.st_ino, kind(&opened)) {
        Ok(opened)
    } else {
        Err(changed())
    }
}

fn changed() -> io::Error {
    io::Error::other("the file changed while it was checksummed")
}

/// A hasher fed with an entry's metadata: type, permission bits, owner, device numbers and
/// the xattrs BuildKit counts.
fn entry_hasher(dir: BorrowedFd<'_>, name: &CStr, st: &libc::stat) -> io::Result<Sha256> {
    let mut h = Sha256::new();
    let kind = match st.st_mode & libc::S_IFMT {
        libc::S_IFREG => b'f',
        libc::S_IFDIR => b'd',
        libc::S_IFLNK => b'l',
        libc::S_IFIFO => b'p',
        libc::S_IFCHR => b'c',
        libc::S_IFBLK => b'b',
        _ => b's',
    };
    h.update([kind]);
    h.update((st.st_mode & 0o7777).to_le_bytes());
    h.update(st.st_uid.to_le_bytes());
    h.update(st.st_gid.to_le_bytes());
    if matches!(kind, b'c' | b'b') {
        h.update(u64::from(libc::major(st.st_rdev)).to_le_bytes());
        h.update(u64::from(libc::minor(st.st_rdev)).to_le_bytes());
    }
    let mut keys = match sys::llistxattr_at(dir, name) {
        Ok(keys) => keys,
        Err(e) if e.raw_os_error() == Some(libc::EOPNOTSUPP) => Vec::new(),
        Err(e) => return Err(e),
    };
    keys.retain(|k| {
        let k = k.as_bytes();
        k == b"security.capability" || !(k.starts_with(b"security.") || k.starts_with(b"system."))
    });
    keys.sort();
    let mut xattrs = Vec::with_capacity(keys.len());
    for key in keys {
        if let Some(value) = sys::lgetxattr_at(dir, name, &key)? {
            xattrs.push((key, value));
        }
    }
    h.update((xattrs.len() as u64).to_le_bytes());
    for (key, value) in &xattrs {
        put_bytes(&mut h, key.as_bytes());
        put_bytes(&mut h, value);
    }
    Ok(h)
}

/// Length-prefixed, so that no two different sequences of fields hash alike.
fn put_bytes(h: &mut Sha256, bytes: &[u8]) {
    h.update((bytes.len() as u64).to_le_bytes());
    h.update(bytes);
}

fn write_record(out: &mut Sha256, path: &[u8], digest: &[u8; 32]) {
    put_bytes(out, path);
    out.update(digest);
}
