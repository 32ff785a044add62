//! From directories back to tar: a layer from an overlay upper directory (`commit`, `diff`),
//! a full filesystem tar (`export`), and the `docker diff` change list.
//!
//! Directories are walked by fd, each level opened with `O_NOFOLLOW` relative to its parent, so
//! a container that swaps a directory for a symlink while it is being committed cannot make the
//! walk read host files. Output is deterministic: names are sorted bytewise, only whole-second
//! mtimes are recorded (as Docker does), no user or group names, no atime/ctime; equal trees give
//! byte-identical tars and therefore equal diffIDs.

use std::collections::HashMap;
use std::ffi::{CStr, CString};
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use berth_types::Digest;
use tar::{EntryType, Header};

use crate::error::{io as io_err, Error, Result};
use crate::hash::{HashingWriter, Tally};
use crate::sys::{self, display};
use crate::unpack::{OPAQUE_MARKER, OVERLAY_OPAQUE_XATTR, WHITEOUT_PREFIX};

/// Digest and size of a tar that was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerDigest {
    /// sha256 of the uncompressed tar (the OCI "DiffID").
    pub diff_id: Digest,
    pub size: u64,
}

/// What happened to a path, as `docker diff` prints it (`A`, `C`, `D`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChangeKind {
    Added,
    Modified,
    Deleted,
}

/// One line of `docker diff`: an absolute path inside the container and what happened to it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Change {
    pub path: PathBuf,
    pub kind: ChangeKind,
}

const REDIRECT_XATTR: &CStr = c"trusted.overlay.redirect";
const METACOPY_XATTR: &CStr = c"trusted.overlay.metacopy";
/// The longest name that fits the ustar header field; longer ones go into a PAX record.
const USTAR_NAME_LEN: usize = 100;

/// Writes the OCI layer tar of an overlay upper directory to `out`: 0/0 character devices become
/// `.wh.<name>` entries, `trusted.overlay.opaque=y` directories are followed by a
/// `.wh..wh..opq` entry, hardlinks within the upper are tar hardlinks, xattrs are PAX
/// `SCHILY.xattr.*` records. Uppers using `redirect_dir` or `metacopy` are refused, since their
/// content is partly in the lower layers. `out` is not flushed or finished beyond the tar itself
/// (pass `&mut encoder` and finish a compressor yourself).
pub fn write_layer_from_dir<W: Write>(upper: &Path, out: W) -> Result<LayerDigest> {
    write_layer_from_dir_without(upper, out, &[])
}

/// [`write_layer_from_dir`] leaving out `paths` (relative to `upper`, e.g. `etc/hosts`) and
/// everything below them: what a container's runtime made as mount targets is no change of
/// its own (dockerd keeps those in an init layer that a commit does not include).
pub fn write_layer_from_dir_without<W: Write>(
    upper: &Path,
    out: W,
    paths: &[&Path],
) -> Result<LayerDigest> {
    let fd = open_root(upper)?;
    let mut w = TarWriter::new(upper, out, Mode::Layer);
    w.leave_out = paths
        .iter()
        .map(|p| p.as_os_str().as_bytes().to_vec())
        .collect();
    w.walk(fd.as_fd(), b"")?;
    w.finish()
}

/// Writes a tar of a whole directory tree (`export`): the same format as a layer, but device
/// nodes are kept as they are and overlay xattrs are simply left out.
pub fn write_tar_from_dir<W: Write>(root: &Path, out: W) -> Result<LayerDigest> {
    write_tar(root, out, Mode::Full)
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    Layer,
    Full,
}

fn open_root(path: &Path) -> Result<OwnedFd> {
    Ok(File::options()
        .read(true)
        .custom_flags(libc::O_DIRECTORY | libc::O_CLOEXEC)
        .open(path)
        .map_err(io_err("open directory", path))?
        .into())
}

fn write_tar<W: Write>(root: &Path, out: W, mode: Mode) -> Result<LayerDigest> {
    let fd = open_root(root)?;
    let mut w = TarWriter::new(root, out, mode);
    w.walk(fd.as_fd(), b"")?;
    w.finish()
}

pub(crate) struct TarWriter<'r, W: Write> {
    builder: tar::Builder<HashingWriter<W>>,
    mode: Mode,
    root: &'r Path,
    /// First archived path of every multiply-linked inode, by (dev, ino).
    links: HashMap<(u64, u64), Vec<u8>>,
    /// Tar names (relative, no trailing `/`) not archived, with everything below them.
    leave_out: Vec<Vec<u8>>,
    /// Paths below the archived one (relative to it) left out with everything below them,
    /// and the length of the archived one's tar name prefix (`name/`).
    pub(crate) skip: Option<(Skip<'r>, usize)>,
}

/// Says which paths (relative to an archived directory) to leave out.
pub(crate) type Skip<'r> = &'r dyn Fn(&Path) -> bool;

fn child_path(prefix: &[u8], name: &CStr) -> Vec<u8> {
    if prefix.is_empty() {
        name.to_bytes().to_vec()
    } else {
        [prefix, b"/", name.to_bytes()].concat()
    }
}

fn is_whiteout(st: &libc::stat) -> bool {
    st.st_mode & libc::S_IFMT == libc::S_IFCHR && st.st_rdev == 0
}

impl<'r, W: Write> TarWriter<'r, W> {
    /// `root` only names paths in errors; entries are reached through directory fds.
    pub(crate) fn new(root: &'r Path, out: W, mode: Mode) -> Self {
        Self {
            builder: tar::Builder::new(HashingWriter {
                inner: out,
                tally: Tally::default(),
            }),
            mode,
            root,
            links: HashMap::new(),
            leave_out: Vec::new(),
            skip: None,
        }
    }

    /// Writes the end-of-archive blocks.
    pub(crate) fn finish(self) -> Result<LayerDigest> {
        let inner = self
            .builder
            .into_inner()
            .map_err(io_err("finish tar of", self.root))?;
        let (diff_id, size) = inner.tally.finish();
        Ok(LayerDigest { diff_id, size })
    }

    fn path(&self, rel: &[u8]) -> PathBuf {
        self.root.join(display(rel))
    }

    fn walk(&mut self, dir: BorrowedFd<'_>, prefix: &[u8]) -> Result<()> {
        let names = sys::read_dir(dir).map_err(io_err("read directory", self.path(prefix)))?;
        for name in names {
            let rel = child_path(prefix, &name);
            if self.leave_out.contains(&rel) || self.holds_only_left_out(dir, &name, &rel)? {
                continue;
            }
            if let Some((skip, base)) = self.skip {
                let below = rel.get(base..).unwrap_or_default();
                if skip(Path::new(std::ffi::OsStr::from_bytes(below))) {
                    continue;
                }
            }
            self.entry(dir, &name, prefix, rel)?;
        }
        Ok(())
    }

    /// Whether `name` is a directory above left-out paths that holds nothing else: it is in
    /// the upper only because they were made in it (`etc` for `etc/hosts`).
    fn holds_only_left_out(&self, dir: BorrowedFd<'_>, name: &CStr, rel: &[u8]) -> Result<bool> {
        let above = |p: &Vec<u8>| p.len() > rel.len() && p.starts_with(rel) && p[rel.len()] == b'/';
        if !self.leave_out.iter().any(above) {
            return Ok(false);
        }
        let Ok(fd) = sys::openat(dir, name, libc::O_RDONLY | libc::O_DIRECTORY, 0) else {
            return Ok(false); // not a directory: archived as it is
        };
        let opaque = sys::lgetxattr_at(dir, name, OVERLAY_OPAQUE_XATTR)
            .map_err(io_err("read xattrs of", self.path(rel)))?;
        if opaque.is_some() {
            return Ok(false);
        }
        let names = sys::read_dir(fd.as_fd()).map_err(io_err("read directory", self.path(rel)))?;
        Ok(names
            .iter()
            .all(|n| self.leave_out.contains(&child_path(rel, n))))
    }

    /// Archives `name` in `dir` (and everything below it) under the tar name `rel`; `prefix`
    /// is the tar name of `dir`.
    pub(crate) fn entry(
        &mut self,
        dir: BorrowedFd<'_>,
        name: &CStr,
        prefix: &[u8],
        rel: Vec<u8>,
    ) -> Result<()> {
        let Some(st) = sys::lstat_at(dir, name).map_err(io_err("stat", self.path(&rel)))? else {
            return Ok(()); // removed while we were walking
        };
        match st.st_mode & libc::S_IFMT {
            libc::S_IFDIR => {
                let fd = sys::openat(dir, name, libc::O_RDONLY | libc::O_DIRECTORY, 0)
                    .map_err(io_err("open directory", self.path(&rel)))?;
                let st = sys::fstat(fd.as_fd()).map_err(io_err("stat", self.path(&rel)))?;
                let opaque = self.mode == Mode::Layer && {
                    let get = |key| {
                        sys::lgetxattr_at(dir, name, key)
                            .map_err(io_err("read xattrs of", self.path(&rel)))
                    };
                    if get(REDIRECT_XATTR)?.is_some() {
                        return Err(Error::NotArchivable {
                            path: self.path(&rel),
                            reason: "renamed directory (overlay redirect_dir=on); \
                                     mount the container with redirect_dir=off",
                        });
                    }
                    get(OVERLAY_OPAQUE_XATTR)?.as_deref() == Some(b"y")
                };
                let xattrs = self.xattrs(dir, name, &rel)?;
                let mut dir_name = rel.clone();
                dir_name.push(b'/');
                let h = header(&st, EntryType::Directory, 0);
                self.append(h, &dir_name, None, &xattrs, io::empty(), &rel)?;
                if opaque {
                    let marker = [&dir_name[..], OPAQUE_MARKER].concat();
                    let mut h = header(&st, EntryType::Regular, 0);
                    h.set_mode(st.st_mode & 0o777);
                    self.append(h, &marker, None, &[], io::empty(), &rel)?;
                }
                self.walk(fd.as_fd(), &rel)?;
            }
            libc::S_IFREG => self.file(dir, name, &rel, &st)?,
            libc::S_IFLNK => {
                let target =
                    sys::readlinkat(dir, name).map_err(io_err("read symlink", self.path(&rel)))?;
                let xattrs = self.xattrs(dir, name, &rel)?;
                let h = header(&st, EntryType::Symlink, 0);
                self.append(h, &rel, Some(&target), &xattrs, io::empty(), &rel)?;
            }
            libc::S_IFCHR if self.mode == Mode::Layer && is_whiteout(&st) => {
                let wh_name = [WHITEOUT_PREFIX, name.to_bytes()].concat();
                let wh = match prefix {
                    [] => wh_name,
                    _ => [prefix, b"/", &wh_name].concat(),
                };
                // Docker's format: an empty regular file, mode 0600, owner and mtime kept.
                let mut h = header(&st, EntryType::Regular, 0);
                h.set_mode(0o600);
                self.append(h, &wh, None, &[], io::empty(), &rel)?;
            }
            t @ (libc::S_IFCHR | libc::S_IFBLK | libc::S_IFIFO) => {
                let kind = match t {
                    libc::S_IFCHR => EntryType::Char,
                    libc::S_IFBLK => EntryType::Block,
                    _ => EntryType::Fifo,
                };
                let mut h = header(&st, kind, 0);
                if t != libc::S_IFIFO {
                    let dev = |r: io::Result<()>| r.map_err(io_err("archive", self.path(&rel)));
                    dev(h.set_device_major(libc::major(st.st_rdev)))?;
                    dev(h.set_device_minor(libc::minor(st.st_rdev)))?;
                }
                let xattrs = self.xattrs(dir, name, &rel)?;
                self.append(h, &rel, None, &xattrs, io::empty(), &rel)?;
            }
            // Sockets only make sense to a running process; Docker leaves them out too.
            _ => {}
        }
        Ok(())
    }

    fn file(
        &mut self,
        dir: BorrowedFd<'_>,
        name: &CStr,
        rel: &[u8],
        st: &libc::stat,
    ) -> Result<()> {
        if st.st_nlink > 1 {
            let key = (st.st_dev, st.st_ino);
            if let Some(first) = self.links.get(&key).cloned() {
                let h = header(st, EntryType::Link, 0);
                return self.append(h, rel, Some(&first), &[], io::empty(), rel);
            }
            self.links.insert(key, rel.to_vec());
        }
        if self.mode == Mode::Layer
            && sys::lgetxattr_at(dir, name, METACOPY_XATTR)
                .map_err(io_err("read xattrs of", self.path(rel)))?
                .is_some()
        {
            return Err(Error::NotArchivable {
                path: self.path(rel),
                reason: "metadata-only copy-up (overlay metacopy=on); \
                         mount the container with metacopy=off",
            });
        }
        let file = File::from(
            sys::openat(dir, name, libc::O_RDONLY, 0).map_err(io_err("open", self.path(rel)))?,
        );
        let st = sys::fstat(file.as_fd()).map_err(io_err("stat", self.path(rel)))?;
        let size = u64::try_from(st.st_size).unwrap_or(0);
        let xattrs = self.xattrs(dir, name, rel)?;
        let h = header(&st, EntryType::Regular, size);
        let data = Exact {
            inner: file.take(size),
            left: size,
        };
        self.append(h, rel, None, &xattrs, data, rel)
    }

    /// The xattrs to archive, sorted by name: everything but overlayfs' own attributes (they
    /// are turned into whiteout entries or refused) and SELinux labels, which belong to the host
    /// that wrote them, not to the image.
    fn xattrs(
        &self,
        dir: BorrowedFd<'_>,
        name: &CStr,
        rel: &[u8],
    ) -> Result<Vec<(CString, Vec<u8>)>> {
        let err = || io_err("read xattrs of", self.path(rel));
        let mut keys = match sys::llistxattr_at(dir, name) {
            Ok(keys) => keys,
            Err(e) if e.raw_os_error() == Some(libc::EOPNOTSUPP) => return Ok(Vec::new()),
            Err(e) => return Err(err()(e)),
        };
        keys.retain(|k| {
            let k = k.to_bytes();
            !k.starts_with(b"trusted.overlay.")
                && !k.starts_with(b"user.overlay.")
                && k != b"security.selinux"
        });
        keys.sort();
        let mut out = Vec::with_capacity(keys.len());
        for key in keys {
            if let Some(value) = sys::lgetxattr_at(dir, name, &key).map_err(err())? {
                out.push((key, value));
            }
        }
        Ok(out)
    }

    /// Appends one entry, preceded by a PAX header when the name or link target does not fit the
    /// ustar fields or there are xattrs to record.
    fn append(
        &mut self,
        mut h: Header,
        name: &[u8],
        link: Option<&[u8]>,
        xattrs: &[(CString, Vec<u8>)],
        data: impl Read,
        rel: &[u8],
    ) -> Result<()> {
        let path = self.path(rel);
        let err = || io_err("archive", path.clone());
        let mut pax = Vec::new();
        if name.len() > USTAR_NAME_LEN {
            pax_record(&mut pax, b"path", name);
        }
        if let Some(link) = link.filter(|l| l.len() > USTAR_NAME_LEN) {
            pax_record(&mut pax, b"linkpath", link);
        }
        for (key, value) in xattrs {
            pax_record(
                &mut pax,
                &[&b"SCHILY.xattr."[..], key.to_bytes()].concat(),
                value,
            );
        }
        if !pax.is_empty() {
            let mut ph = Header::new_ustar();
            ph.set_entry_type(EntryType::XHeader);
            ph.set_mode(0o644);
            ph.set_mtime(0);
            ph.set_size(pax.len() as u64);
            set_name(&mut ph, b"././@PaxHeader", None);
            ph.set_cksum();
            self.builder.append(&ph, &pax[..]).map_err(err())?;
        }
        set_name(&mut h, name, link);
        h.set_cksum();
        self.builder.append(&h, data).map_err(err())
    }
}

/// A ustar header with the fields Berth records.
fn header(st: &libc::stat, kind: EntryType, size: u64) -> Header {
    let mut h = Header::new_ustar();
    h.set_entry_type(kind);
    h.set_mode(st.st_mode & 0o7777);
    h.set_uid(u64::from(st.st_uid));
    h.set_gid(u64::from(st.st_gid));
    h.set_mtime(u64::try_from(st.st_mtime).unwrap_or(0));
    h.set_size(size);
    h
}

/// Copies the (possibly truncated, PAX carries the full one) name and link target into the raw
/// header fields; the tar crate's setters refuse long names instead.
fn set_name(h: &mut Header, name: &[u8], link: Option<&[u8]>) {
    if let Some(ustar) = h.as_ustar_mut() {
        let n = name.len().min(ustar.name.len());
        ustar.name[..n].copy_from_slice(&name[..n]);
        if let Some(link) = link {
            let n = link.len().min(ustar.linkname.len());
            ustar.linkname[..n].copy_from_slice(&link[..n]);
        }
    }
}

/// Appends a PAX record `"<len> <key>=<value>\n"`, where `<len>` counts the whole record,
/// itself included.
fn pax_record(out: &mut Vec<u8>, key: &[u8], value: &[u8]) {
    let rest = key.len() + value.len() + 3; // ' ', '=', '\n'
    let mut len = rest + 1;
    while len != rest + len.to_string().len() {
        len = rest + len.to_string().len();
    }
    out.extend_from_slice(len.to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(key);
    out.push(b'=');
    out.extend_from_slice(value);
    out.push(b'\n');
}

/// Yields exactly `left` bytes or fails: a file that shrinks while it is archived would otherwise
/// leave a header whose size does not match the data, corrupting the rest of the tar.
struct Exact<R> {
    inner: R,
    left: u64,
}

impl<R: Read> Read for Exact<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 && self.left > 0 && !buf.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "file shrank while it was being archived",
            ));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

/// The changes an overlay upper directory makes to its lower layers (`lowers` top-most first),
/// sorted by path, as `docker diff` reports them: a path in the upper is `Modified` if some lower
/// layer shows it and `Added` otherwise (directories holding changes therefore show up as
/// `Modified`); a whiteout is `Deleted`; an opaque directory also reports the lower children it
/// hides as `Deleted`.
pub fn changes(upper: &Path, lowers: &[PathBuf]) -> Result<Vec<Change>> {
    let lower_fds = lowers
        .iter()
        .map(|l| open_root(l))
        .collect::<Result<Vec<_>>>()?;
    let differ = Differ {
        upper,
        lowers: &lower_fds,
        lower_paths: lowers,
    };
    let mut out = Vec::new();
    let root = open_root(upper)?;
    differ.walk(root.as_fd(), &[], &mut out)?;
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

struct Differ<'a> {
    upper: &'a Path,
    lowers: &'a [OwnedFd],
    lower_paths: &'a [PathBuf],
}

/// What one lower layer says about a path.
enum Lookup {
    /// The layer has it; deeper lowers do not matter.
    Found(libc::stat),
    /// The layer hides it (whiteout, opaque parent, or a non-directory in the way).
    Hidden,
    /// The layer says nothing; look further down.
    Absent,
}

impl Differ<'_> {
    fn walk(&self, dir: BorrowedFd<'_>, prefix: &[Vec<u8>], out: &mut Vec<Change>) -> Result<()> {
        let here = || self.upper.join(display(&prefix.join(&b'/')));
        let names = sys::read_dir(dir).map_err(io_err("read directory", here()))?;
        for name in &names {
            let mut comps = prefix.to_vec();
            comps.push(name.to_bytes().to_vec());
            let rel = comps.join(&b'/');
            let Some(st) =
                sys::lstat_at(dir, name).map_err(io_err("stat", self.upper.join(display(&rel))))?
            else {
                continue;
            };
            let path = Path::new("/").join(display(&rel));
            if is_whiteout(&st) {
                out.push(Change {
                    path,
                    kind: ChangeKind::Deleted,
                });
                continue;
            }
            let in_lower = self.visible(&comps)?.is_some();
            out.push(Change {
                path,
                kind: if in_lower {
                    ChangeKind::Modified
                } else {
                    ChangeKind::Added
                },
            });
            if !sys::is_dir(&st) {
                continue;
            }
            let fd = sys::openat(dir, name, libc::O_RDONLY | libc::O_DIRECTORY, 0)
                .map_err(io_err("open directory", self.upper.join(display(&rel))))?;
            let opaque = sys::lgetxattr_at(dir, name, OVERLAY_OPAQUE_XATTR)
                .map_err(io_err("read xattrs of", self.upper.join(display(&rel))))?;
            if in_lower && opaque.as_deref() == Some(b"y") {
                self.hidden_children(fd.as_fd(), &comps, out)?;
            }
            self.walk(fd.as_fd(), &comps, out)?;
        }
        Ok(())
    }

    /// Reports as deleted the lower-layer children of an opaque upper directory that the upper
    /// does not itself have.
    fn hidden_children(
        &self,
        upper_dir: BorrowedFd<'_>,
        comps: &[Vec<u8>],
        out: &mut Vec<Change>,
    ) -> Result<()> {
        let mut names = Vec::new();
        for (lower, lower_path) in self.lowers.iter().zip(self.lower_paths) {
            let rel = display(&comps.join(&b'/'));
            match self.lookup(lower.as_fd(), comps, lower_path)? {
                (Lookup::Found(st), Some(fd)) if sys::is_dir(&st) => {
                    names.extend(
                        sys::read_dir(fd.as_fd())
                            .map_err(io_err("read directory", lower_path.join(&rel)))?,
                    );
                }
                (Lookup::Absent, _) => continue,
                _ => break,
            }
        }
        names.sort();
        names.dedup();
        for name in names {
            let exists_upper = sys::lstat_at(upper_dir, &name)
                .map_err(io_err("stat", self.upper.join(display(&comps.join(&b'/')))))?
                .is_some();
            let mut child = comps.to_vec();
            child.push(name.to_bytes().to_vec());
            if !exists_upper && self.visible(&child)?.is_some() {
                out.push(Change {
                    path: Path::new("/").join(display(&child.join(&b'/'))),
                    kind: ChangeKind::Deleted,
                });
            }
        }
        Ok(())
    }

    /// The stat of `comps` in the merged view of the lower layers, if it is visible there.
    fn visible(&self, comps: &[Vec<u8>]) -> Result<Option<libc::stat>> {
        for (lower, lower_path) in self.lowers.iter().zip(self.lower_paths) {
            match self.lookup(lower.as_fd(), comps, lower_path)?.0 {
                Lookup::Found(st) => return Ok(Some(st)),
                Lookup::Hidden => return Ok(None),
                Lookup::Absent => {}
            }
        }
        Ok(None)
    }

    /// Looks `comps` up in one lower layer the way overlayfs does, component by component
    /// without following symlinks; also returns an open fd when the result is a directory.
    fn lookup(
        &self,
        lower: BorrowedFd<'_>,
        comps: &[Vec<u8>],
        lower_path: &Path,
    ) -> Result<(Lookup, Option<OwnedFd>)> {
        let mut dir: Option<OwnedFd> = None;
        let mut opaque_parent = false;
        for (i, comp) in comps.iter().enumerate() {
            let here = || lower_path.join(display(&comps[..=i].join(&b'/')));
            let name = sys::cstring(comp).map_err(io_err("look up", here()))?;
            let parent = dir.as_ref().map_or(lower, |d| d.as_fd());
            let st = match sys::lstat_at(parent, &name).map_err(io_err("stat", here()))? {
                None if opaque_parent => return Ok((Lookup::Hidden, None)),
                None => return Ok((Lookup::Absent, None)),
                Some(st) if is_whiteout(&st) => return Ok((Lookup::Hidden, None)),
                Some(st) => st,
            };
            let last = i + 1 == comps.len();
            if !sys::is_dir(&st) {
                return Ok((
                    if last {
                        Lookup::Found(st)
                    } else {
                        Lookup::Hidden
                    },
                    None,
                ));
            }
            opaque_parent = sys::lgetxattr_at(parent, &name, OVERLAY_OPAQUE_XATTR)
                .map_err(io_err("read xattrs of", here()))?
                .as_deref()
                == Some(b"y");
            let fd = sys::openat(parent, &name, libc::O_RDONLY | libc::O_DIRECTORY, 0)
                .map_err(io_err("open directory", here()))?;
            if last {
                return Ok((Lookup::Found(st), Some(fd)));
            }
            dir = Some(fd);
        }
        Ok((Lookup::Absent, None))
    }
}
