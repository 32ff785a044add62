//! `docker build` (the docker CLI's classic builder, `DOCKER_BUILDKIT=0`) against berthd.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;

use berth_testkit::build::context;
use berth_testkit::Out;
use common::{unique, Daemon};

/// `docker build args... <dir>` with the classic builder.
fn build(d: &Daemon, dir: &Path, args: &[&str]) -> Out {
    d.docker_build(dir, args)
}

fn inspect(d: &Daemon, image: &str, format: &str) -> String {
    d.docker(&["image", "inspect", "--format", format, image])
        .ok()
        .stdout
        .trim()
        .to_string()
}

#[test]
fn a_dockerfile_builds_runs_and_records_dockerds_config() {
    if common::skip() {
        return;
    }
    let d = Daemon::start();
    let base = d.busybox();
    let tag = format!("{}:1", unique("built"));
    let dockerfile = format!(
        "FROM {base}\n\
         ARG GREETING=hello\n\
         ENV APP_HOME=/app PATH_EXTRA=\"a b\"\n\
         LABEL org.example.one=\"1\" two=2\n\
         WORKDIR /app\n\
         COPY file.txt ./\n\
         COPY dir /app/dir/\n\
         RUN echo \"to stdout $GREETING\" && echo to-stderr >&2 && echo made > /app/made\n\
         USER nobody\n\
         EXPOSE 8080 9090/udp\n\
         VOLUME [\"/data\"]\n\
         HEALTHCHECK --interval=30s --retries=4 CMD true\n\
         STOPSIGNAL SIGTERM\n\
         CMD [\"cat\", \"/app/file.txt\"]\n"
    );
    let dir = context(&[
        ("Dockerfile", &dockerfile),
        ("file.txt", "file content\n"),
        ("dir/a", "a\n"),
        ("dir/sub/b", "b\n"),
    ]);
    let out = build(
        &d,
        dir.path(),
        &["-t", &tag, "--build-arg", "GREETING=world"],
    );
    assert_eq!(out.code, 0, "{out:?}");
    for expected in [
        "Step 1/14 : FROM ",
        "Step 8/14 : RUN echo",
        "to stdout world\n",
        "to-stderr",
        "Successfully built ",
        &format!("Successfully tagged {tag}"),
    ] {
        assert!(
            out.stdout.contains(expected) || out.stderr.contains(expected),
            "{expected:?} missing: {out:?}"
        );
    }
    // The image runs, and has the files and the config.
    let run = d.docker(&["run", "--rm", &tag]).ok();
    assert_eq!(run.stdout, "file content\n");
    let ls = d
        .docker(&[
            "run",
            "--rm",
            "--user",
            "0",
            &tag,
            "sh",
            "-c",
            "cat /app/made /app/dir/a /app/dir/sub/b; stat -c '%u:%g %a' /app/file.txt",
        ])
        .ok();
    assert_eq!(ls.stdout, "made\na\nb\n0:0 644\n");
    assert_eq!(
        inspect(&d, &tag, "{{.Config.User}} {{.Config.WorkingDir}} {{json .Config.Env}}"),
        "nobody /app [\"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\",\"APP_HOME=/app\",\"PATH_EXTRA=a b\"]"
    );
    assert_eq!(
        inspect(
            &d,
            &tag,
            "{{json .Config.ExposedPorts}} {{json .Config.Volumes}} {{.Config.StopSignal}}"
        ),
        "{\"8080/tcp\":{},\"9090/udp\":{}} {\"/data\":{}} SIGTERM"
    );
    assert_eq!(
        inspect(&d, &tag, "{{json .Config.Healthcheck}}"),
        "{\"Test\":[\"CMD-SHELL\",\"true\"],\"Interval\":30000000000,\"Retries\":4}"
    );
    let history = d
        .docker(&["history", "--no-trunc", "--format", "{{.CreatedBy}}", &tag])
        .ok()
        .stdout;
    for line in [
        "/bin/sh -c #(nop)  CMD [\"cat\" \"/app/file.txt\"]",
        "/bin/sh -c #(nop)  HEALTHCHECK &{[\"CMD-SHELL\" \"true\"] \"30s\" \"0s\" \"0s\" '\\x04'}",
        "/bin/sh -c #(nop)  VOLUME [/data]",
        "|1 GREETING=world /bin/sh -c echo \"to stdout $GREETING\"",
        "/bin/sh -c #(nop) WORKDIR /app",
        "/bin/sh -c #(nop)  ENV APP_HOME=/app PATH_EXTRA=a b",
        "/bin/sh -c #(nop)  ARG GREETING=hello",
    ] {
        assert!(
            history.contains(line),
            "{line:?} not in history:\n{history}"
        );
    }
    assert!(history.contains("/bin/sh -c #(nop) COPY dir:"), "{history}");
    // The build's containers are gone, and so are its mounts.
    assert_eq!(d.docker(&["ps", "-aq"]).ok().stdout, "");
    assert_eq!(d.leaked_mounts(), Vec::<String>::new());
}

#[test]
fn a_rebuild_hits_the_cache_until_a_copied_file_changes() {
    if common::skip() {
        return;
    }
    let d = Daemon::start();
    let base = d.busybox();
    let tag = unique("cached");
    let dockerfile = format!(
        "FROM {base}\nRUN echo one > /one\nCOPY a.txt /a.txt\nRUN cat /a.txt > /copy\nCOPY b.txt /b.txt\n"
    );
    let dir = context(&[
        ("Dockerfile", &dockerfile),
        ("a.txt", "a\n"),
        ("b.txt", "b\n"),
    ]);
    let first = build(&d, dir.path(), &["-t", &tag]);
    assert_eq!(first.code, 0, "{first:?}");
    assert_eq!(first.stdout.matches("Using cache").count(), 0, "{first:?}");
    let id = inspect(&d, &tag, "{{.Id}}");
    let again = build(&d, dir.path(), &["-t", &tag]);
    assert_eq!(again.stdout.matches("Using cache").count(), 4, "{again:?}");
    assert_eq!(inspect(&d, &tag, "{{.Id}}"), id);
    // b.txt is read by the last step only.
    std::fs::write(dir.path().join("b.txt"), "b2\n").unwrap();
    let changed = build(&d, dir.path(), &["-t", &tag]);
    assert_eq!(
        changed.stdout.matches("Using cache").count(),
        3,
        "{changed:?}"
    );
    // a.txt is read from the second step on.
    std::fs::write(dir.path().join("a.txt"), "a2\n").unwrap();
    let changed = build(&d, dir.path(), &["-t", &tag]);
    assert_eq!(
        changed.stdout.matches("Using cache").count(),
        1,
        "{changed:?}"
    );
    let out = d
        .docker(&["run", "--rm", &tag, "cat", "/copy", "/b.txt"])
        .ok();
    assert_eq!(out.stdout, "a2\nb2\n");
    // --no-cache runs everything again.
    let none = build(&d, dir.path(), &["-t", &tag, "--no-cache"]);
    assert_eq!(none.stdout.matches("Using cache").count(), 0, "{none:?}");
}

#[test]
fn multi_stage_builds_only_what_the_target_needs() {
    if common::skip() {
        return;
    }
    let d = Daemon::start();
    let base = d.busybox();
    let tag = unique("stages");
    let dockerfile = format!(
        "FROM {base} AS builder\n\
         ARG V=1\n\
         RUN echo \"built v$V\" > /artifact && mkdir /out && echo x > /out/x\n\
         FROM {base} AS unused\n\
         RUN echo never-built\n\
         FROM builder AS derived\n\
         RUN echo derived > /derived\n\
         FROM {base}\n\
         COPY --from=builder /artifact /artifact\n\
         COPY --from=0 /out /out\n\
         COPY --from=derived /derived /derived\n\
         CMD cat /artifact /out/x /derived\n"
    );
    let dir = context(&[("Dockerfile", &dockerfile)]);
    let out = build(&d, dir.path(), &["-t", &tag]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(!out.stdout.contains("never-built"), "{out:?}");
    let run = d.docker(&["run", "--rm", &tag]).ok();
    assert_eq!(run.stdout, "built v1\nx\nderived\n");
    // --target stops at a stage, with its own steps only.
    let target = format!("{tag}:builder");
    let out = build(
        &d,
        dir.path(),
        &["-t", &target, "--target", "builder", "--build-arg", "V=2"],
    );
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("Step 1/3 : FROM"), "{out:?}");
    let run = d.docker(&["run", "--rm", &target, "cat", "/artifact"]).ok();
    assert_eq!(run.stdout, "built v2\n");
    let out = build(&d, dir.path(), &["--target", "nosuch"]);
    assert_ne!(out.code, 0);
    assert!(out.stderr.contains("nosuch"), "{out:?}");
}

#[test]
fn a_failing_step_names_the_command_and_its_exit_code_and_leaves_nothing_half_made() {
    if common::skip() {
        return;
    }
    let d = Daemon::start();
    let base = d.busybox();
    let dockerfile = format!("FROM {base}\nRUN echo before && exit 3\nRUN echo never\n");
    let dir = context(&[("Dockerfile", &dockerfile)]);
    let out = build(&d, dir.path(), &["--force-rm"]);
    assert_eq!(out.code, 3, "{out:?}");
    assert!(
        out.stderr
            .contains("The command '/bin/sh -c echo before && exit 3' returned a non-zero code: 3"),
        "{out:?}"
    );
    assert_eq!(d.docker(&["ps", "-aq"]).ok().stdout, "");
    assert_eq!(d.leaked_mounts(), Vec::<String>::new());
    // Syntax errors and missing sources are named, before anything runs.
    for (text, message) in [
        ("FROM {base}\nFROBNICATE x\n", "unknown instruction"),
        ("FROM {base}\nCOPY --frmo=x a /\n", "frmo"),
        ("FROM {base}\nCOPY nosuchfile /x\n", "nosuchfile"),
        ("RUN true\n", "no build stage"),
    ] {
        let dir = context(&[("Dockerfile", &text.replace("{base}", base))]);
        let out = build(&d, dir.path(), &[]);
        assert_ne!(out.code, 0, "{text}");
        assert!(out.stderr.contains(message), "{text}: {out:?}");
    }
    assert_eq!(d.docker(&["ps", "-aq"]).ok().stdout, "");
    assert_eq!(d.leaked_mounts(), Vec::<String>::new());
}
