//! Work inside another process's network namespace without moving the caller: `setns` and
//! `unshare(CLONE_NEWNET)` change only the calling thread, so the work runs on a short-lived
//! thread of its own (never on a tokio worker, whose namespace would leak into unrelated tasks).

use std::ffi::CStr;
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;

use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::sched::{setns, unshare, CloneFlags};

/// Runs `f` on a thread of its own and passes its result on.
fn on_own_thread<T: Send>(f: impl FnOnce() -> io::Result<T> + Send) -> io::Result<T> {
    std::thread::scope(|scope| {
        scope
            .spawn(f)
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("the namespace thread panicked")))
    })
}

/// Creates a new network namespace with its loopback up and pins it by bind-mounting it at
/// `path` (a file is created there), as `ip netns add` does: the namespace outlives every
/// process in it, so CNI plugins can be run on it before the container exists and after it
/// is gone. No process is forked: a short-lived thread unshares and exits.
pub fn create_pinned(path: &Path) -> io::Result<()> {
    File::create(path)?;
    let made = on_own_thread(|| {
        unshare(CloneFlags::CLONE_NEWNET).map_err(io::Error::from)?;
        set_up(c"lo")?;
        mount(
            Some("/proc/thread-self/ns/net"),
            path,
            None::<&str>,
            MsFlags::MS_BIND,
            None::<&str>,
        )
        .map_err(io::Error::from)
    });
    if made.is_err() {
        let _ = std::fs::remove_file(path);
    }
    made
}

/// Pins the network namespace of process `pid` at `path` (a file is created there) and brings
/// its loopback up. For a namespace the container runtime made inside a user namespace: only a
/// namespace owned by that user namespace lets the container mount sysfs or configure its
/// interfaces, so it cannot be made beforehand as [`create_pinned`] does.
pub fn pin_process(pid: i32, path: &Path) -> io::Result<()> {
    File::create(path)?;
    let pinned = mount(
        Some(format!("/proc/{pid}/ns/net").as_str()),
        path,
        None::<&str>,
        MsFlags::MS_BIND,
        None::<&str>,
    )
    .map_err(io::Error::from)
    .and_then(|()| loopback_up(pid));
    if pinned.is_err() {
        let _ = remove_pinned(path);
    }
    pinned
}

/// Unpins a namespace made by [`create_pinned`]; the kernel frees it when its last user is
/// gone. A path that is not there, or no longer a mount, is fine (idempotent).
pub fn remove_pinned(path: &Path) -> io::Result<()> {
    match umount2(path, MntFlags::MNT_DETACH) {
        Ok(()) | Err(nix::errno::Errno::EINVAL) | Err(nix::errno::Errno::ENOENT) => {}
        Err(e) => return Err(e.into()),
    }
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// Brings the loopback interface of `pid`'s network namespace up, as Docker does for every
/// container with a network namespace of its own (even `--network none`): programs expect
/// 127.0.0.1 to work.
pub fn loopback_up(pid: i32) -> io::Result<()> {
    let ns = File::open(format!("/proc/{pid}/ns/net"))?;
    on_own_thread(move || {
        setns(&ns, CloneFlags::CLONE_NEWNET).map_err(io::Error::from)?;
        set_up(c"lo")
    })
}

/// Runs `f` inside the network namespace at `netns` (a pinned namespace, or a process's
/// `/proc/<pid>/ns/net`), on a thread that joins it and then ends. Sockets `f` makes keep that
/// namespace after the thread is gone: a connection made there can be used from anywhere.
/// The outer error is joining the namespace; `f`'s own result is passed on.
pub fn run_in<T: Send>(netns: &Path, f: impl FnOnce() -> T + Send) -> io::Result<T> {
    let ns = File::open(netns)?;
    on_own_thread(move || {
        setns(&ns, CloneFlags::CLONE_NEWNET).map_err(io::Error::from)?;
        Ok(f())
    })
}

/// `ip link set NAME up` through the SIOC[GS]IFFLAGS ioctls of an ordinary socket, which acts
/// on the namespace the socket was created in.
fn set_up(name: &CStr) -> io::Result<()> {
    // SAFETY: a plain socket(2) call; the fd is owned right away.
    let raw = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if raw < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: raw is a new, valid fd nobody else owns.
    let sock = unsafe { OwnedFd::from_raw_fd(raw) };
    // SAFETY: ifreq is plain data; all-zero is a valid value.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    let bytes = name.to_bytes();
    if bytes.len() >= req.ifr_name.len() {
        return Err(io::Error::from(io::ErrorKind::InvalidInput));
    }
    for (dst, src) in req.ifr_name.iter_mut().zip(bytes) {
        *dst = *src as libc::c_char;
    }
    // SAFETY: SIOCGIFFLAGS/SIOCSIFFLAGS read and write the ifreq we own.
    unsafe {
        if libc::ioctl(sock.as_raw_fd(), libc::SIOCGIFFLAGS, &mut req) < 0 {
            return Err(io::Error::last_os_error());
        }
        req.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short;
        if libc::ioctl(sock.as_raw_fd(), libc::SIOCSIFFLAGS, &req) < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
