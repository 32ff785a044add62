//! Typed instructions from parser nodes, with BuildKit's checks of arguments and flags
//! (`instructions/parse.go`). Words stay unexpanded: the builder expands them when it runs the
//! instruction, with the ENV and ARG values of that moment ([`Instruction::expand`]).

mod duration;
mod expand;
mod flags;
mod mount;
mod parse;

use std::time::Duration;

pub use mount::{Mount, MountSpec, MountType, Sharing};

use crate::error::{DockerfileError, ErrorKind};
use crate::parser::{Dockerfile, Heredoc, Location, Node};

/// One instruction of a Dockerfile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instruction {
    pub location: Location,
    /// The instruction as written, continuations joined and trimmed: what Docker prints as
    /// `Step N/M : <original>`.
    pub original: String,
    /// The comment lines right above it.
    pub comments: Vec<String>,
    pub kind: InstructionKind,
}

/// What an instruction does, with its arguments (unexpanded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InstructionKind {
    From(From),
    Run(Run),
    Cmd(CommandLine),
    Entrypoint(CommandLine),
    Healthcheck(Healthcheck),
    /// `SHELL ["executable", "parameters"]`.
    Shell(Vec<String>),
    Label(Vec<KeyValue>),
    Env(Vec<KeyValue>),
    Arg(Vec<ArgDecl>),
    /// Ports, as written (`80/tcp`, `$PORT`).
    Expose(Vec<String>),
    Volume(Vec<String>),
    User(String),
    Workdir(String),
    StopSignal(String),
    /// Deprecated; kept as the image's author.
    Maintainer(String),
    Add(Add),
    Copy(Copy),
    Onbuild(Onbuild),
}

/// `FROM [--platform=<p>] <image> [AS <name>]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct From {
    /// The image or earlier stage, unexpanded.
    pub base: String,
    /// The stage name, lower case.
    pub name: Option<String>,
    /// `--platform`, unexpanded.
    pub platform: Option<String>,
}

/// A command in exec form (JSON) or shell form (run by the image's shell).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandLine {
    Exec(Vec<String>),
    Shell(String),
}

/// `RUN`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    pub command: CommandLine,
    /// Heredocs announced on the line (`RUN <<EOF`, `RUN python3 <<EOF`).
    pub heredocs: Vec<Heredoc>,
    /// `--mount` options; [`MountSpec::to_mount`] gives the checked mount once expanded.
    pub mounts: Vec<MountSpec>,
    pub network: Network,
    pub security: Security,
}

/// `RUN --network`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Network {
    /// The build's network.
    #[default]
    Default,
    /// Only a loopback interface.
    None,
    /// The host's network namespace (needs the `network.host` entitlement).
    Host,
}

/// `RUN --security`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Security {
    /// The default confinement.
    #[default]
    Sandbox,
    /// Privileged, like `docker run --privileged` (needs the `security.insecure` entitlement).
    Insecure,
}

/// `HEALTHCHECK`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Healthcheck {
    /// `HEALTHCHECK NONE`: disable the base image's check.
    None,
    /// `HEALTHCHECK [options] CMD command`. `None` options inherit from the base image
    /// (Docker stores them as 0).
    Cmd {
        command: CommandLine,
        /// `--interval`: time between checks.
        interval: Option<Duration>,
        /// `--timeout`: time a check may take.
        timeout: Option<Duration>,
        /// `--start-period`: start-up time during which failures do not count.
        start_period: Option<Duration>,
        /// `--start-interval`: time between checks during the start period.
        start_interval: Option<Duration>,
        /// `--retries`: consecutive failures that make the container unhealthy.
        retries: Option<u32>,
    },
}

impl Healthcheck {
    /// Docker's `Healthcheck.Test`: `["NONE"]`, `["CMD", args...]` or `["CMD-SHELL", cmd]`.
    pub fn test(&self) -> Vec<String> {
        match self {
            Healthcheck::None => vec!["NONE".to_string()],
            Healthcheck::Cmd {
                command: CommandLine::Exec(args),
                ..
            } => std::iter::once("CMD".to_string())
                .chain(args.iter().cloned())
                .collect(),
            Healthcheck::Cmd {
                command: CommandLine::Shell(command),
                ..
            } => vec!["CMD-SHELL".to_string(), command.clone()],
        }
    }
}

/// A pair of `ENV` or `LABEL`, unexpanded (quotes still in place).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyValue {
    pub key: String,
    pub value: String,
}

/// One `ARG name[=default]`. The default is unexpanded: the builder expands each default in
/// turn, since it may use the ARGs declared before it in the same instruction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArgDecl {
    pub name: String,
    pub default: Option<String>,
}

/// The sources and destination of `ADD` and `COPY`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Files {
    /// Source paths or URLs, unexpanded.
    pub sources: Vec<String>,
    /// Heredoc sources (`COPY <<EOF /dest`).
    pub inline: Vec<InlineFile>,
    /// The destination, unexpanded (the last argument).
    pub dest: String,
}

/// A file whose content is a heredoc.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InlineFile {
    /// The heredoc delimiter, which is also the file's name.
    pub name: String,
    /// The content, leading tabs already removed for `<<-`.
    pub content: String,
    /// Whether variables in the content are expanded (the delimiter was not quoted).
    pub expand: bool,
}

/// `ADD`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Add {
    pub files: Files,
    /// `--chown=user:group`, unexpanded.
    pub chown: Option<String>,
    /// `--chmod=0644` (or symbolic), unexpanded.
    pub chmod: Option<String>,
    /// `--checksum=sha256:...` of a remote source, unexpanded.
    pub checksum: Option<String>,
    /// `--keep-git-dir`, when given, for Git sources.
    pub keep_git_dir: Option<bool>,
    /// `--link`: copy into an independent layer.
    pub link: bool,
    /// `--unpack`, when given: whether a remote archive is extracted.
    pub unpack: Option<bool>,
    /// `--exclude` patterns.
    pub excludes: Vec<String>,
}

/// `COPY`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Copy {
    pub files: Files,
    /// `--from`: a stage name, stage index or image, literal.
    pub from: Option<String>,
    /// `--chown=user:group`, unexpanded.
    pub chown: Option<String>,
    /// `--chmod=0644` (or symbolic), unexpanded.
    pub chmod: Option<String>,
    /// `--link`: copy into an independent layer.
    pub link: bool,
    /// `--parents`: keep the sources' parent directories.
    pub parents: bool,
    /// `--exclude` patterns.
    pub excludes: Vec<String>,
}

/// `ONBUILD <instruction>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Onbuild {
    /// The trigger as stored in the image config (`RUN echo hi`), heredocs appended.
    pub expression: String,
}

impl Onbuild {
    /// The trigger, parsed as a build from this image will parse it.
    pub fn trigger(&self) -> Result<Instruction, DockerfileError> {
        let parsed = Dockerfile::parse("ONBUILD", &self.expression)?;
        match parsed.nodes.as_slice() {
            [node] => Instruction::from_node(node).map_err(|err| err.with_file("ONBUILD")),
            _ => Err(ErrorKind::OnbuildNotSingle.into()),
        }
    }
}

impl Dockerfile {
    /// Every node as an [`Instruction`], in order.
    pub fn instructions(&self) -> Result<Vec<Instruction>, DockerfileError> {
        self.nodes
            .iter()
            .map(|node| Instruction::from_node(node).map_err(|err| err.with_file(&self.file)))
            .collect()
    }
}

impl Instruction {
    /// The typed instruction for `node`.
    pub fn from_node(node: &Node) -> Result<Instruction, DockerfileError> {
        let located = |kind: ErrorKind| {
            let err = DockerfileError::new(kind).at_line(node.location.start_line);
            match err.kind() {
                ErrorKind::UnknownInstruction(_) => err,
                _ => err.in_instruction(&node.keyword),
            }
        };
        Ok(Instruction {
            location: node.location,
            original: node.original.trim().to_string(),
            comments: node.comments.clone(),
            kind: parse::kind(node).map_err(located)?,
        })
    }

    /// The instruction's name, upper case (`RUN`).
    pub fn name(&self) -> &'static str {
        match &self.kind {
            InstructionKind::From(_) => "FROM",
            InstructionKind::Run(_) => "RUN",
            InstructionKind::Cmd(_) => "CMD",
            InstructionKind::Entrypoint(_) => "ENTRYPOINT",
            InstructionKind::Healthcheck(_) => "HEALTHCHECK",
            InstructionKind::Shell(_) => "SHELL",
            InstructionKind::Label(_) => "LABEL",
            InstructionKind::Env(_) => "ENV",
            InstructionKind::Arg(_) => "ARG",
            InstructionKind::Expose(_) => "EXPOSE",
            InstructionKind::Volume(_) => "VOLUME",
            InstructionKind::User(_) => "USER",
            InstructionKind::Workdir(_) => "WORKDIR",
            InstructionKind::StopSignal(_) => "STOPSIGNAL",
            InstructionKind::Maintainer(_) => "MAINTAINER",
            InstructionKind::Add(_) => "ADD",
            InstructionKind::Copy(_) => "COPY",
            InstructionKind::Onbuild(_) => "ONBUILD",
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
