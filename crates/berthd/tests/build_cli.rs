//! `berth build` against berthd: the context the CLI makes (walk, `.dockerignore`, an outside
//! or stdin Dockerfile, stdin archives), docker's flags, and what it prints and exits with.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Command;

use berth_testkit::{run, skip_unless, unique, Client, Daemon, Out};

fn daemon() -> Option<Daemon> {
    (!skip_unless(Client::Berth)).then(|| Daemon::start_for(Client::Berth))
}

/// Writes `files` (path, content) under a new directory and returns it.
fn context(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (path, content) in files {
        let p = dir.path().join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, content).unwrap();
    }
    dir
}

fn build(d: &Daemon, dir: &Path, args: &[&str]) -> Out {
    build_with(d, dir.to_str().unwrap(), args, None)
}

/// `berth build args... <context>`, with `stdin`.
fn build_with(d: &Daemon, context: &str, args: &[&str], stdin: Option<&[u8]>) -> Out {
    let mut all = vec!["build"];
    all.extend_from_slice(args);
    all.push(context);
    run(d.berth_cmd(&all), stdin)
}

fn run_image(d: &Daemon, image: &str, script: &str) -> String {
    d.berth(&["run", "--rm", image, "sh", "-c", script])
        .ok()
        .stdout
}

#[test]
fn a_directory_builds_with_tags_args_target_labels_and_iidfile() {
    let Some(d) = daemon() else { return };
    let base = d.busybox();
    let dir = context(&[
        (
            "Dockerfile",
            &format!(
                "FROM {base} AS base\nARG GREETING\nARG FROM_ENV\n\
                 RUN echo \"$GREETING $FROM_ENV\" > /greeting\n\
                 FROM base AS final\nCOPY file.txt /file.txt\n\
                 FROM base AS later\nRUN echo never-built\n"
            ),
        ),
        ("file.txt", "from the context\n"),
    ]);
    let (one, two) = (
        format!("{}:1", unique("cli")),
        format!("{}:2", unique("cli")),
    );
    let iid = dir.path().join("iid");
    let mut cmd = d.berth_cmd(&[
        "build",
        "-t",
        &one,
        "-t",
        &two,
        "--build-arg",
        "GREETING=hi",
        "--build-arg",
        "FROM_ENV",
        "--target",
        "final",
        "--label",
        "org.example=yes",
        "--iidfile",
        iid.to_str().unwrap(),
        dir.path().to_str().unwrap(),
    ]);
    cmd.env("FROM_ENV", "env-value");
    let out = run(cmd, None).ok();
    for expected in [
        "Sending build context to Docker daemon",
        "Step 1/",
        "Successfully built ",
        &format!("Successfully tagged {one}"),
        &format!("Successfully tagged {two}"),
    ] {
        assert!(out.stdout.contains(expected), "{expected:?}: {out:?}");
    }
    assert!(!out.stdout.contains("never-built"), "{out:?}");
    let id = d
        .berth(&["image", "inspect", "--format", "{{.Id}}", &one])
        .ok()
        .text();
    assert!(id.starts_with("sha256:"), "{id}");
    assert_eq!(std::fs::read_to_string(&iid).unwrap(), id);
    assert_eq!(
        run_image(&d, &two, "cat /greeting /file.txt"),
        "hi env-value\nfrom the context\n"
    );
    let labels = d
        .berth(&[
            "image",
            "inspect",
            "--format",
            "{{json .Config.Labels}}",
            &one,
        ])
        .ok()
        .text();
    assert!(labels.contains("\"org.example\":\"yes\""), "{labels}");
    // `image build` is the same verb.
    let again = d
        .berth(&[
            "image",
            "build",
            "-q",
            "--target",
            "final",
            "--build-arg",
            "GREETING=hi",
            "--build-arg",
            "FROM_ENV=env-value",
            "--label",
            "org.example=yes",
            dir.path().to_str().unwrap(),
        ])
        .ok();
    assert_eq!(again.text(), id);
}

#[test]
fn dockerignore_leaves_files_out_before_sending() {
    let Some(d) = daemon() else { return };
    let base = d.busybox();
    let dir = context(&[
        ("Dockerfile", &format!("FROM {base}\nCOPY . /ctx/\n")),
        (".dockerignore", "**/*.log\n!keep.log\nsecret\nDockerfile\n"),
        ("a.txt", "a"),
        ("x.log", "x"),
        ("sub/deep/y.log", "y"),
        ("sub/s.txt", "s"),
        ("keep.log", "k"),
        ("secret/key", "no"),
    ]);
    std::os::unix::fs::symlink("a.txt", dir.path().join("link")).unwrap();
    let tag = unique("ignore");
    build(&d, dir.path(), &["-t", &tag]).ok();
    let files = run_image(
        &d,
        &tag,
        "cd /ctx && find . | sort && readlink link && stat -c '%u:%g' a.txt",
    );
    for present in ["./a.txt", "./keep.log", "./sub/s.txt", "./link"] {
        assert!(
            files.lines().any(|l| l == present),
            "{present} missing:\n{files}"
        );
    }
    // The Dockerfile is sent (the build needs it) and, named by .dockerignore, berthd takes
    // it out of the context as dockerd does.
    assert!(!files.lines().any(|l| l == "./Dockerfile"), "{files}");
    for absent in ["x.log", "y.log", "secret"] {
        assert!(!files.contains(absent), "{absent} was sent:\n{files}");
    }
    assert!(files.ends_with("a.txt\n0:0\n"), "{files}");
}

#[test]
fn dockerfiles_from_outside_the_context_and_from_stdin() {
    let Some(d) = daemon() else { return };
    let base = d.busybox();
    let dir = context(&[("a.txt", "context file\n")]);
    let outside = context(&[(
        "Outside.Dockerfile",
        &format!("FROM {base}\nCOPY a.txt /a\nLABEL from=outside\n"),
    )]);
    let tag = unique("outside");
    let file = outside.path().join("Outside.Dockerfile");
    build(&d, dir.path(), &["-t", &tag, "-f", file.to_str().unwrap()]).ok();
    assert_eq!(run_image(&d, &tag, "cat /a"), "context file\n");

    // `-f -`: the Dockerfile on stdin, the context a directory.
    let tag = unique("stdin-file");
    let dockerfile = format!("FROM {base}\nCOPY a.txt /b\n");
    build_with(
        &d,
        dir.path().to_str().unwrap(),
        &["-t", &tag, "-f", "-"],
        Some(dockerfile.as_bytes()),
    )
    .ok();
    assert_eq!(run_image(&d, &tag, "cat /b"), "context file\n");

    // Context `-` holding a bare Dockerfile.
    let tag = unique("stdin-bare");
    let dockerfile = format!("FROM {base}\nRUN echo bare > /bare\n");
    build_with(&d, "-", &["-t", &tag], Some(dockerfile.as_bytes())).ok();
    assert_eq!(run_image(&d, &tag, "cat /bare"), "bare\n");

    // Context `-` holding a tar (GNU tar's `./` names), sent as it is.
    std::fs::write(
        dir.path().join("Dockerfile"),
        format!("FROM {base}\nCOPY a.txt /c\n"),
    )
    .unwrap();
    let archive = Command::new("tar")
        .args(["-C", dir.path().to_str().unwrap(), "-cf", "-", "."])
        .output()
        .unwrap();
    assert!(archive.status.success());
    let tag = unique("stdin-tar");
    build_with(&d, "-", &["-t", &tag], Some(&archive.stdout)).ok();
    assert_eq!(run_image(&d, &tag, "cat /c"), "context file\n");
}

#[test]
fn quiet_plain_and_failures_print_as_docker() {
    let Some(d) = daemon() else { return };
    let base = d.busybox();
    let dir = context(&[("Dockerfile", &format!("FROM {base}\nRUN echo hello\n"))]);
    let quiet = build(&d, dir.path(), &["-q"]).ok();
    let id = quiet.text();
    assert!(
        id.starts_with("sha256:") && id.len() == 71 && !id.contains('\n'),
        "{quiet:?}"
    );
    let plain = build(&d, dir.path(), &["--progress", "plain"]).ok();
    assert!(plain.stdout.contains("Step 1/2 : FROM "), "{plain:?}");
    assert!(
        plain.stdout.contains("Step 2/2 : RUN echo hello"),
        "{plain:?}"
    );
    assert!(plain.stdout.contains(" ---> Using cache"), "{plain:?}");

    let failing = context(&[(
        "Dockerfile",
        &format!("FROM {base}\nRUN echo before-fail && exit 3\n"),
    )]);
    let out = build(&d, failing.path(), &[]);
    assert_eq!(out.code, 3, "{out:?}");
    assert!(out.stdout.contains("before-fail"), "{out:?}");
    assert!(
        out.stderr.contains(
            "The command '/bin/sh -c echo before-fail && exit 3' returned a non-zero code: 3"
        ),
        "{out:?}"
    );
    // With -q the held-back log goes to stderr, with the error.
    let out = build(&d, failing.path(), &["-q"]);
    assert_eq!(out.code, 3, "{out:?}");
    assert_eq!(out.stdout, "", "{out:?}");
    assert!(out.stderr.contains("before-fail"), "{out:?}");
    // A daemon refusal before the stream: docker's message, status 1.
    let bad = context(&[("Dockerfile", "FROM\n")]);
    let out = build(&d, bad.path(), &[]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr.starts_with("Error response from daemon: "),
        "{out:?}"
    );
    // Refused before the daemon reads a large body: its message, not a broken pipe.
    let large = context(&[("Dockerfile", &format!("FROM {base}\n"))]);
    std::fs::write(large.path().join("big"), vec![7u8; 16 << 20]).unwrap();
    let out = build(&d, large.path(), &["--shm-size", "0"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr
            .contains("Error response from daemon: shmsize must be greater than 0"),
        "{out:?}"
    );
    // No Dockerfile: refused before anything is sent.
    let empty = context(&[("a.txt", "a")]);
    let out = build(&d, empty.path(), &[]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr.contains("Cannot locate specified Dockerfile"),
        "{out:?}"
    );
}

#[test]
fn a_terminal_shows_steps_with_timings() {
    let Some(d) = daemon() else { return };
    let base = d.busybox();
    let dir = context(&[(
        "Dockerfile",
        &format!("FROM {base}\nRUN echo live-output\nLABEL a=b\n"),
    )]);
    let args = format!("build {}", dir.path().display());
    let first = d.berth_tty(&args, &[]);
    assert_eq!(first.code, 0, "{first:?}");
    let screen = without_colors(&first.stdout);
    for expected in [
        "sent build context: ",
        "[1/3] FROM busybox:test",
        "[2/3] RUN echo live-output",
        "  live-output",
        "[3/3] LABEL a=b",
        "Successfully built ",
    ] {
        assert!(screen.contains(expected), "{expected:?}: {screen}");
    }
    assert!(!screen.contains("Step 1/3"), "{screen}");
    let again = without_colors(&d.berth_tty(&args, &[]).stdout);
    assert!(again.contains("CACHED"), "{again}");
    // A failed step is marked, keeps its output on screen, and the build exits with its code.
    let failing = context(&[(
        "Dockerfile",
        &format!("FROM {base}\nRUN echo shown-on-failure && exit 4\n"),
    )]);
    let out = d.berth_tty(&format!("build {}", failing.path().display()), &[]);
    assert_eq!(out.code, 4, "{out:?}");
    let screen = without_colors(&out.stdout);
    for expected in ["ERROR", "  shown-on-failure", "returned a non-zero code: 4"] {
        assert!(screen.contains(expected), "{expected:?}: {screen}");
    }
}

/// Terminal output without its SGR (colour and weight) sequences.
fn without_colors(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("\u{1b}[") {
        out.push_str(&rest[..at]);
        let tail = &rest[at + 2..];
        match tail.find(|c: char| c.is_ascii_alphabetic()) {
            Some(end) if tail.as_bytes()[end] == b'm' => rest = &tail[end + 1..],
            _ => {
                out.push_str(&rest[at..at + 2]);
                rest = tail;
            }
        }
    }
    out.push_str(rest);
    out
}
