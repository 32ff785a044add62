//! The new mount API (`fsopen`, `fsconfig`, `fsmount`, `move_mount`, `open_tree`, Linux 5.2+;
//! `mount_setattr` and idmapped mounts 5.12+; overlay's `lowerdir+` needs 6.8+): thin safe
//! wrappers, since neither nix nor std wrap these syscalls. Used by the snapshotter (overlays of
//! any depth) and the runtime (a detached read-only view of its own binary, idmapped bind mounts,
//! tmpfs filled before it becomes visible).

use std::ffi::CStr;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

use nix::errno::Errno;

/// `MOUNT_ATTR_*` flags for `fsmount` and [`mount_setattr`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MountAttrs(libc::c_uint);

impl MountAttrs {
    pub const RDONLY: Self = Self(0x1);
    pub const NOSUID: Self = Self(0x2);
    pub const NODEV: Self = Self(0x4);
    pub const NOEXEC: Self = Self(0x8);
    /// The atime mode is a value in this field, not a flag: changing it with [`mount_setattr`]
    /// needs the whole field in `clear` and one of the three modes below in `set`.
    pub const ATIME: Self = Self(0x70);
    pub const RELATIME: Self = Self(0x0);
    pub const NOATIME: Self = Self(0x10);
    pub const STRICTATIME: Self = Self(0x20);
    pub const NODIRATIME: Self = Self(0x80);
    /// Only for [`mount_setattr`] (with [`MountAttr::userns`]); `fsmount` refuses it.
    pub const IDMAP: Self = Self(0x0010_0000);
    /// Linux 5.14.
    pub const NOSYMFOLLOW: Self = Self(0x0020_0000);

    pub fn bits(self) -> libc::c_uint {
        self.0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn intersects(self, other: Self) -> bool {
        self.0 & other.0 != 0
    }

    /// These attributes without those of `other`.
    pub fn without(self, other: Self) -> Self {
        Self(self.0 & !other.0)
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
const OPEN_TREE_CLONE: libc::c_uint = 0x1;
const OPEN_TREE_CLOEXEC: libc::c_uint = libc::O_CLOEXEC as libc::c_uint;
const AT_RECURSIVE: libc::c_uint = 0x8000;

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

/// `open_tree(path, OPEN_TREE_CLONE)`: a detached copy of the mount at `path` (with the mounts
/// below it when `recursive`, like `rbind`), to be changed with [`mount_setattr`] while nobody
/// can see it, then attached with [`move_mount`].
pub fn open_tree_clone(path: &CStr, recursive: bool) -> nix::Result<OwnedFd> {
    let flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | if recursive { AT_RECURSIVE } else { 0 };
    // SAFETY: path is NUL-terminated and outlives the call.
    fd_result(unsafe { libc::syscall(libc::SYS_open_tree, libc::AT_FDCWD, path.as_ptr(), flags) })
}

/// What [`mount_setattr`] changes: attributes to set and clear, and for [`MountAttrs::IDMAP`]
/// the user namespace whose mappings translate file ownership.
#[derive(Debug, Clone, Copy, Default)]
pub struct MountAttr<'a> {
    pub set: MountAttrs,
    pub clear: MountAttrs,
    pub userns: Option<BorrowedFd<'a>>,
}

/// `struct mount_attr` (MOUNT_ATTR_SIZE_VER0).
#[repr(C)]
struct RawMountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

/// `mount_setattr(mnt, "", AT_EMPTY_PATH)` on a mount fd (from [`open_tree_clone`] or
/// [`fsmount`]); `recursive` applies it to every mount below as well.
pub fn mount_setattr(
    mnt: BorrowedFd<'_>,
    recursive: bool,
    attr: &MountAttr<'_>,
) -> nix::Result<()> {
    let raw = RawMountAttr {
        attr_set: u64::from(attr.set.bits()),
        attr_clr: u64::from(attr.clear.bits()),
        propagation: 0,
        // A BorrowedFd is never negative; u64::MAX (which the kernel refuses) cannot happen.
        userns_fd: attr
            .userns
            .map_or(0, |fd| u64::try_from(fd.as_raw_fd()).unwrap_or(u64::MAX)),
    };
    let flags = libc::AT_EMPTY_PATH as libc::c_uint | if recursive { AT_RECURSIVE } else { 0 };
    // SAFETY: mnt is a live fd, the path is an empty C string, `raw` is a properly sized
    // struct mount_attr that outlives the call.
    unit_result(unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            mnt.as_raw_fd(),
            c"".as_ptr(),
            flags,
            &raw as *const RawMountAttr,
            std::mem::size_of::<RawMountAttr>(),
        )
    })
}

/// Whether the kernel has `mount_setattr` (Linux 5.12; idmapped mounts need it): asked with a
/// descriptor that cannot be open, so any answer but ENOSYS means the call exists.
pub fn mount_setattr_supported() -> bool {
    let raw = RawMountAttr {
        attr_set: 0,
        attr_clr: 0,
        propagation: 0,
        userns_fd: 0,
    };
    // SAFETY: fd -1 is refused before anything is read but the struct, which outlives the call.
    let r = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            -1,
            c"".as_ptr(),
            libc::AT_EMPTY_PATH as libc::c_uint,
            &raw as *const RawMountAttr,
            std::mem::size_of::<RawMountAttr>(),
        )
    };
    !(r < 0 && Errno::last() == Errno::ENOSYS)
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
