use std::path::PathBuf;

use berth_types::ErrorKind;

/// What a build fails with, beyond the engine's common errors. Messages follow dockerd's where
/// clients or people know them ("The command '…' returned a non-zero code: 3").
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("{0}")]
    Dockerfile(berth_dockerfile::DockerfileError),
    #[error("Cannot locate specified Dockerfile: {0}")]
    NoDockerfile(String),
    #[error("the Dockerfile ({0}) cannot be empty")]
    EmptyDockerfile(String),
    #[error("no build stage in current context")]
    NoStage,
    /// A stage needed one that failed (whose own error is the build's).
    #[error("a stage this one needs failed")]
    StageFailed,
    #[error("failed to reach build target {0} in Dockerfile")]
    UnknownTarget(String),
    #[error("forbidden path outside the build context: {0}")]
    OutsideContext(String),
    #[error("build context: {0}")]
    Context(berth_image::context::ContextError),
    #[error("base name ({0}) should not be blank")]
    BlankBase(String),
    /// `code`: the exit status (the CLI exits with it); none when the process never ran.
    #[error("The command '{command}' returned a non-zero code: {}", code.unwrap_or(-1))]
    RunFailed { command: String, code: Option<i64> },
    #[error("build step container {container}: {message}")]
    RunStart { container: String, message: String },
    #[error(
        "{instruction} failed: file not found in build context or excluded by .dockerignore: \
         stat {path}: file does not exist"
    )]
    SourceMissing {
        instruction: &'static str,
        path: String,
    },
    #[error(
        "When using {0} with more than one source file, the destination must be a directory \
         and end with a /"
    )]
    DestinationNotDirectory(&'static str),
    #[error(
        "{instruction} {url}: downloading is not supported (Berth builds offline); put the file \
         in the build context"
    )]
    UrlSource {
        instruction: &'static str,
        url: String,
    },
    #[error("{instruction} --from={from}: {reason}")]
    BadFrom {
        instruction: &'static str,
        from: String,
        reason: String,
    },
    #[error("Invalid signal: {0}")]
    InvalidSignal(String),
    #[error("{instruction}: {path}: {source}")]
    Copy {
        instruction: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("RUN --mount=type={kind}: {reason}")]
    Mount { kind: &'static str, reason: String },
    #[error(
        "secret {0} is required (RUN --mount=type=secret,required) but the build was not given it"
    )]
    MissingSecret(String),
    #[error(
        "SSH agent {0} is required (RUN --mount=type=ssh,required) but the build was not given it"
    )]
    MissingSsh(String),
    #[error("{0}: not supported by this builder")]
    Unsupported(String),
}

impl BuildError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Dockerfile(_)
            | Self::NoDockerfile(_)
            | Self::EmptyDockerfile(_)
            | Self::NoStage
            | Self::UnknownTarget(_)
            | Self::OutsideContext(_)
            | Self::BlankBase(_)
            | Self::SourceMissing { .. }
            | Self::DestinationNotDirectory(_)
            | Self::UrlSource { .. }
            | Self::BadFrom { .. }
            | Self::InvalidSignal(_)
            | Self::Mount { .. }
            | Self::MissingSecret(_)
            | Self::MissingSsh(_) => ErrorKind::InvalidArgument,
            Self::Context(e) => e.kind(),
            Self::Unsupported(_) => ErrorKind::NotImplemented,
            Self::RunFailed { .. }
            | Self::RunStart { .. }
            | Self::Copy { .. }
            | Self::StageFailed => ErrorKind::Internal,
        }
    }

    /// The exit status dockerd puts in the stream's `errorDetail.code`.
    pub fn code(&self) -> Option<i64> {
        match self {
            Self::RunFailed { code, .. } => *code,
            _ => None,
        }
    }
}

impl From<berth_dockerfile::DockerfileError> for BuildError {
    fn from(e: berth_dockerfile::DockerfileError) -> Self {
        Self::Dockerfile(e)
    }
}
