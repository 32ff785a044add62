//! The new mount API (`fsopen`, `fsconfig`, `fsmount`, `move_mount`, Linux 5.2+; overlay's
//! `lowerdir+` needs 6.8+): thin safe wrappers, since neither nix nor std wrap these syscalls.
//! Used by the snapshotter (overlays of any depth) and the runtime (a detached read-only view
//! of its own binary).

use std::ffi::CStr;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

use nix::errno::Errno;

/// `MOUNT_ATTR_*` flags for `fsmount`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MountAttrs(libc::c_uint);

impl MountAttrs {
    pub const RDONLY: Self = Self(0x1);
    pub const NOSUID: Self = Self(0x2);
    pub const NODEV: Self = Self(0x4);

    pub fn bits(self) -> libc::c_uint {
        self.0
    }
}

impl std::ops::BitOr for MountAttrs {
    type Output = Self;
    fn bitor(self, rhs: Self) -> Self {
        Self(self.0 | rhs.0)
    }
}

// From <linux/mount.h>; stable kernel ABI.
const FSOPEN_CLOEXEC: libc::c_uint = 0x1;
const FSCONFIG_SET_FLAG: libc::c_uint = 0;
const FSCONFIG_SET_STRING: libc::c_uint = 1;
const FSCONFIG_CMD_CREATE: libc::c_uint = 6;
const FSMOUNT_CLOEXEC: libc::c_uint = 0x1;
const MOVE_MOUNT_F_EMPTY_PATH: libc::c_uint = 0x4;

fn fd_result(r: libc::c_long) -> nix::Result<OwnedFd> {
    if r < 0 {
        return Err(Errno::last());
    }
    let fd = RawFd::try_from(r).map_err(|_| Errno::EBADF)?;
    // SAFETY: the kernel just returned this new descriptor; nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn unit_result(r: libc::c_long) -> nix::Result<()> {
    if r < 0 {
        Err(Errno::last())
    } else {
        Ok(())
    }
}

pub fn fsopen(fs_name: &CStr) -> nix::Result<OwnedFd> {
    // SAFETY: fs_name is NUL-terminated and outlives the call.
    fd_result(unsafe { libc::syscall(libc::SYS_fsopen, fs_name.as_ptr(), FSOPEN_CLOEXEC) })
}

fn fsconfig(
    fd: BorrowedFd<'_>,
    cmd: libc::c_uint,
    key: Option<&CStr>,
    value: Option<&CStr>,
) -> nix::Result<()> {
    let key = key.map_or(std::ptr::null(), CStr::as_ptr);
    let value = value.map_or(std::ptr::null(), CStr::as_ptr);
    // SAFETY: fd is a live fs context; key/value are NULL or NUL-terminated strings that
    // outlive the call; aux is unused for these commands.
    unit_result(unsafe { libc::syscall(libc::SYS_fsconfig, fd.as_raw_fd(), cmd, key, value, 0) })
}

pub fn set_string(fd: BorrowedFd<'_>, key: &CStr, value: &CStr) -> nix::Result<()> {
    fsconfig(fd, FSCONFIG_SET_STRING, Some(key), Some(value))
}

pub fn set_flag(fd: BorrowedFd<'_>, key: &CStr) -> nix::Result<()> {
    fsconfig(fd, FSCONFIG_SET_FLAG, Some(key), None)
}

pub fn create(fd: BorrowedFd<'_>) -> nix::Result<()> {
    fsconfig(fd, FSCONFIG_CMD_CREATE, None, None)
}

pub fn fsmount(fd: BorrowedFd<'_>, attrs: MountAttrs) -> nix::Result<OwnedFd> {
    let attrs = attrs.bits();
    // SAFETY: plain integer arguments; fd is a live, created fs context.
    fd_result(unsafe { libc::syscall(libc::SYS_fsmount, fd.as_raw_fd(), FSMOUNT_CLOEXEC, attrs) })
}

pub fn move_mount(mnt: BorrowedFd<'_>, target: &CStr) -> nix::Result<()> {
    // SAFETY: both paths are NUL-terminated and outlive the call; mnt is a live mount fd.
    unit_result(unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            mnt.as_raw_fd(),
            c"".as_ptr(),
            libc::AT_FDCWD,
            target.as_ptr(),
            MOVE_MOUNT_F_EMPTY_PATH,
        )
    })
}

/// Reads the messages the kernel queued on an fs context ("e overlayfs: ..."), which say far
/// more than the bare errno.
pub fn drain_log(fd: BorrowedFd<'_>) -> Vec<String> {
    let mut out = Vec::new();
    let mut buf = [0u8; 1024];
    // The queue holds at most 8 messages; the bound only guards against a surprise.
    for _ in 0..16 {
        match nix::unistd::read(fd, &mut buf) {
            Ok(n) if n > 0 => out.push(String::from_utf8_lossy(&buf[..n]).into_owned()),
            _ => break,
        }
    }
    out
}
