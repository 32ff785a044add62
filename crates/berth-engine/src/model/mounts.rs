//! What the container mounts beyond its image: host paths, volumes, tmpfs and images.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::error::{invalid, ModelError};

/// Mount propagation of a bind mount.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Propagation {
    Private,
    /// Docker's default for binds.
    #[default]
    Rprivate,
    Shared,
    Rshared,
    Slave,
    Rslave,
}

impl FromStr for Propagation {
    type Err = ModelError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "private" => Self::Private,
            "rprivate" => Self::Rprivate,
            "shared" => Self::Shared,
            "rshared" => Self::Rshared,
            "slave" => Self::Slave,
            "rslave" => Self::Rslave,
            _ => return Err(invalid("propagation", s, "invalid propagation mode")),
        })
    }
}

impl fmt::Display for Propagation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Private => "private",
            Self::Rprivate => "rprivate",
            Self::Shared => "shared",
            Self::Rshared => "rshared",
            Self::Slave => "slave",
            Self::Rslave => "rslave",
        })
    }
}

/// The driver that creates a volume a mount asks for, when it does not exist yet.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct VolumeDriver {
    pub name: String,
    pub options: BTreeMap<String, String>,
}

/// What is mounted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MountKind {
    /// A host path.
    Bind {
        source: PathBuf,
        propagation: Propagation,
        /// Submounts too (`rbind`); Docker's `bind-nonrecursive` turns it off.
        recursive: bool,
        /// Make submounts read-only as well (the CRI's `recursive_read_only`, `MOUNT_ATTR_RDONLY`
        /// with `AT_RECURSIVE`); needs `readonly` and `recursive`.
        recursive_readonly: bool,
        /// Create a missing source directory (`-v`) instead of failing (`--mount`).
        create_host_path: bool,
        /// Id-mapped (the CRI's `uid_mappings`/`gid_mappings`): on-disk ids show through these
        /// mappings, read as a user namespace's.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        idmap: Option<super::UserNamespace>,
    },
    /// A named volume, or a new anonymous one (`name` `None`).
    Volume {
        name: Option<String>,
        /// Do not copy the image's files at the target into a new volume.
        nocopy: bool,
        /// A directory inside the volume to mount instead of its root.
        subpath: Option<PathBuf>,
        /// For a volume this mount creates; `None`: the container's default driver.
        driver: Option<VolumeDriver>,
        labels: BTreeMap<String, String>,
    },
    /// A fresh tmpfs.
    Tmpfs {
        /// Bytes, when given as a number (with an optional k/m/g suffix); `None`: the kernel's
        /// default (half of RAM) or a size in `options` in another spelling (`50%`).
        size: Option<u64>,
        /// Permission bits of the root; `None`: 1777.
        mode: Option<u32>,
        /// Further mount options in `--tmpfs` syntax (`exec`, `uid=1000`, `nr_inodes=1k`), already
        /// checked.
        options: Vec<String>,
    },
    /// The filesystem of an image (the CRI's image volumes, Docker's `type=image`).
    Image {
        reference: String,
        subpath: Option<PathBuf>,
    },
}

/// One mount at `target` inside the container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MountRequest {
    /// Absolute and lexically clean.
    pub target: PathBuf,
    pub readonly: bool,
    pub kind: MountKind,
}

/// `--volumes-from`: the mounts of another container, at the same places.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VolumesFrom {
    pub container: String,
    /// `None`: each mount as it is there.
    pub readonly: Option<bool>,
}

/// Everything the container mounts besides its root filesystem and the engine's defaults.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Storage {
    /// One per target; their order is the request's (the spec sorts them by depth).
    pub mounts: Vec<MountRequest>,
    /// Places for new anonymous volumes (Docker's `Volumes`), unless a mount covers them; the
    /// image's `VOLUME`s are added when the spec is built.
    pub anonymous_volumes: Vec<PathBuf>,
    pub volumes_from: Vec<VolumesFrom>,
    /// The driver of volumes this container creates; `None`: `local`.
    pub volume_driver: Option<String>,
    /// Size of a private /dev/shm in bytes; `None`: 64 MiB.
    pub shm_size: Option<u64>,
}
