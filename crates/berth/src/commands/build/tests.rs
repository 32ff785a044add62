use std::collections::BTreeMap;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use clap::Parser;

use super::context::{is_archive, BuildContext, ExtraFile};
use super::display::{classify, Failure, Line, Tail, Text};
use super::*;
use crate::cli::{Cli, Command};

fn args(argv: &[&str]) -> BuildArgs {
    let cli = Cli::try_parse_from(["berth", "build"].iter().chain(argv)).unwrap();
    let Command::Build(a) = cli.command else {
        panic!("not build")
    };
    a
}

fn decode(query: &str) -> Vec<(String, String)> {
    serde_html_form::from_str(query).unwrap()
}

#[test]
fn the_query_is_dockers_sorted_with_only_what_differs() {
    let a = args(&[
        "-t",
        "a:1",
        "-t",
        "b",
        "--build-arg",
        "A=1",
        "--build-arg",
        "FROM_ENV",
        "--build-arg",
        "UNSET",
        "--label",
        "l=v",
        "--no-cache",
        "--pull",
        "--rm=false",
        "--force-rm",
        "--memory",
        "64m",
        "--shm-size",
        "8m",
        "--add-host",
        "h1:10.0.0.1",
        "--add-host",
        "h2=10.0.0.2",
        "--network",
        "none",
        "--target",
        "final",
        ".",
    ]);
    let env = |k: &str| (k == "FROM_ENV").then(|| "e".to_string());
    let q = query(&a, Some("Dockerfile"), &[], &BTreeMap::new(), env).unwrap();
    assert_eq!(
        decode(&q),
        [
            ("buildargs", r#"{"A":"1","FROM_ENV":"e","UNSET":null}"#),
            ("dockerfile", "Dockerfile"),
            ("extrahosts", "h1:10.0.0.1"),
            ("extrahosts", "h2:10.0.0.2"),
            ("forcerm", "1"),
            ("labels", r#"{"l":"v"}"#),
            ("memory", "67108864"),
            ("networkmode", "none"),
            ("nocache", "1"),
            ("pull", "1"),
            ("rm", "0"),
            ("shmsize", "8388608"),
            ("t", "a:1"),
            ("t", "b"),
            ("target", "final"),
            ("version", "1"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string()))
    );
    // Defaults send next to nothing; `--rm` alone is docker's default.
    let q = query(&args(&["--rm", "-"]), None, &[], &BTreeMap::new(), |_| None).unwrap();
    assert_eq!(q, "version=1");
}

#[test]
fn secrets_and_ssh_are_json_parameters() {
    let ssh = BTreeMap::from([("default".to_string(), PathBuf::from("/run/agent.sock"))]);
    let q = query(
        &args(&["."]),
        None,
        &["tok".into(), "npm".into()],
        &ssh,
        |_| None,
    )
    .unwrap();
    assert_eq!(
        decode(&q),
        [
            ("secrets", r#"["tok","npm"]"#),
            ("ssh", r#"{"default":"/run/agent.sock"}"#),
            ("version", "1"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string()))
    );
}

#[test]
fn secret_specs_follow_buildx() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("s.txt");
    std::fs::write(&file, "from file").unwrap();
    let env = |k: &str| (k == "TOKEN").then(|| "from env".to_string());
    let spec = format!("id=a,src={}", file.display());
    assert_eq!(
        secret(&spec, env).unwrap(),
        ("a".into(), b"from file".to_vec())
    );
    assert_eq!(
        secret("id=b,env=TOKEN", env).unwrap(),
        ("b".into(), b"from env".to_vec())
    );
    assert_eq!(
        secret("type=env,id=c,src=TOKEN", env).unwrap().1,
        b"from env"
    );
    // Neither src nor env: the variable named like the id.
    assert_eq!(secret("id=TOKEN", env).unwrap().1, b"from env");
    for bad in [
        "src=x",
        "id=../x,env=TOKEN",
        "id=a/b,env=TOKEN",
        "id=a,env=NOPE",
        "id=a,x=1",
    ] {
        assert!(secret(bad, env).is_err(), "{bad}");
    }
}

#[test]
fn ssh_specs_name_absolute_sockets() {
    let sockets = ssh_sockets(
        &["default".into(), "work=rel/agent.sock".into()],
        Some("/tmp/agent".into()),
    )
    .unwrap();
    assert_eq!(sockets["default"], Path::new("/tmp/agent"));
    assert!(sockets["work"].is_absolute() && sockets["work"].ends_with("rel/agent.sock"));
    assert!(ssh_sockets(&["default".into()], None).is_err());
    assert!(ssh_sockets(&["a=/x,/y".into()], None).is_err());
}

/// Entries of a tar: (name, type, uid, gid, mode, content or link target).
fn entries(tar: &[u8]) -> Vec<(String, char, u64, u64, u32, String)> {
    let mut archive = tar::Archive::new(tar);
    archive
        .entries()
        .unwrap()
        .raw(true)
        .map(|e| {
            let mut e = e.unwrap();
            let h = e.header().clone();
            let mut data = String::new();
            e.read_to_string(&mut data).unwrap();
            if let Some(link) = h.link_name().unwrap() {
                data = link.display().to_string();
            }
            (
                String::from_utf8(h.path_bytes().to_vec()).unwrap(),
                h.entry_type().as_byte() as char,
                h.uid().unwrap(),
                h.gid().unwrap(),
                h.mode().unwrap(),
                data,
            )
        })
        .collect()
}

fn names(tar: &[u8]) -> Vec<String> {
    entries(tar).into_iter().map(|e| e.0).collect()
}

fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (path, content) in files {
        let p = dir.path().join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, content).unwrap();
    }
    dir
}

fn tar_of(ctx: BuildContext) -> Vec<u8> {
    let mut out = Vec::new();
    ctx.write(&mut out).unwrap();
    out
}

fn no_stdin() -> Result<Vec<u8>> {
    panic!("stdin read")
}

#[test]
fn a_directory_is_walked_with_its_dockerignore() {
    let dir = tree(&[
        ("Dockerfile", "FROM scratch\n"),
        (
            ".dockerignore",
            "**/*.log\n!keep.log\nignored\nsecret/**\n!secret/public\nDockerfile\n.dockerignore\n",
        ),
        ("a.txt", "a"),
        ("x.log", "x"),
        ("keep.log", "k"),
        ("sub/s.txt", "s"),
        ("sub/deep/y.log", "y"),
        ("ignored/i.txt", "i"),
        ("secret/key", "no"),
        ("secret/public", "yes"),
    ]);
    std::os::unix::fs::symlink("a.txt", dir.path().join("link")).unwrap();
    std::fs::set_permissions(
        dir.path().join("a.txt"),
        std::fs::Permissions::from_mode(0o751),
    )
    .unwrap();
    let ctx = BuildContext::from_dir(dir.path().to_str().unwrap(), None, no_stdin).unwrap();
    assert_eq!(ctx.dockerfile.as_deref(), Some("Dockerfile"));
    let tar = tar_of(ctx);
    let all = entries(&tar);
    assert_eq!(
        names(&tar),
        [
            ".dockerignore",
            "Dockerfile",
            "a.txt",
            "keep.log",
            "link",
            "secret/",
            "secret/public",
            "sub/",
            "sub/deep/",
            "sub/s.txt",
        ]
    );
    // Owner 0, real modes, symlinks as symlinks, directories as `name/`.
    assert!(all.iter().all(|e| e.2 == 0 && e.3 == 0));
    let find = |n: &str| all.iter().find(|e| e.0 == n).unwrap().clone();
    assert_eq!((find("a.txt").4, find("a.txt").5), (0o751, "a".into()));
    assert_eq!((find("link").1, find("link").5), ('2', "a.txt".into()));
    assert_eq!(find("sub/").1, '5');
}

#[test]
fn the_dockerfiles_own_ignore_file_wins() {
    let dir = tree(&[
        ("build/app.Dockerfile", "FROM scratch\n"),
        ("build/app.Dockerfile.dockerignore", "*.txt\n"),
        (".dockerignore", "*.md\n"),
        ("a.txt", "a"),
        ("b.md", "b"),
    ]);
    let file = dir.path().join("build/app.Dockerfile");
    let ctx = BuildContext::from_dir(
        dir.path().to_str().unwrap(),
        Some(file.to_str().unwrap()),
        no_stdin,
    )
    .unwrap();
    assert_eq!(ctx.dockerfile.as_deref(), Some("build/app.Dockerfile"));
    assert_eq!(
        names(&tar_of(ctx)),
        [
            ".dockerignore",
            "b.md",
            "build/",
            "build/app.Dockerfile",
            "build/app.Dockerfile.dockerignore",
        ]
    );
}

#[test]
fn a_dockerfile_outside_the_context_is_injected() {
    let outside = tree(&[("Dockerfile.out", "FROM outside\n")]);
    let file = outside.path().join("Dockerfile.out");
    // Without a .dockerignore: one is added naming the injected file.
    let dir = tree(&[("a.txt", "a")]);
    let mut ctx = BuildContext::from_dir(
        dir.path().to_str().unwrap(),
        Some(file.to_str().unwrap()),
        no_stdin,
    )
    .unwrap();
    let name = ctx.dockerfile.clone().unwrap();
    assert!(name.starts_with(".dockerfile.") && name.len() == ".dockerfile.".len() + 20);
    ctx.extra.push(ExtraFile {
        name: format!("{SECRETS_DIR}/tok"),
        mode: 0o400,
        data: b"s3cret".to_vec(),
    });
    let all = entries(&tar_of(ctx));
    let summary: Vec<(&str, u32, &str)> = all
        .iter()
        .map(|e| (e.0.as_str(), e.4, e.5.as_str()))
        .collect();
    let ignore = format!(".dockerignore\n{name}\n");
    assert_eq!(
        summary,
        [
            ("a.txt", 0o644, "a"),
            (name.as_str(), 0o600, "FROM outside\n"),
            (".dockerignore", 0o600, ignore.as_str()),
            (".berth-build-secrets/tok", 0o400, "s3cret"),
        ]
    );
    // With one: its text is sent with the name appended; `-f -` reads stdin.
    let dir = tree(&[(".dockerignore", "*.log"), ("a.txt", "a")]);
    let ctx = BuildContext::from_dir(dir.path().to_str().unwrap(), Some("-"), || {
        Ok(b"FROM stdin\n".to_vec())
    })
    .unwrap();
    let name = ctx.dockerfile.clone().unwrap();
    let all = entries(&tar_of(ctx));
    assert_eq!(all[0].0, ".dockerignore");
    assert_eq!(all[0].5, format!("*.log\n{name}\n"));
    assert_eq!(
        (all[2].0.as_str(), all[2].5.as_str()),
        (name.as_str(), "FROM stdin\n")
    );
}

#[test]
fn missing_contexts_and_dockerfiles_fail_early() {
    let dir = tree(&[("a.txt", "a")]);
    let Err(e) = BuildContext::from_dir(dir.path().to_str().unwrap(), None, no_stdin) else {
        panic!("no Dockerfile")
    };
    assert!(
        e.to_string().contains("Cannot locate specified Dockerfile"),
        "{e}"
    );
    let Err(e) = BuildContext::from_dir("/nonexistent/ctx", None, no_stdin) else {
        panic!("no context")
    };
    assert!(e.to_string().contains("unable to prepare context"), "{e}");
}

#[test]
fn stdin_is_an_archive_or_a_dockerfile() {
    // A bare Dockerfile becomes the one file of a tar.
    let ctx = BuildContext::from_stdin(std::io::Cursor::new(b"FROM x\n".to_vec()), None).unwrap();
    assert_eq!(ctx.dockerfile.as_deref(), Some("Dockerfile"));
    let all = entries(&tar_of(ctx));
    assert_eq!(
        (all[0].0.as_str(), all[0].4, all[0].5.as_str()),
        ("Dockerfile", 0o644, "FROM x\n")
    );
    // An archive goes as it is, end blocks and all.
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_size(3);
    h.set_mode(0o644);
    h.set_uid(1000);
    h.set_gid(1000);
    b.append_data(&mut h, "ctx/Dockerfile", &b"abc"[..])
        .unwrap();
    let archive = b.into_inner().unwrap();
    assert!(is_archive(&archive));
    let ctx = BuildContext::from_stdin(
        std::io::Cursor::new(archive.clone()),
        Some("ctx/Dockerfile"),
    )
    .unwrap();
    assert_eq!(ctx.dockerfile.as_deref(), Some("ctx/Dockerfile"));
    assert_eq!(tar_of(ctx), archive);
    // With a secret, its entries are copied and the secret follows.
    let mut ctx = BuildContext::from_stdin(std::io::Cursor::new(archive), None).unwrap();
    ctx.extra.push(ExtraFile {
        name: format!("{SECRETS_DIR}/a"),
        mode: 0o400,
        data: b"s".to_vec(),
    });
    assert_eq!(
        names(&tar_of(ctx)),
        ["ctx/Dockerfile", ".berth-build-secrets/a"]
    );
    assert!(BuildContext::from_stdin(std::io::empty(), Some("-")).is_err());
    assert!(is_archive(b"\x1f\x8b\x08\0rest"));
    assert!(!is_archive(&[0; 512]));
    assert!(!is_archive(&[b'F'; 600]));
}

#[tokio::test]
async fn a_context_that_cannot_be_read_aborts_the_body() {
    let dir = tree(&[("Dockerfile", "FROM x\n"), ("a.txt", "a")]);
    let ctx = BuildContext::from_dir(dir.path().to_str().unwrap(), None, no_stdin).unwrap();
    std::fs::remove_dir_all(dir.path()).unwrap();
    let (body, producer, _) = ctx.into_body();
    // An error frame, not a short tar the daemon could take for a whole one.
    assert!(http_body_util::BodyExt::collect(body).await.is_err());
    let e = producer.await.unwrap().unwrap_err();
    assert!(format!("{e:#}").contains("error checking context"), "{e:#}");
}

#[test]
fn stream_texts_are_classified_for_the_step_display() {
    assert_eq!(
        classify("Step 3/24 : ARG GREETING=hello"),
        Text::Step {
            number: 3,
            total: 24,
            instruction: "ARG GREETING=hello"
        }
    );
    assert_eq!(classify(" ---> Using cache\n"), Text::Cached);
    assert_eq!(classify(" ---> Running in d8023563c557\n"), Text::Noise);
    assert_eq!(
        classify("Removing intermediate container d8023563c557\n"),
        Text::Noise
    );
    assert_eq!(classify(" ---> 8c39dc60d2b9\n"), Text::Done);
    assert_eq!(
        classify("Successfully tagged a:1\n"),
        Text::Summary("Successfully tagged a:1")
    );
    assert_eq!(classify("Step by step\n"), Text::Output("Step by step\n"));
    assert_eq!(
        classify(" ---> not an id\n"),
        Text::Output(" ---> not an id\n")
    );
}

#[test]
fn the_tail_keeps_the_last_lines_of_raw_chunks() {
    let mut t = Tail::default();
    t.push("one\ntw");
    t.push("o\n\u{1b}[91merr\n\u{1b}[0m");
    assert_eq!(t.shown(), ["one", "two", "err"]);
    t.push("10%\r50%");
    assert_eq!(t.shown(), ["one", "two", "err", "50%"]);
    for i in 0..10 {
        t.push(&format!("l{i}\n"));
    }
    assert_eq!(t.shown(), ["l4", "l5", "l6", "l7", "l8", "l9"]);
}

#[test]
fn errors_carry_the_run_exit_code() {
    let line: Line = serde_json::from_str(
        r#"{"errorDetail":{"code":3,"message":"The command '/bin/sh -c exit 3' returned a non-zero code: 3"},"error":"x"}"#,
    )
    .unwrap();
    assert_eq!(
        line.error(),
        Some(Failure {
            code: Some(3),
            message: "The command '/bin/sh -c exit 3' returned a non-zero code: 3".into()
        })
    );
    let line: Line = serde_json::from_str(r#"{"error":"no code\n"}"#).unwrap();
    assert_eq!(line.error().unwrap().code, None);
    let line: Line = serde_json::from_str(r#"{"aux":{"ID":"sha256:ab"}}"#).unwrap();
    assert_eq!(line.image_id().as_deref(), Some("sha256:ab"));
    assert!(line.error().is_none());
}
