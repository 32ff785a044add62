use std::path::PathBuf;

use berth_types::ErrorKind;

/// Everything an engine operation can fail with; [`Error::kind`] is what API edges map to a
/// status code.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("No such image: {0}")]
    NoSuchImage(String),
    #[error("No such container: {0}")]
    NoSuchContainer(String),
    /// dockerd's texts (`container rootfs is marked read-only`, `mounted volume is ...`).
    #[error("container {container}: {what} is marked read-only")]
    ReadOnlyTarget {
        container: String,
        what: &'static str,
    },
    #[error("Conflict, cannot remove the default link name of the container")]
    RemoveDefaultLinkName,
    #[error(transparent)]
    InvalidReference(#[from] berth_types::InvalidReference),
    #[error("image id prefix {0:?} matches more than one image")]
    AmbiguousImage(String),
    #[error("refusing to create a tag with a digest reference: {0}")]
    TagWithDigest(String),
    #[error("conflict: unable to delete {image} (must be forced) - image is referenced in multiple repositories")]
    ImageHasTags { image: String },
    #[error("conflict: unable to remove repository reference {reference:?} (must force) - container {container} is using its referenced image {image}")]
    ImageInUse {
        reference: String,
        container: String,
        image: String,
    },
    #[error("{action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] berth_store::Error),
    #[error(transparent)]
    Layer(#[from] berth_image::Error),
    #[error("invalid change {change:?}: {reason}")]
    BadChange { change: String, reason: String },
    #[error("encode JSON: {0}")]
    Json(serde_json::Error),
    #[error("internal error: a background task failed: {0}")]
    Task(String),
    #[error("Invalid container name ({0}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed")]
    InvalidName(String),
    #[error("Conflict. The container name \"/{name}\" is already in use by container \"{id}\". You have to remove (or rename) that container to be able to reuse that name.")]
    NameInUse { name: String, id: String },
    #[error("multiple containers match {0:?}; use more of the id")]
    AmbiguousContainer(String),
    #[error("container {id}: unreadable record: {source}")]
    CorruptRecord {
        id: String,
        source: serde_json::Error,
    },
    #[error(transparent)]
    Spec(#[from] crate::spec::SpecError),
    #[error(transparent)]
    Model(#[from] crate::model::ModelError),
    #[error("container {0} was not created through the Docker API")]
    NoDockerBody(String),
    #[error(transparent)]
    Runtime(#[from] berth_runtime_client::RuntimeError),
    #[error("container {id}: monitor: {source}")]
    Shim {
        id: String,
        source: berth_shim::ClientError,
    },
    #[error("Container {0} is not running")]
    NotRunning(String),
    #[error("Container {0} is already paused")]
    AlreadyPaused(String),
    #[error("Container {0} is not paused")]
    NotPaused(String),
    #[error("You cannot attach to a stopped container {0}, start it first")]
    AttachStopped(String),
    #[error("You cannot remove a running container {0}. Stop the container before attempting removal or force remove")]
    RemoveRunning(String),
    #[error("cannot remove container \"/{0}\": container is restarting: stop the container before removing or force remove")]
    RemoveRestarting(String),
    #[error("removal of container {0} is already in progress")]
    ContainerRemoving(String),
    #[error("container {0} did not stop after SIGKILL")]
    StopTimedOut(String),
    #[error("cannot join the network namespace of container {0}: it is not running")]
    JoinNotRunning(String),
    #[error("Unknown runtime specified {0}")]
    UnknownRuntime(String),
    #[error("invalid isolation '{0}' on linux")]
    BadIsolation(String),
    #[error("create {0}: {0:?} includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path")]
    InvalidVolumeName(String),
    #[error("error looking up volume plugin {0}: plugin {0:?} not found (berthd has the local driver only)")]
    UnknownVolumeDriver(String),
    #[error("create {volume}: {reason}")]
    BadVolumeOption { volume: String, reason: String },
    #[error("volume {volume}: {action} {path}: {source}")]
    VolumeMount {
        volume: String,
        action: &'static str,
        path: PathBuf,
        source: nix::Error,
    },
    #[error("volume {volume}: copy image content from {path}: {source}")]
    VolumeCopyUp {
        volume: String,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid mount config for type \"bind\": bind source path does not exist: {}", .0.display())]
    BindSourceMissing(PathBuf),
    #[error("container {container}: no volume recorded for {destination} (created by an older berthd: recreate the container)")]
    VolumeNotRecorded {
        container: String,
        destination: String,
    },
    #[error("Could not find the file {path} in container {container}")]
    NoSuchPath { container: String, path: String },
    #[error("extraction point {path} in container {container} is not a directory")]
    NotADirectory { container: String, path: String },
    #[error("invalid image archive: it has neither manifest.json nor index.json")]
    ArchiveWithoutManifest,
    #[error("invalid image archive: {file}: {source}")]
    ArchiveBadJson {
        file: String,
        source: serde_json::Error,
    },
    #[error("invalid image archive: {file} is referenced but not in the archive")]
    ArchiveMissingFile { file: String },
    #[error("invalid image archive: image {config} has {layers} layer(s) but its config lists {diff_ids} diff_ids")]
    ArchiveLayerCount {
        config: String,
        layers: usize,
        diff_ids: usize,
    },
    #[error("invalid image archive: {what} of layer {layer} is {actual}, expected {expected}")]
    ArchiveDigestMismatch {
        what: &'static str,
        layer: String,
        expected: berth_types::Digest,
        actual: berth_types::Digest,
    },
    #[error("invalid image archive: {file}: unsupported manifest media type {media_type:?}")]
    ArchiveUnsupportedManifest { file: String, media_type: String },
    #[error("No such exec instance: {0}")]
    NoSuchExec(String),
    #[error("No exec command specified")]
    ExecNoCommand,
    #[error("Container {0} is paused, unpause the container before exec")]
    ExecPaused(String),
    #[error("Error: Exec command {0} is already running")]
    ExecStarted(String),
    #[error("Exec {0} is not running")]
    ExecNotRunning(String),
    #[error("exec {0}: its output ended but its exit was never recorded (the shim died?)")]
    ExecExitUnknown(String),
    #[error("OCI runtime exec failed in container {id}: {source}")]
    ExecStart {
        id: String,
        source: berth_shim::ClientError,
    },
    #[error("container {id}: cgroup: {source}")]
    Cgroup {
        id: String,
        source: berth_cgroups::Error,
    },
    #[error("container {id}: {message}")]
    Ps { id: String, message: String },
    #[error("Renaming a container with the same name as its current name: {0}")]
    RenameToSameName(String),
    #[error(transparent)]
    Registry(#[from] berth_registry::Error),
    #[error("{reference}: invalid image config {digest}: {source}")]
    BadImageConfig {
        reference: String,
        digest: berth_types::Digest,
        source: serde_json::Error,
    },
    #[error("{reference}: the manifest has {layers} layer(s) but the image config lists {diff_ids} diff_ids")]
    LayerCountMismatch {
        reference: String,
        layers: usize,
        diff_ids: usize,
    },
    #[error("layer {digest} of {reference}: {what} mismatch: expected {expected}, got {actual}; nothing stored")]
    PulledLayerMismatch {
        reference: String,
        digest: berth_types::Digest,
        what: &'static str,
        expected: berth_types::Digest,
        actual: berth_types::Digest,
    },
    #[error("download of layer {digest} of {reference} broke off (it resumes on the next pull): {source}")]
    DownloadInterrupted {
        reference: String,
        digest: berth_types::Digest,
        source: Box<Error>,
    },
    #[error("download of layer {0} cancelled: another layer failed")]
    PullCancelled(berth_types::Digest),
    #[error("layer {digest} of {reference}: {source}; nothing stored")]
    PullLayer {
        reference: String,
        digest: berth_types::Digest,
        source: Box<Error>,
    },
    #[error("An image does not exist locally with the tag: {0}")]
    NoSuchTagToPush(String),
    /// `docker update` values dockerd rejects; the text is dockerd's.
    #[error("{0}")]
    BadUpdate(String),
    /// Boxed: its variants carry CNI errors, and every `Result` of the engine would grow.
    #[error(transparent)]
    Network(Box<crate::networks::NetworkError>),
    #[error(transparent)]
    Pod(Box<crate::pods::PodError>),
    #[error(transparent)]
    Build(Box<crate::build::BuildError>),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<crate::pods::PodError> for Error {
    fn from(e: crate::pods::PodError) -> Self {
        Self::Pod(Box::new(e))
    }
}

impl From<crate::build::BuildError> for Error {
    fn from(e: crate::build::BuildError) -> Self {
        Self::Build(Box::new(e))
    }
}

impl From<crate::networks::NetworkError> for Error {
    fn from(e: crate::networks::NetworkError) -> Self {
        Self::Network(Box::new(e))
    }
}

impl Error {
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::NoSuchImage(_) | Self::NoSuchContainer(_) => ErrorKind::NotFound,
            Self::InvalidReference(_) | Self::TagWithDigest(_) | Self::RemoveDefaultLinkName => {
                ErrorKind::InvalidArgument
            }
            Self::AmbiguousImage(_) | Self::ImageHasTags { .. } | Self::ImageInUse { .. } => {
                ErrorKind::Conflict
            }
            Self::Store(e) => e.kind(),
            Self::Layer(e) => e.kind(),
            Self::BadChange { .. } => ErrorKind::InvalidArgument,
            Self::Json(_) => ErrorKind::Internal,
            Self::Io { .. } | Self::Task(_) | Self::CorruptRecord { .. } => ErrorKind::Internal,
            Self::InvalidName(_) | Self::UnknownRuntime(_) | Self::BadIsolation(_) => {
                ErrorKind::InvalidArgument
            }
            Self::NameInUse { .. }
            | Self::AmbiguousContainer(_)
            | Self::NotRunning(_)
            | Self::AlreadyPaused(_)
            | Self::NotPaused(_)
            | Self::AttachStopped(_)
            | Self::RemoveRunning(_)
            | Self::RemoveRestarting(_)
            | Self::ContainerRemoving(_)
            | Self::JoinNotRunning(_) => ErrorKind::Conflict,
            Self::Spec(e) => e.kind(),
            Self::Model(e) => e.kind(),
            Self::NoDockerBody(_) => ErrorKind::NotImplemented,
            Self::Runtime(_) | Self::Shim { .. } | Self::StopTimedOut(_) => ErrorKind::Internal,
            Self::InvalidVolumeName(_)
            | Self::BadVolumeOption { .. }
            | Self::BindSourceMissing(_) => ErrorKind::InvalidArgument,
            Self::UnknownVolumeDriver(_) => ErrorKind::NotFound,
            Self::VolumeMount { .. }
            | Self::VolumeCopyUp { .. }
            | Self::VolumeNotRecorded { .. } => ErrorKind::Internal,
            Self::NoSuchPath { .. } => ErrorKind::NotFound,
            Self::ReadOnlyTarget { .. } => ErrorKind::Forbidden,
            Self::NotADirectory { .. }
            | Self::ArchiveWithoutManifest
            | Self::ArchiveBadJson { .. }
            | Self::ArchiveMissingFile { .. }
            | Self::ArchiveLayerCount { .. }
            | Self::ArchiveDigestMismatch { .. } => ErrorKind::InvalidArgument,
            Self::ArchiveUnsupportedManifest { .. } => ErrorKind::NotImplemented,
            Self::NoSuchExec(_) => ErrorKind::NotFound,
            Self::ExecNoCommand => ErrorKind::InvalidArgument,
            Self::ExecPaused(_) | Self::ExecStarted(_) | Self::ExecNotRunning(_) => {
                ErrorKind::Conflict
            }
            Self::ExecStart { .. }
            | Self::ExecExitUnknown(_)
            | Self::Cgroup { .. }
            | Self::Ps { .. } => ErrorKind::Internal,
            Self::RenameToSameName(_) | Self::BadUpdate(_) => ErrorKind::InvalidArgument,
            Self::Registry(e) => e.kind(),
            Self::BadImageConfig { .. }
            | Self::LayerCountMismatch { .. }
            | Self::PulledLayerMismatch { .. } => ErrorKind::InvalidArgument,
            Self::NoSuchTagToPush(_) => ErrorKind::NotFound,
            Self::DownloadInterrupted { .. } | Self::PullCancelled(_) => ErrorKind::Unavailable,
            Self::PullLayer { source, .. } => source.kind(),
            Self::Network(e) => e.kind(),
            Self::Pod(e) => e.kind(),
            Self::Build(e) => e.kind(),
        }
    }

    pub(crate) fn from_join(e: tokio::task::JoinError) -> Self {
        Self::Task(e.to_string())
    }
}
