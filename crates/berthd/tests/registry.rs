//! Registry pull/push/login end to end against Debian's `docker-registry` on 127.0.0.1 (plain,
//! htpasswd, TLS with a CA the test makes), with skopeo as the independent client.

mod common;

use std::path::{Path, PathBuf};

use common::dockerd::{Dockerd, DOCKERD};
use common::registry::*;
use common::*;

#[test]
fn push_pull_run_and_skopeo_interop_with_identical_digests() {
    if skip_registry() {
        return;
    }
    let reg = Registry::start(RegistryOpts::default());
    let d = Daemon::start();
    let image = format!("{}/bb:v1", reg.host());
    d.docker(&["import", busybox_tar().to_str().unwrap_or_default(), &image])
        .ok();
    let push = d.docker(&["push", &image]).ok();
    assert!(push.stdout.contains("Pushed"), "{}", push.stdout);
    let digest = pushed_digest(&push.stdout);
    assert_eq!(remote_digest(&image, &["--tls-verify=false"]), digest);
    // berth manifest inspect shows what the registry serves.
    let shown = d.berth(&["manifest", "inspect", &image]).ok();
    let manifest: serde_json::Value =
        serde_json::from_str(&shown.stdout).unwrap_or_else(|e| panic!("{e}: {}", shown.stdout));
    assert_eq!(manifest["schemaVersion"], 2, "{manifest}");
    assert_eq!(manifest["layers"].as_array().map(Vec::len), Some(1));
    let none = d
        .berth(&["manifest", "inspect", &format!("{}/nope:v1", reg.host())])
        .failed();
    assert!(none.stderr.contains("manifest unknown"), "{}", none.stderr);
    // A second push finds every blob there.
    let again = d.docker(&["push", &image]).ok();
    assert!(
        again.stdout.contains("Layer already exists"),
        "{}",
        again.stdout
    );

    // skopeo can read everything Berth pushed.
    let oci = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let dest = format!("oci:{}:x", oci.path().join("l").display());
    skopeo(&[
        "copy",
        "--src-tls-verify=false",
        &format!("docker://{image}"),
        &dest,
    ])
    .ok();

    // Pull back into an empty store and run.
    d.docker(&["rmi", &image]).ok();
    let pull = d.docker(&["pull", &image]).ok();
    assert!(
        pull.stdout.contains(&format!("Digest: {digest}")),
        "{}",
        pull.stdout
    );
    assert!(pull.stdout.contains("Pull complete"), "{}", pull.stdout);
    let out = d.docker(&["run", "--rm", &image, "echo", "pulled"]).ok();
    assert_eq!(out.stdout.trim(), "pulled");
    let up = d.docker(&["pull", &image]).ok();
    assert!(up.stdout.contains("Image is up to date"), "{}", up.stdout);

    // An image skopeo pushed (zstd layers, OCI manifest) pulls into Berth and runs.
    let zimage = format!("{}/bb-zstd:v1", reg.host());
    skopeo(&[
        "copy",
        "--dest-tls-verify=false",
        "--dest-compress-format",
        "zstd",
        "--format",
        "oci",
        &dest,
        &format!("docker://{zimage}"),
    ])
    .ok();
    let zdigest = remote_digest(&zimage, &["--tls-verify=false"]);
    // Same config, so the same image id: one image keeps one manifest, so drop the gzip one.
    d.docker(&["rmi", &image]).ok();
    let zpull = d.berth(&["pull", &zimage]).ok();
    assert!(zpull.stderr.contains(&zdigest), "{}", zpull.stderr);
    let out = d.docker(&["run", "--rm", &zimage, "echo", "zstd"]).ok();
    assert_eq!(out.stdout.trim(), "zstd");
    // Pushed on to another repository, it keeps its manifest digest.
    let copy = format!("{}/bb-copy:v1", reg.host());
    d.docker(&["tag", &zimage, &copy]).ok();
    let pushed = d.docker(&["push", &copy]).ok();
    assert_eq!(pushed_digest(&pushed.stdout), zdigest);
    assert!(
        pushed.stdout.contains("Mounted from bb-zstd"),
        "{}",
        pushed.stdout
    );
}

#[test]
fn missing_images_and_corrupt_blobs_are_refused_cleanly() {
    if skip_registry() {
        return;
    }
    let reg = Registry::start(RegistryOpts::default());
    let d = Daemon::start();
    let missing = d
        .docker(&["pull", &format!("{}/nope:v1", reg.host())])
        .failed();
    assert!(
        missing.stderr.contains("manifest unknown"),
        "{}",
        missing.stderr
    );

    let image = format!("{}/corrupt:v1", reg.host());
    d.docker(&["import", busybox_tar().to_str().unwrap_or_default(), &image])
        .ok();
    d.docker(&["push", &image]).ok();
    let layer = d
        .docker(&["image", "inspect", "--format", "{{.Id}}", &image])
        .ok();
    assert!(!layer.stdout.trim().is_empty());
    d.docker(&["rmi", &image]).ok();
    d.docker(&["image", "prune", "-af"]).ok();
    // Flip bytes inside the stored layer blob (the largest blob is the layer).
    let blobs = reg.dir.path().join("data/docker/registry/v2/blobs/sha256");
    let mut biggest: Option<(u64, PathBuf)> = None;
    for prefix in std::fs::read_dir(&blobs)
        .unwrap_or_else(|e| panic!("{e}"))
        .flatten()
    {
        for blob in std::fs::read_dir(prefix.path())
            .unwrap_or_else(|e| panic!("{e}"))
            .flatten()
        {
            let data = blob.path().join("data");
            let size = std::fs::metadata(&data).map(|m| m.len()).unwrap_or(0);
            if biggest.as_ref().is_none_or(|(s, _)| size > *s) {
                biggest = Some((size, data));
            }
        }
    }
    let (_, data) = biggest.unwrap_or_else(|| panic!("no blobs"));
    assert!(reg
        .blob_path(&format!(
            "sha256:{}",
            data.parent()
                .and_then(|p| p.file_name())
                .and_then(|n| n.to_str())
                .unwrap_or_default()
        ))
        .exists());
    let mut bytes = std::fs::read(&data).unwrap_or_else(|e| panic!("{e}"));
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    std::fs::write(&data, bytes).unwrap_or_else(|e| panic!("{e}"));
    let bad = d.docker(&["pull", &image]).failed();
    assert!(
        bad.stderr.contains("mismatch") || bad.stderr.contains("digest"),
        "{}",
        bad.stderr
    );
    assert!(d.docker(&["images", "-q"]).ok().stdout.trim().is_empty());
    let blobs_dir = d.data_root().join("content/blobs/sha256");
    let stored: Vec<_> = std::fs::read_dir(&blobs_dir)
        .map(|r| r.flatten().collect())
        .unwrap_or_default();
    let ingests: Vec<_> = std::fs::read_dir(d.data_root().join("content/ingest"))
        .map(|r| r.flatten().collect())
        .unwrap_or_default();
    assert!(ingests.is_empty(), "a rejected blob left an ingest behind");
    // Only the small config blob may have been fetched; no layer blob is stored.
    for b in &stored {
        assert!(
            b.metadata().map(|m| m.len()).unwrap_or(0) < 100_000,
            "{:?} stored",
            b.path()
        );
    }
}

#[test]
fn htpasswd_registry_needs_a_login_docker_and_berth() {
    if skip_registry() || !Path::new("/usr/bin/htpasswd").exists() {
        return;
    }
    let reg = Registry::start(RegistryOpts {
        htpasswd: Some(("berth", "s3cret")),
        ..Default::default()
    });
    let d = Daemon::start();
    let image = format!("{}/private:v1", reg.host());
    d.docker(&["import", busybox_tar().to_str().unwrap_or_default(), &image])
        .ok();
    let denied = d.docker(&["push", &image]).failed();
    assert!(
        denied.stderr.contains("unauthorized") || denied.stdout.contains("unauthorized"),
        "{denied:?}"
    );
    let wrong = d
        .docker(&["login", "-u", "berth", "-p", "nope", &reg.host()])
        .failed();
    assert!(wrong.stderr.contains("unauthorized"), "{}", wrong.stderr);
    d.docker(&["login", "-u", "berth", "-p", "s3cret", &reg.host()])
        .ok();
    d.docker(&["push", &image]).ok();
    d.docker(&["rmi", &image]).ok();
    d.docker(&["pull", &image]).ok();

    // berth login stores a private config.json, and berth pull uses it.
    let cfg = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let berth = |args: &[&str]| {
        let mut cmd = d.berth_cmd(args);
        cmd.env("BERTH_CONFIG", cfg.path())
            .env("DOCKER_CONFIG", cfg.path().join("none"));
        run(cmd, None)
    };
    d.docker(&["rmi", &image]).ok();
    let anon = berth(&["pull", &image]).failed();
    assert!(anon.stderr.contains("unauthorized"), "{}", anon.stderr);
    berth(&["login", "-u", "berth", "-p", "s3cret", &reg.host()]).ok();
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(cfg.path().join("config.json"))
            .unwrap_or_else(|e| panic!("{e}"))
            .permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);
    berth(&["pull", &image]).ok();
    let out = d.docker(&["run", "--rm", &image, "echo", "authed"]).ok();
    assert_eq!(out.stdout.trim(), "authed");
    berth(&["logout", &reg.host()]).ok();
}

#[test]
fn tls_registry_with_a_ca_in_certs_d() {
    if skip_registry() {
        return;
    }
    let reg = Registry::start(RegistryOpts {
        tls: true,
        ..Default::default()
    });
    let d = Daemon::start();
    let image = format!("{}/tls:v1", reg.host());
    d.docker(&["import", busybox_tar().to_str().unwrap_or_default(), &image])
        .ok();
    // Loopback is "insecure" (plain HTTP) until certs.d says it speaks TLS.
    d.docker(&["push", &image]).failed();
    let certs = d.root.path().join("certs.d").join(reg.host());
    std::fs::create_dir_all(&certs).unwrap_or_else(|e| panic!("{e}"));
    std::fs::copy(reg.dir.path().join("ca.crt"), certs.join("ca.crt"))
        .unwrap_or_else(|e| panic!("{e}"));
    let push = d.docker(&["push", &image]).ok();
    let digest = pushed_digest(&push.stdout);
    // skopeo's cert dir must hold the CA alone (a .key there means a client certificate).
    let ca_only = reg.dir.path().join("ca-only");
    std::fs::create_dir_all(&ca_only).unwrap_or_else(|e| panic!("{e}"));
    std::fs::copy(reg.dir.path().join("ca.crt"), ca_only.join("ca.crt"))
        .unwrap_or_else(|e| panic!("{e}"));
    let ca_dir = ca_only.to_str().unwrap_or_default().to_string();
    assert_eq!(remote_digest(&image, &["--cert-dir", &ca_dir]), digest);
    d.docker(&["rmi", &image]).ok();
    d.docker(&["pull", &image]).ok();
}

#[test]
fn dockerd_and_berth_pull_each_others_pushes_with_identical_digests() {
    if skip_registry() {
        return;
    }
    if !Path::new(DOCKERD).exists() {
        eprintln!("skipped: {DOCKERD} missing (apt-get install docker.io)");
        return;
    }
    let dockerd = Dockerd::start();
    let reg = Registry::start(RegistryOpts::default());
    let d = Daemon::start();
    let image = format!("{}/to-dockerd:v1", reg.host());
    d.docker(&["import", busybox_tar().to_str().unwrap_or_default(), &image])
        .ok();
    let digest = pushed_digest(&d.docker(&["push", &image]).ok().stdout);
    let pulled = dockerd.docker(&["pull", &image]).ok();
    assert!(
        pulled.stdout.contains(&format!("Digest: {digest}")),
        "{}",
        pulled.stdout
    );
    let out = dockerd
        .docker(&[
            "run",
            "--rm",
            "--network",
            "none",
            &image,
            "echo",
            "in dockerd",
        ])
        .ok();
    assert_eq!(out.stdout.trim(), "in dockerd");

    // An image dockerd made and pushed.
    let back = format!("{}/from-dockerd:v1", reg.host());
    dockerd
        .docker(&[
            "run",
            "--name",
            "maker",
            "--network",
            "none",
            &image,
            "sh",
            "-c",
            "echo made by dockerd > /made",
        ])
        .ok();
    dockerd.docker(&["commit", "maker", &back]).ok();
    let digest = pushed_digest(&dockerd.docker(&["push", &back]).ok().stdout);
    let pulled = d.docker(&["pull", &back]).ok();
    assert!(
        pulled.stdout.contains(&format!("Digest: {digest}")),
        "{}",
        pulled.stdout
    );
    let out = d.docker(&["run", "--rm", &back, "cat", "/made"]).ok();
    assert_eq!(out.stdout.trim(), "made by dockerd");
    let repo_digests = d
        .docker(&[
            "image",
            "inspect",
            "--format",
            "{{json .RepoDigests}}",
            &back,
        ])
        .ok();
    assert!(
        repo_digests
            .stdout
            .contains(&format!("{}/from-dockerd@{digest}", reg.host())),
        "{}",
        repo_digests.stdout
    );
}
