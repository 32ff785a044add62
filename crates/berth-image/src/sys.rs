//! Thin, safe wrappers over the `*at` system calls the layer code is built on.
//!
//! Every function that creates, changes or removes a file takes a directory fd and a single
//! path component, and never follows a symlink in that last component. Parent directories are
//! only ever resolved by [`open_in_root`], which the kernel confines to the layer root. Keeping
//! all of that in one small module makes the security argument reviewable in one place.

use std::ffi::{CStr, CString, OsStr};
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;

/// Turns `-1` into the current `errno`.
fn check(ret: libc::c_int) -> io::Result<()> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// Converts raw bytes (a tar name, a symlink target) to a C string; an embedded NUL is an
/// invalid argument rather than a silent truncation.
pub(crate) fn cstring(bytes: &[u8]) -> io::Result<CString> {
    CString::new(bytes).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))
}

/// `struct open_how` of openat2(2); libc's is `#[non_exhaustive]`, so it cannot be built here.
/// How often an `openat2` that the kernel answered EAGAIN is tried.
const OPENAT2_TRIES: u32 = 32;

#[repr(C)]
struct OpenHow {
    flags: u64,
    mode: u64,
    resolve: u64,
}

/// Opens `path` relative to `root` with the kernel treating `root` as `/`: `..`, absolute
/// symlinks and relative symlinks are all clamped inside `root`, magic links (`/proc/*/fd`)
/// and mount crossings are refused. This is the only way the layer code resolves a path of
/// more than one component.
pub(crate) fn open_in_root(
    root: BorrowedFd<'_>,
    path: &CStr,
    flags: libc::c_int,
) -> io::Result<OwnedFd> {
    let how = OpenHow {
        flags: (flags | libc::O_CLOEXEC) as u64,
        mode: 0,
        resolve: libc::RESOLVE_IN_ROOT | libc::RESOLVE_NO_MAGICLINKS | libc::RESOLVE_NO_XDEV,
    };
    // With RESOLVE_IN_ROOT a `..` step fails with EAGAIN when any rename or mount on the host
    // raced the lookup; the kernel asks the caller to retry (a few tries are plenty).
    let mut tries = 0;
    let fd = loop {
        // SAFETY: `how` is a valid open_how of the size passed; `path` is NUL-terminated.
        let fd = unsafe {
            libc::syscall(
                libc::SYS_openat2,
                root.as_raw_fd(),
                path.as_ptr(),
                &how as *const OpenHow,
                std::mem::size_of::<OpenHow>(),
            )
        };
        if fd >= 0 {
            break fd;
        }
        let err = io::Error::last_os_error();
        tries += 1;
        if err.raw_os_error() != Some(libc::EAGAIN) || tries == OPENAT2_TRIES {
            return Err(err);
        }
    };
    // SAFETY: the kernel returned a new fd that nothing else owns. An fd always fits in c_int.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// `openat(dir, name, flags | O_NOFOLLOW | O_CLOEXEC, mode)`.
pub(crate) fn openat(
    dir: BorrowedFd<'_>,
    name: &CStr,
    flags: libc::c_int,
    mode: libc::mode_t,
) -> io::Result<OwnedFd> {
    // SAFETY: `name` is NUL-terminated; mode is passed as the variadic argument open expects.
    let fd = unsafe {
        libc::openat(
            dir.as_raw_fd(),
            name.as_ptr(),
            flags | libc::O_NOFOLLOW | libc::O_CLOEXEC,
            libc::c_uint::from(mode),
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a fresh fd owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Creates a new regular file; fails if anything (including a symlink) already has the name.
pub(crate) fn create_file(dir: BorrowedFd<'_>, name: &CStr) -> io::Result<File> {
    openat(
        dir,
        name,
        libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL,
        0o600,
    )
    .map(File::from)
}

/// `fstatat(dir, name, AT_SYMLINK_NOFOLLOW)`, with "does not exist" as `None`.
pub(crate) fn lstat_at(dir: BorrowedFd<'_>, name: &CStr) -> io::Result<Option<libc::stat>> {
    let mut st = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: `st` is a valid out-pointer; `name` is NUL-terminated.
    let ret = unsafe {
        libc::fstatat(
            dir.as_raw_fd(),
            name.as_ptr(),
            st.as_mut_ptr(),
            libc::AT_SYMLINK_NOFOLLOW,
        )
    };
    if ret < 0 {
        let err = io::Error::last_os_error();
        return match err.raw_os_error() {
            Some(libc::ENOENT) => Ok(None),
            _ => Err(err),
        };
    }
    // SAFETY: fstatat succeeded, so it filled `st`.
    Ok(Some(unsafe { st.assume_init() }))
}

/// `fstat(fd)`.
pub(crate) fn fstat(fd: BorrowedFd<'_>) -> io::Result<libc::stat> {
    let mut st = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: `st` is a valid out-pointer.
    check(unsafe { libc::fstat(fd.as_raw_fd(), st.as_mut_ptr()) })?;
    // SAFETY: fstat succeeded, so it filled `st`.
    Ok(unsafe { st.assume_init() })
}

pub(crate) fn is_dir(st: &libc::stat) -> bool {
    st.st_mode & libc::S_IFMT == libc::S_IFDIR
}

pub(crate) fn mkdirat(dir: BorrowedFd<'_>, name: &CStr, mode: libc::mode_t) -> io::Result<()> {
    // SAFETY: `name` is NUL-terminated.
    check(unsafe { libc::mkdirat(dir.as_raw_fd(), name.as_ptr(), mode) })
}

pub(crate) fn symlinkat(target: &CStr, dir: BorrowedFd<'_>, name: &CStr) -> io::Result<()> {
    // SAFETY: both strings are NUL-terminated.
    check(unsafe { libc::symlinkat(target.as_ptr(), dir.as_raw_fd(), name.as_ptr()) })
}

/// `linkat` without `AT_SYMLINK_FOLLOW`: if the source is a symlink, the link is to the symlink
/// itself, exactly what a tar hardlink entry means.
pub(crate) fn linkat(
    old_dir: BorrowedFd<'_>,
    old_name: &CStr,
    new_dir: BorrowedFd<'_>,
    new_name: &CStr,
) -> io::Result<()> {
    // SAFETY: both names are NUL-terminated.
    check(unsafe {
        libc::linkat(
            old_dir.as_raw_fd(),
            old_name.as_ptr(),
            new_dir.as_raw_fd(),
            new_name.as_ptr(),
            0,
        )
    })
}

pub(crate) fn mknodat(
    dir: BorrowedFd<'_>,
    name: &CStr,
    mode: libc::mode_t,
    dev: libc::dev_t,
) -> io::Result<()> {
    // SAFETY: `name` is NUL-terminated.
    check(unsafe { libc::mknodat(dir.as_raw_fd(), name.as_ptr(), mode, dev) })
}

pub(crate) fn unlinkat(dir: BorrowedFd<'_>, name: &CStr, flags: libc::c_int) -> io::Result<()> {
    // SAFETY: `name` is NUL-terminated.
    check(unsafe { libc::unlinkat(dir.as_raw_fd(), name.as_ptr(), flags) })
}

/// `fchownat(dir, name, AT_SYMLINK_NOFOLLOW)`: changes a symlink itself, never its target.
pub(crate) fn lchown_at(dir: BorrowedFd<'_>, name: &CStr, uid: u32, gid: u32) -> io::Result<()> {
    // SAFETY: `name` is NUL-terminated.
    check(unsafe {
        libc::fchownat(
            dir.as_raw_fd(),
            name.as_ptr(),
            uid,
            gid,
            libc::AT_SYMLINK_NOFOLLOW,
        )
    })
}

pub(crate) fn fchown(fd: BorrowedFd<'_>, uid: u32, gid: u32) -> io::Result<()> {
    // SAFETY: plain syscall on a borrowed fd.
    check(unsafe { libc::fchown(fd.as_raw_fd(), uid, gid) })
}

pub(crate) fn fchmod(fd: BorrowedFd<'_>, mode: libc::mode_t) -> io::Result<()> {
    // SAFETY: plain syscall on a borrowed fd.
    check(unsafe { libc::fchmod(fd.as_raw_fd(), mode) })
}

/// `fchmodat` follows a symlink in `name`; callers use it only on a device node or fifo they
/// have just created with `mknodat` in a directory nobody else writes to.
pub(crate) fn fchmodat(dir: BorrowedFd<'_>, name: &CStr, mode: libc::mode_t) -> io::Result<()> {
    // SAFETY: `name` is NUL-terminated.
    check(unsafe { libc::fchmodat(dir.as_raw_fd(), name.as_ptr(), mode, 0) })
}

/// A file time as (seconds, nanoseconds) since the epoch.
pub(crate) type Time = (i64, i64);

fn timespecs(atime: Time, mtime: Time) -> [libc::timespec; 2] {
    [
        libc::timespec {
            tv_sec: atime.0,
            tv_nsec: atime.1,
        },
        libc::timespec {
            tv_sec: mtime.0,
            tv_nsec: mtime.1,
        },
    ]
}

/// `utimensat(dir, name, AT_SYMLINK_NOFOLLOW)`: sets a symlink's own times.
pub(crate) fn lutimes_at(
    dir: BorrowedFd<'_>,
    name: &CStr,
    atime: Time,
    mtime: Time,
) -> io::Result<()> {
    let ts = timespecs(atime, mtime);
    // SAFETY: `ts` holds two timespecs as utimensat requires; `name` is NUL-terminated.
    check(unsafe {
        libc::utimensat(
            dir.as_raw_fd(),
            name.as_ptr(),
            ts.as_ptr(),
            libc::AT_SYMLINK_NOFOLLOW,
        )
    })
}

pub(crate) fn futimens(fd: BorrowedFd<'_>, atime: Time, mtime: Time) -> io::Result<()> {
    let ts = timespecs(atime, mtime);
    // SAFETY: `ts` holds two timespecs as futimens requires.
    check(unsafe { libc::futimens(fd.as_raw_fd(), ts.as_ptr()) })
}

/// The `/proc/self/fd/<dir>/<name>` path of an entry. Linux has no portable `lsetxattrat`, and
/// xattrs on symlinks and device nodes cannot be set through an fd; the magic link only jumps to
/// the already-resolved directory and the `l*xattr` calls do not follow `name`.
fn proc_path(dir: BorrowedFd<'_>, name: &CStr) -> io::Result<CString> {
    let mut p = format!("/proc/self/fd/{}/", dir.as_raw_fd()).into_bytes();
    p.extend_from_slice(name.to_bytes());
    cstring(&p)
}

pub(crate) fn lsetxattr_at(
    dir: BorrowedFd<'_>,
    name: &CStr,
    key: &CStr,
    value: &[u8],
) -> io::Result<()> {
    let path = proc_path(dir, name)?;
    // SAFETY: strings are NUL-terminated; `value` pointer and length describe a valid slice.
    check(unsafe {
        libc::lsetxattr(
            path.as_ptr(),
            key.as_ptr(),
            value.as_ptr().cast(),
            value.len(),
            0,
        )
    })
}

pub(crate) fn fsetxattr(fd: BorrowedFd<'_>, key: &CStr, value: &[u8]) -> io::Result<()> {
    // SAFETY: `key` is NUL-terminated; `value` pointer and length describe a valid slice.
    check(unsafe {
        libc::fsetxattr(
            fd.as_raw_fd(),
            key.as_ptr(),
            value.as_ptr().cast(),
            value.len(),
            0,
        )
    })
}

/// Names of the xattrs of `name` in `dir` (not following a symlink).
pub(crate) fn llistxattr_at(dir: BorrowedFd<'_>, name: &CStr) -> io::Result<Vec<CString>> {
    berth_sys::xattr::list(&proc_path(dir, name)?)
}

/// Value of xattr `key` on `name` in `dir`, `None` if it is not set.
pub(crate) fn lgetxattr_at(
    dir: BorrowedFd<'_>,
    name: &CStr,
    key: &CStr,
) -> io::Result<Option<Vec<u8>>> {
    berth_sys::xattr::get(&proc_path(dir, name)?, key)
}

/// Target of the symlink `name` in `dir`.
pub(crate) fn readlinkat(dir: BorrowedFd<'_>, name: &CStr) -> io::Result<Vec<u8>> {
    let mut buf = vec![0u8; 256];
    loop {
        // SAFETY: `buf` is a writable buffer of the given length; `name` is NUL-terminated.
        let n = unsafe {
            libc::readlinkat(
                dir.as_raw_fd(),
                name.as_ptr(),
                buf.as_mut_ptr().cast(),
                buf.len(),
            )
        };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        let n = n.unsigned_abs();
        if n < buf.len() {
            buf.truncate(n);
            return Ok(buf);
        }
        buf.resize(buf.len() * 2, 0);
    }
}

/// Entry names of the directory `dir` (without `.` and `..`), sorted bytewise so that every
/// walk, and therefore every tar written from a directory, is deterministic.
pub(crate) fn read_dir(dir: BorrowedFd<'_>) -> io::Result<Vec<CString>> {
    // fdopendir takes ownership of the fd it is given, so hand it a duplicate.
    let dup = dir.try_clone_to_owned()?;
    // SAFETY: `dup` is a valid open directory fd whose ownership passes to the DIR stream.
    let stream = unsafe { libc::fdopendir(dup.as_raw_fd()) };
    if stream.is_null() {
        return Err(io::Error::last_os_error());
    }
    std::mem::forget(dup);
    let mut names = Vec::new();
    let result = loop {
        // SAFETY: errno is thread-local; clearing it tells end-of-stream from an error.
        unsafe { *libc::__errno_location() = 0 };
        // SAFETY: `stream` is a valid DIR* until closedir below.
        let ent = unsafe { libc::readdir(stream) };
        if ent.is_null() {
            let err = io::Error::last_os_error();
            break match err.raw_os_error() {
                Some(0) | None => Ok(()),
                Some(_) => Err(err),
            };
        }
        // SAFETY: readdir returned a valid dirent whose d_name is NUL-terminated.
        let name = unsafe { CStr::from_ptr((*ent).d_name.as_ptr()) };
        if name.to_bytes() != b"." && name.to_bytes() != b".." {
            names.push(name.to_owned());
        }
    };
    // SAFETY: `stream` came from fdopendir and is closed exactly once.
    unsafe { libc::closedir(stream) };
    result?;
    names.sort();
    Ok(names)
}

/// Removes `name` from `dir` and, if it is a directory, everything below it, without ever
/// following a symlink (each level is opened with `O_NOFOLLOW` relative to its parent).
pub(crate) fn remove_all_at(dir: BorrowedFd<'_>, name: &CStr) -> io::Result<()> {
    match unlinkat(dir, name, 0) {
        Ok(()) => return Ok(()),
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => return Ok(()),
        Err(e) if matches!(e.raw_os_error(), Some(libc::EISDIR) | Some(libc::EPERM)) => {}
        Err(e) => return Err(e),
    }
    let child = openat(dir, name, libc::O_RDONLY | libc::O_DIRECTORY, 0)?;
    for entry in read_dir(child.as_fd())? {
        remove_all_at(child.as_fd(), &entry)?;
    }
    unlinkat(dir, name, libc::AT_REMOVEDIR)
}

/// Lossy display form of raw path bytes, for error messages.
pub(crate) fn display(bytes: &[u8]) -> std::path::PathBuf {
    OsStr::from_bytes(bytes).into()
}
