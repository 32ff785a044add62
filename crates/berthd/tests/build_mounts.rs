//! `RUN --mount`, RUN heredocs and COPY's `--parents` / `--exclude` in builds against berthd
//! (the docker CLI's classic builder, and raw `POST /build` requests for secrets).
#![allow(clippy::unwrap_used)]

mod common;

use berth_testkit::build::context;
use common::{unique, Daemon};

/// `cat` of `paths` in `image` (a missing one shows as `-`).
fn files(d: &Daemon, image: &str, paths: &[&str]) -> String {
    let script: Vec<String> = paths
        .iter()
        .map(|p| format!("cat {p} 2>/dev/null || echo -"))
        .collect();
    d.docker(&["run", "--rm", image, "sh", "-c", &script.join("; ")])
        .ok()
        .stdout
}

/// The bytes of every layer and config of `image`, as `docker save` writes them.
fn saved(d: &Daemon, image: &str) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("image.tar");
    d.docker(&["save", "-o", archive.to_str().unwrap(), image])
        .ok();
    std::fs::read(archive).unwrap()
}

#[test]
fn a_cache_mount_outlives_the_build_and_stays_out_of_the_image() {
    if common::skip() {
        return;
    }
    let mut d = Daemon::start();
    let base = d.busybox();
    let tag = unique("cachemount");
    let dockerfile = format!(
        "FROM {base}\n\
         ARG ROUND\n\
         RUN --mount=type=cache,target=/var/cache/app,id=app \
         sh -c 'echo \"seen: $(cat /var/cache/app/stamp 2>/dev/null || echo none)\"; \
         echo $ROUND > /var/cache/app/stamp'\n"
    );
    let dir = context(&[("Dockerfile", &dockerfile)]);
    let first = d.docker_build(dir.path(), &["-t", &tag, "--build-arg", "ROUND=one"]);
    assert_eq!(first.code, 0, "{first:?}");
    assert!(first.stdout.contains("seen: none"), "{first:?}");
    let second = d.docker_build(dir.path(), &["-t", &tag, "--build-arg", "ROUND=two"]);
    assert_eq!(second.code, 0, "{second:?}");
    assert!(second.stdout.contains("seen: one"), "{second:?}");
    // The cache outlives berthd too.
    d.stop();
    d.spawn();
    let third = d.docker_build(dir.path(), &["-t", &tag, "--build-arg", "ROUND=three"]);
    assert_eq!(third.code, 0, "{third:?}");
    assert!(third.stdout.contains("seen: two"), "{third:?}");
    // Neither the cache's file nor the mount point the step needed is in the image.
    let ls = d
        .docker(&[
            "run",
            "--rm",
            &tag,
            "sh",
            "-c",
            "ls -d /var/cache/app || echo absent",
        ])
        .ok();
    assert!(ls.stdout.contains("absent"), "{ls:?}");
    assert_eq!(d.docker(&["ps", "-aq"]).ok().stdout, "");
    assert_eq!(d.leaked_mounts(), Vec::<String>::new());
    // `docker builder prune` empties the cache mounts with the rest of the build cache.
    d.docker(&["builder", "prune", "-af"]).ok();
    let fourth = d.docker_build(dir.path(), &["-t", &tag, "--build-arg", "ROUND=four"]);
    assert_eq!(fourth.code, 0, "{fourth:?}");
    assert!(fourth.stdout.contains("seen: none"), "{fourth:?}");
}

#[test]
fn binds_tmpfs_heredocs_and_copy_options() {
    if common::skip() {
        return;
    }
    let d = Daemon::start();
    let base = d.busybox();
    let tag = unique("mounts");
    let dockerfile = format!(
        "FROM {base} AS gen\n\
         RUN mkdir /out && echo from-stage > /out/g.txt\n\
         FROM {base}\n\
         RUN --mount=type=bind,source=data,target=/ctx cat /ctx/d.txt > /bind-ctx\n\
         RUN --mount=type=bind,from=gen,source=/out,target=/st cat /st/g.txt > /bind-stage\n\
         RUN --mount=type=bind,source=data,target=/ctx,rw sh -c 'echo x > /ctx/new && cat /ctx/new > /rw-write'\n\
         RUN --mount=type=bind,source=data,target=/ctx ls /ctx > /ctx-ls\n\
         RUN --mount=type=tmpfs,target=/scratch,size=1m sh -c 'grep \" /scratch tmpfs \" /proc/mounts | grep -c size=1024k > /tmpfs-ok; echo t > /scratch/f'\n\
         RUN cat > /stdin-heredoc <<EOF\n\
         hello heredoc\n\
         EOF\n\
         RUN <<EOF\n\
         #!/bin/sh\n\
         echo \"shebang $0\" > /shebang\n\
         EOF\n\
         COPY --parents a/x.txt b/c/y.txt /p/\n\
         COPY --parents ./b/./c/y.txt /q/\n\
         COPY --exclude=*.log --exclude=sub logs /logs/\n"
    );
    let dir = context(&[
        ("Dockerfile", &dockerfile),
        ("data/d.txt", "data\n"),
        ("a/x.txt", "x\n"),
        ("b/c/y.txt", "y\n"),
        ("logs/keep.txt", "keep\n"),
        ("logs/drop.log", "drop\n"),
        ("logs/sub/z.txt", "z\n"),
    ]);
    let out = d.docker_build(dir.path(), &["-t", &tag]);
    assert_eq!(out.code, 0, "{out:?}");
    let got = files(
        &d,
        &tag,
        &[
            "/bind-ctx",
            "/bind-stage",
            "/rw-write",
            "/ctx-ls",
            "/tmpfs-ok",
            "/stdin-heredoc",
            "/shebang",
            "/p/a/x.txt",
            "/p/b/c/y.txt",
            "/q/c/y.txt",
            "/logs/keep.txt",
            "/logs/drop.log",
            "/logs/sub/z.txt",
        ],
    );
    assert_eq!(
        got,
        "data\nfrom-stage\nx\nd.txt\n1\nhello heredoc\nshebang /dev/pipes/EOF\nx\ny\ny\nkeep\n-\n-\n"
    );
    // Mount points the parent lacked are not in the image; the rw bind's write went nowhere.
    let ls = d
        .docker(&[
            "run",
            "--rm",
            &tag,
            "sh",
            "-c",
            "ls -d /ctx /st /scratch 2>&1 | grep -vc 'No such'",
        ])
        .stdout;
    assert_eq!(ls.trim(), "0");
    assert!(!dir.path().join("data/new").exists());
    // A rebuild hits the cache; a change to a bind's source misses from that step.
    let again = d.docker_build(dir.path(), &["-t", &tag]);
    assert_eq!(again.code, 0, "{again:?}");
    assert!(!again.stdout.contains("Running in"), "{again:?}");
    std::fs::write(dir.path().join("data/d.txt"), "data2\n").unwrap();
    let changed = d.docker_build(dir.path(), &["-t", &tag]);
    assert_eq!(changed.code, 0, "{changed:?}");
    assert_eq!(files(&d, &tag, &["/bind-ctx"]), "data2\n");
    assert_eq!(d.leaked_mounts(), Vec::<String>::new());
}

#[test]
fn secrets_reach_run_steps_and_nothing_else() {
    if common::skip() {
        return;
    }
    let d = Daemon::start();
    let base = d.busybox();
    let tag = unique("secret");
    let value = "s3cr3t-value-8d1f";
    let dockerfile = format!(
        "FROM {base}\n\
         RUN --mount=type=secret,id=token echo \"file: $(rev /run/secrets/token)\"\n\
         RUN --mount=type=secret,id=token,env=TOKEN,target=/tok,mode=0440,uid=7 \
         sh -c 'echo \"env: $(echo $TOKEN | rev)\"; stat -c \"%a %u\" /tok'\n\
         RUN --mount=type=secret,id=absent echo optional-skipped\n\
         COPY . /ctx/\n"
    );
    let dir = context(&[
        ("Dockerfile", &dockerfile),
        (".berth-build-secrets/token", value),
    ]);
    let query = format!("t={tag}&secrets=%5B%22token%22%5D");
    let out = d.post_build(dir.path(), &query);
    assert_eq!(out.code, 0, "{out:?}");
    // The Dockerfile must not hold the value: the steps print it reversed.
    let reversed: String = value.chars().rev().collect();
    for expected in [
        format!("file: {reversed}"),
        format!("env: {reversed}"),
        "440 7".into(),
        "optional-skipped".into(),
        "Successfully tagged".into(),
    ] {
        assert!(
            out.stdout.contains(&expected),
            "{expected} missing: {out:?}"
        );
    }
    assert!(!out.stdout.contains("errorDetail"), "{out:?}");
    // Not in any layer or config, not in the history, not copied from the context.
    let archive = saved(&d, &tag);
    assert!(
        !archive.windows(value.len()).any(|w| w == value.as_bytes()),
        "the secret is in the saved image"
    );
    let history = d
        .docker(&["history", "--no-trunc", "--format", "{{.CreatedBy}}", &tag])
        .ok()
        .stdout;
    assert!(!history.contains(value), "{history}");
    assert_eq!(
        files(
            &d,
            &tag,
            &[
                "/ctx/.berth-build-secrets/token",
                "/run/secrets/token",
                "/tok"
            ]
        ),
        "-\n-\n-\n"
    );
    // A required secret the build was not given fails the build, saying which.
    let required = context(&[(
        "Dockerfile",
        &format!(
            "FROM {base}\nRUN --mount=type=secret,id=missing,required cat /run/secrets/missing\n"
        ),
    )]);
    let failed = d.docker_build(required.path(), &[]);
    assert_ne!(failed.code, 0, "{failed:?}");
    assert!(
        failed.all().contains("secret missing is required"),
        "{failed:?}"
    );
}
