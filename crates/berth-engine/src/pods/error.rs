use std::path::PathBuf;

use berth_types::ErrorKind;

/// What a pod sandbox operation fails with, beyond the engine's common errors.
#[derive(Debug, thiserror::Error)]
pub enum PodError {
    #[error(
        "cgroup parent {0:?}: the systemd cgroup driver is not supported, use cgroupfs \
         (a path such as /kubepods/burstable/pod<uid>)"
    )]
    SystemdCgroupParent(String),
    #[error("cgroup parent {parent:?}: {reason}")]
    BadCgroupParent {
        parent: String,
        reason: &'static str,
    },
    #[error("no pause binary: pods need berth-pause (next to berthd, or --pause-path)")]
    NoPause,
    #[error("the pods' network is not ready: {0}")]
    NetworkNotReady(String),
    #[error("pod {pod}: network: {source}")]
    Cni {
        pod: String,
        source: berth_cni::Error,
    },
    #[error("pod {pod}: network namespace {path}: {source}")]
    Netns {
        pod: String,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("pod {pod}: unmount its /dev/shm: {source}")]
    Shm { pod: String, source: std::io::Error },
    #[error("seccomp profile {path}: {source}")]
    SeccompProfile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("pod {0}: the sandbox is not ready (not running, or its network is gone)")]
    NotReady(String),
    #[error("pod {pod}: connect to localhost:{port} in the pod: {source}")]
    PortConnect {
        pod: String,
        port: u16,
        source: std::io::Error,
    },
    #[error("pod sandbox id prefix {0:?} names more than one sandbox")]
    AmbiguousId(String),
    #[error("{}: not a list of pod CIDRs: {source}", path.display())]
    PodCidrsFile {
        path: std::path::PathBuf,
        source: serde_json::Error,
    },
    #[error("pod {pod}: the runtime wrote {text:?} as pause's pid")]
    PausePid { pod: String, text: String },
    #[error("pod sandbox {0} not found")]
    NoSuchPod(String),
    #[error("container {id} is {status}, not created: a pod's container starts once")]
    NotStartable { id: String, status: &'static str },
    #[error("container name {name:?} is reserved for {id}")]
    NameReserved { name: String, id: String },
    #[error("pod sandbox {pod} has no stats: {reason}")]
    NoStats { pod: String, reason: &'static str },
    #[error("image volume at {target}: {source}")]
    ImageVolume {
        target: PathBuf,
        source: Box<crate::Error>,
    },
    #[error("image volume at {target}: subpath {subpath:?} of image {image}: {source}")]
    ImageSubpath {
        target: PathBuf,
        image: String,
        subpath: PathBuf,
        source: Box<berth_image::Error>,
    },
    #[error("a pod's user namespace must map container uid and gid 0")]
    UserNamespaceRoot,
    #[error("a pod's user namespace cannot go with the host's {0} namespace")]
    UserNamespaceHostNamespace(&'static str),
    #[error(
        "container {id}: its root filesystem for the pod's user namespace (overlayfs over \
         id-mapped layers: Linux 5.19+, layers on a filesystem with id-mapped mounts such as \
         ext4, xfs, btrfs or tmpfs): {source}"
    )]
    IdmappedRootfs {
        id: String,
        /// Boxed: the store's error is several times the size of every other variant.
        source: Box<berth_store::Error>,
    },
    #[error("pod {id}: unreadable record: {source}")]
    Corrupt {
        id: String,
        source: serde_json::Error,
    },
}

impl PodError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::SystemdCgroupParent(_)
            | Self::BadCgroupParent { .. }
            | Self::SeccompProfile { .. }
            | Self::AmbiguousId(_)
            | Self::UserNamespaceRoot
            | Self::UserNamespaceHostNamespace(_) => ErrorKind::InvalidArgument,
            Self::IdmappedRootfs { .. } => ErrorKind::NotImplemented,
            Self::NoPause
            | Self::NetworkNotReady(_)
            | Self::NoStats { .. }
            | Self::PortConnect { .. } => ErrorKind::Unavailable,
            Self::NoSuchPod(_) | Self::ImageSubpath { .. } => ErrorKind::NotFound,
            Self::ImageVolume { source, .. } => source.kind(),
            Self::NotReady(_) | Self::NotStartable { .. } => ErrorKind::Conflict,
            Self::NameReserved { .. } => ErrorKind::AlreadyExists,
            Self::Cni { source, .. } => source.kind(),
            Self::Netns { .. }
            | Self::Shm { .. }
            | Self::PausePid { .. }
            | Self::PodCidrsFile { .. }
            | Self::Corrupt { .. } => ErrorKind::Internal,
        }
    }
}
