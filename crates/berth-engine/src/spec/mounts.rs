//! Mounts: Docker's defaults (moby `oci/defaults.go`), `-v` bind strings, `--tmpfs`, and the
//! ordering and override rules of moby `daemon/oci_linux.go` `WithMounts`.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use oci_spec::runtime::Mount;

use super::error::{invalid, SpecError};

/// `/dev/shm` size when `--shm-size` is not given: 64 MiB.
pub const DEFAULT_SHM_SIZE: i64 = 64 * 1024 * 1024;

pub(crate) fn mount(destination: &str, typ: &str, source: &str, options: &[&str]) -> Mount {
    let mut m = Mount::default();
    m.set_destination(PathBuf::from(destination));
    m.set_typ(Some(typ.to_string()));
    m.set_source(Some(PathBuf::from(source)));
    m.set_options(Some(options.iter().map(|o| o.to_string()).collect()));
    m
}

/// dockerd's default mounts, in its order. `/dev/shm` is included with its size; the caller
/// removes it when the IPC mode provides its own or none.
pub(crate) fn default_mounts(shm_size: i64) -> Vec<Mount> {
    let shm_size = format!("size={shm_size}");
    vec![
        mount("/proc", "proc", "proc", &["nosuid", "noexec", "nodev"]),
        mount(
            "/dev",
            "tmpfs",
            "tmpfs",
            &["nosuid", "strictatime", "mode=755", "size=65536k"],
        ),
        mount(
            "/dev/pts",
            "devpts",
            "devpts",
            &[
                "nosuid",
                "noexec",
                "newinstance",
                "ptmxmode=0666",
                "mode=0620",
                "gid=5",
            ],
        ),
        mount(
            "/sys",
            "sysfs",
            "sysfs",
            &["nosuid", "noexec", "nodev", "ro"],
        ),
        mount(
            "/sys/fs/cgroup",
            "cgroup",
            "cgroup",
            &["ro", "nosuid", "noexec", "nodev"],
        ),
        mount(
            "/dev/mqueue",
            "mqueue",
            "mqueue",
            &["nosuid", "noexec", "nodev"],
        ),
        mount(
            "/dev/shm",
            "tmpfs",
            "shm",
            &["nosuid", "noexec", "nodev", "mode=1777", &shm_size],
        ),
    ]
}

/// A named or anonymous volume the engine must create or look up, then mount with
/// [`super::BuiltSpec::mount_volume`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeRequest {
    /// `None` for an anonymous volume (`-v /data` or an image `VOLUME`).
    pub name: Option<String>,
    pub destination: PathBuf,
    pub read_only: bool,
    /// `nocopy`: do not copy the image's content at `destination` into a new volume.
    pub nocopy: bool,
}

impl VolumeRequest {
    /// The spec mount for this volume once the engine knows where its data lives.
    pub fn to_mount(&self, source: &Path) -> Mount {
        let mut m = Mount::default();
        m.set_destination(self.destination.clone());
        m.set_typ(Some("bind".into()));
        m.set_source(Some(source.to_path_buf()));
        let mut options = vec!["rbind".to_string()];
        if self.read_only {
            options.push("ro".into());
        }
        m.set_options(Some(options));
        m
    }
}

/// A `-v` string, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BindSpec {
    /// A host path bind mount.
    HostPath {
        source: PathBuf,
        destination: PathBuf,
        read_only: bool,
        /// `private`, `rprivate` (the default), `shared`, `rshared`, `slave` or `rslave`.
        propagation: &'static str,
    },
    Volume(VolumeRequest),
}

const PROPAGATIONS: [&str; 6] = [
    "private", "rprivate", "shared", "rshared", "slave", "rslave",
];

/// Parses Docker's Linux `-v` syntax: `dst`, `src:dst` or `src:dst:mode`, where `src` is an
/// absolute host path or a volume name and mode is a comma list of at most one each of
/// `ro`/`rw`, `z`/`Z` (accepted, no SELinux relabel here), a propagation, and `nocopy`.
pub fn parse_bind(spec: &str) -> Result<BindSpec, SpecError> {
    let err = |reason| SpecError::InvalidBind {
        spec: spec.to_string(),
        reason,
    };
    let parts: Vec<&str> = spec.split(':').collect();
    let (source, destination, mode) = match parts.as_slice() {
        [dst] => ("", *dst, ""),
        [src, dst] if valid_mode(dst) => {
            return Err(err(if src.is_empty() {
                "empty section"
            } else {
                "a volume needs a destination before its mode"
            }))
        }
        [src, dst] => (*src, *dst, ""),
        [src, dst, mode] => (*src, *dst, *mode),
        _ => return Err(err("too many colons")),
    };
    if destination.is_empty() {
        return Err(err("empty destination"));
    }
    let destination = container_path("Binds", destination)?;
    if destination == Path::new("/") {
        return Err(err("destination can't be '/'"));
    }
    if !valid_mode(mode) {
        return Err(err("invalid mode"));
    }
    let modes: Vec<&str> = mode.split(',').filter(|m| !m.is_empty()).collect();
    let read_only = modes.contains(&"ro");
    let nocopy = modes.contains(&"nocopy");
    let propagation = PROPAGATIONS.iter().find(|p| modes.contains(p)).copied();

    if source.is_empty() {
        if propagation.is_some() {
            return Err(err("propagation applies to bind mounts only"));
        }
        return Ok(BindSpec::Volume(VolumeRequest {
            name: None,
            destination,
            read_only,
            nocopy,
        }));
    }
    if source.starts_with('/') {
        if nocopy {
            return Err(err("nocopy applies to volumes only"));
        }
        return Ok(BindSpec::HostPath {
            source: clean(Path::new(source)),
            destination,
            read_only,
            propagation: propagation.unwrap_or("rprivate"),
        });
    }
    if !valid_volume_name(source) {
        return Err(err(
            "source is neither an absolute path nor a volume name ([a-zA-Z0-9][a-zA-Z0-9_.-]+)",
        ));
    }
    if propagation.is_some() {
        return Err(err("propagation applies to bind mounts only"));
    }
    Ok(BindSpec::Volume(VolumeRequest {
        name: Some(source.to_string()),
        destination,
        read_only,
        nocopy,
    }))
}

/// moby `linuxValidMountMode`: known words, at most one of each kind.
fn valid_mode(mode: &str) -> bool {
    if mode.is_empty() {
        return true;
    }
    let mut counts = [0u8; 4];
    for m in mode.split(',') {
        let kind = match m {
            "rw" | "ro" => 0,
            "z" | "Z" => 1,
            "nocopy" => 2,
            // Docker for Mac's consistency hints are accepted and ignored on Linux.
            "consistent" | "cached" | "delegated" => continue,
            p if PROPAGATIONS.contains(&p) => 3,
            _ => return false,
        };
        counts[kind] += 1;
        if counts[kind] > 1 {
            return false;
        }
    }
    true
}

/// The local volume driver's name rule.
fn valid_volume_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && name.len() >= 2
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

/// An absolute, lexically cleaned container path.
pub(crate) fn container_path(option: &'static str, path: &str) -> Result<PathBuf, SpecError> {
    if !path.starts_with('/') {
        return Err(SpecError::RelativePath {
            option,
            path: path.to_string(),
        });
    }
    Ok(clean(Path::new(path)))
}

/// Go's `filepath.Clean` for absolute paths: drops `.`, resolves `..` lexically.
fn clean(path: &Path) -> PathBuf {
    let mut out = PathBuf::from("/");
    for c in path.components() {
        match c {
            Component::Normal(p) => out.push(p),
            Component::ParentDir => {
                out.pop();
            }
            _ => {}
        }
    }
    out
}

/// Mount flags whose words collide (`ro` vs `rw`, ...): the key of each pair.
fn flag_key(option: &str) -> Option<&'static str> {
    Some(match option {
        "ro" | "rw" => "ro",
        "suid" | "nosuid" => "suid",
        "dev" | "nodev" => "dev",
        "exec" | "noexec" => "exec",
        "sync" | "async" => "sync",
        "dirsync" => "dirsync",
        "remount" => "remount",
        "mand" | "nomand" => "mand",
        "atime" | "noatime" => "atime",
        "diratime" | "nodiratime" => "diratime",
        "relatime" | "norelatime" => "relatime",
        "strictatime" | "nostrictatime" => "strictatime",
        "bind" | "rbind" => "bind",
        "unbindable" | "runbindable" => "unbindable",
        p if PROPAGATIONS.contains(&p) => "propagation",
        _ => return None,
    })
}

/// A `--tmpfs` mount: Docker's defaults `noexec,nosuid,nodev,rprivate`, then the user's options,
/// later words winning (moby `mount.MergeTmpfsOptions`).
pub(crate) fn tmpfs_mount(destination: &Path, data: &str) -> Result<Mount, SpecError> {
    let given = data.split(',').filter(|o| !o.is_empty());
    let all: Vec<&str> = ["noexec", "nosuid", "nodev", "rprivate"]
        .into_iter()
        .chain(given)
        .collect();
    let mut seen_flags = Vec::new();
    let mut seen_data = Vec::new();
    let mut merged = Vec::new();
    for option in all.iter().rev() {
        if *option == "defaults" {
            continue;
        }
        if let Some(key) = flag_key(option) {
            if !seen_flags.contains(&key) {
                seen_flags.push(key);
                merged.push(option.to_string());
            }
            continue;
        }
        let key = match option.split_once('=') {
            Some((
                k @ ("size" | "mode" | "uid" | "gid" | "nr_inodes" | "nr_blocks" | "mpol"),
                _,
            )) => k,
            _ => {
                return Err(SpecError::InvalidTmpfsOption {
                    destination: destination.display().to_string(),
                    option: option.to_string(),
                })
            }
        };
        if !seen_data.contains(&key) {
            seen_data.push(key);
            merged.push(option.to_string());
        }
    }
    merged.reverse();
    let mut m = Mount::default();
    m.set_destination(destination.to_path_buf());
    m.set_typ(Some("tmpfs".into()));
    m.set_source(Some("tmpfs".into()));
    m.set_options(Some(merged));
    Ok(m)
}

/// A host-path bind as dockerd writes it: `rbind`, `ro` when read-only, then the propagation.
pub(crate) fn bind_mount(
    source: &Path,
    destination: &Path,
    read_only: bool,
    propagation: &str,
) -> Mount {
    let mut m = Mount::default();
    m.set_destination(destination.to_path_buf());
    m.set_typ(Some("bind".into()));
    m.set_source(Some(source.to_path_buf()));
    let mut options = vec!["rbind".to_string()];
    if read_only {
        options.push("ro".into());
    }
    options.push(propagation.to_string());
    m.set_options(Some(options));
    m
}

/// The user's mounts: `-v` binds, `--tmpfs`, and the volumes the engine must provide.
#[derive(Debug, Default)]
pub(crate) struct UserMounts {
    pub mounts: Vec<Mount>,
    pub volumes: Vec<VolumeRequest>,
    /// Set when a bind asks for shared or slave propagation, which needs the rootfs to match.
    pub rootfs_propagation: Option<&'static str>,
}

impl UserMounts {
    pub fn destinations(&self) -> impl Iterator<Item = &Path> {
        self.mounts
            .iter()
            .map(|m| m.destination().as_path())
            .chain(self.volumes.iter().map(|v| v.destination.as_path()))
    }
}

/// Parses binds and tmpfs, refusing two mounts at one place; then adds an anonymous volume for
/// each image/request `Volumes` path nothing else covers.
pub(crate) fn user_mounts(
    binds: &[String],
    tmpfs: &BTreeMap<String, String>,
    volumes: impl IntoIterator<Item = String>,
) -> Result<UserMounts, SpecError> {
    let mut out = UserMounts::default();
    let mut taken: Vec<PathBuf> = Vec::new();
    let mut claim = |dest: &Path| {
        if taken.iter().any(|t| t == dest) {
            return Err(SpecError::DuplicateMountPoint(dest.to_path_buf()));
        }
        taken.push(dest.to_path_buf());
        Ok(())
    };
    for bind in binds {
        match parse_bind(bind)? {
            BindSpec::HostPath {
                source,
                destination,
                read_only,
                propagation,
            } => {
                claim(&destination)?;
                match propagation {
                    "shared" | "rshared" => out.rootfs_propagation = Some("shared"),
                    "slave" | "rslave" if out.rootfs_propagation.is_none() => {
                        out.rootfs_propagation = Some("rslave")
                    }
                    _ => {}
                }
                out.mounts
                    .push(bind_mount(&source, &destination, read_only, propagation));
            }
            BindSpec::Volume(v) => {
                claim(&v.destination)?;
                out.volumes.push(v);
            }
        }
    }
    for (dest, data) in tmpfs {
        let dest = container_path("Tmpfs", dest)?;
        claim(&dest)?;
        out.mounts.push(tmpfs_mount(&dest, data)?);
    }
    for path in volumes {
        let destination = container_path("Volumes", &path)?;
        if !out.destinations().any(|d| d == destination) {
            out.volumes.push(VolumeRequest {
                name: None,
                destination,
                read_only: false,
                nocopy: false,
            });
        }
    }
    Ok(out)
}

/// Docker orders user mounts by depth so a parent is mounted before what goes inside it.
pub(crate) fn depth(m: &Mount) -> usize {
    m.destination()
        .components()
        .filter(|c| matches!(c, Component::Normal(_)))
        .count()
}

/// Validates the `--shm-size` value and applies Docker's default.
pub(crate) fn shm_size(given: i64) -> Result<i64, SpecError> {
    match given {
        0 => Ok(DEFAULT_SHM_SIZE),
        n if n < 0 => Err(invalid("ShmSize", n, "can not be less than 0")),
        n => Ok(n),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
