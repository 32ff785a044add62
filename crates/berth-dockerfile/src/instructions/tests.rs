use super::*;

fn parse_all(text: &str) -> Result<Vec<Instruction>, DockerfileError> {
    Dockerfile::parse("Dockerfile", text)?.instructions()
}

fn one(text: &str) -> InstructionKind {
    let mut all = parse_all(text).unwrap();
    assert_eq!(all.len(), 1, "{text}");
    all.remove(0).kind
}

fn err(text: &str) -> String {
    parse_all(text).unwrap_err().to_string()
}

fn words(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

#[test]
fn error_names_line_and_instruction() {
    let text = "FROM a\n\n\n\n\n\nCOPY --frmo=build /a /b\n";
    assert_eq!(err(text), "Dockerfile line 7: COPY: unknown flag: --frmo");
    let e = Dockerfile::parse("Dockerfile.dev", text)
        .unwrap()
        .instructions()
        .unwrap_err();
    assert_eq!(
        format!("{e:#}"),
        "Dockerfile.dev:7: COPY: unknown flag: --frmo"
    );
}

/// BuildKit's `TestCommandsExactlyOneArgument`, `TestCommandsAtLeastOneArgument`,
/// `TestCommandsNoDestinationArgument` and `TestCommandsBlankNames`.
#[test]
fn argument_counts() {
    for name in ["MAINTAINER", "WORKDIR", "USER", "STOPSIGNAL"] {
        assert_eq!(
            err(name),
            format!("Dockerfile line 1: {name}: {name} requires exactly one argument")
        );
    }
    for name in [
        "ENV",
        "LABEL",
        "ONBUILD",
        "HEALTHCHECK",
        "EXPOSE",
        "VOLUME",
        "ARG",
        "SHELL",
    ] {
        assert_eq!(
            err(name),
            format!("Dockerfile line 1: {name}: {name} requires at least one argument")
        );
    }
    for name in ["ADD", "COPY"] {
        assert_eq!(
            err(&format!("{name} arg1")),
            format!(
                "Dockerfile line 1: {name}: {name} requires at least two arguments, but only one \
                 was provided. Destination could not be determined"
            )
        );
    }
    assert_eq!(
        err("ENV =arg2"),
        "Dockerfile line 1: ENV: ENV names can not be blank"
    );
    assert_eq!(
        err("LABEL =arg2"),
        "Dockerfile line 1: LABEL: LABEL names can not be blank"
    );
    assert_eq!(
        err("ARG =x"),
        "Dockerfile line 1: ARG: ARG names can not be blank"
    );
    assert_eq!(
        err("FROM a b"),
        "Dockerfile line 1: FROM: FROM requires either one or three arguments"
    );
}

/// BuildKit's `TestErrorCases`.
#[test]
fn buildkit_error_cases() {
    let cases = [
        (
            "COPY\t\n\t\tquux \\\n      bar",
            "COPY requires at least two arguments",
        ),
        (
            "ONBUILD FROM scratch",
            "FROM isn't allowed as an ONBUILD trigger",
        ),
        (
            "ONBUILD maintainer me",
            "MAINTAINER isn't allowed as an ONBUILD trigger",
        ),
        ("MAINTAINER --boo joe@example.com", "unknown flag: --boo"),
        (
            "ONBUILD ONBUILD RUN touch foobar",
            "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed",
        ),
        ("FOO bar", "Dockerfile line 1: unknown instruction: FOO"),
        ("foo bar", "Dockerfile line 1: unknown instruction: foo"),
    ];
    for (text, message) in cases {
        assert!(err(text).contains(message), "{text}: {}", err(text));
    }
}

#[test]
fn flag_errors() {
    assert_eq!(
        err("COPY --link --link a b"),
        "Dockerfile line 1: COPY: duplicate flag specified: --link"
    );
    assert_eq!(
        err("COPY --from a b"),
        "Dockerfile line 1: COPY: missing a value on flag: --from"
    );
    assert_eq!(
        err("COPY --link= a b"),
        "Dockerfile line 1: COPY: missing a value on flag: --link"
    );
    assert_eq!(
        err("COPY --link=yes a b"),
        "Dockerfile line 1: COPY: expecting boolean value for flag --link, not: yes"
    );
    assert_eq!(
        err("ARG --x=1 a"),
        "Dockerfile line 1: ARG: unknown flag: --x"
    );
    assert_eq!(
        err("RUN --network=bridge true"),
        "Dockerfile line 1: RUN: invalid network mode \"bridge\""
    );
    assert_eq!(
        err("RUN --security=x true"),
        "Dockerfile line 1: RUN: security \"x\" is not valid"
    );
}

#[test]
fn from() {
    let expect = |text: &str, base: &str, name: Option<&str>, platform: Option<&str>| {
        let kind = one(text);
        let InstructionKind::From(from) = kind else {
            panic!("{kind:?}")
        };
        assert_eq!(
            (
                from.base.as_str(),
                from.name.as_deref(),
                from.platform.as_deref()
            ),
            (base, name, platform)
        );
    };
    expect("FROM alpine", "alpine", None, None);
    expect(
        "from golang:1.22 as Build",
        "golang:1.22",
        Some("build"),
        None,
    );
    expect(
        "FROM --platform=$BUILDPLATFORM tonistiigi/xx:1 AS xx",
        "tonistiigi/xx:1",
        Some("xx"),
        Some("$BUILDPLATFORM"),
    );
    expect(
        "FROM ${BASE}@sha256:abc AS a.b_c-1",
        "${BASE}@sha256:abc",
        Some("a.b_c-1"),
        None,
    );
    assert!(err("FROM a AS 1st").contains("invalid name for build stage: \"1st\""));
    assert!(err("FROM a AS b$").contains("invalid name for build stage"));
    assert!(err("FROM a TO b").contains("FROM requires either one or three arguments"));
}

#[test]
fn run() {
    let InstructionKind::Run(run) = one("RUN apt-get update && apt-get install -y curl") else {
        panic!()
    };
    assert_eq!(
        run.command,
        CommandLine::Shell("apt-get update && apt-get install -y curl".into())
    );
    assert_eq!(
        (run.network, run.security),
        (Network::Default, Security::Sandbox)
    );

    let InstructionKind::Run(run) =
        one("RUN --network=none --security=insecure [\"echo\", \"hi\"]")
    else {
        panic!()
    };
    assert_eq!(run.command, CommandLine::Exec(words(&["echo", "hi"])));
    assert_eq!(
        (run.network, run.security),
        (Network::None, Security::Insecure)
    );

    let InstructionKind::Run(run) = one("RUN --network=host <<EOF bash\nset -ex\nEOF\n") else {
        panic!()
    };
    assert_eq!(run.command, CommandLine::Shell("<<EOF bash".into()));
    assert_eq!(run.heredocs[0].content, "set -ex\n");
    assert_eq!(run.network, Network::Host);
}

#[test]
fn run_mounts() {
    let text = "RUN --mount=type=cache,target=/root/.cache,id=pip,sharing=locked,uid=1000,gid=1000,mode=0755 \
                --mount=type=secret,id=aws,env=AWS_KEY,required \
                --mount=type=bind,from=build,source=/out,dst=/in,rw \
                --mount=type=tmpfs,destination=/tmp,size=64m \
                --mount=type=ssh,id=default,required=true \
                --mount=target=/ctx pip install";
    let InstructionKind::Run(run) = one(text) else {
        panic!()
    };
    let mounts: Vec<Mount> = run.mounts.iter().map(|m| m.to_mount().unwrap()).collect();
    let cache = &mounts[0];
    assert_eq!(cache.kind, MountType::Cache);
    assert_eq!(cache.target.as_deref(), Some("/root/.cache"));
    assert_eq!(cache.id.as_deref(), Some("pip"));
    assert_eq!(cache.sharing, Some(Sharing::Locked));
    assert_eq!(
        (cache.uid, cache.gid, cache.mode),
        (Some(1000), Some(1000), Some(0o755))
    );
    assert!(!cache.readonly);
    let secret = &mounts[1];
    assert_eq!(
        (secret.kind, secret.id.as_deref(), secret.env.as_deref()),
        (MountType::Secret, Some("aws"), Some("AWS_KEY"))
    );
    assert!(secret.required && secret.readonly);
    let bind = &mounts[2];
    assert_eq!(bind.kind, MountType::Bind);
    assert_eq!(
        (
            bind.from.as_deref(),
            bind.source.as_deref(),
            bind.target.as_deref()
        ),
        (Some("build"), Some("/out"), Some("/in"))
    );
    assert!(!bind.readonly);
    assert_eq!(run.mounts[2].from(), Some("build"));
    assert_eq!(
        (mounts[3].kind, mounts[3].size, mounts[3].readonly),
        (MountType::Tmpfs, Some(64 << 20), false)
    );
    assert_eq!((mounts[4].kind, mounts[4].required), (MountType::Ssh, true));
    assert_eq!(
        (mounts[5].kind, mounts[5].readonly),
        (MountType::Bind, true)
    );
    assert_eq!(run.command, CommandLine::Shell("pip install".into()));
}

/// Only the CSV syntax and a literal `from` are checked at parse time, as in BuildKit.
#[test]
fn mounts_at_parse_time() {
    assert!(err("RUN --mount=from=$X true").contains("'from' doesn't support variable expansion"));
    assert!(err("RUN --mount=target=/a\\\"b true").contains("failed to parse csv mounts"));
    assert!(parse_all("RUN --mount=type=$T,uid=$U true").is_ok());
}

#[test]
fn cmd_entrypoint_shell() {
    assert_eq!(
        one("CMD [\"echo\", \"hi\"]"),
        InstructionKind::Cmd(CommandLine::Exec(words(&["echo", "hi"])))
    );
    assert_eq!(
        one("CMD echo $HOME"),
        InstructionKind::Cmd(CommandLine::Shell("echo $HOME".into()))
    );
    assert_eq!(
        one("ENTRYPOINT [\"top\", \"-b\"]"),
        InstructionKind::Entrypoint(CommandLine::Exec(words(&["top", "-b"])))
    );
    assert_eq!(
        one("ENTRYPOINT exec top -b"),
        InstructionKind::Entrypoint(CommandLine::Shell("exec top -b".into()))
    );
    assert_eq!(
        one("ENTRYPOINT []"),
        InstructionKind::Entrypoint(CommandLine::Exec(vec![]))
    );
    assert_eq!(
        one("SHELL [\"powershell\", \"-command\"]"),
        InstructionKind::Shell(words(&["powershell", "-command"]))
    );
    assert_eq!(
        err("SHELL powershell -command"),
        "Dockerfile line 1: SHELL: SHELL requires the arguments to be in JSON form"
    );
}

#[test]
fn label_env_arg() {
    let kv = |k: &str, v: &str| KeyValue {
        key: k.into(),
        value: v.into(),
    };
    assert_eq!(
        one("LABEL \"com.example.vendor\"=\"ACME Incorporated\" version=1.0 description=\"This text \\\n  illustrates\""),
        InstructionKind::Label(vec![
            kv("\"com.example.vendor\"", "\"ACME Incorporated\""),
            kv("version", "1.0"),
            kv("description", "\"This text   illustrates\""),
        ])
    );
    assert_eq!(
        one("LABEL maintainer docker <docker@docker.io>"),
        InstructionKind::Label(vec![kv("maintainer", "docker <docker@docker.io>")])
    );
    assert_eq!(
        one("ENV MY_NAME=\"John Doe\" MY_DOG=Rex\\ The\\ Dog MY_CAT=fluffy"),
        InstructionKind::Env(vec![
            kv("MY_NAME", "\"John Doe\""),
            kv("MY_DOG", "Rex\\ The\\ Dog"),
            kv("MY_CAT", "fluffy")
        ])
    );
    assert_eq!(
        one("ENV MY_VAR my-value with spaces"),
        InstructionKind::Env(vec![kv("MY_VAR", "my-value with spaces")])
    );
    let decl = |name: &str, default: Option<&str>| ArgDecl {
        name: name.into(),
        default: default.map(str::to_string),
    };
    assert_eq!(
        one("ARG user1 buildno=1 empty= quoted=\"a b\""),
        InstructionKind::Arg(vec![
            decl("user1", None),
            decl("buildno", Some("1")),
            decl("empty", Some("")),
            decl("quoted", Some("\"a b\""))
        ])
    );
}

#[test]
fn expose_volume_user_workdir_stopsignal_maintainer() {
    assert_eq!(
        one("EXPOSE 80/tcp 80/udp $PORT"),
        InstructionKind::Expose(words(&["80/tcp", "80/udp", "$PORT"]))
    );
    assert_eq!(
        one("VOLUME [\"/data\", \"/var/log\"]"),
        InstructionKind::Volume(words(&["/data", "/var/log"]))
    );
    assert_eq!(
        one("VOLUME /var/log /var/db"),
        InstructionKind::Volume(words(&["/var/log", "/var/db"]))
    );
    assert_eq!(
        err("VOLUME [\" \"]"),
        "Dockerfile line 1: VOLUME: VOLUME specified can not be an empty string"
    );
    assert_eq!(
        one("USER patrick:staff"),
        InstructionKind::User("patrick:staff".into())
    );
    assert_eq!(
        one("WORKDIR /path with spaces"),
        InstructionKind::Workdir("/path with spaces".into())
    );
    assert_eq!(
        one("STOPSIGNAL SIGKILL"),
        InstructionKind::StopSignal("SIGKILL".into())
    );
    assert_eq!(
        one("MAINTAINER Jane <j@example.com>"),
        InstructionKind::Maintainer("Jane <j@example.com>".into())
    );
}

#[test]
fn add_and_copy() {
    let text = "ADD --chown=55:mygroup --chmod=644 --checksum=sha256:24454f --keep-git-dir=true --link \
                --unpack=false --exclude=*.md --exclude=.git files* https://example.com/x.tar /mydir/";
    let InstructionKind::Add(add) = one(text) else {
        panic!()
    };
    assert_eq!(
        add.files.sources,
        words(&["files*", "https://example.com/x.tar"])
    );
    assert_eq!(add.files.dest, "/mydir/");
    assert_eq!(
        (add.chown.as_deref(), add.chmod.as_deref()),
        (Some("55:mygroup"), Some("644"))
    );
    assert_eq!(add.checksum.as_deref(), Some("sha256:24454f"));
    assert_eq!(
        (add.keep_git_dir, add.link, add.unpack),
        (Some(true), true, Some(false))
    );
    assert_eq!(add.excludes, words(&["*.md", ".git"]));

    let InstructionKind::Copy(copy) =
        one("COPY --from=build --parents --link=false [\"/a b\", \"./c/\"]")
    else {
        panic!()
    };
    assert_eq!(
        (copy.from.as_deref(), copy.parents, copy.link),
        (Some("build"), true, false)
    );
    assert_eq!(
        (copy.files.sources.as_slice(), copy.files.dest.as_str()),
        (&words(&["/a b"])[..], "./c/")
    );
    assert!(err("COPY --checksum=x a b").contains("unknown flag: --checksum"));
    assert!(err("ADD --from=x a b").contains("unknown flag: --from"));
}

#[test]
fn heredoc_sources() {
    let text = "COPY <<robots.txt <<-humans.txt plain /usr/share/nginx/html/\nUser-agent: *\nrobots.txt\n\tMe\n\thumans.txt\n";
    let InstructionKind::Copy(copy) = one(text) else {
        panic!()
    };
    assert_eq!(copy.files.sources, words(&["plain"]));
    let inline: Vec<(&str, &str, bool)> = copy
        .files
        .inline
        .iter()
        .map(|f| (f.name.as_str(), f.content.as_str(), f.expand))
        .collect();
    assert_eq!(
        inline,
        [
            ("robots.txt", "User-agent: *\n", true),
            ("humans.txt", "Me\n", true)
        ]
    );
    assert_eq!(
        err("COPY a <<EOF\nx\nEOF\n"),
        "Dockerfile line 1: COPY: COPY cannot accept a heredoc as a destination"
    );
}

#[test]
fn healthcheck() {
    assert_eq!(
        one("HEALTHCHECK NONE"),
        InstructionKind::Healthcheck(Healthcheck::None)
    );
    let kind = one("HEALTHCHECK --interval=5m --timeout=3s --start-period=1m30s --start-interval=500ms --retries=3 \\\n  CMD curl -f http://localhost/ || exit 1");
    let InstructionKind::Healthcheck(check) = kind else {
        panic!()
    };
    assert_eq!(
        check.test(),
        words(&["CMD-SHELL", "curl -f http://localhost/ || exit 1"])
    );
    let Healthcheck::Cmd {
        interval,
        timeout,
        start_period,
        start_interval,
        retries,
        ..
    } = check
    else {
        panic!()
    };
    assert_eq!(interval, Some(Duration::from_secs(300)));
    assert_eq!(timeout, Some(Duration::from_secs(3)));
    assert_eq!(start_period, Some(Duration::from_secs(90)));
    assert_eq!(start_interval, Some(Duration::from_millis(500)));
    assert_eq!(retries, Some(3));
    let InstructionKind::Healthcheck(check) =
        one("HEALTHCHECK --interval=0s --retries=0 cmd [\"foo\"]")
    else {
        panic!()
    };
    assert_eq!(check.test(), words(&["CMD", "foo"]));
    assert!(matches!(
        check,
        Healthcheck::Cmd {
            interval: None,
            retries: None,
            ..
        }
    ));
    assert_eq!(Healthcheck::None.test(), words(&["NONE"]));

    let e = |text: &str| err(text).split(": ").skip(2).collect::<Vec<_>>().join(": ");
    assert_eq!(
        e("HEALTHCHECK NONE x"),
        "HEALTHCHECK NONE takes no arguments"
    );
    assert_eq!(
        e("HEALTHCHECK CMD"),
        "Missing command after HEALTHCHECK CMD"
    );
    assert_eq!(
        e("HEALTHCHECK CONNECT TCP 7000"),
        "Unknown type \"CONNECT\" in HEALTHCHECK (try CMD)"
    );
    assert_eq!(
        e("HEALTHCHECK --interval=50ns CMD x"),
        "Interval \"interval\" cannot be less than 1ms"
    );
    assert_eq!(
        e("HEALTHCHECK --timeout=-1s CMD x"),
        "Interval \"timeout\" cannot be less than 1ms"
    );
    assert_eq!(
        e("HEALTHCHECK --timeout=3 CMD x"),
        "invalid duration \"3\" for --timeout"
    );
    assert_eq!(
        e("HEALTHCHECK --retries=-1 CMD x"),
        "invalid value \"-1\" for --retries"
    );
    assert_eq!(
        e("HEALTHCHECK --start-perod=1s CMD x"),
        "unknown flag: --start-perod"
    );
}

#[test]
fn onbuild() {
    let InstructionKind::Onbuild(onbuild) = one("ONBUILD ADD . /app/src") else {
        panic!()
    };
    assert_eq!(onbuild.expression, "ADD . /app/src");
    assert_eq!(onbuild.trigger().unwrap().kind, one("ADD . /app/src"));
    let InstructionKind::Onbuild(onbuild) = one("onbuild RUN <<EOF\necho hi\nEOF\n") else {
        panic!()
    };
    assert_eq!(onbuild.expression, "RUN <<EOF\necho hi\nEOF");
    let InstructionKind::Run(run) = onbuild.trigger().unwrap().kind else {
        panic!()
    };
    assert_eq!(run.heredocs[0].content, "echo hi\n");
    // A trigger is parsed when a build uses the image, as Docker does.
    let InstructionKind::Onbuild(onbuild) = one("ONBUILD COPY --frmo=x a b") else {
        panic!()
    };
    assert_eq!(
        onbuild.trigger().unwrap_err().to_string(),
        "ONBUILD line 1: COPY: unknown flag: --frmo"
    );
}

#[test]
fn original_and_location() {
    let all = parse_all("FROM a\nRUN echo a \\\n    && echo b   \n").unwrap();
    assert_eq!(all[1].original, "RUN echo a     && echo b");
    assert_eq!(
        all[1].location,
        Location {
            start_line: 2,
            end_line: 3
        }
    );
    assert_eq!(all[1].name(), "RUN");
}
