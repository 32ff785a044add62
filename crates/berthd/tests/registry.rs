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

/// `GET {path}` on the daemon's API socket, as JSON.
/// Pulls of one image at once (the kubelet starting two pods of it) share its blobs: the later
/// ones wait for the ingest the first holds, none fails with "being written by another writer".
#[test]
fn concurrent_pulls_of_one_image_all_succeed() {
    if skip_registry() {
        return;
    }
    let reg = Registry::start(RegistryOpts::default());
    let d = Daemon::start();
    let image = format!("{}/bb:concurrent", reg.host());
    d.docker(&["import", busybox_tar().to_str().unwrap_or_default(), &image])
        .ok();
    d.docker(&["push", &image]).ok();
    d.docker(&["rmi", &image]).ok();
    std::thread::scope(|s| {
        let pulls: Vec<_> = (0..3)
            .map(|_| s.spawn(|| d.berth(&["pull", "-q", &image])))
            .collect();
        for pull in pulls {
            let out = pull.join().unwrap_or_else(|_| panic!("pull thread"));
            assert_eq!(out.code, 0, "{}", out.stderr);
        }
    });
    d.docker(&["run", "--rm", &image, "true"]).ok();
}

fn api_get(d: &Daemon, path: &str) -> serde_json::Value {
    let mut cmd = std::process::Command::new("curl");
    cmd.args(["-sfS", "--unix-socket"])
        .arg(&d.socket)
        .arg(format!("http://berthd/v1.44{path}"));
    let out = run(cmd, None).ok();
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", out.stdout))
}

/// The digests of the blobs in a daemon's content store.
fn stored_blobs(d: &Daemon) -> Vec<String> {
    files_in(&d.data_root().join("content/blobs/sha256"))
        .iter()
        .filter_map(|p| p.file_name()?.to_str().map(|h| format!("sha256:{h}")))
        .collect()
}

#[test]
fn committed_images_are_pushed_gzipped_as_dockerd_does() {
    if skip_registry() {
        return;
    }
    let reg = Registry::start(RegistryOpts::default());
    let d = Daemon::start();
    let base = format!("{}/gz-base:v1", reg.host());
    let image = format!("{}/gz-commit:v1", reg.host());
    d.docker(&["import", busybox_tar().to_str().unwrap_or_default(), &base])
        .ok();
    let maker = unique("gz-maker");
    d.docker(&[
        "run",
        "--name",
        &maker,
        &base,
        "sh",
        "-c",
        "echo committed > /made",
    ])
    .ok();
    d.docker(&["commit", &maker, &image]).ok();
    d.docker(&["rm", &maker]).ok();

    // The docker CLI shows every layer by its short digest.
    let push = d.docker(&["push", &image]).ok();
    let digest = pushed_digest(&push.stdout);
    let layer_lines: Vec<&str> = push
        .stdout
        .lines()
        .filter(|l| {
            l.split_once(": ")
                .is_some_and(|(id, _)| id.len() == 12 && id.bytes().all(|b| b.is_ascii_hexdigit()))
        })
        .collect();
    for status in ["Preparing", "Pushed"] {
        assert_eq!(
            layer_lines.iter().filter(|l| l.ends_with(status)).count(),
            2,
            "{status}: {}",
            push.stdout
        );
    }

    // Docker v2.2 with gzip layers over the unchanged config (the image id).
    let raw = skopeo(&[
        "inspect",
        "--raw",
        "--tls-verify=false",
        &format!("docker://{image}"),
    ])
    .ok();
    let manifest: serde_json::Value =
        serde_json::from_str(&raw.stdout).unwrap_or_else(|e| panic!("{e}: {}", raw.stdout));
    assert_eq!(
        manifest["mediaType"],
        "application/vnd.docker.distribution.manifest.v2+json"
    );
    let id = d
        .docker(&["image", "inspect", "--format", "{{.Id}}", &image])
        .ok();
    assert_eq!(manifest["config"]["digest"], id.stdout.trim());
    let layers = manifest["layers"].as_array().cloned().unwrap_or_default();
    assert_eq!(layers.len(), 2, "{manifest}");
    let mut gzip_blobs = Vec::new();
    for l in &layers {
        assert_eq!(
            l["mediaType"], "application/vnd.docker.image.rootfs.diff.tar.gzip",
            "{manifest}"
        );
        let blob = l["digest"].as_str().unwrap_or_default().to_string();
        let bytes = std::fs::read(reg.blob_path(&blob)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(bytes[..2], [0x1f, 0x8b], "{blob} is not gzip");
        gzip_blobs.push(blob);
    }
    assert_eq!(remote_digest(&image, &["--tls-verify=false"]), digest);
    let repo_digests = repo_digests(&d, &image);
    assert!(
        repo_digests.contains(&format!("{}/gz-commit@{digest}", reg.host())),
        "{repo_digests}"
    );

    // GC keeps the gzip copies while their layers are in use: a second push (berth's, with
    // layer ids too) sends the same bytes, so the same manifest digest.
    d.docker(&["image", "prune", "-f"]).ok();
    let kept = stored_blobs(&d);
    for blob in &gzip_blobs {
        assert!(kept.contains(blob), "{blob} collected");
    }
    let again = d.berth(&["push", &image]).ok();
    assert!(again.stderr.contains(&digest), "{}", again.stderr);
    let ids = layer_lines
        .iter()
        .filter(|l| l.ends_with(": Pushed"))
        .filter_map(|l| l.split_once(": ").map(|(id, _)| id));
    // On a terminal, one bar per layer, named by the same id.
    let bars = d.berth_tty(&format!("push {image}"), &[]);
    for id in ids {
        let line = format!("{id}: Layer already exists");
        assert!(again.stderr.contains(&line), "{}", again.stderr);
        assert!(bars.stdout.contains(&line), "{}", bars.all());
    }

    // Docker's DistributionInspect: a single manifest's platform comes from its config.
    let inspect = api_get(&d, &format!("/distribution/{image}/json"));
    assert_eq!(
        inspect["Descriptor"]["digest"],
        digest.as_str(),
        "{inspect}"
    );
    assert_eq!(
        inspect["Descriptor"]["mediaType"],
        "application/vnd.docker.distribution.manifest.v2+json"
    );
    assert_eq!(
        inspect["Descriptor"]["size"].as_u64(),
        Some(raw.stdout.len() as u64)
    );
    let platforms = inspect["Platforms"].as_array().cloned().unwrap_or_default();
    assert_eq!(platforms.len(), 1, "{inspect}");
    assert_eq!(platforms[0]["os"], "linux");
    assert!(platforms[0]["architecture"].is_string(), "{inspect}");

    // An OCI index (made with the registry's API): the platforms of its entries.
    let index = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [
            {"mediaType": manifest["mediaType"], "digest": digest, "size": raw.stdout.len(),
             "platform": {"os": "linux", "architecture": "amd64"}},
            {"mediaType": manifest["mediaType"], "digest": digest, "size": raw.stdout.len(),
             "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"}},
        ],
    });
    let mut put = std::process::Command::new("curl");
    put.args(["-sfS", "-X", "PUT", "-H"])
        .arg("Content-Type: application/vnd.oci.image.index.v1+json")
        .arg("--data-binary")
        .arg(index.to_string())
        .arg(format!(
            "http://{}/v2/gz-commit/manifests/multi",
            reg.host()
        ));
    run(put, None).ok();
    let mut sha = std::process::Command::new("sha256sum");
    sha.arg("-");
    let index_digest = format!(
        "sha256:{}",
        run(sha, Some(index.to_string().as_bytes()))
            .ok()
            .stdout
            .split(' ')
            .next()
            .unwrap_or_default()
    );
    let multi = format!("{}/gz-commit:multi", reg.host());
    let inspect = api_get(&d, &format!("/distribution/{multi}/json"));
    assert_eq!(
        inspect["Descriptor"]["mediaType"], "application/vnd.oci.image.index.v1+json",
        "{inspect}"
    );
    assert_eq!(inspect["Descriptor"]["digest"], index_digest.as_str());
    assert_eq!(
        inspect["Platforms"],
        serde_json::json!([
            {"os": "linux", "architecture": "amd64"},
            {"os": "linux", "architecture": "arm64", "variant": "v8"},
        ])
    );

    // Pulled into a fresh daemon by berth, it runs.
    let fresh = Daemon::start();
    let pull = fresh.berth(&["pull", &image]).ok();
    assert!(pull.stderr.contains(&digest), "{}", pull.stderr);
    let out = fresh.docker(&["run", "--rm", &image, "cat", "/made"]).ok();
    assert_eq!(out.stdout.trim(), "committed");

    // The gzip copies go with the last image holding their layers.
    d.docker(&["rmi", &image, &base]).ok();
    let left = stored_blobs(&d);
    for blob in &gzip_blobs {
        assert!(!left.contains(blob), "{blob} left behind");
    }
}

#[test]
fn layers_beyond_three_uploads_wait_for_a_slot() {
    if skip_registry() {
        return;
    }
    let reg = Registry::start(RegistryOpts::default());
    let d = Daemon::start();
    let mut image = format!("{}/wait:v0", reg.host());
    d.docker(&["import", busybox_tar().to_str().unwrap_or_default(), &image])
        .ok();
    for i in 1..4 {
        let maker = unique("wait-maker");
        d.docker(&[
            "run",
            "--name",
            &maker,
            &image,
            "touch",
            &format!("/layer{i}"),
        ])
        .ok();
        image = format!("{}/wait:v{i}", reg.host());
        d.docker(&["commit", &maker, &image]).ok();
        d.docker(&["rm", &maker]).ok();
    }
    let push = d.docker(&["push", &image]).ok();
    assert_eq!(
        push.stdout
            .lines()
            .filter(|l| l.ends_with(": Pushed"))
            .count(),
        4,
        "{}",
        push.stdout
    );
    assert!(push.stdout.contains(": Waiting"), "{}", push.stdout);
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
    // The layer went up gzipped: a flipped byte can break the deflate stream or the tar in it
    // before the end of the blob, where the digest is checked.
    assert!(
        ["mismatch", "digest", "corrupt"]
            .iter()
            .any(|w| bad.stderr.contains(w)),
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
fn a_debian_image_pushes_pulls_and_runs_with_identical_digests() {
    if skip_registry() {
        return;
    }
    let gz = debian_minbase_tar_gz();
    let reg = Registry::start(RegistryOpts::default());
    let d = Daemon::start();
    let image = format!("{}/debian:minbase", reg.host());
    d.docker(&["import", gz.to_str().unwrap_or_default(), &image])
        .ok();
    let digest = pushed_digest(&d.docker(&["push", &image]).ok().stdout);
    assert_eq!(remote_digest(&image, &["--tls-verify=false"]), digest);
    d.docker(&["rmi", &image]).ok();
    let pulled = d.docker(&["pull", &image]).ok();
    assert!(
        pulled.stdout.contains(&format!("Digest: {digest}")),
        "{pulled:?}"
    );
    let out = d
        .docker(&[
            "run",
            "--rm",
            &image,
            "sh",
            "-c",
            "cat /etc/debian_version; dpkg-query -W -f '${Status}' bash; echo; ls /usr/bin | wc -l",
        ])
        .ok();
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert!(
        lines.first().is_some_and(|v| v.starts_with("12.")),
        "{out:?}"
    );
    assert!(out.stdout.contains("install ok installed"), "{out:?}");
    assert!(
        lines
            .last()
            .and_then(|n| n.trim().parse::<u32>().ok())
            .is_some_and(|n| n > 100),
        "{out:?}"
    );
}

#[test]
fn tls_registry_on_loopback_without_and_with_a_ca_in_certs_d() {
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
    // Loopback is insecure, as for dockerd: TLS without certificate checks comes first (the
    // registry speaks nothing else, so this push proves it), plain HTTP only after that.
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
    // With the CA in certs.d the registry is TLS only: no plain-HTTP attempt.
    let certs = d.root.path().join("certs.d").join(reg.host());
    std::fs::create_dir_all(&certs).unwrap_or_else(|e| panic!("{e}"));
    std::fs::copy(reg.dir.path().join("ca.crt"), certs.join("ca.crt"))
        .unwrap_or_else(|e| panic!("{e}"));
    d.docker(&["rmi", &image]).ok();
    d.docker(&["pull", &image]).ok();
    d.docker(&["run", "--rm", &image, "true"]).ok();
}

#[test]
fn docker_hub_through_mirrors_only_when_it_is_blocked() {
    if skip_registry() {
        return;
    }
    let reg = Registry::start(RegistryOpts::default());
    // A mirror that is down comes first: the next one must be tried. Docker Hub itself is
    // blocked, so nothing here can ever reach past the machine.
    let down = free_port();
    let d = Daemon::start_configured(&format!(
        "registry-mirrors = [\"http://127.0.0.1:{down}\", \"http://{}\"]\n\
         blocked-registries = [\"docker.io\"]\n",
        reg.host()
    ));
    let on_mirror = format!("{}/library/busybox:mirrored", reg.host());
    d.docker(&[
        "import",
        busybox_tar().to_str().unwrap_or_default(),
        &on_mirror,
    ])
    .ok();
    d.docker(&["push", &on_mirror]).ok();
    d.docker(&["rmi", &on_mirror]).ok();

    d.docker(&["pull", "busybox:mirrored"]).ok();
    d.docker(&["run", "--rm", "busybox:mirrored", "true"]).ok();
    assert!(
        d.log().contains(&format!("127.0.0.1:{down}")),
        "{}",
        d.log()
    );
    let absent = d.docker(&["pull", "busybox:absent"]).failed();
    assert!(
        absent.stderr.contains("registry docker.io is blocked"),
        "{}",
        absent.stderr
    );
    d.docker(&["tag", "busybox:mirrored", "someone/else:v1"])
        .ok();
    let push = d.docker(&["push", "someone/else:v1"]).failed();
    assert!(
        push.stderr.contains("registry docker.io is blocked"),
        "{}",
        push.stderr
    );
    // Another registry is not affected by Docker Hub's mirrors.
    d.docker(&["pull", &on_mirror]).ok();
}

#[test]
fn any_registry_through_its_mirrors_with_upstream_blocked() {
    if skip_registry() {
        return;
    }
    let reg = Registry::start(RegistryOpts::default());
    // As critest needs: registry.k8s.io and gcr.io served by one local registry (the second
    // gcr.io mirror only), every upstream blocked so no pull can leave the machine; k8s.gcr.io
    // is blocked with no mirror.
    let down = free_port();
    let d = Daemon::start_configured(&format!(
        "blocked-registries = [\"registry.k8s.io\", \"gcr.io\", \"k8s.gcr.io\"]\n\
         [registry-mirrors-by-host]\n\
         \"registry.k8s.io\" = [\"http://{mirror}\"]\n\
         \"gcr.io\" = [\"http://127.0.0.1:{down}\", \"http://{mirror}\"]\n",
        mirror = reg.host()
    ));
    let tar = busybox_tar();
    for (upstream, repo) in [
        ("registry.k8s.io", "e2e-test-images/busybox:1.29-2"),
        ("gcr.io", "k8s-staging-cri-tools/test-image-tag:test"),
    ] {
        let on_mirror = format!("{}/{repo}", reg.host());
        d.docker(&["import", tar.to_str().unwrap_or_default(), &on_mirror])
            .ok();
        let digest = pushed_digest(&d.docker(&["push", &on_mirror]).ok().stdout);
        d.docker(&["rmi", &on_mirror]).ok();

        let image = format!("{upstream}/{repo}");
        let pull = d.docker(&["pull", &image]).ok();
        assert!(
            pull.stdout.contains(&format!("Digest: {digest}")),
            "{}",
            pull.stdout
        );
        // Recorded under the requested name, not the mirror's.
        let (name, _) = image.rsplit_once(':').unwrap_or_default();
        assert_eq!(repo_digests(&d, &image), format!("[\"{name}@{digest}\"]"));
        d.docker(&["run", "--rm", &image, "true"]).ok();
        // Mirrors never receive pushes; the upstream itself is blocked.
        let push = d.docker(&["push", &image]).failed();
        assert!(
            push.stderr.contains(&format!(
                "registry {upstream} is blocked by the daemon's configuration \
                 (blocked-registries): it is reached through its mirrors only, for pulls"
            )),
            "{}",
            push.stderr
        );
    }
    // The gcr.io mirror that is down was tried first, and logged.
    assert!(
        d.log().contains(&format!("127.0.0.1:{down}")),
        "{}",
        d.log()
    );
    // No mirror has it: the error names the registry and each mirror with its answer.
    let absent = d
        .docker(&["pull", "gcr.io/k8s-staging-cri-tools/absent:v1"])
        .failed();
    for part in [
        "registry gcr.io is blocked",
        "none served the request",
        &format!("http://127.0.0.1:{down} ("),
        &format!("http://{} (manifest for", reg.host()),
    ] {
        assert!(absent.stderr.contains(part), "{part}: {}", absent.stderr);
    }
    let none = d.docker(&["pull", "k8s.gcr.io/pause:3.9"]).failed();
    assert!(
        none.stderr.contains(
            "registry k8s.gcr.io is blocked by the daemon's configuration (blocked-registries): \
             it is reached through mirrors only, and none is configured for it \
             (registry-mirrors-by-host)"
        ),
        "{}",
        none.stderr
    );
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
    let repo_digests = repo_digests(&d, &back);
    assert!(
        repo_digests.contains(&format!("{}/from-dockerd@{digest}", reg.host())),
        "{repo_digests}"
    );
}
