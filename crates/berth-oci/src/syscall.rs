//! The mount-related system calls, behind a trait so rootfs setup can be planned and tested
//! without privileges (see `RecordingSyscall` in tests).

use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use berth_sys::newmount::MountAttrs;
use nix::mount::{MntFlags, MsFlags};
use nix::sys::stat::{Mode, SFlag};

pub trait Syscall {
    fn mount(
        &self,
        source: Option<&Path>,
        target: &Path,
        fstype: Option<&str>,
        flags: MsFlags,
        data: Option<&str>,
    ) -> nix::Result<()>;
    fn umount2(&self, target: &Path, flags: MntFlags) -> nix::Result<()>;
    /// Attaches a detached mount tree (from `open_tree`/`fsmount`) at `target`.
    fn move_mount(&self, tree: BorrowedFd<'_>, target: &Path) -> nix::Result<()>;
    /// A new, detached (invisible) mount of `fstype`; `options` are `key=value` or flag words.
    fn new_mount(&self, fstype: &str, options: &[String]) -> nix::Result<OwnedFd>;
    /// Copies the content of directory `from` into the root of the detached mount `tree`, and
    /// `from`'s own owner and mode onto that root when `root_attrs`.
    fn copy_into(&self, from: &Path, tree: BorrowedFd<'_>, root_attrs: bool)
        -> std::io::Result<()>;
    /// `mount_setattr(AT_RECURSIVE)`: sets and clears attributes of the mount at `target` and of
    /// every mount below it.
    fn set_attrs_recursive(
        &self,
        target: &Path,
        set: MountAttrs,
        clear: MountAttrs,
    ) -> nix::Result<()>;
    fn pivot_root(&self, new_root: &Path, put_old: &Path) -> nix::Result<()>;
    fn chroot(&self, path: &Path) -> nix::Result<()>;
    fn chdir(&self, path: &Path) -> nix::Result<()>;
    /// A directory descriptor, to come back to a place no path reaches (an old root).
    fn open_dir(&self, path: &Path) -> nix::Result<OwnedFd>;
    fn fchdir(&self, dir: BorrowedFd<'_>) -> nix::Result<()>;
    fn mkdir_all(&self, path: &Path) -> std::io::Result<()>;
    fn create_file(&self, path: &Path) -> std::io::Result<()>;
    fn symlink(&self, target: &Path, link: &Path) -> std::io::Result<()>;
    fn mknod(&self, path: &Path, kind: SFlag, perm: Mode, dev: u64) -> nix::Result<()>;
    fn chown(&self, path: &Path, uid: Option<u32>, gid: Option<u32>) -> nix::Result<()>;
    fn chmod(&self, path: &Path, mode: u32) -> std::io::Result<()>;
}

/// The real kernel.
pub struct LinuxSyscall;

impl Syscall for LinuxSyscall {
    fn mount(
        &self,
        source: Option<&Path>,
        target: &Path,
        fstype: Option<&str>,
        flags: MsFlags,
        data: Option<&str>,
    ) -> nix::Result<()> {
        nix::mount::mount(source, target, fstype, flags, data)
    }
    fn umount2(&self, target: &Path, flags: MntFlags) -> nix::Result<()> {
        nix::mount::umount2(target, flags)
    }
    fn move_mount(&self, tree: BorrowedFd<'_>, target: &Path) -> nix::Result<()> {
        let target = cpath(target)?;
        berth_sys::newmount::move_mount(tree, &target)
    }
    fn new_mount(&self, fstype: &str, options: &[String]) -> nix::Result<OwnedFd> {
        use berth_sys::newmount as nm;
        use std::os::fd::AsFd;
        let cstr = |s: &str| std::ffi::CString::new(s).map_err(|_| nix::errno::Errno::EINVAL);
        let fs = nm::fsopen(&cstr(fstype)?)?;
        for opt in options {
            match opt.split_once('=') {
                Some((k, v)) => nm::set_string(fs.as_fd(), &cstr(k)?, &cstr(v)?)?,
                None => nm::set_flag(fs.as_fd(), &cstr(opt)?)?,
            }
        }
        nm::create(fs.as_fd())?;
        nm::fsmount(fs.as_fd(), nm::MountAttrs::default())
    }
    fn copy_into(
        &self,
        from: &Path,
        tree: BorrowedFd<'_>,
        root_attrs: bool,
    ) -> std::io::Result<()> {
        // A detached mount has no path of its own; its fd's /proc link reaches it.
        let root = std::path::PathBuf::from(format!("/proc/self/fd/{}", tree.as_raw_fd()));
        berth_sys::copy::copy_tree(from, &root)?;
        if root_attrs {
            berth_sys::copy::set_owner_and_mode(&root, &std::fs::metadata(from)?)?;
        }
        Ok(())
    }
    fn set_attrs_recursive(
        &self,
        target: &Path,
        set: MountAttrs,
        clear: MountAttrs,
    ) -> nix::Result<()> {
        use nix::fcntl::{open, OFlag};
        // The mount's root, not what a symlink there points to (a symlink fd is no mount and
        // mount_setattr refuses it).
        let mnt = open(
            target,
            OFlag::O_PATH | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
            Mode::empty(),
        )?;
        let attr = berth_sys::newmount::MountAttr {
            set,
            clear,
            userns: None,
        };
        berth_sys::newmount::mount_setattr(std::os::fd::AsFd::as_fd(&mnt), true, &attr)
    }
    fn pivot_root(&self, new_root: &Path, put_old: &Path) -> nix::Result<()> {
        nix::unistd::pivot_root(new_root, put_old)
    }
    fn chroot(&self, path: &Path) -> nix::Result<()> {
        nix::unistd::chroot(path)
    }
    fn chdir(&self, path: &Path) -> nix::Result<()> {
        nix::unistd::chdir(path)
    }
    fn open_dir(&self, path: &Path) -> nix::Result<OwnedFd> {
        nix::fcntl::open(
            path,
            nix::fcntl::OFlag::O_DIRECTORY
                | nix::fcntl::OFlag::O_RDONLY
                | nix::fcntl::OFlag::O_CLOEXEC,
            Mode::empty(),
        )
    }
    fn fchdir(&self, dir: BorrowedFd<'_>) -> nix::Result<()> {
        nix::unistd::fchdir(dir)
    }
    fn mkdir_all(&self, path: &Path) -> std::io::Result<()> {
        std::fs::create_dir_all(path)
    }
    fn create_file(&self, path: &Path) -> std::io::Result<()> {
        std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .map(|_| ())
    }
    fn symlink(&self, target: &Path, link: &Path) -> std::io::Result<()> {
        match std::os::unix::fs::symlink(target, link) {
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
            other => other,
        }
    }
    fn mknod(&self, path: &Path, kind: SFlag, perm: Mode, dev: u64) -> nix::Result<()> {
        nix::sys::stat::mknod(path, kind, perm, dev)
    }
    fn chown(&self, path: &Path, uid: Option<u32>, gid: Option<u32>) -> nix::Result<()> {
        nix::unistd::chown(
            path,
            uid.map(nix::unistd::Uid::from_raw),
            gid.map(nix::unistd::Gid::from_raw),
        )
    }
    fn chmod(&self, path: &Path, mode: u32) -> std::io::Result<()> {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
    }
}

/// A path as the C string syscalls take; a NUL byte cannot name a file.
pub(crate) fn cpath(path: &Path) -> nix::Result<std::ffi::CString> {
    std::ffi::CString::new(path.as_os_str().as_encoded_bytes())
        .map_err(|_| nix::errno::Errno::EINVAL)
}

#[cfg(test)]
pub(crate) mod recording {
    use super::*;
    use std::cell::RefCell;

    /// Records every call as a line of text instead of touching the kernel.
    #[derive(Default)]
    pub struct RecordingSyscall {
        pub calls: RefCell<Vec<String>>,
    }

    /// Flag names joined with " | " in bit order, "(empty)" for none.
    macro_rules! names {
        ($flags:expr) => {{
            let n: Vec<&str> = $flags.iter_names().map(|(name, _)| name).collect();
            if n.is_empty() {
                "(empty)".to_string()
            } else {
                n.join(" | ")
            }
        }};
    }

    impl RecordingSyscall {
        fn push(&self, s: String) {
            self.calls.borrow_mut().push(s);
        }
        pub fn lines(&self) -> Vec<String> {
            self.calls.borrow().clone()
        }
    }

    impl Syscall for RecordingSyscall {
        fn mount(
            &self,
            source: Option<&Path>,
            target: &Path,
            fstype: Option<&str>,
            flags: MsFlags,
            data: Option<&str>,
        ) -> nix::Result<()> {
            self.push(format!(
                "mount {} {} {} {} {}",
                source.map_or("-".into(), |s| s.display().to_string()),
                target.display(),
                fstype.unwrap_or("-"),
                names!(flags),
                data.unwrap_or("-")
            ));
            Ok(())
        }
        fn umount2(&self, target: &Path, flags: MntFlags) -> nix::Result<()> {
            self.push(format!("umount2 {} {}", target.display(), names!(flags)));
            Ok(())
        }
        fn move_mount(&self, _tree: BorrowedFd<'_>, target: &Path) -> nix::Result<()> {
            self.push(format!("move_mount {}", target.display()));
            Ok(())
        }
        fn new_mount(&self, fstype: &str, options: &[String]) -> nix::Result<OwnedFd> {
            self.push(format!("new_mount {fstype} {}", options.join(",")));
            // Callers only pass the fd back to us; any real fd will do.
            std::fs::File::open("/dev/null")
                .map(OwnedFd::from)
                .map_err(|_| nix::errno::Errno::EIO)
        }
        fn copy_into(
            &self,
            from: &Path,
            _tree: BorrowedFd<'_>,
            root_attrs: bool,
        ) -> std::io::Result<()> {
            self.push(format!(
                "copy_into {} root_attrs={root_attrs}",
                from.display()
            ));
            Ok(())
        }
        fn set_attrs_recursive(
            &self,
            target: &Path,
            set: MountAttrs,
            clear: MountAttrs,
        ) -> nix::Result<()> {
            self.push(format!(
                "mount_setattr {} recursive set={:#x} clear={:#x}",
                target.display(),
                set.bits(),
                clear.bits()
            ));
            Ok(())
        }
        fn pivot_root(&self, new_root: &Path, put_old: &Path) -> nix::Result<()> {
            self.push(format!(
                "pivot_root {} {}",
                new_root.display(),
                put_old.display()
            ));
            Ok(())
        }
        fn chroot(&self, path: &Path) -> nix::Result<()> {
            self.push(format!("chroot {}", path.display()));
            Ok(())
        }
        fn chdir(&self, path: &Path) -> nix::Result<()> {
            self.push(format!("chdir {}", path.display()));
            Ok(())
        }
        fn open_dir(&self, path: &Path) -> nix::Result<OwnedFd> {
            self.push(format!("open_dir {}", path.display()));
            // A real descriptor of a harmless directory stands in.
            LinuxSyscall.open_dir(Path::new("/"))
        }
        fn fchdir(&self, _dir: BorrowedFd<'_>) -> nix::Result<()> {
            self.push("fchdir".to_string());
            Ok(())
        }
        fn mkdir_all(&self, path: &Path) -> std::io::Result<()> {
            self.push(format!("mkdir {}", path.display()));
            Ok(())
        }
        fn create_file(&self, path: &Path) -> std::io::Result<()> {
            self.push(format!("touch {}", path.display()));
            Ok(())
        }
        fn symlink(&self, target: &Path, link: &Path) -> std::io::Result<()> {
            self.push(format!("symlink {} {}", target.display(), link.display()));
            Ok(())
        }
        fn mknod(&self, path: &Path, kind: SFlag, perm: Mode, dev: u64) -> nix::Result<()> {
            self.push(format!(
                "mknod {} {} {:o} {dev}",
                path.display(),
                names!(kind),
                perm.bits()
            ));
            Ok(())
        }
        fn chown(&self, path: &Path, uid: Option<u32>, gid: Option<u32>) -> nix::Result<()> {
            self.push(format!("chown {} {uid:?} {gid:?}", path.display()));
            Ok(())
        }
        fn chmod(&self, path: &Path, mode: u32) -> std::io::Result<()> {
            self.push(format!("chmod {} {mode:o}", path.display()));
            Ok(())
        }
    }
}
