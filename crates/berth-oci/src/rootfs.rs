//! Building the container's filesystem view: mounts, devices, pivot_root, masked and read-only paths.
//! Every kernel call goes through [`Syscall`], so the sequence is unit-tested with a recording double.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Component, Path, PathBuf};

use berth_sys::newmount::MountAttrs;
use nix::errno::Errno;
use nix::mount::{MntFlags, MsFlags};
use nix::sys::stat::{Mode, SFlag};
use nix::sys::statvfs::{statvfs, FsFlags};
use oci_spec::runtime::{LinuxDevice, LinuxDeviceType, LinuxIdMapping, Mount};

use crate::error::{Error, Result};
use crate::syscall::Syscall;

/// Where the container's cgroup lives on the host, for the `cgroup` mount type.
pub enum CgroupMountSource {
    /// cgroup v1: one (controller name, host directory) pair per hierarchy.
    V1(Vec<(String, PathBuf)>),
    /// cgroup v2: the container's unified directory.
    V2(PathBuf),
}

pub struct RootfsContext<'a> {
    pub rootfs: &'a Path,
    pub mounts: &'a [Mount],
    pub devices: &'a [LinuxDevice],
    pub propagation: Option<&'a str>,
    pub readonly: bool,
    pub masked_paths: &'a [String],
    pub readonly_paths: &'a [String],
    /// Device nodes cannot be created in a user namespace: bind the host's instead.
    pub in_user_ns: bool,
    pub new_cgroup_ns: bool,
    pub cgroup: CgroupMountSource,
    pub switch: RootSwitch,
}

/// How the rootfs becomes the container's `/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RootSwitch {
    /// pivot_root, then detach the old root.
    Pivot,
    /// `--no-pivot`: move the rootfs over `/` and chroot into it.
    Move,
    /// No mount namespace of its own: chroot only, and nothing is mounted, since every mount
    /// would land in the host's table and outlive the container (the spec checks refuse
    /// configs that ask for mounts without a mount namespace).
    Chroot,
}

fn mount_err(what: &str, target: &Path) -> impl FnOnce(nix::Error) -> Error {
    crate::error::sys(format!("{what} {}", target.display()))
}

fn io_err(what: &'static str, target: &Path) -> impl FnOnce(std::io::Error) -> Error {
    crate::error::io(what, target.to_path_buf())
}

/// Resolves `unsafe_path` inside `root` as if `root` were `/`: symlinks are followed but can
/// never lead outside `root` (absolute targets and `..` are clamped at `root`).
pub fn secure_join(root: &Path, unsafe_path: &Path) -> Result<PathBuf> {
    let mut pending: VecDeque<OsString> = normal_parts(unsafe_path);
    let mut resolved = PathBuf::new();
    let mut links = 0;
    while let Some(part) = pending.pop_front() {
        if part == ".." {
            resolved.pop();
            continue;
        }
        let candidate = resolved.join(&part);
        let full = root.join(&candidate);
        match std::fs::symlink_metadata(&full) {
            Ok(meta) if meta.file_type().is_symlink() => {
                links += 1;
                if links > 255 {
                    return Err(Error::Io {
                        action: "resolve",
                        path: root.join(unsafe_path.strip_prefix("/").unwrap_or(unsafe_path)),
                        source: std::io::Error::from_raw_os_error(libc::ELOOP),
                    });
                }
                let target = std::fs::read_link(&full).map_err(io_err("readlink", &full))?;
                if target.is_absolute() {
                    resolved = PathBuf::new();
                }
                for p in normal_parts(&target).into_iter().rev() {
                    pending.push_front(p);
                }
            }
            _ => resolved = candidate,
        }
    }
    Ok(root.join(resolved))
}

fn normal_parts(p: &Path) -> VecDeque<OsString> {
    p.components()
        .filter_map(|c| match c {
            Component::Normal(s) => Some(s.to_os_string()),
            Component::ParentDir => Some(OsString::from("..")),
            _ => None,
        })
        .collect()
}

/// Whether a bind mount is idmapped, from the `idmap`/`ridmap` options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Idmap {
    No,
    /// `idmap`: the mapping applies to the mount itself, not to mounts below it.
    Mount,
    /// `ridmap`: the mapping applies to every mount of the (recursively cloned) tree.
    Recursive,
}

/// A mount entry's options split into what mount(2) takes.
#[derive(Debug, PartialEq)]
pub struct MountOptions {
    pub flags: MsFlags,
    pub propagation: MsFlags,
    pub data: Vec<String>,
    pub bind: bool,
    pub recursive: bool,
    pub idmap: Idmap,
    /// `tmpcopyup`: a tmpfs starts with the content of the directory it covers.
    pub tmpcopyup: bool,
    pub recursive_attrs: RecursiveAttrs,
}

/// What `mount_setattr(AT_RECURSIVE)` changes on a mount and on every mount below it, from the
/// OCI recursive options (`rro`, `rnosuid`, ...). A bind remount changes only the top mount, so
/// `rbind,ro` leaves the submounts of the source writable; `rro` does not.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RecursiveAttrs {
    pub set: MountAttrs,
    pub clear: MountAttrs,
}

impl RecursiveAttrs {
    /// Later options win over earlier ones, as for the plain flags.
    fn apply(&mut self, change: RecursiveOption) {
        match change {
            RecursiveOption::Set(a) => {
                self.set = self.set | a;
                self.clear = self.clear.without(a);
            }
            RecursiveOption::Clear(a) => {
                self.clear = self.clear | a;
                self.set = self.set.without(a);
            }
            RecursiveOption::Atime(mode) => {
                self.set = self.set.without(MountAttrs::ATIME) | mode;
                self.clear = self.clear | MountAttrs::ATIME;
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.set.is_empty() && self.clear.is_empty()
    }
}

/// The names of the recursive mount options, for `features`.
pub fn recursive_option_names() -> impl Iterator<Item = &'static str> {
    RECURSIVE_OPTIONS.iter().map(|(name, _)| *name)
}

#[derive(Debug, Clone, Copy)]
enum RecursiveOption {
    Set(MountAttrs),
    Clear(MountAttrs),
    /// An atime mode; the three exclude each other.
    Atime(MountAttrs),
}

/// The recursive mount options of the runtime spec (config.md, "Mount options").
const RECURSIVE_OPTIONS: [(&str, RecursiveOption); 18] = {
    use MountAttrs as A;
    use RecursiveOption::{Atime, Clear, Set};
    [
        ("rro", Set(A::RDONLY)),
        ("rrw", Clear(A::RDONLY)),
        ("rnosuid", Set(A::NOSUID)),
        ("rsuid", Clear(A::NOSUID)),
        ("rnodev", Set(A::NODEV)),
        ("rdev", Clear(A::NODEV)),
        ("rnoexec", Set(A::NOEXEC)),
        ("rexec", Clear(A::NOEXEC)),
        ("rnodiratime", Set(A::NODIRATIME)),
        ("rdiratime", Clear(A::NODIRATIME)),
        ("rnosymfollow", Set(A::NOSYMFOLLOW)),
        ("rsymfollow", Clear(A::NOSYMFOLLOW)),
        ("rrelatime", Atime(A::RELATIME)),
        ("rnoatime", Atime(A::NOATIME)),
        ("rstrictatime", Atime(A::STRICTATIME)),
        // Undoing a mode means the kernel's default, relatime, as with mount(2); clearing only
        // that mode's bit is no choice: the kernel refuses a partial atime clear (EINVAL).
        ("ratime", Atime(A::RELATIME)),
        ("rnostrictatime", Atime(A::RELATIME)),
        ("rnorelatime", Atime(A::RELATIME)),
    ]
};

pub fn parse_options(options: &[String]) -> Result<MountOptions> {
    let mut o = MountOptions {
        flags: MsFlags::empty(),
        propagation: MsFlags::empty(),
        data: Vec::new(),
        bind: false,
        recursive: false,
        idmap: Idmap::No,
        tmpcopyup: false,
        recursive_attrs: RecursiveAttrs::default(),
    };
    for opt in options {
        if let Some((_, change)) = RECURSIVE_OPTIONS.iter().find(|(name, _)| name == opt) {
            o.recursive_attrs.apply(*change);
            continue;
        }
        let (set, flag) = match opt.as_str() {
            "defaults" => continue,
            "ro" => (true, MsFlags::MS_RDONLY),
            "rw" => (false, MsFlags::MS_RDONLY),
            "nosuid" => (true, MsFlags::MS_NOSUID),
            "suid" => (false, MsFlags::MS_NOSUID),
            "nodev" => (true, MsFlags::MS_NODEV),
            "dev" => (false, MsFlags::MS_NODEV),
            "noexec" => (true, MsFlags::MS_NOEXEC),
            "exec" => (false, MsFlags::MS_NOEXEC),
            "sync" => (true, MsFlags::MS_SYNCHRONOUS),
            "async" => (false, MsFlags::MS_SYNCHRONOUS),
            "dirsync" => (true, MsFlags::MS_DIRSYNC),
            "remount" => (true, MsFlags::MS_REMOUNT),
            "mand" => (true, MsFlags::MS_MANDLOCK),
            "nomand" => (false, MsFlags::MS_MANDLOCK),
            "atime" => (false, MsFlags::MS_NOATIME),
            "noatime" => (true, MsFlags::MS_NOATIME),
            "diratime" => (false, MsFlags::MS_NODIRATIME),
            "nodiratime" => (true, MsFlags::MS_NODIRATIME),
            "relatime" => (true, MsFlags::MS_RELATIME),
            "norelatime" => (false, MsFlags::MS_RELATIME),
            "strictatime" => (true, MsFlags::MS_STRICTATIME),
            "nostrictatime" => (false, MsFlags::MS_STRICTATIME),
            "lazytime" => (true, MsFlags::MS_LAZYTIME),
            "nolazytime" => (false, MsFlags::MS_LAZYTIME),
            "silent" => (true, MsFlags::MS_SILENT),
            "loud" => (false, MsFlags::MS_SILENT),
            "bind" => {
                o.bind = true;
                continue;
            }
            "rbind" => {
                o.bind = true;
                o.recursive = true;
                continue;
            }
            "private" | "rprivate" | "shared" | "rshared" | "slave" | "rslave" | "unbindable"
            | "runbindable" => {
                o.propagation |= propagation_flags(opt).unwrap_or(MsFlags::empty());
                continue;
            }
            "idmap" => {
                o.idmap = Idmap::Mount;
                continue;
            }
            "ridmap" => {
                o.idmap = Idmap::Recursive;
                continue;
            }
            "tmpcopyup" => {
                o.tmpcopyup = true;
                continue;
            }
            // No copy-up is the default; this only cancels an earlier `tmpcopyup`.
            "notmpcopyup" => {
                o.tmpcopyup = false;
                continue;
            }
            // Safe to ignore, and never passed to the kernel as data:
            // - `z`/`Z` ask for SELinux relabeling of the source, which podman and CRI-O do on
            //   the host before calling the runtime (crun ignores them too);
            // - `nocopy` tells the engine not to seed a new named volume from the image, a
            //   decision made before the runtime sees the mount;
            // - `copy-symlink` (crun) copies a symlink source instead of binding it; binding
            //   follows the link and shows the same content, read through the same path.
            "z" | "Z" | "copy-symlink" | "nocopy" => continue,
            other => {
                o.data.push(other.to_string());
                continue;
            }
        };
        if set {
            o.flags |= flag;
        } else {
            o.flags &= !flag;
        }
    }
    Ok(o)
}

/// The mount point of the mount `path` is on: the longest mount point in
/// /proc/self/mountinfo that `path` is under (the runtime's own namespace, before the switch).
fn mount_point_of(path: &Path) -> Result<PathBuf> {
    berth_sys::mountinfo::mount_points()
        .map_err(|e| Error::Init(format!("read /proc/self/mountinfo: {e}")))?
        .into_iter()
        .filter(|mp| path.starts_with(mp))
        .max_by_key(|mp| mp.components().count())
        .ok_or_else(|| Error::Init(format!("no mount holds {}", path.display())))
}

/// Maps a propagation name (as in options or `rootfsPropagation`) to mount(2) flags.
pub fn propagation_flags(name: &str) -> Option<MsFlags> {
    Some(match name {
        "private" => MsFlags::MS_PRIVATE,
        "rprivate" => MsFlags::MS_PRIVATE | MsFlags::MS_REC,
        "shared" => MsFlags::MS_SHARED,
        "rshared" => MsFlags::MS_SHARED | MsFlags::MS_REC,
        "slave" => MsFlags::MS_SLAVE,
        "rslave" => MsFlags::MS_SLAVE | MsFlags::MS_REC,
        "unbindable" => MsFlags::MS_UNBINDABLE,
        "runbindable" => MsFlags::MS_UNBINDABLE | MsFlags::MS_REC,
        _ => return None,
    })
}

/// Whose mappings an idmapped mount uses.
#[derive(Debug, Clone, PartialEq)]
pub enum IdmapSource {
    /// `idmap`/`ridmap` without mappings of its own: the container's user namespace.
    ContainerUserns,
    /// The mount's `uidMappings`/`gidMappings`, written verbatim into a user namespace made for
    /// it: a file owned by `containerID` on disk shows as owned by `hostID`, as in runc.
    Own {
        uid: Vec<LinuxIdMapping>,
        gid: Vec<LinuxIdMapping>,
    },
}

/// One idmapped bind mount the runtime prepares on the host side before the container mounts.
#[derive(Debug, Clone, PartialEq)]
pub struct IdmapRequest {
    /// Position in the spec's mount list.
    pub index: usize,
    pub source: PathBuf,
    pub destination: PathBuf,
    /// Clone the mounts below `source` too (`rbind` or `ridmap`).
    pub recursive_tree: bool,
    /// Idmap every mount of the clone, not only its top (`ridmap`).
    pub recursive_idmap: bool,
    pub maps: IdmapSource,
}

fn invalid_mount(m: &Mount, reason: impl Into<String>) -> Error {
    Error::InvalidMount {
        destination: m.destination().clone(),
        reason: reason.into(),
    }
}

/// The idmapped mounts of a spec, checked before any process exists: a mount is idmapped when
/// it says `idmap`/`ridmap` or carries mappings (runc treats bare mappings as `idmap`).
pub fn idmap_requests(mounts: &[Mount], has_user_ns: bool) -> Result<Vec<IdmapRequest>> {
    let mut out = Vec::new();
    for (index, m) in mounts.iter().enumerate() {
        let opts = parse_options(m.options().as_deref().unwrap_or_default())?;
        let uid = m.uid_mappings().clone().unwrap_or_default();
        let gid = m.gid_mappings().clone().unwrap_or_default();
        if opts.idmap == Idmap::No && uid.is_empty() && gid.is_empty() {
            continue;
        }
        let bind = opts.bind || m.typ().as_deref() == Some("bind");
        if !bind {
            return Err(invalid_mount(
                m,
                format!(
                    "idmapped mounts are supported for bind mounts only, not type {:?}",
                    m.typ().as_deref().unwrap_or_default()
                ),
            ));
        }
        let maps = match (uid.is_empty(), gid.is_empty()) {
            (true, true) if has_user_ns => IdmapSource::ContainerUserns,
            (true, true) => return Err(invalid_mount(
                m,
                "idmap without uidMappings/gidMappings needs a user namespace to take them from",
            )),
            (false, false) => IdmapSource::Own { uid, gid },
            _ => {
                return Err(invalid_mount(
                    m,
                    "uidMappings and gidMappings must be given together",
                ))
            }
        };
        let source = m
            .source()
            .clone()
            .ok_or_else(|| invalid_mount(m, "bind mount has no source"))?;
        out.push(IdmapRequest {
            index,
            source,
            destination: m.destination().clone(),
            recursive_tree: opts.recursive || opts.idmap == Idmap::Recursive,
            recursive_idmap: opts.idmap == Idmap::Recursive,
            maps,
        });
    }
    Ok(out)
}

/// Flags the kernel locks on a mount seen from a user namespace: a bind remount must keep them.
fn locked_flags(path: &Path) -> MsFlags {
    let Ok(st) = statvfs(path) else {
        return MsFlags::empty();
    };
    let f = st.flags();
    let mut out = MsFlags::empty();
    for (fs, ms) in [
        (FsFlags::ST_NOSUID, MsFlags::MS_NOSUID),
        (FsFlags::ST_NODEV, MsFlags::MS_NODEV),
        (FsFlags::ST_NOEXEC, MsFlags::MS_NOEXEC),
        (FsFlags::ST_NOATIME, MsFlags::MS_NOATIME),
        (FsFlags::ST_NODIRATIME, MsFlags::MS_NODIRATIME),
        (FsFlags::ST_RELATIME, MsFlags::MS_RELATIME),
    ] {
        if f.contains(fs) {
            out |= ms;
        }
    }
    out
}

fn is_dev_bind(mounts: &[Mount]) -> bool {
    mounts.iter().any(|m| {
        m.destination() == Path::new("/dev")
            && (m.typ().as_deref() == Some("bind")
                || m.options()
                    .iter()
                    .flatten()
                    .any(|o| o == "bind" || o == "rbind"))
    })
}

/// Everything before the root switch: propagation, rootfs bind, spec mounts, /dev.
/// `idmapped` holds the detached, already idmapped trees (index into `ctx.mounts`, mount fd),
/// made by the runtime on the host side because only it may idmap a host filesystem (see
/// [`idmap_requests`]).
pub fn prepare(
    ctx: &RootfsContext,
    idmapped: &[(usize, OwnedFd)],
    sys: &dyn Syscall,
) -> Result<()> {
    if ctx.switch == RootSwitch::Chroot {
        return Ok(());
    }
    // Keep host mount events flowing in but never out, unless the spec asks otherwise (runc):
    // `shared` keeps the host's peer groups, so a bidirectional bind stays a peer of its
    // source and what the container mounts under it appears on the host.
    let root_prop = ctx
        .propagation
        .and_then(propagation_flags)
        .unwrap_or(MsFlags::MS_SLAVE | MsFlags::MS_REC);
    sys.mount(None, Path::new("/"), None, root_prop, None)
        .map_err(mount_err("set propagation of", Path::new("/")))?;
    if root_prop.contains(MsFlags::MS_SHARED) {
        // The mount holding the rootfs must not be shared: the container's /proc, /dev and
        // binds would appear on the host, and pivot_root refuses a shared parent (runc's
        // rootfsParentMountPrivate).
        let holder = mount_point_of(ctx.rootfs)?;
        sys.mount(None, &holder, None, MsFlags::MS_PRIVATE, None)
            .map_err(mount_err("make private", &holder))?;
    }
    // pivot_root needs the new root to be a mount point.
    sys.mount(
        Some(ctx.rootfs),
        ctx.rootfs,
        None,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None,
    )
    .map_err(mount_err("bind rootfs", ctx.rootfs))?;
    for (index, m) in ctx.mounts.iter().enumerate() {
        let idmapped = idmapped
            .iter()
            .find(|(i, _)| *i == index)
            .map(|(_, fd)| fd.as_fd());
        mount_entry(ctx, m, idmapped, sys)?;
        tracing::debug!(
            destination = %m.destination().display(),
            typ = m.typ().as_deref().unwrap_or_default(),
            source = %m.source().as_deref().unwrap_or(Path::new("")).display(),
            options = ?m.options().as_deref().unwrap_or_default(),
            "mounted"
        );
    }
    if !is_dev_bind(ctx.mounts) {
        create_devices(ctx, sys)?;
        dev_symlinks(ctx, sys)?;
    }
    Ok(())
}

fn mount_entry(
    ctx: &RootfsContext,
    m: &Mount,
    idmapped: Option<BorrowedFd<'_>>,
    sys: &dyn Syscall,
) -> Result<()> {
    let opts = parse_options(m.options().as_deref().unwrap_or_default())?;
    let wants_idmap = opts.idmap != Idmap::No
        || m.uid_mappings().as_ref().is_some_and(|v| !v.is_empty())
        || m.gid_mappings().as_ref().is_some_and(|v| !v.is_empty());
    if wants_idmap && idmapped.is_none() {
        // A bind without the mapping would silently show the wrong owners: refuse instead.
        return Err(invalid_mount(
            m,
            "idmapped mount was not prepared by the runtime",
        ));
    }
    let typ = m
        .typ()
        .as_deref()
        .unwrap_or(if opts.bind { "bind" } else { "" });
    let bind = opts.bind || typ == "bind";
    let target = secure_join(ctx.rootfs, m.destination())?;
    let data = (!opts.data.is_empty()).then(|| opts.data.join(","));
    if typ == "cgroup" || typ == "cgroup2" {
        sys.mkdir_all(&target)
            .map_err(io_err("create mount point", &target))?;
        mount_cgroup(ctx, &target, &opts, sys)?;
        return set_recursive_attrs(&target, opts.recursive_attrs, sys);
    }
    if bind {
        let source = m.source().as_deref().ok_or_else(|| {
            Error::Init(format!(
                "bind mount to {} has no source",
                m.destination().display()
            ))
        })?;
        let meta = std::fs::metadata(source).map_err(io_err("bind mount source", source))?;
        if meta.is_dir() {
            sys.mkdir_all(&target)
                .map_err(io_err("create mount point", &target))?;
        } else {
            if let Some(parent) = target.parent() {
                sys.mkdir_all(parent)
                    .map_err(io_err("create mount point", parent))?;
            }
            sys.create_file(&target)
                .map_err(io_err("create mount point", &target))?;
        }
        let rec = if opts.recursive {
            MsFlags::MS_REC
        } else {
            MsFlags::empty()
        };
        match idmapped {
            // Cloned and idmapped by the runtime already; attaching it is all that is left.
            Some(tree) => sys
                .move_mount(tree, &target)
                .map_err(mount_err("attach idmapped mount at", &target))?,
            None => sys
                .mount(Some(source), &target, None, MsFlags::MS_BIND | rec, None)
                .map_err(mount_err("bind mount onto", &target))?,
        }
        // Bind mounts ignore flags on the first call; a remount applies ro/nosuid/….
        let extra = opts.flags & !MsFlags::MS_REMOUNT;
        if !extra.is_empty() {
            let flags =
                MsFlags::MS_BIND | MsFlags::MS_REMOUNT | rec | extra | locked_flags(&target);
            sys.mount(None, &target, None, flags, None)
                .map_err(mount_err("remount", &target))?;
        }
    } else if opts.tmpcopyup && typ == "tmpfs" {
        sys.mkdir_all(&target)
            .map_err(io_err("create mount point", &target))?;
        tmpfs_copy_up(&target, &opts, sys)?;
    } else {
        sys.mkdir_all(&target)
            .map_err(io_err("create mount point", &target))?;
        let source = m.source().clone().unwrap_or_else(|| PathBuf::from(typ));
        let result = sys.mount(
            Some(&source),
            &target,
            Some(typ),
            opts.flags,
            data.as_deref(),
        );
        match result {
            // Without its own net/ipc namespace a container may not mount sysfs/mqueue: bind the host's.
            Err(nix::errno::Errno::EPERM | nix::errno::Errno::EBUSY)
                if matches!(typ, "sysfs" | "mqueue") =>
            {
                let host = if typ == "sysfs" {
                    "/sys"
                } else {
                    "/dev/mqueue"
                };
                sys.mount(
                    Some(Path::new(host)),
                    &target,
                    None,
                    MsFlags::MS_BIND | MsFlags::MS_REC,
                    None,
                )
                .map_err(mount_err("bind mount onto", &target))?;
                if opts.flags.contains(MsFlags::MS_RDONLY) {
                    let flags = MsFlags::MS_BIND
                        | MsFlags::MS_REMOUNT
                        | MsFlags::MS_RDONLY
                        | locked_flags(&target);
                    sys.mount(None, &target, None, flags, None)
                        .map_err(mount_err("remount", &target))?;
                }
            }
            other => other.map_err(mount_err(&format!("mount {typ} on"), &target))?,
        }
    }
    set_recursive_attrs(&target, opts.recursive_attrs, sys)?;
    if !opts.propagation.is_empty() {
        sys.mount(None, &target, None, opts.propagation, None)
            .map_err(mount_err("set propagation of", &target))?;
    }
    Ok(())
}

/// The recursive options, on the mount just made at `target` and every mount below it. Never
/// left out where the kernel cannot do it: `rro` falling back to `ro` would leave submounts
/// writable.
fn set_recursive_attrs(target: &Path, attrs: RecursiveAttrs, sys: &dyn Syscall) -> Result<()> {
    if attrs.is_empty() {
        return Ok(());
    }
    sys.set_attrs_recursive(target, attrs.set, attrs.clear)
        .map_err(|e| {
            let why = match e {
                Errno::ENOSYS => " (recursive mount options such as rro need Linux 5.12)",
                Errno::EINVAL if (attrs.set | attrs.clear).intersects(MountAttrs::NOSYMFOLLOW) => {
                    " (rnosymfollow/rsymfollow need Linux 5.14)"
                }
                _ => "",
            };
            crate::error::sys(format!(
                "set recursive mount options on {}{why}",
                target.display()
            ))(e)
        })
}

/// Superblock flags of mount(2) and their fsconfig names.
const SB_FLAG_WORDS: [(MsFlags, &str); 4] = [
    (MsFlags::MS_SYNCHRONOUS, "sync"),
    (MsFlags::MS_DIRSYNC, "dirsync"),
    (MsFlags::MS_LAZYTIME, "lazytime"),
    (MsFlags::MS_MANDLOCK, "mand"),
];

/// `tmpcopyup`: a detached tmpfs is filled with the content of `target` (which it is about to
/// cover), then attached over it, so the directory never shows up empty or half copied.
fn tmpfs_copy_up(target: &Path, opts: &MountOptions, sys: &dyn Syscall) -> Result<()> {
    let mut options = opts.data.clone();
    for (flag, word) in SB_FLAG_WORDS {
        if opts.flags.contains(flag) {
            options.push(word.to_string());
        }
    }
    let tree = sys
        .new_mount("tmpfs", &options)
        .map_err(mount_err("create tmpfs for", target))?;
    // The covered directory's owner and mode, unless the mount sets them (a tmpfs root is 1777
    // by default, wrong for /etc or /var).
    let root_attrs = !opts
        .data
        .iter()
        .any(|d| ["mode=", "uid=", "gid="].iter().any(|k| d.starts_with(k)));
    sys.copy_into(target, tree.as_fd(), root_attrs)
        .map_err(io_err("copy up into tmpfs", target))?;
    sys.move_mount(tree.as_fd(), target)
        .map_err(mount_err("attach tmpfs at", target))?;
    // Per-mount flags (ro, nosuid, ...) after the copy, which a read-only mount would refuse.
    let sb_flags = SB_FLAG_WORDS
        .iter()
        .fold(MsFlags::MS_REMOUNT, |acc, (f, _)| acc | *f);
    let mount_flags = opts.flags & !sb_flags;
    if !mount_flags.is_empty() {
        sys.mount(
            None,
            target,
            None,
            MsFlags::MS_BIND | MsFlags::MS_REMOUNT | mount_flags,
            None,
        )
        .map_err(mount_err("remount", target))?;
    }
    Ok(())
}

fn mount_cgroup(
    ctx: &RootfsContext,
    target: &Path,
    opts: &MountOptions,
    sys: &dyn Syscall,
) -> Result<()> {
    let ro = opts.flags & MsFlags::MS_RDONLY;
    let base = opts.flags & !MsFlags::MS_RDONLY;
    match &ctx.cgroup {
        CgroupMountSource::V2(dir) => {
            if ctx.new_cgroup_ns {
                sys.mount(
                    Some(Path::new("cgroup2")),
                    target,
                    Some("cgroup2"),
                    opts.flags,
                    None,
                )
                .map_err(mount_err("mount cgroup2 on", target))?;
            } else {
                sys.mount(
                    Some(dir),
                    target,
                    None,
                    MsFlags::MS_BIND | MsFlags::MS_REC,
                    None,
                )
                .map_err(mount_err("bind cgroup onto", target))?;
                let flags =
                    MsFlags::MS_BIND | MsFlags::MS_REMOUNT | opts.flags | locked_flags(target);
                sys.mount(None, target, None, flags, None)
                    .map_err(mount_err("remount", target))?;
            }
        }
        CgroupMountSource::V1(hierarchies) => {
            // A tmpfs holding one bind mount per hierarchy (the container's own cgroup), as runc does.
            sys.mount(
                Some(Path::new("tmpfs")),
                target,
                Some("tmpfs"),
                base,
                Some("mode=755"),
            )
            .map_err(mount_err("mount cgroup tmpfs on", target))?;
            for (name, host_dir) in hierarchies {
                let sub = target.join(name);
                sys.mkdir_all(&sub)
                    .map_err(io_err("create mount point", &sub))?;
                sys.mount(
                    Some(host_dir),
                    &sub,
                    None,
                    MsFlags::MS_BIND | MsFlags::MS_REC,
                    None,
                )
                .map_err(mount_err("bind cgroup onto", &sub))?;
                let flags =
                    MsFlags::MS_BIND | MsFlags::MS_REMOUNT | opts.flags | locked_flags(&sub);
                sys.mount(None, &sub, None, flags, None)
                    .map_err(mount_err("remount", &sub))?;
            }
            if !ro.is_empty() {
                sys.mount(
                    None,
                    target,
                    None,
                    MsFlags::MS_REMOUNT | opts.flags,
                    Some("mode=755"),
                )
                .map_err(mount_err("remount", target))?;
            }
        }
    }
    Ok(())
}

const DEFAULT_DEVICES: [(&str, u64, u64); 6] = [
    ("null", 1, 3),
    ("zero", 1, 5),
    ("full", 1, 7),
    ("random", 1, 8),
    ("urandom", 1, 9),
    ("tty", 5, 0),
];

fn create_devices(ctx: &RootfsContext, sys: &dyn Syscall) -> Result<()> {
    let dev = secure_join(ctx.rootfs, Path::new("/dev"))?;
    sys.mkdir_all(&dev).map_err(io_err("create", &dev))?;
    let explicit: Vec<&Path> = ctx.devices.iter().map(|d| d.path().as_path()).collect();
    for (name, major, minor) in DEFAULT_DEVICES {
        let path = PathBuf::from("/dev").join(name);
        if explicit.contains(&path.as_path()) {
            continue;
        }
        make_device(
            ctx,
            sys,
            &path,
            SFlag::S_IFCHR,
            major,
            minor,
            0o666,
            Some(0),
            Some(0),
        )?;
    }
    for d in ctx.devices {
        let kind = match d.typ() {
            LinuxDeviceType::C | LinuxDeviceType::U => SFlag::S_IFCHR,
            LinuxDeviceType::B => SFlag::S_IFBLK,
            LinuxDeviceType::P => SFlag::S_IFIFO,
            LinuxDeviceType::A => {
                return Err(Error::Init(format!(
                    "device {}: type 'a' is only valid in cgroup rules",
                    d.path().display()
                )))
            }
        };
        let mode = d.file_mode().unwrap_or(0o666) & 0o7777;
        make_device(
            ctx,
            sys,
            d.path(),
            kind,
            d.major() as u64,
            d.minor() as u64,
            mode,
            d.uid(),
            d.gid(),
        )?;
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn make_device(
    ctx: &RootfsContext,
    sys: &dyn Syscall,
    path: &Path,
    kind: SFlag,
    major: u64,
    minor: u64,
    mode: u32,
    uid: Option<u32>,
    gid: Option<u32>,
) -> Result<()> {
    let target = secure_join(ctx.rootfs, path)?;
    if let Some(parent) = target.parent() {
        sys.mkdir_all(parent).map_err(io_err("create", parent))?;
    }
    if ctx.in_user_ns {
        sys.create_file(&target)
            .map_err(io_err("create device mount point", &target))?;
        return sys
            .mount(Some(path), &target, None, MsFlags::MS_BIND, None)
            .map_err(mount_err("bind device onto", &target));
    }
    let dev = nix::sys::stat::makedev(major, minor);
    match sys.mknod(&target, kind, Mode::from_bits_truncate(mode), dev) {
        Err(nix::errno::Errno::EEXIST) => {}
        other => other.map_err(mount_err("mknod", &target))?,
    }
    // mknod is filtered by the umask; set the mode explicitly.
    sys.chmod(&target, mode).map_err(io_err("chmod", &target))?;
    if uid.is_some() || gid.is_some() {
        sys.chown(&target, uid, gid)
            .map_err(mount_err("chown", &target))?;
    }
    Ok(())
}

fn dev_symlinks(ctx: &RootfsContext, sys: &dyn Syscall) -> Result<()> {
    let dev = secure_join(ctx.rootfs, Path::new("/dev"))?;
    for (link, target) in [
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
    ] {
        let p = dev.join(link);
        sys.symlink(Path::new(target), &p)
            .map_err(io_err("symlink", &p))?;
    }
    if ctx
        .mounts
        .iter()
        .any(|m| m.typ().as_deref() == Some("devpts"))
    {
        let ptmx = dev.join("ptmx");
        // The devpts instance's own ptmx, not the host's.
        let _ = std::fs::remove_file(&ptmx);
        sys.symlink(Path::new("pts/ptmx"), &ptmx)
            .map_err(io_err("symlink", &ptmx))?;
    }
    Ok(())
}

/// Makes the rootfs `/`: pivot_root and drop the old root, move over it, or only chroot.
pub fn switch_root(ctx: &RootfsContext, sys: &dyn Syscall) -> Result<()> {
    sys.chdir(ctx.rootfs)
        .map_err(mount_err("chdir", ctx.rootfs))?;
    let dot = Path::new(".");
    match ctx.switch {
        RootSwitch::Pivot => {
            let old_root = sys
                .open_dir(Path::new("/"))
                .map_err(mount_err("open old root", Path::new("/")))?;
            // pivot_root(".", ".") stacks the old root on top; detach it without a temp dir.
            sys.pivot_root(dot, dot)
                .map_err(mount_err("pivot_root", ctx.rootfs))?;
            // "." must be the old root (runc's fchdir): from the new root it would name the
            // new root, and the slave flag would cut every container mount off its host peers
            // (a bidirectional bind would stop propagating back).
            sys.fchdir(old_root.as_fd())
                .map_err(mount_err("fchdir to old root", ctx.rootfs))?;
            sys.mount(None, dot, None, MsFlags::MS_SLAVE | MsFlags::MS_REC, None)
                .map_err(mount_err("make old root slave", ctx.rootfs))?;
            sys.umount2(dot, MntFlags::MNT_DETACH)
                .map_err(mount_err("detach old root", ctx.rootfs))?;
        }
        RootSwitch::Move => {
            sys.mount(
                Some(ctx.rootfs),
                Path::new("/"),
                None,
                MsFlags::MS_MOVE,
                None,
            )
            .map_err(mount_err("move rootfs", ctx.rootfs))?;
            sys.chroot(dot).map_err(mount_err("chroot", ctx.rootfs))?;
        }
        RootSwitch::Chroot => sys.chroot(dot).map_err(mount_err("chroot", ctx.rootfs))?,
    }
    sys.chdir(Path::new("/"))
        .map_err(mount_err("chdir", Path::new("/")))?;
    tracing::debug!(
        switch = ?ctx.switch,
        "root switched to {}",
        ctx.rootfs.display()
    );
    Ok(())
}

/// After the root switch: read-only and masked paths, read-only root, final propagation.
pub fn finalize(ctx: &RootfsContext, sys: &dyn Syscall) -> Result<()> {
    if ctx.switch == RootSwitch::Chroot {
        return Ok(());
    }
    for p in ctx.readonly_paths {
        let path = Path::new(p);
        if !path.exists() {
            continue;
        }
        sys.mount(
            Some(path),
            path,
            None,
            MsFlags::MS_BIND | MsFlags::MS_REC,
            None,
        )
        .map_err(mount_err("bind read-only path", path))?;
        let flags = MsFlags::MS_BIND
            | MsFlags::MS_REMOUNT
            | MsFlags::MS_RDONLY
            | MsFlags::MS_REC
            | locked_flags(path);
        sys.mount(None, path, None, flags, None)
            .map_err(mount_err("remount read-only", path))?;
    }
    for p in ctx.masked_paths {
        let path = Path::new(p);
        match std::fs::metadata(path) {
            Ok(m) if m.is_dir() => sys
                .mount(
                    Some(Path::new("tmpfs")),
                    path,
                    Some("tmpfs"),
                    MsFlags::MS_RDONLY,
                    None,
                )
                .map_err(mount_err("mask", path))?,
            Ok(_) => sys
                .mount(
                    Some(Path::new("/dev/null")),
                    path,
                    None,
                    MsFlags::MS_BIND,
                    None,
                )
                .map_err(mount_err("mask", path))?,
            Err(_) => continue,
        }
    }
    if ctx.readonly {
        let root = Path::new("/");
        let flags =
            MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY | locked_flags(root);
        sys.mount(None, root, None, flags, None)
            .map_err(mount_err("remount read-only", root))?;
    }
    if let Some(p) = ctx.propagation {
        let flags = propagation_flags(p).ok_or_else(|| {
            Error::Init(format!("rootfsPropagation {p:?} is not a propagation mode"))
        })?;
        sys.mount(None, Path::new("/"), None, flags, None)
            .map_err(mount_err("set propagation of", Path::new("/")))?;
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
