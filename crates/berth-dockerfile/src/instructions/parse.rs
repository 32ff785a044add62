//! Checking a node's arguments and flags and building its typed instruction, as BuildKit's
//! `instructions/parse.go` does.

use std::time::Duration;

use super::duration;
use super::flags::{Flags, Kind};
use super::{
    Add, ArgDecl, CommandLine, Copy, Files, From, Healthcheck, InlineFile, InstructionKind,
    KeyValue, MountSpec, Network, Onbuild, Run, Security,
};
use crate::error::ErrorKind;
use crate::parser::{heredoc, Args, Node};

type Parsed<T> = Result<T, ErrorKind>;

/// Plain and JSON arguments alike, with whether they were JSON.
fn list(node: &Node) -> (&[String], bool) {
    match &node.args {
        Args::Words(words) => (words, false),
        Args::Json(values) => (values, true),
        Args::Pairs(_) | Args::Trigger(_) => (&[], false),
    }
}

fn exactly_one(node: &Node, name: &'static str) -> Parsed<String> {
    match list(node).0 {
        [arg] => Ok(arg.clone()),
        _ => Err(ErrorKind::ExactlyOneArgument(name)),
    }
}

fn at_least_one<'n>(node: &'n Node, name: &'static str) -> Parsed<&'n [String]> {
    match list(node).0 {
        [] => Err(ErrorKind::AtLeastOneArgument(name)),
        args => Ok(args),
    }
}

fn no_flags(node: &Node) -> Parsed<()> {
    Flags::parse(&node.flags, &[]).map(drop)
}

/// Exec form for JSON, else the words joined as one shell command.
fn command_line(args: &[String], json: bool) -> CommandLine {
    if json {
        CommandLine::Exec(args.to_vec())
    } else {
        CommandLine::Shell(args.join(" "))
    }
}

pub(super) fn kind(node: &Node) -> Parsed<InstructionKind> {
    use InstructionKind as K;
    Ok(match node.keyword.to_ascii_lowercase().as_str() {
        "from" => K::From(from(node)?),
        "run" => K::Run(run(node)?),
        "cmd" => K::Cmd(command(node)?),
        "entrypoint" => K::Entrypoint(command(node)?),
        "healthcheck" => K::Healthcheck(healthcheck(node)?),
        "shell" => {
            no_flags(node)?;
            match list(node) {
                ([], _) => return Err(ErrorKind::AtLeastOneArgument("SHELL")),
                (args, true) => K::Shell(args.to_vec()),
                (_, false) => return Err(ErrorKind::NotJson("SHELL")),
            }
        }
        "label" => K::Label(pairs(node, "LABEL")?),
        "env" => K::Env(pairs(node, "ENV")?),
        "arg" => {
            let args = at_least_one(node, "ARG")?;
            no_flags(node)?;
            K::Arg(
                args.iter()
                    .map(|arg| arg_decl(arg))
                    .collect::<Parsed<_>>()?,
            )
        }
        "expose" => {
            let ports = at_least_one(node, "EXPOSE")?.to_vec();
            no_flags(node)?;
            K::Expose(ports)
        }
        "volume" => {
            let args = at_least_one(node, "VOLUME")?;
            no_flags(node)?;
            K::Volume(args.iter().map(|v| volume(v)).collect::<Parsed<_>>()?)
        }
        "user" => K::User(one_with_no_flags(node, "USER")?),
        "workdir" => K::Workdir(one_with_no_flags(node, "WORKDIR")?),
        "stopsignal" => K::StopSignal(one_with_no_flags(node, "STOPSIGNAL")?),
        "maintainer" => K::Maintainer(one_with_no_flags(node, "MAINTAINER")?),
        "add" => K::Add(add(node)?),
        "copy" => K::Copy(copy(node)?),
        "onbuild" => K::Onbuild(onbuild(node)?),
        _ => return Err(ErrorKind::UnknownInstruction(node.keyword.clone())),
    })
}

/// `CMD` and `ENTRYPOINT`.
fn command(node: &Node) -> Parsed<CommandLine> {
    no_flags(node)?;
    let (args, json) = list(node);
    Ok(command_line(args, json))
}

/// A `VOLUME` path, which must not be blank.
pub(super) fn volume(path: &str) -> Parsed<String> {
    match path.trim() {
        "" => Err(ErrorKind::EmptyVolume),
        path => Ok(path.to_string()),
    }
}

fn one_with_no_flags(node: &Node, name: &'static str) -> Parsed<String> {
    let arg = exactly_one(node, name)?;
    no_flags(node)?;
    Ok(arg)
}

fn pairs(node: &Node, name: &'static str) -> Parsed<Vec<KeyValue>> {
    no_flags(node)?;
    let Args::Pairs(pairs) = &node.args else {
        return Err(ErrorKind::AtLeastOneArgument(name));
    };
    if pairs.is_empty() {
        return Err(ErrorKind::AtLeastOneArgument(name));
    }
    pairs
        .iter()
        .map(|pair| {
            if pair.name.is_empty() {
                return Err(ErrorKind::BlankName(name));
            }
            Ok(KeyValue {
                key: pair.name.clone(),
                value: pair.value.clone(),
            })
        })
        .collect()
}

fn arg_decl(arg: &str) -> Parsed<ArgDecl> {
    Ok(match arg.split_once('=') {
        Some(("", _)) => return Err(ErrorKind::BlankName("ARG")),
        Some((name, default)) => ArgDecl {
            name: name.to_string(),
            default: Some(default.to_string()),
        },
        None => ArgDecl {
            name: arg.to_string(),
            default: None,
        },
    })
}

/// Stage names: a lower-case letter, then lower-case letters, digits, `-`, `_` and `.`.
fn valid_stage_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_.".contains(c))
}

fn from(node: &Node) -> Parsed<From> {
    let args = list(node).0;
    let name = match args {
        [_] => None,
        [_, as_, name] if as_.eq_ignore_ascii_case("as") => {
            let lower = name.to_lowercase();
            if !valid_stage_name(&lower) {
                return Err(ErrorKind::InvalidStageName(name.clone()));
            }
            Some(lower)
        }
        _ => return Err(ErrorKind::FromArguments),
    };
    let flags = Flags::parse(&node.flags, &[("platform", Kind::String)])?;
    Ok(From {
        base: args[0].clone(),
        name,
        platform: flags.string("platform"),
    })
}

fn run(node: &Node) -> Parsed<Run> {
    let flags = Flags::parse(
        &node.flags,
        &[
            ("mount", Kind::Strings),
            ("network", Kind::String),
            ("security", Kind::String),
        ],
    )?;
    let (args, json) = list(node);
    let network = match flags.string("network").as_deref() {
        None | Some("default") => Network::Default,
        Some("none") => Network::None,
        Some("host") => Network::Host,
        Some(other) => return Err(ErrorKind::InvalidNetwork(other.to_string())),
    };
    let security = match flags.string("security").as_deref() {
        None | Some("sandbox") => Security::Sandbox,
        Some("insecure") => Security::Insecure,
        Some(other) => return Err(ErrorKind::InvalidSecurity(other.to_string())),
    };
    let mounts = flags.strings("mount");
    Ok(Run {
        command: command_line(args, json),
        heredocs: node.heredocs.clone(),
        mounts: mounts
            .iter()
            .map(|m| MountSpec::parse(m))
            .collect::<Result<_, _>>()?,
        network,
        security,
    })
}

/// An `--interval`-like flag: 0 means "inherit", anything else must be at least 1ms.
fn interval(flags: &Flags, flag: &'static str) -> Parsed<Option<Duration>> {
    let Some(value) = flags.string(flag) else {
        return Ok(None);
    };
    let invalid = || ErrorKind::InvalidDuration {
        flag,
        value: value.clone(),
    };
    match duration::parse(&value).ok_or_else(invalid)? {
        0 => Ok(None),
        nanos if nanos < 1_000_000 => Err(ErrorKind::DurationTooShort(flag)),
        nanos => Ok(Some(Duration::from_nanos(
            u64::try_from(nanos).map_err(|_| invalid())?,
        ))),
    }
}

fn healthcheck(node: &Node) -> Parsed<Healthcheck> {
    let (args, json) = list(node);
    let Some((kind, args)) = args.split_first() else {
        return Err(ErrorKind::AtLeastOneArgument("HEALTHCHECK"));
    };
    let flags = Flags::parse(
        &node.flags,
        &[
            ("interval", Kind::String),
            ("timeout", Kind::String),
            ("start-period", Kind::String),
            ("start-interval", Kind::String),
            ("retries", Kind::String),
        ],
    )?;
    match kind.to_uppercase().as_str() {
        "NONE" if args.is_empty() => return Ok(Healthcheck::None),
        "NONE" => return Err(ErrorKind::HealthcheckNoneArguments),
        "CMD" if args.is_empty() => return Err(ErrorKind::HealthcheckMissingCommand),
        "CMD" => {}
        other => return Err(ErrorKind::HealthcheckType(other.to_string())),
    }
    let retries = match flags.string("retries") {
        None => None,
        Some(value) => match value.parse::<i32>().map(u32::try_from) {
            Ok(Ok(0)) => None,
            Ok(Ok(retries)) => Some(retries),
            _ => return Err(ErrorKind::InvalidRetries(value)),
        },
    };
    Ok(Healthcheck::Cmd {
        command: command_line(args, json),
        interval: interval(&flags, "interval")?,
        timeout: interval(&flags, "timeout")?,
        start_period: interval(&flags, "start-period")?,
        start_interval: interval(&flags, "start-interval")?,
        retries,
    })
}

/// The sources and destination of `ADD`/`COPY`, heredoc sources resolved to their content.
fn files(node: &Node, name: &'static str) -> Parsed<Files> {
    let args = list(node).0;
    let Some((dest, sources)) = args.split_last().filter(|(_, sources)| !sources.is_empty()) else {
        return Err(ErrorKind::NoDestination(name));
    };
    // A word that does not even read as a heredoc is a plain path here, as in BuildKit.
    let as_heredoc = |word: &str| heredoc::parse(word).ok().flatten();
    if as_heredoc(dest).is_some() {
        return Err(ErrorKind::HeredocDestination(name));
    }
    let mut files = Files {
        sources: Vec::new(),
        inline: Vec::new(),
        dest: dest.clone(),
    };
    for source in sources {
        let Some(mut doc) = as_heredoc(source) else {
            files.sources.push(source.clone());
            continue;
        };
        // The content read after the line; the word decides chomping and expansion.
        if let Some(read) = node
            .heredocs
            .iter()
            .rev()
            .find(|read| read.name == doc.name)
        {
            doc.content.clone_from(&read.content);
        }
        let content = doc.chomped().into_owned();
        files.inline.push(InlineFile {
            name: doc.name,
            content,
            expand: doc.expand,
        });
    }
    Ok(files)
}

fn add(node: &Node) -> Parsed<Add> {
    let files = files(node, "ADD")?;
    let flags = Flags::parse(
        &node.flags,
        &[
            ("chown", Kind::String),
            ("chmod", Kind::String),
            ("link", Kind::Bool),
            ("keep-git-dir", Kind::Bool),
            ("checksum", Kind::String),
            ("unpack", Kind::Bool),
            ("exclude", Kind::Strings),
        ],
    )?;
    Ok(Add {
        files,
        chown: flags.string("chown"),
        chmod: flags.string("chmod"),
        checksum: flags.string("checksum"),
        keep_git_dir: flags.bool("keep-git-dir"),
        link: flags.bool("link").unwrap_or(false),
        unpack: flags.bool("unpack"),
        excludes: flags.strings("exclude"),
    })
}

fn copy(node: &Node) -> Parsed<Copy> {
    let files = files(node, "COPY")?;
    let flags = Flags::parse(
        &node.flags,
        &[
            ("chown", Kind::String),
            ("from", Kind::String),
            ("chmod", Kind::String),
            ("link", Kind::Bool),
            ("exclude", Kind::Strings),
            ("parents", Kind::Bool),
        ],
    )?;
    Ok(Copy {
        files,
        from: flags.string("from").filter(|from| !from.is_empty()),
        chown: flags.string("chown"),
        chmod: flags.string("chmod"),
        link: flags.bool("link").unwrap_or(false),
        parents: flags.bool("parents").unwrap_or(false),
        excludes: flags.strings("exclude"),
    })
}

fn onbuild(node: &Node) -> Parsed<Onbuild> {
    let Args::Trigger(trigger) = &node.args else {
        return Err(ErrorKind::AtLeastOneArgument("ONBUILD"));
    };
    no_flags(node)?;
    let keyword = trigger.keyword.to_uppercase();
    match keyword.as_str() {
        "ONBUILD" => return Err(ErrorKind::OnbuildChained),
        "MAINTAINER" | "FROM" => return Err(ErrorKind::OnbuildTrigger(keyword)),
        _ => {}
    }
    // The trigger is the line without its `ONBUILD` keyword.
    let original = node.original.trim_start();
    let rest = original.get(node.keyword.len()..).unwrap_or_default();
    let mut expression = rest.trim_start().to_string();
    for doc in &node.heredocs {
        expression.push('\n');
        expression.push_str(&doc.content);
        expression.push_str(&doc.name);
    }
    Ok(Onbuild { expression })
}
