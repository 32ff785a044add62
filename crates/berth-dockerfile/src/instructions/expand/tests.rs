use std::collections::BTreeMap;

use crate::expand::{Expander, Lexer};
use crate::instructions::{CommandLine, InstructionKind, KeyValue};
use crate::{Dockerfile, Instruction};

fn parse_all(text: &str) -> Vec<Instruction> {
    Dockerfile::parse("Dockerfile", text)
        .unwrap()
        .instructions()
        .unwrap()
}

fn words(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn vars(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn expand(text: &str, env: &BTreeMap<String, String>) -> (InstructionKind, Vec<String>) {
    let instruction = parse_all(text).remove(0);
    let mut ex = Expander::new(Lexer::new('\\'), env);
    let expanded = instruction.expand(&mut ex).unwrap();
    (expanded.kind, ex.used().iter().cloned().collect())
}

/// The reference's "Environment replacement" examples.
#[test]
fn expansion() {
    let env = vars(&[("FOO", "/bar"), ("abc", "hello")]);
    assert_eq!(
        expand("WORKDIR ${FOO}", &env),
        (InstructionKind::Workdir("/bar".into()), words(&["FOO"]))
    );
    let (InstructionKind::Add(add), _) = expand("ADD . $FOO", &env) else {
        panic!()
    };
    assert_eq!(add.files.dest, "/bar");
    let (InstructionKind::Copy(copy), used) = expand("COPY \\$FOO /quux", &env) else {
        panic!()
    };
    assert_eq!((copy.files.sources, used), (words(&["$FOO"]), vec![]));
    // `ENV abc=bye def=$abc`: def sees the value from before the instruction.
    let (kind, used) = expand("ENV abc=bye def=$abc", &env);
    let kv = |k: &str, v: &str| KeyValue {
        key: k.into(),
        value: v.into(),
    };
    assert_eq!(
        kind,
        InstructionKind::Env(vec![kv("abc", "bye"), kv("def", "hello")])
    );
    assert_eq!(used, words(&["abc"]));
    assert_eq!(
        expand("ENV A \"x y\"", &env).0,
        InstructionKind::Env(vec![kv("A", "x y")])
    );
    assert_eq!(
        expand("LABEL \"a b\"=\"c d\"", &env).0,
        InstructionKind::Label(vec![kv("a b", "c d")])
    );
}

#[test]
fn expansion_of_each_instruction() {
    let env = vars(&[
        ("P", "80 443/udp"),
        ("U", "1000"),
        ("T", "/cache"),
        ("FOO", "bar"),
        ("S", "SIGTERM"),
        ("V", "/v"),
    ]);
    assert_eq!(
        expand("EXPOSE $P 8080", &env).0,
        InstructionKind::Expose(words(&["80", "443/udp", "8080"]))
    );
    assert_eq!(
        expand("USER $U", &env).0,
        InstructionKind::User("1000".into())
    );
    assert_eq!(
        expand("STOPSIGNAL $S", &env).0,
        InstructionKind::StopSignal("SIGTERM".into())
    );
    assert_eq!(
        expand("VOLUME $V", &env).0,
        InstructionKind::Volume(words(&["/v"]))
    );
    let (InstructionKind::Run(run), used) =
        expand("RUN --mount=type=cache,target=$T,uid=$U echo $FOO", &env)
    else {
        panic!()
    };
    let mount = run.mounts[0].to_mount().unwrap();
    assert_eq!(
        (mount.target.as_deref(), mount.uid),
        (Some("/cache"), Some(1000))
    );
    // The command itself is left to the shell.
    assert_eq!(run.command, CommandLine::Shell("echo $FOO".into()));
    assert_eq!(used, words(&["T", "U"]));
    let (InstructionKind::Copy(copy), _) = expand("COPY --chown=$U:$U --from=x <<-EOT <<\"RAW\" /d\n\techo \"hello ${FOO}\"\nEOT\n$FOO\nRAW\n", &env) else {
        panic!()
    };
    assert_eq!(copy.chown.as_deref(), Some("1000:1000"));
    assert_eq!(copy.files.inline[0].content, "echo \"hello bar\"\n");
    assert_eq!(copy.files.inline[1].content, "$FOO\n");
    // Commands, ARG defaults and triggers stay as written.
    for text in [
        "CMD $FOO",
        "ARG A=$FOO",
        "ONBUILD RUN $FOO",
        "HEALTHCHECK CMD $FOO",
        "SHELL [\"$FOO\"]",
    ] {
        let kind = parse_all(text).remove(0).kind;
        assert_eq!(expand(text, &env).0, kind, "{text}");
    }
}

#[test]
fn expansion_errors_name_the_instruction() {
    let instruction = parse_all("FROM a\nWORKDIR ${DIR:?must be set}\n").remove(1);
    let env = vars(&[]);
    let e = instruction
        .expand(&mut Expander::new(Lexer::new('\\'), &env))
        .unwrap_err();
    assert_eq!(
        e.with_file("Dockerfile.dev").to_string(),
        "Dockerfile.dev line 2: WORKDIR: failed to process \"${DIR:?must be set}\": DIR: must be set"
    );
    let instruction = parse_all("RUN --mount=type=$T true").remove(0);
    let env = vars(&[("T", "nfs")]);
    let e = instruction
        .expand(&mut Expander::new(Lexer::new('\\'), &env))
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "Dockerfile line 1: RUN: unsupported mount type \"nfs\""
    );
    let instruction = parse_all("VOLUME $NONE").remove(0);
    let e = instruction
        .expand(&mut Expander::new(Lexer::new('\\'), &env))
        .unwrap_err();
    assert!(e
        .to_string()
        .contains("VOLUME specified can not be an empty string"));
}
