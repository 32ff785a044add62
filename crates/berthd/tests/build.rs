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

/// How many images `docker images -q args...` lists.
fn images(d: &Daemon, args: &[&str]) -> usize {
    let mut all = vec!["images", "-q", "--no-trunc"];
    all.extend_from_slice(args);
    d.docker(&all).ok().stdout.lines().count()
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

#[test]
fn build_steps_are_intermediate_images_and_the_cache_is_pruned_and_limited() {
    if common::skip() {
        return;
    }
    // A cache limit below one step's layer: every build ends by dropping what it may.
    let d = Daemon::start_configured("build-cache-size = 1\n");
    let base = d.busybox();
    let tag = unique("steps");
    let dockerfile = format!("FROM {base}\nENV A=1\nRUN echo one > /one\nRUN echo two > /two\n");
    let dir = context(&[("Dockerfile", &dockerfile)]);
    let out = build(&d, dir.path(), &["-t", &tag]);
    assert_eq!(out.code, 0, "{out:?}");
    // Limited to 1 byte: the layer steps' entries went, and with them their images, except
    // the tagged one (and the base); the ENV step holds no layer, so it stays cached.
    let id = inspect(&d, &tag, "{{.Id}}");
    let parent = inspect(&d, &tag, "{{.Parent}}");
    assert!(parent.starts_with("sha256:"), "{parent}");
    assert_eq!(images(&d, &[]), 2);
    let again = build(&d, dir.path(), &["-t", &tag]);
    assert_eq!(again.stdout.matches("Using cache").count(), 1, "{again:?}");
    assert_ne!(inspect(&d, &tag, "{{.Id}}"), id);

    // Without the limit, steps are images: hidden from `docker images`, listed with -a.
    let d = Daemon::start();
    let base = d.busybox();
    let dockerfile = format!("FROM {base}\nENV A=1\nRUN echo one > /one\nRUN echo two > /two\n");
    let dir = context(&[("Dockerfile", &dockerfile)]);
    let out = build(&d, dir.path(), &["-t", &tag]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        images(&d, &[]),
        2,
        "{}",
        d.docker(&["images", "-a"]).ok().stdout
    );
    assert_eq!(images(&d, &["-a"]), 4);
    let df = d
        .docker(&["system", "df", "--format", "{{.Type}} {{.TotalCount}}"])
        .ok()
        .stdout;
    assert!(df.contains("Build Cache 3"), "{df}");
    // `docker builder prune -a`: the cache goes; the tagged image stays, and its steps
    // with it (the final image is built on them).
    let pruned = d.docker(&["builder", "prune", "-af"]).ok().stdout;
    assert!(pruned.contains("Deleted build cache objects"), "{pruned}");
    let df = d
        .docker(&["system", "df", "--format", "{{.Type}} {{.TotalCount}}"])
        .ok()
        .stdout;
    assert!(df.contains("Build Cache 0"), "{df}");
    let again = build(&d, dir.path(), &["-t", &tag]);
    assert_eq!(again.stdout.matches("Using cache").count(), 0, "{again:?}");
    // `docker rmi` of the image takes its untagged steps along, as dockerd's does; the
    // first build's chain (untagged since the rebuild took the tag) is left dangling.
    let steps = d
        .docker(&["history", "-q", &tag])
        .ok()
        .stdout
        .lines()
        .filter(|l| !l.contains("missing"))
        .count();
    assert_eq!(steps, 4, "three steps and the base");
    d.docker(&["rmi", &tag]).ok();
    assert_eq!(
        images(&d, &["-a"]),
        4,
        "{}",
        d.docker(&["images", "-a"]).ok().stdout
    );
    assert_eq!(images(&d, &["--filter", "dangling=true"]), 1);
    // `docker image prune` removes the dangling head and the steps below it.
    d.docker(&["image", "prune", "-f"]).ok();
    assert_eq!(
        images(&d, &["-a"]),
        1,
        "{}",
        d.docker(&["images", "-a"]).ok().stdout
    );
}

#[test]
fn independent_stages_run_side_by_side_and_print_in_order() {
    if common::skip() {
        return;
    }
    let d = Daemon::start();
    let base = d.busybox();
    let tag = unique("parallel");
    let dockerfile = format!(
        "FROM {base} AS a\nRUN sleep 2 && echo a > /a\n\
         FROM {base} AS b\nRUN sleep 2 && echo b > /b\n\
         FROM {base}\nCOPY --from=a /a /a\nCOPY --from=b /b /b\nCMD cat /a /b\n"
    );
    let dir = context(&[("Dockerfile", &dockerfile)]);
    let building = std::thread::scope(|s| {
        let build = s.spawn(|| build(&d, dir.path(), &["-t", &tag]));
        // Both stages' RUN containers are up at once at some point.
        let mut most = 0;
        while !build.is_finished() {
            let running = d.docker(&["ps", "-q"]).ok().stdout.lines().count();
            most = most.max(running);
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        (build.join().unwrap(), most)
    });
    let (out, most) = building;
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(most, 2, "the two stages ran one after the other");
    // The steps come out in order, each stage's lines together.
    let numbers: Vec<usize> = out
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("Step "))
        .filter_map(|l| l.split('/').next()?.parse().ok())
        .collect();
    assert_eq!(numbers, (1..=8).collect::<Vec<_>>(), "{out:?}");
    assert_eq!(d.docker(&["run", "--rm", &tag]).ok().stdout, "a\nb\n");
}

#[test]
fn a_kill_9_during_a_build_leaves_the_store_consistent() {
    if common::skip() {
        return;
    }
    let mut d = Daemon::start();
    let base = d.busybox();
    let dockerfile = format!("FROM {base}\nCOPY data /data\nRUN sleep 2 && echo done > /done\n");
    let dir = context(&[("Dockerfile", &dockerfile), ("data", &"x".repeat(1 << 20))]);
    let until = |what: &str, f: &dyn Fn() -> bool| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while !f() {
            assert!(std::time::Instant::now() < deadline, "{what}");
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    };
    let mut cmd = d.docker_cmd(&["build", "-q", dir.path().to_str().unwrap()]);
    cmd.env("DOCKER_BUILDKIT", "0")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let mut client = cmd.spawn().unwrap();
    // Killed while the RUN step runs: the COPY step before it is recorded.
    until("the RUN step's container", &|| {
        !d.docker(&["ps", "-q"]).ok().stdout.is_empty()
    });
    d.kill9();
    let _ = client.wait();
    d.spawn();
    // The step's container outlived berthd under its shim (dockerd's would too) and ends.
    until("the RUN container's exit", &|| {
        d.docker(&["ps", "-q"]).ok().stdout.is_empty()
    });
    let out = build(&d, dir.path(), &["-t", "after-crash"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout.matches("Using cache").count(), 1, "{out:?}");
    d.docker(&["container", "prune", "-f"]).ok();
    // Nothing half-made: no context left unpacked, no snapshot but the images' layers.
    let tmp = d.data_root().join("tmp");
    let left: Vec<_> = std::fs::read_dir(&tmp)
        .map(|r| r.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "{left:?}");
    assert_eq!(
        common::registry::snapshots(&d, "active"),
        Vec::<String>::new()
    );
    assert_eq!(
        common::registry::snapshots(&d, "view"),
        Vec::<String>::new()
    );
    assert_eq!(d.leaked_mounts(), Vec::<String>::new());
}

/// An image's files as `docker export` of a container of it has them: path, type, mode,
/// owner, size, link target and a digest of the content; times and what an engine adds to
/// every container (its init layer's mount targets) left out.
fn exported_tree(docker: impl Fn(&[&str]) -> Out, image: &str, dir: &Path) -> Vec<String> {
    let id = docker(&["create", image]).ok().stdout.trim().to_string();
    let tar = dir.join(format!("{}.tar", &id[..12]));
    docker(&["export", "-o", tar.to_str().unwrap(), &id]).ok();
    docker(&["rm", &id]).ok();
    let mut archive = tar::Archive::new(std::fs::File::open(&tar).unwrap());
    let mut out = Vec::new();
    for entry in archive.entries().unwrap() {
        let mut e = entry.unwrap();
        let path = e.path().unwrap().display().to_string();
        let path = path
            .trim_start_matches("./")
            .trim_end_matches('/')
            .to_string();
        let init = [
            ".dockerenv",
            "etc/hosts",
            "etc/hostname",
            "etc/resolv.conf",
            "etc/mtab",
        ];
        if path.is_empty()
            || init.contains(&path.as_str())
            || ["dev", "proc", "sys"]
                .iter()
                .any(|t| path == *t || path.starts_with(&format!("{t}/")))
        {
            continue;
        }
        let h = e.header().clone();
        let mut content = Vec::new();
        std::io::Read::read_to_end(&mut e, &mut content).unwrap();
        use sha2::Digest as _;
        out.push(format!(
            "{path} {:?} {:o} {}:{} {} {:?} {:x}",
            h.entry_type(),
            h.mode().unwrap() & 0o7777,
            h.uid().unwrap(),
            h.gid().unwrap(),
            content.len(),
            h.link_name().unwrap(),
            sha2::Sha256::digest(&content)
        ));
    }
    out.sort();
    out
}

#[test]
fn berth_and_dockerd_build_the_same_image_from_the_same_dockerfile() {
    if common::skip() {
        return;
    }
    let d = Daemon::start();
    let dockerd = common::dockerd::Dockerd::start();
    let tar = common::busybox_tar().display().to_string();
    for docker in
        [&|a: &[&str]| d.docker(a), &|a: &[&str]| dockerd.docker(a)] as [&dyn Fn(&[&str]) -> Out; 2]
    {
        docker(&["import", "-c", "CMD [\"sh\"]", &tar, "same:base"]).ok();
    }
    let dockerfile = "FROM same:base AS build\n\
         ARG V=1\n\
         RUN mkdir -p /out && echo \"v$V\" > /out/version && chmod 0750 /out\n\
         FROM same:base\n\
         LABEL org.example.a=1 b=\"two words\"\n\
         ENV A=1 B=\"x y\"\n\
         WORKDIR /app/sub\n\
         COPY file.txt ./\n\
         COPY --chown=1000:1000 dir /app/dir/\n\
         COPY --from=build /out /out\n\
         ADD archive.tar /unpacked/\n\
         RUN echo hi > /app/hi && rm -f /app/sub/file.txt && ln -s /app/hi /app/link\n\
         USER 1000\n\
         EXPOSE 8080/tcp 53/udp\n\
         VOLUME /data\n\
         HEALTHCHECK --interval=5s CMD true\n\
         ONBUILD RUN echo child\n\
         STOPSIGNAL SIGINT\n\
         SHELL [\"/bin/sh\", \"-ec\"]\n\
         ENTRYPOINT [\"/bin/sh\", \"-c\"]\n\
         CMD echo from $A\n";
    let dir = context(&[
        ("Dockerfile", dockerfile),
        ("file.txt", "file\n"),
        ("dir/a", "a\n"),
        ("dir/sub/b", "b\n"),
    ]);
    // A small tar for ADD to unpack.
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_size(3);
    h.set_mode(0o600);
    h.set_uid(7);
    h.set_gid(8);
    h.set_mtime(1_600_000_000);
    b.append_data(&mut h, "inside/x", &b"xyz"[..]).unwrap();
    std::fs::write(dir.path().join("archive.tar"), b.into_inner().unwrap()).unwrap();

    let built_b = build(&d, dir.path(), &["-t", "same:out", "--build-arg", "V=2"]);
    assert_eq!(built_b.code, 0, "{built_b:?}");
    let mut cmd = dockerd.docker_cmd(&[
        "build",
        "-t",
        "same:out",
        "--build-arg",
        "V=2",
        dir.path().to_str().unwrap(),
    ]);
    cmd.env("DOCKER_BUILDKIT", "0");
    let built_d = berth_testkit::run(cmd, None);
    assert_eq!(built_d.code, 0, "{built_d:?}");

    // The config a container starts from.
    let config = |docker: &dyn Fn(&[&str]) -> Out| -> serde_json::Value {
        let out = docker(&[
            "image",
            "inspect",
            "--format",
            "{{json .Config}}",
            "same:out",
        ])
        .ok();
        let mut v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
        for engine_specific in ["Image", "Hostname"] {
            v.as_object_mut().unwrap().remove(engine_specific);
        }
        v
    };
    assert_eq!(config(&|a| d.docker(a)), config(&|a| dockerd.docker(a)));
    // The history, COPY content hashes aside (each engine hashes what it was sent its way).
    let history = |docker: &dyn Fn(&[&str]) -> Out| -> Vec<String> {
        let out = docker(&[
            "history",
            "--no-trunc",
            "--format",
            "{{.CreatedBy}}",
            "same:out",
        ])
        .ok();
        out.stdout
            .lines()
            .map(|l| {
                let mut l = l.to_string();
                for kind in ["file:", "dir:", "multi:"] {
                    if let Some(at) = l.find(kind) {
                        let start = at + kind.len();
                        l.replace_range(start..(start + 64).min(l.len()), "<hash>");
                    }
                }
                l
            })
            .collect()
    };
    assert_eq!(history(&|a| d.docker(a)), history(&|a| dockerd.docker(a)));
    // The same files, modes, owners and contents.
    let tmp = tempfile::tempdir().unwrap();
    let ours = exported_tree(|a| d.docker(a), "same:out", tmp.path());
    let theirs = exported_tree(|a| dockerd.docker(a), "same:out", tmp.path());
    let only = |a: &[String], b: &[String]| -> Vec<String> {
        a.iter().filter(|x| !b.contains(x)).cloned().collect()
    };
    assert_eq!(
        (only(&ours, &theirs), only(&theirs, &ours)),
        (Vec::new(), Vec::new()),
        "(berth only, dockerd only)"
    );
}

#[test]
fn names_ignored_build_files_proxy_args_and_wildcards_behave_as_dockerd() {
    if common::skip() {
        return;
    }
    let d = Daemon::start();
    let base = d.busybox();
    // Two files with one content: which one is copied is part of the step's key.
    let tag = unique("names");
    let dir = context(&[
        ("Dockerfile", &format!("FROM {base}\nCOPY a.txt /app/\n")),
        ("a.txt", "same\n"),
        ("b.txt", "same\n"),
        (".dockerignore", "Dockerfile\n.dockerignore\n"),
    ]);
    assert_eq!(build(&d, dir.path(), &["-t", &tag]).code, 0);
    std::fs::write(
        dir.path().join("Dockerfile"),
        format!("FROM {base}\nCOPY b.txt /app/\n"),
    )
    .unwrap();
    let out = build(&d, dir.path(), &["-t", &tag]);
    assert_eq!(out.stdout.matches("Using cache").count(), 0, "{out:?}");
    let ls = d.docker(&["run", "--rm", &tag, "ls", "/app"]).ok();
    assert_eq!(ls.stdout, "b.txt\n");
    // `.dockerignore` naming the Dockerfile and itself takes them out of `COPY .`; the
    // undeclared proxy args reach RUN and nothing else.
    std::fs::write(
        dir.path().join("Dockerfile"),
        format!("FROM {base}\nCOPY . /ctx/\nRUN echo \"proxy=$HTTP_PROXY\" > /proxy\n"),
    )
    .unwrap();
    let out = build(
        &d,
        dir.path(),
        &["-t", &tag, "--build-arg", "HTTP_PROXY=http://127.0.0.1:9"],
    );
    assert_eq!(out.code, 0, "{out:?}");
    let ls = d
        .docker(&["run", "--rm", &tag, "sh", "-c", "ls -A /ctx; cat /proxy"])
        .ok();
    assert_eq!(ls.stdout, "a.txt\nb.txt\nproxy=http://127.0.0.1:9\n");
    let history = d
        .docker(&["history", "--no-trunc", "--format", "{{.CreatedBy}}", &tag])
        .ok()
        .stdout;
    assert!(!history.contains("127.0.0.1:9"), "{history}");
    // A wildcard matching several files needs a directory destination.
    std::fs::write(
        dir.path().join("Dockerfile"),
        format!("FROM {base}\nCOPY *.txt /app\n"),
    )
    .unwrap();
    let out = build(&d, dir.path(), &[]);
    assert_ne!(out.code, 0);
    assert!(out.stderr.contains("must be a directory"), "{out:?}");
}
