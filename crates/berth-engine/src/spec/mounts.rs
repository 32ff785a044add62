//! Mounts: Docker's defaults (moby `oci/defaults.go`), `-v` bind strings, `--tmpfs`, and the
//! ordering and override rules of moby `daemon/oci_linux.go` `WithMounts`.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use oci_spec::runtime::Mount;
use serde::{Deserialize, Serialize};

use super::error::{invalid, SpecError};
use super::options::{CreateOptions, ImageConfig, MountSpec};
use crate::model;

/// `/dev/shm` size when `--shm-size` is not given: 64 MiB.
pub const DEFAULT_SHM_SIZE: u64 = 64 * 1024 * 1024;

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
pub(crate) fn default_mounts(shm_size: u64) -> Vec<Mount> {
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
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VolumeRequest {
    /// `None` for an anonymous volume (`-v /data` or an image `VOLUME`).
    pub name: Option<String>,
    pub destination: PathBuf,
    pub read_only: bool,
    /// `nocopy`: do not copy the image's content at `destination` into a new volume.
    pub nocopy: bool,
    /// Driver of a volume this request creates (`--mount volume-driver=`); empty: the
    /// container's `VolumeDriver`, else `local`.
    pub driver: String,
    /// Driver options and labels of a volume this request creates (`volume-opt`, `volume-label`).
    pub driver_options: BTreeMap<String, String>,
    pub labels: BTreeMap<String, String>,
    /// The `-v` mode text, which `docker inspect` shows as `Mode`.
    pub mode: String,
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

/// A host path bind mount (`-v /src:/dst` or `--mount type=bind`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostBind {
    pub source: PathBuf,
    pub destination: PathBuf,
    pub read_only: bool,
    /// `private`, `rprivate` (the default), `shared`, `rshared`, `slave` or `rslave`.
    pub propagation: &'static str,
    /// `rbind`, unless `bind-nonrecursive`.
    pub recursive: bool,
    /// `rro`: submounts read-only too (the CRI's `recursive_read_only`); Docker's parsers
    /// never set it.
    pub recursive_read_only: bool,
    /// dockerd creates a missing source directory for `-v`; `--mount` refuses it.
    pub create_missing: bool,
    /// An id-mapped bind (`idmap`/`ridmap` with the mount's mappings); Docker's parsers never
    /// set it.
    pub idmap: Option<crate::model::UserNamespace>,
    /// The `-v` mode text, shown as `Mode` by inspect.
    pub mode: String,
}

/// One user mount request, parsed from `-v` ([`parse_bind`]) or `--mount` ([`parse_mount`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MountRequest {
    Bind(HostBind),
    Volume(VolumeRequest),
    /// `--mount type=tmpfs`: `options` in `--tmpfs` syntax.
    Tmpfs {
        destination: PathBuf,
        options: String,
    },
}

/// What a [`MountPoint`] mounts; serialized as inspect's `Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MountType {
    Bind,
    Volume,
    Tmpfs,
}

impl MountType {
    /// The name inspect and `--mount type=` use.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Bind => "bind",
            Self::Volume => "volume",
            Self::Tmpfs => "tmpfs",
        }
    }
}

/// A user mount as `docker inspect` shows it in `Mounts`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MountPoint {
    #[serde(rename = "Type")]
    pub kind: MountType,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    pub source: PathBuf,
    pub destination: PathBuf,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub driver: String,
    pub mode: String,
    #[serde(rename = "RW")]
    pub rw: bool,
    pub propagation: String,
}

const PROPAGATIONS: [&str; 6] = [
    "private", "rprivate", "shared", "rshared", "slave", "rslave",
];

/// Parses Docker's Linux `-v` syntax: `dst`, `src:dst` or `src:dst:mode`, where `src` is an
/// absolute host path or a volume name and mode is a comma list of at most one each of
/// `ro`/`rw`, `z`/`Z` (accepted, no SELinux relabel here), a propagation, and `nocopy`.
pub fn parse_bind(spec: &str) -> Result<MountRequest, SpecError> {
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

    if source.starts_with('/') {
        if nocopy {
            return Err(err("nocopy applies to volumes only"));
        }
        return Ok(MountRequest::Bind(HostBind {
            source: clean(Path::new(source)),
            destination,
            read_only,
            propagation: propagation.unwrap_or("rprivate"),
            recursive: true,
            recursive_read_only: false,
            create_missing: true,
            mode: mode.to_string(),
            idmap: None,
        }));
    }
    if propagation.is_some() {
        return Err(err("propagation applies to bind mounts only"));
    }
    let name = if source.is_empty() {
        None
    } else if valid_volume_name(source) {
        Some(source.to_string())
    } else {
        return Err(err(
            "source is neither an absolute path nor a volume name ([a-zA-Z0-9][a-zA-Z0-9_.-]+)",
        ));
    };
    Ok(MountRequest::Volume(VolumeRequest {
        name,
        destination,
        read_only,
        nocopy,
        // What dockerd shows for a volume given without a mode.
        mode: if mode.is_empty() { "z" } else { mode }.to_string(),
        ..Default::default()
    }))
}

/// Validates one `--mount` as moby's `validateMountConfig` does, naming the field at fault.
pub fn parse_mount(m: &MountSpec) -> Result<MountRequest, SpecError> {
    let err = |reason: &'static str| SpecError::InvalidMount {
        kind: m.kind.clone(),
        target: m.target.clone(),
        reason,
    };
    if m.target.is_empty() {
        return Err(err("field Target must not be empty"));
    }
    let destination = container_path("Mounts", &m.target)?;
    if destination == Path::new("/") {
        return Err(err("invalid specification: destination can't be '/'"));
    }
    let only = |bind: bool, volume: bool, tmpfs: bool| {
        if !bind && m.bind_options.is_some() {
            return Err(err("field BindOptions must not be specified"));
        }
        if !volume && m.volume_options.is_some() {
            return Err(err("field VolumeOptions must not be specified"));
        }
        if !tmpfs && m.tmpfs_options.is_some() {
            return Err(err("field TmpfsOptions must not be specified"));
        }
        Ok(())
    };
    match m.kind.as_str() {
        "bind" => {
            only(true, false, false)?;
            if m.source.is_empty() {
                return Err(err("field Source must not be empty"));
            }
            if !m.source.starts_with('/') {
                return Err(err("invalid mount path: must be absolute"));
            }
            let opts = m.bind_options.clone().unwrap_or_default();
            let propagation = match opts.propagation.as_str() {
                "" => "rprivate",
                p => PROPAGATIONS
                    .iter()
                    .find(|known| **known == p)
                    .copied()
                    .ok_or_else(|| err("invalid propagation mode"))?,
            };
            Ok(MountRequest::Bind(HostBind {
                source: clean(Path::new(&m.source)),
                destination,
                read_only: m.read_only,
                propagation,
                recursive: !opts.non_recursive,
                recursive_read_only: false,
                create_missing: opts.create_mountpoint,
                mode: String::new(),
                idmap: None,
            }))
        }
        "volume" => {
            only(false, true, false)?;
            if !m.source.is_empty() && !valid_volume_name(&m.source) {
                return Err(err(
                    "invalid volume name: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed",
                ));
            }
            let opts = m.volume_options.clone().unwrap_or_default();
            if !opts.subpath.is_empty() {
                return Err(err("volume subpath is not supported"));
            }
            let driver = opts.driver_config.unwrap_or_default();
            Ok(MountRequest::Volume(VolumeRequest {
                name: (!m.source.is_empty()).then(|| m.source.clone()),
                destination,
                read_only: m.read_only,
                nocopy: opts.no_copy,
                driver: driver.name,
                driver_options: driver.options,
                labels: opts.labels,
                mode: String::new(),
            }))
        }
        "tmpfs" => {
            only(false, false, true)?;
            if !m.source.is_empty() {
                return Err(err("field Source must not be specified"));
            }
            let opts = m.tmpfs_options.clone().unwrap_or_default();
            if opts.size_bytes < 0 {
                return Err(err("invalid tmpfs size"));
            }
            let mut options = Vec::new();
            if opts.size_bytes > 0 {
                options.push(format!("size={}", opts.size_bytes));
            }
            if opts.mode != 0 {
                options.push(format!("mode={:o}", opts.mode & 0o7777));
            }
            if m.read_only {
                options.push("ro".into());
            }
            Ok(MountRequest::Tmpfs {
                destination,
                options: options.join(","),
            })
        }
        _ => Err(err("mount type unknown")),
    }
}

/// `--volumes-from <container>[:ro|:rw]`: the container, and `Some(read_only)` when a mode is
/// given (else each mount keeps its own).
pub(crate) fn parse_volumes_from(from: &str) -> Result<(&str, Option<bool>), SpecError> {
    let (name, mode) = from.split_once(':').unwrap_or((from, ""));
    let read_only = match mode {
        "" => None,
        "ro" => Some(true),
        "rw" => Some(false),
        _ => return Err(invalid("VolumesFrom", from, "invalid mode: want ro or rw")),
    };
    Ok((name, read_only))
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

/// The local volume driver's name rule: `[a-zA-Z0-9][a-zA-Z0-9_.-]+` (so no `/`, and no `..`
/// since the first character cannot be a dot).
pub fn valid_volume_name(name: &str) -> bool {
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
    host_bind_mount(
        source,
        destination,
        read_only,
        propagation,
        true,
        false,
        None,
    )
}

fn host_bind_mount(
    source: &Path,
    destination: &Path,
    read_only: bool,
    propagation: &str,
    recursive: bool,
    recursive_read_only: bool,
    idmap: Option<&crate::model::UserNamespace>,
) -> Mount {
    let mut m = Mount::default();
    m.set_destination(destination.to_path_buf());
    m.set_typ(Some("bind".into()));
    m.set_source(Some(source.to_path_buf()));
    let mut options = vec![if recursive { "rbind" } else { "bind" }.to_string()];
    if read_only {
        options.push("ro".into());
    }
    if recursive_read_only {
        options.push("rro".into());
    }
    options.push(propagation.to_string());
    if let Some(map) = idmap {
        // The runtime-spec's mount extension: `ridmap` maps the submounts too.
        options.push(if recursive { "ridmap" } else { "idmap" }.into());
        m.set_uid_mappings(Some(oci_id_mappings(&map.uid_mappings)));
        m.set_gid_mappings(Some(oci_id_mappings(&map.gid_mappings)));
    }
    m.set_options(Some(options));
    m
}

/// The engine's id mappings as the runtime-spec's.
pub(crate) fn oci_id_mappings(
    maps: &[crate::model::IdMapping],
) -> Vec<oci_spec::runtime::LinuxIdMapping> {
    maps.iter()
        .map(|m| {
            oci_spec::runtime::LinuxIdMappingBuilder::default()
                .container_id(m.container_id)
                .host_id(m.host_id)
                .size(m.size)
                .build()
                // Every field is set and the builder validates nothing: it cannot fail.
                .unwrap_or_default()
        })
        .collect()
}

/// The user's mounts: `-v` binds, `--mount`, `--tmpfs`, and the volumes the engine must provide.
#[derive(Debug, Default)]
pub(crate) struct UserMounts {
    pub mounts: Vec<Mount>,
    pub volumes: Vec<VolumeRequest>,
    /// Binds and `--mount` tmpfs as inspect shows them (volumes are added once resolved).
    pub points: Vec<MountPoint>,
    /// Host bind sources, with whether a missing one is created (`-v`) or an error.
    pub bind_sources: Vec<(PathBuf, bool)>,
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

    fn claim(&self, destination: &Path) -> Result<(), SpecError> {
        if self.destinations().any(|d| d == destination) {
            return Err(SpecError::DuplicateMountPoint(destination.to_path_buf()));
        }
        Ok(())
    }

    fn add(&mut self, request: MountRequest) -> Result<(), SpecError> {
        match request {
            MountRequest::Bind(b) => {
                match b.propagation {
                    "shared" | "rshared" => self.rootfs_propagation = Some("shared"),
                    "slave" | "rslave" if self.rootfs_propagation.is_none() => {
                        self.rootfs_propagation = Some("rslave")
                    }
                    _ => {}
                }
                self.mounts.push(host_bind_mount(
                    &b.source,
                    &b.destination,
                    b.read_only,
                    b.propagation,
                    b.recursive,
                    b.recursive_read_only,
                    b.idmap.as_ref(),
                ));
                self.points.push(MountPoint {
                    kind: MountType::Bind,
                    name: String::new(),
                    source: b.source.clone(),
                    destination: b.destination,
                    driver: String::new(),
                    mode: b.mode,
                    rw: !b.read_only,
                    propagation: b.propagation.into(),
                });
                self.bind_sources.push((b.source, b.create_missing));
            }
            MountRequest::Volume(v) => self.volumes.push(v),
            MountRequest::Tmpfs {
                destination,
                options,
            } => {
                let m = tmpfs_mount(&destination, &options)?;
                self.points.push(MountPoint {
                    kind: MountType::Tmpfs,
                    name: String::new(),
                    source: PathBuf::new(),
                    rw: !m.options().iter().flatten().any(|o| o == "ro"),
                    destination,
                    driver: String::new(),
                    mode: String::new(),
                    propagation: String::new(),
                });
                self.mounts.push(m);
            }
        }
        Ok(())
    }
}

/// Parses binds, `--mount`s and tmpfs, refusing two mounts at one place; then adds an anonymous
/// volume for each image/request `Volumes` path nothing else covers.
pub(crate) fn user_mounts(
    binds: &[String],
    mounts: &[MountSpec],
    tmpfs: &BTreeMap<String, String>,
    volumes: impl IntoIterator<Item = String>,
) -> Result<UserMounts, SpecError> {
    let mut out = UserMounts::default();
    let requests = binds
        .iter()
        .map(|b| parse_bind(b))
        .chain(mounts.iter().map(parse_mount));
    for request in requests {
        let request = request?;
        let dest = match &request {
            MountRequest::Bind(b) => &b.destination,
            MountRequest::Volume(v) => &v.destination,
            MountRequest::Tmpfs { destination, .. } => destination,
        };
        out.claim(dest)?;
        out.add(request)?;
    }
    // `--tmpfs` mounts are not mount points: inspect does not list them, as with dockerd.
    for (dest, data) in tmpfs {
        let dest = container_path("Tmpfs", dest)?;
        out.claim(&dest)?;
        out.mounts.push(tmpfs_mount(&dest, data)?);
    }
    for path in volumes {
        let destination = container_path("Volumes", &path)?;
        if !out.destinations().any(|d| d == destination) {
            out.volumes.push(VolumeRequest {
                destination,
                ..Default::default()
            });
        }
    }
    Ok(out)
}

/// The user mounts of a Docker body (with the `--mount`s `--volumes-from` brought) over
/// `image`: anonymous volumes for the body's and the image's `Volumes`.
pub(crate) fn docker_user_mounts(
    opts: &CreateOptions,
    image: &ImageConfig,
) -> Result<UserMounts, SpecError> {
    let h = &opts.host_config;
    // One set, as `merge` makes it: a path in both is one volume.
    let mut volumes = opts.volumes.clone();
    volumes.extend(image.volumes.clone());
    user_mounts(&h.binds, &h.mounts, &h.tmpfs, volumes.into_keys())
}

/// The user mounts of a model that keeps them typed (the CRI's): host binds, tmpfs, and images
/// bound read-only from `image_sources` (where the engine mounted each `MountKind::Image`, in
/// order). The Docker API's still come from its body ([`docker_user_mounts`]).
pub(crate) fn model_user_mounts(
    storage: &model::Storage,
    image_sources: &[PathBuf],
) -> Result<UserMounts, SpecError> {
    let mut out = UserMounts::default();
    let mut image_sources = image_sources.iter();
    for m in &storage.mounts {
        out.claim(&m.target)?;
        let request = match &m.kind {
            model::MountKind::Bind {
                source,
                propagation,
                recursive,
                recursive_readonly,
                create_host_path,
                idmap,
            } => {
                if *recursive_readonly {
                    check_recursive_read_only(m, *recursive, *propagation)?;
                }
                MountRequest::Bind(HostBind {
                    source: source.clone(),
                    destination: m.target.clone(),
                    read_only: m.readonly,
                    propagation: propagation_str(*propagation),
                    recursive: *recursive,
                    recursive_read_only: *recursive_readonly,
                    create_missing: *create_host_path,
                    mode: String::new(),
                    idmap: idmap.clone(),
                })
            }
            model::MountKind::Tmpfs {
                size,
                mode,
                options,
            } => {
                let mut data: Vec<String> = options.clone();
                data.extend(size.map(|s| format!("size={s}")));
                data.extend(mode.map(|m| format!("mode={m:o}")));
                if m.readonly {
                    data.push("ro".into());
                }
                MountRequest::Tmpfs {
                    destination: m.target.clone(),
                    options: data.join(","),
                }
            }
            model::MountKind::Image { reference, .. } => {
                // KEP 4639: image volumes are read-only; containerd and CRI-O refuse others.
                if !m.readonly {
                    return Err(invalid(
                        "image mount",
                        m.target.display(),
                        "must be read-only",
                    ));
                }
                let source = image_sources
                    .next()
                    .ok_or_else(|| invalid("image mount", reference, "the image is not mounted"))?;
                MountRequest::Bind(HostBind {
                    source: source.clone(),
                    destination: m.target.clone(),
                    read_only: true,
                    propagation: "rprivate",
                    recursive: true,
                    recursive_read_only: false,
                    create_missing: false,
                    mode: String::new(),
                    // In a pod with its own user namespace the image's files show as the
                    // overflow ids (readable, as the image made them); id-mapped image
                    // volumes are refused at the CRI.
                    idmap: None,
                })
            }
            model::MountKind::Volume { .. } => {
                return Err(SpecError::Unsupported {
                    option: "mount kind",
                    value: m.target.display().to_string(),
                })
            }
        };
        out.add(request)?;
    }
    Ok(out)
}

/// What `rro` needs, as containerd and CRI-O refuse it otherwise: a read-only mount, the
/// submounts it is to cover, and private propagation (a mount propagated in later would not be
/// read-only).
fn check_recursive_read_only(
    m: &model::MountRequest,
    recursive: bool,
    propagation: model::Propagation,
) -> Result<(), SpecError> {
    let reason = if !m.readonly {
        "needs a read-only mount"
    } else if !recursive {
        "needs a recursive bind"
    } else if !matches!(
        propagation,
        model::Propagation::Private | model::Propagation::Rprivate
    ) {
        "needs private propagation"
    } else {
        return Ok(());
    };
    Err(invalid(
        "recursive read-only mount",
        m.target.display(),
        reason,
    ))
}

fn propagation_str(p: model::Propagation) -> &'static str {
    use model::Propagation as P;
    match p {
        P::Private => "private",
        P::Rprivate => "rprivate",
        P::Shared => "shared",
        P::Rshared => "rshared",
        P::Slave => "slave",
        P::Rslave => "rslave",
    }
}

/// Docker orders user mounts by depth so a parent is mounted before what goes inside it.
pub(crate) fn depth(m: &Mount) -> usize {
    m.destination()
        .components()
        .filter(|c| matches!(c, Component::Normal(_)))
        .count()
}

/// `--shm-size` in bytes; `None` (0) takes the default.
pub(crate) fn shm_size(given: i64) -> Result<Option<u64>, SpecError> {
    u64::try_from(given)
        .map(|n| (n > 0).then_some(n))
        .map_err(|_| invalid("ShmSize", given, "can not be less than 0"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
