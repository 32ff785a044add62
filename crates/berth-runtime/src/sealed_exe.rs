//! CVE-2019-5736: a container can make the runtime execute itself inside the container (an
//! entrypoint `#!/proc/self/exe`), then open `/proc/<pid>/exe` and overwrite the host binary.
//! Non-dumpable children close the window during setup, not this one. Like runc 1.2, the verbs
//! that start container processes re-execute the binary once from a detached, read-only overlayfs
//! mount, so `/proc/self/exe` of every process they fork names a file that cannot be opened for
//! writing by anyone. Without overlayfs (no CAP_SYS_ADMIN, no overlay module) a sealed memfd copy
//! is used instead. It is the one re-exec the runtime does (~0.6 ms here); none when the runtime
//! already runs from such a view, as berthd starts it (berth-sys `exe_view`).

use std::ffi::{CString, OsString};
use std::fs::File;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use anyhow::{bail, Context, Result};
use berth_sys::exe_view;

const OVERLAYFS_SUPER_MAGIC: libc::c_long = 0x794c_7630;
/// From <linux/memfd.h> (Linux 6.3).
const MFD_EXEC: libc::c_uint = 0x10;

/// Returns when this process already runs from a protected copy; otherwise re-executes it from
/// one (and does not return on success).
/// `root` is the runtime's state root, which holds the empty lower layer kernels before 6.8 need.
pub fn ensure(root: &Path) -> Result<()> {
    let exe = File::open("/proc/self/exe").context("open /proc/self/exe")?;
    if is_protected(&exe) {
        return Ok(());
    }
    let path = std::fs::read_link("/proc/self/exe").context("read /proc/self/exe")?;
    let protected = match overlay_copy(&path, root) {
        Ok(fd) => fd,
        Err(overlay_err) => memfd_copy(exe).with_context(|| {
            format!("protect the runtime binary (overlay view failed too: {overlay_err:#})")
        })?,
    };
    reexec(&protected)
}

fn is_protected(exe: &File) -> bool {
    // SAFETY: fstatfs/fstatvfs fill plain structs for an fd we own.
    let mut fs: libc::statfs = unsafe { std::mem::zeroed() };
    let mut vfs: libc::statvfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::fstatfs(exe.as_raw_fd(), &mut fs) } == 0
        && fs.f_type == OVERLAYFS_SUPER_MAGIC
        && unsafe { libc::fstatvfs(exe.as_raw_fd(), &mut vfs) } == 0
        && vfs.f_flag & libc::ST_RDONLY != 0
    {
        return true;
    }
    // SAFETY: F_GET_SEALS takes no argument; it fails on anything that is not a memfd.
    let seals = unsafe { libc::fcntl(exe.as_raw_fd(), libc::F_GET_SEALS) };
    seals >= 0 && seals & libc::F_SEAL_WRITE != 0
}

fn check(rc: libc::c_long, what: &str) -> Result<libc::c_long> {
    if rc < 0 {
        return Err(std::io::Error::last_os_error()).context(what.to_owned());
    }
    Ok(rc)
}

/// Takes ownership of the fd a successful openat/memfd_create returned.
fn owned(rc: libc::c_long) -> OwnedFd {
    // SAFETY: callers pass only non-negative results of calls that return a new fd.
    unsafe { OwnedFd::from_raw_fd(rc as RawFd) }
}

/// The binary seen through a read-only view of its directory (berth-sys `exe_view`).
fn overlay_copy(exe: &Path, root: &Path) -> Result<OwnedFd> {
    let (Some(dir), Some(name)) = (exe.parent(), exe.file_name()) else {
        bail!("{} has no directory", exe.display());
    };
    let mount = exe_view::read_only_view(dir, root)
        .with_context(|| format!("read-only view of {}", dir.display()))?;
    let name_c = CString::new(name.as_bytes())?;
    // SAFETY: openat relative to our mount fd with a NUL-terminated name.
    let rc = unsafe {
        libc::openat(
            mount.as_raw_fd(),
            name_c.as_ptr(),
            libc::O_PATH | libc::O_CLOEXEC,
        )
    };
    check(rc.into(), "open the binary in its overlay view").map(owned)
}

/// A sealed in-memory copy, for hosts where the overlay view cannot be made.
fn memfd_copy(mut exe: File) -> Result<OwnedFd> {
    let name = CString::new("berth-runtime")?;
    let flags = libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING;
    // Linux 6.3+ with vm.memfd_noexec set makes memfds unexecutable unless MFD_EXEC is asked
    // for; older kernels refuse that flag with EINVAL.
    // SAFETY: memfd_create with a NUL-terminated name.
    let mut rc = unsafe { libc::memfd_create(name.as_ptr(), flags | MFD_EXEC) };
    if rc < 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::EINVAL) {
        // SAFETY: as above.
        rc = unsafe { libc::memfd_create(name.as_ptr(), flags) };
    }
    let memfd = owned(check(rc.into(), "memfd_create")?);
    let mut copy = File::from(memfd);
    std::io::copy(&mut exe, &mut copy).context("copy the runtime binary into a memfd")?;
    let seals = libc::F_SEAL_SEAL | libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE;
    // SAFETY: F_ADD_SEALS with a seal mask on our memfd.
    check(
        unsafe { libc::fcntl(copy.as_raw_fd(), libc::F_ADD_SEALS, seals) }.into(),
        "seal the memfd copy",
    )?;
    Ok(copy.into())
}

fn cstrings(items: impl Iterator<Item = OsString>) -> Result<Vec<CString>> {
    items
        .map(|s| CString::new(s.as_bytes()).context("argument or environment with a NUL byte"))
        .collect()
}

fn reexec(fd: &OwnedFd) -> Result<()> {
    let args = cstrings(std::env::args_os())?;
    let env = cstrings(std::env::vars_os().map(|(k, v)| {
        let mut kv = k;
        kv.push("=");
        kv.push(v);
        kv
    }))?;
    let mut argv: Vec<*const libc::c_char> = args.iter().map(|a| a.as_ptr()).collect();
    argv.push(std::ptr::null());
    let mut envp: Vec<*const libc::c_char> = env.iter().map(|e| e.as_ptr()).collect();
    envp.push(std::ptr::null());
    // SAFETY: argv and envp are NULL-terminated arrays of strings that outlive the call.
    unsafe {
        libc::syscall(
            libc::SYS_execveat,
            fd.as_raw_fd(),
            c"".as_ptr(),
            argv.as_ptr(),
            envp.as_ptr(),
            libc::AT_EMPTY_PATH,
        )
    };
    Err(std::io::Error::last_os_error()).context("re-execute the runtime from its protected copy")
}
