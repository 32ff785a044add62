//! The crate's one error type: what went wrong ([`ErrorKind`]) plus where (file, line,
//! instruction), rendered the way Docker reports Dockerfile errors.

use std::fmt;

use crate::expand::ExpandError;

/// An error in a Dockerfile, located by line and instruction where that is known.
///
/// `Display` renders `Dockerfile line 7: COPY: unknown flag: --frmo`; the alternate form
/// (`{:#}`) renders the compiler style `Dockerfile.dev:7: COPY: unknown flag: --frmo`. The file
/// name is the one given to [`Dockerfile::parse`](crate::parser::Dockerfile::parse), or set with
/// [`DockerfileError::with_file`] (errors from [`Instruction::expand`](crate::Instruction::expand)
/// carry none, since an instruction does not know its file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DockerfileError(Box<Inner>);

// Boxed: errors travel through every `Result` of the crate, which should stay small.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Inner {
    file: Option<String>,
    line: Option<usize>,
    instruction: Option<String>,
    kind: ErrorKind,
}

impl DockerfileError {
    /// An error with no location yet.
    pub fn new(kind: ErrorKind) -> Self {
        DockerfileError(Box::new(Inner {
            file: None,
            line: None,
            instruction: None,
            kind,
        }))
    }

    /// Sets the file name shown in the message.
    #[must_use]
    pub fn with_file(mut self, file: &str) -> Self {
        self.0.file = Some(file.to_string());
        self
    }

    /// Sets the line, unless an inner step already set a more precise one.
    #[must_use]
    pub fn at_line(mut self, line: usize) -> Self {
        self.0.line.get_or_insert(line);
        self
    }

    /// Sets the instruction name (upper case, as Docker prints it), unless already set.
    #[must_use]
    pub fn in_instruction(mut self, name: &str) -> Self {
        self.0
            .instruction
            .get_or_insert_with(|| name.to_ascii_uppercase());
        self
    }

    /// The file name given by the caller, if any (messages then say `Dockerfile`).
    pub fn file(&self) -> Option<&str> {
        self.0.file.as_deref()
    }

    /// The 1-based line where the offending instruction starts.
    pub fn line(&self) -> Option<usize> {
        self.0.line
    }

    /// The instruction (`COPY`, `RUN`, ...), upper case.
    pub fn instruction(&self) -> Option<&str> {
        self.0.instruction.as_deref()
    }

    /// What went wrong, without the location.
    pub fn kind(&self) -> &ErrorKind {
        &self.0.kind
    }
}

impl From<ErrorKind> for DockerfileError {
    fn from(kind: ErrorKind) -> Self {
        DockerfileError::new(kind)
    }
}

impl fmt::Display for DockerfileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let file = self.0.file.as_deref().unwrap_or("Dockerfile");
        match (self.0.line, f.alternate()) {
            (Some(line), true) => write!(f, "{file}:{line}: ")?,
            (Some(line), false) => write!(f, "{file} line {line}: ")?,
            (None, _) => write!(f, "{file}: ")?,
        }
        if let Some(instruction) = &self.0.instruction {
            write!(f, "{instruction}: ")?;
        }
        write!(f, "{}", self.0.kind)
    }
}

// The kind's message is part of `Display`, so it is not repeated as a `source`.
impl std::error::Error for DockerfileError {}

/// What went wrong. Messages follow BuildKit's where it has one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    // Parser.
    #[error("invalid escape token '{0}' does not match ` or \\")]
    InvalidEscapeToken(String),
    #[error("only one {0} parser directive can be used")]
    DuplicateDirective(String),
    #[error("file with no instructions")]
    NoInstructions,
    #[error("unterminated heredoc {0:?}")]
    UnterminatedHeredoc(String),
    #[error("when using JSON array syntax, arrays must be comprised of strings only")]
    JsonNotStrings,
    #[error("{0} must have two arguments")]
    MissingValue(&'static str),
    #[error("Syntax error - can't find = in {0:?}. Must be of the form: name=value")]
    MissingEquals(String),
    #[error("internal lexing of heredoc produced inconsistent results: {0}")]
    InconsistentHeredoc(String),

    // Instructions.
    #[error("unknown instruction: {0}")]
    UnknownInstruction(String),
    #[error("unknown flag: {0}")]
    UnknownFlag(String),
    #[error("duplicate flag specified: {0}")]
    DuplicateFlag(String),
    #[error("missing a value on flag: {0}")]
    FlagWithoutValue(String),
    #[error("expecting boolean value for flag {flag}, not: {value}")]
    FlagNotBoolean { flag: String, value: String },
    #[error("arg should start with -- : {0}")]
    NotAFlag(String),
    #[error("{0} requires at least one argument")]
    AtLeastOneArgument(&'static str),
    #[error("{0} requires exactly one argument")]
    ExactlyOneArgument(&'static str),
    #[error(
        "{0} requires at least two arguments, but only one was provided. Destination could not \
         be determined"
    )]
    NoDestination(&'static str),
    #[error("{0} cannot accept a heredoc as a destination")]
    HeredocDestination(&'static str),
    #[error("{0} names can not be blank")]
    BlankName(&'static str),
    #[error("{0} requires the arguments to be in JSON form")]
    NotJson(&'static str),
    #[error("FROM requires either one or three arguments")]
    FromArguments,
    #[error(
        "invalid name for build stage: {0:?}, name can't start with a number or contain symbols"
    )]
    InvalidStageName(String),
    #[error("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed")]
    OnbuildChained,
    #[error("{0} isn't allowed as an ONBUILD trigger")]
    OnbuildTrigger(String),
    #[error("onbuild trigger should be a single expression")]
    OnbuildNotSingle,
    #[error("HEALTHCHECK NONE takes no arguments")]
    HealthcheckNoneArguments,
    #[error("Missing command after HEALTHCHECK CMD")]
    HealthcheckMissingCommand,
    #[error("Unknown type {0:?} in HEALTHCHECK (try CMD)")]
    HealthcheckType(String),
    #[error("invalid duration {value:?} for --{flag}")]
    InvalidDuration { flag: &'static str, value: String },
    #[error("Interval {0:?} cannot be less than 1ms")]
    DurationTooShort(&'static str),
    #[error("invalid value {0:?} for --retries")]
    InvalidRetries(String),
    #[error("VOLUME specified can not be an empty string")]
    EmptyVolume,
    #[error("invalid network mode {0:?}")]
    InvalidNetwork(String),
    #[error("security {0:?} is not valid")]
    InvalidSecurity(String),
    #[error(
        "variable expansion is not supported for --from, define a new stage with FROM using ARG \
         from global scope as a workaround"
    )]
    CopyFromVariable,
    #[error("{0}")]
    Mount(#[from] MountError),
    #[error(transparent)]
    Expand(#[from] ExpandError),

    // Stages.
    #[error("no build stage in current context")]
    NoStage,
    #[error("dockerfile contains no stages to build")]
    NoStages,
    #[error("{0} stage name already used")]
    DuplicateStageName(String),
    #[error("target stage {0:?} could not be found")]
    UnknownTarget(String),
    #[error("invalid stage index {0}")]
    InvalidStageIndex(String),
    #[error("circular dependency detected on stage: {0}")]
    CircularDependency(String),
    #[error("base name ({0}) should not be blank")]
    BlankBaseName(String),
    #[error("empty platform value from expression {0}")]
    BlankPlatform(String),
    #[error("failed to parse platform {expression}: {reason}")]
    InvalidPlatform { expression: String, reason: String },
}

/// A `RUN --mount` option that is not valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MountError {
    #[error("failed to parse csv mounts: {0}")]
    Csv(String),
    #[error("'from' doesn't support variable expansion, define alias stage instead")]
    FromVariable,
    #[error("invalid field '{0}' must be a key=value pair")]
    NotKeyValue(String),
    #[error("unexpected key '{key}' in '{field}'")]
    UnknownKey { key: String, field: String },
    #[error("unexpected key '{key}' for mount type '{mount_type}'")]
    KeyNotForType { key: String, mount_type: String },
    #[error("unsupported mount type {0:?}")]
    UnknownType(String),
    #[error("unsupported sharing value {0:?}")]
    UnknownSharing(String),
    #[error("invalid value for {key}: {value}")]
    InvalidValue { key: String, value: String },
    #[error("{option} not allowed for {mount_type:?} type mounts")]
    FileInfoNotAllowed {
        option: &'static str,
        mount_type: String,
    },
    #[error("secret mount should not have a from")]
    SecretWithFrom,
    #[error("secret mount should not define sharing")]
    SecretWithSharing,
    #[error("invalid secret mount. one of source, target required")]
    SecretWithoutTarget,
    #[error("both source and id can't be set")]
    SecretSourceAndId,
    #[error("invalid cache sharing set for {0} mount")]
    SharingNotForType(String),
}
