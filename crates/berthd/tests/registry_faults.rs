//! Registry faults end to end: a download cut mid-layer resumes with `Range`, registry errors
//! (403, 429, 5xx) read clearly, a failing layer leaves nothing half-made, a bearer-token
//! challenge is answered, a full disk is reported and survived. A test proxy on 127.0.0.1 sits
//! between berthd and Debian's `docker-registry` to make each fault.

mod common;

use std::path::Path;
use std::process::Command;

use common::registry::*;
use common::*;

/// Size of the random file in the big test layer.
const BIG_MIB: usize = 8;

/// `image` pushed to `reg` from a throwaway daemon, so test daemons start with empty stores.
fn seed(reg: &Registry, tar: &Path, name: &str) {
    let seeder = Daemon::start();
    let image = format!("{}/{name}", reg.host());
    seeder
        .docker(&["import", tar.to_str().unwrap_or_default(), &image])
        .ok();
    seeder.docker(&["push", &image]).ok();
}

/// Size of the store's one layer blob.
fn layer_size(d: &Daemon) -> u64 {
    let blobs = layer_blobs(d);
    assert_eq!(blobs.len(), 1, "{blobs:?}");
    std::fs::metadata(&blobs[0]).map(|m| m.len()).unwrap_or(0)
}

#[test]
fn a_download_cut_mid_layer_resumes_with_a_range_request() {
    if skip_registry() {
        return;
    }
    let reg = Registry::start(RegistryOpts::default());
    let work = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    seed(&reg, &big_rootfs_tar(work.path(), BIG_MIB), "big:v1");
    let cut = 3 << 20;
    let proxy = Proxy::start(reg.port, move |r| {
        if r.method == "GET" && r.path.contains("/blobs/") {
            Answer::Forward {
                cut_after: Some(cut),
            }
        } else {
            Answer::forward()
        }
    });
    let image = format!("{}/big:v1", proxy.host());
    let d = Daemon::start();
    let broken = d.docker(&["pull", &image]).failed();
    assert!(
        broken.stderr.contains("broke off") && broken.stderr.contains("resumes on the next pull"),
        "{}",
        broken.stderr
    );
    assert!(d.docker(&["images", "-q"]).ok().stdout.trim().is_empty());
    assert!(layer_blobs(&d).is_empty(), "a partial layer became a blob");
    assert!(snapshots(&d, "active").is_empty());
    assert!(snapshots(&d, "committed").is_empty());
    let ingests = files_in(&d.data_root().join("content/ingest"));
    assert_eq!(
        ingests.len(),
        1,
        "the partial download is kept: {ingests:?}"
    );

    proxy.take_served();
    proxy.set_rule(|_| Answer::forward());
    let pull = d.docker(&["pull", &image]).ok();
    assert!(pull.stdout.contains("Pull complete"), "{}", pull.stdout);
    let served = proxy.take_served();
    let resumed = served
        .iter()
        .find(|s| s.request.path.contains("/blobs/") && s.request.header("range").is_some())
        .unwrap_or_else(|| panic!("no Range request: {served:?}"));
    let offset: u64 = resumed
        .request
        .header("range")
        .and_then(|r| r.strip_prefix("bytes="))
        .and_then(|r| r.strip_suffix('-'))
        .and_then(|r| r.parse().ok())
        .unwrap_or_else(|| panic!("{resumed:?}"));
    let size = layer_size(&d);
    assert!(offset > 0 && offset <= cut, "offset {offset}");
    // Only the rest came over the wire (plus the response head).
    assert!(
        resumed.bytes >= size - offset && resumed.bytes < size - offset + 4096,
        "{} bytes served for {} missing",
        resumed.bytes,
        size - offset
    );
    assert!(files_in(&d.data_root().join("content/ingest")).is_empty());
    let out = d
        .docker(&["run", "--rm", &image, "sh", "-c", "wc -c < /big.bin"])
        .ok();
    assert_eq!(out.stdout.trim(), (BIG_MIB << 20).to_string());

    // The pull recorded where the registry holds the image.
    let digests = d
        .docker(&[
            "images",
            "--digests",
            "--format",
            "{{.Repository}}@{{.Digest}}",
        ])
        .ok();
    let repo_digest = digests.stdout.trim();
    assert!(
        repo_digest.starts_with(&format!("{}/big@sha256:", proxy.host())),
        "{repo_digest}"
    );
    let inspect = repo_digests(&d, &image);
    assert_eq!(inspect, format!("[\"{repo_digest}\"]"));
    // ...and the name resolves.
    d.docker(&["run", "--rm", repo_digest, "true"]).ok();
}

#[test]
fn registry_errors_read_clearly_and_a_failed_layer_leaves_nothing_half_made() {
    if skip_registry() {
        return;
    }
    let reg = Registry::start(RegistryOpts::default());
    let proxy = Proxy::start(reg.port, |r| {
        let manifest = r.path.contains("/manifests/");
        match r.path.split('/').nth(2).unwrap_or_default() {
            "s503" if manifest => Answer::status(503, ""),
            "s500" if manifest => Answer::status(500, "<html>internal failure</html>"),
            "s429" if manifest => Answer::status(
                429,
                r#"{"errors":[{"code":"TOOMANYREQUESTS","message":"You have reached your pull rate limit.","detail":null}]}"#,
            ),
            "s403" if manifest => Answer::status(403, ""),
            _ => Answer::forward(),
        }
    });
    let d = Daemon::start();
    let pull = |repo: &str| d.docker(&["pull", &format!("{}/{repo}:v1", proxy.host())]);
    let cases = [
        ("s503", "server error: HTTP 503 on manifest"),
        ("s500", "HTTP 500 on manifest"),
        ("s500", "internal failure"),
        ("s429", "toomanyrequests"),
        ("s429", "You have reached your pull rate limit."),
        ("s403", "denied: requested access to the resource is denied"),
    ];
    for (repo, message) in cases {
        let out = pull(repo).failed();
        assert!(out.stderr.contains(message), "{repo}: {}", out.stderr);
    }

    // Three layers; the base one fails while the others download.
    let work = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let tar = big_rootfs_tar(work.path(), 1);
    let seeder = Daemon::start();
    let base = format!("{}/multi:base", reg.host());
    seeder
        .docker(&["import", tar.to_str().unwrap_or_default(), &base])
        .ok();
    let mut top = base;
    for i in 0..2 {
        let name = unique("layer");
        seeder
            .docker(&[
                "run",
                "--name",
                &name,
                &top,
                "sh",
                "-c",
                &format!("head -c 4000000 /dev/urandom > /l{i}"),
            ])
            .ok();
        top = format!("{}/multi:{i}", reg.host());
        seeder.docker(&["commit", &name, &top]).ok();
    }
    seeder.docker(&["push", &top]).ok();
    let raw = skopeo(&[
        "inspect",
        "--raw",
        "--tls-verify=false",
        &format!("docker://{top}"),
    ])
    .ok();
    let manifest: serde_json::Value =
        serde_json::from_str(&raw.stdout).unwrap_or_else(|e| panic!("{e}"));
    let base_layer = manifest["layers"][0]["digest"]
        .as_str()
        .unwrap_or_else(|| panic!("{manifest}"))
        .to_string();
    proxy.set_rule(move |r| {
        if r.path.ends_with(&base_layer) {
            Answer::status(500, "")
        } else {
            Answer::forward()
        }
    });
    let image = format!("{}/multi:1", proxy.host());
    let failed = d.docker(&["pull", &image]).failed();
    assert!(
        failed.stderr.contains("server error: HTTP 500 on blob"),
        "{}",
        failed.stderr
    );
    assert!(d.docker(&["images", "-q"]).ok().stdout.trim().is_empty());
    assert!(snapshots(&d, "active").is_empty(), "a half-unpacked layer");
    assert!(snapshots(&d, "committed").is_empty());
    proxy.set_rule(|_| Answer::forward());
    d.docker(&["pull", &image]).ok();
    let out = d.docker(&["run", "--rm", &image, "ls", "/l0", "/l1"]).ok();
    assert_eq!(out.stdout.split_whitespace().count(), 2, "{}", out.stdout);
}

/// `Authorization: Basic` of berth:s3cret.
const BASIC: &str = "Basic YmVydGg6czNjcmV0";
const TOKEN: &str = "tok-berth-test";

#[test]
fn bearer_token_challenges_are_answered_through_berthd() {
    if skip_registry() {
        return;
    }
    let reg = Registry::start(RegistryOpts::default());
    let work = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    seed(&reg, &big_rootfs_tar(work.path(), 1), "private/app:v1");
    // The proxy is both the token server (`/token`, checking the basic credentials) and a
    // registry that wants the token it hands out.
    let realm_port = std::sync::Arc::new(std::sync::atomic::AtomicU16::new(0));
    let port = realm_port.clone();
    let proxy = Proxy::start(reg.port, move |r| {
        let realm = format!(
            "http://127.0.0.1:{}/token",
            port.load(std::sync::atomic::Ordering::Relaxed)
        );
        if r.path.starts_with("/token") {
            let scoped = r.path.contains("scope=repository%3Aprivate%2Fapp%3Apull")
                || r.path
                    .contains("scope=repository%3Alibrary%2Fberth-login-check");
            return if r.header("authorization") == Some(BASIC) && scoped {
                Answer::status(200, &format!("{{\"token\":\"{TOKEN}\"}}"))
            } else {
                Answer::status(401, "")
            };
        }
        if r.header("authorization") == Some(&format!("Bearer {TOKEN}")) {
            return Answer::forward();
        }
        Answer::Respond {
            status: 401,
            headers: vec![(
                "WWW-Authenticate".into(),
                format!("Bearer realm=\"{realm}\",service=\"berth-test\""),
            )],
            body: br#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required","detail":null}]}"#.to_vec(),
        }
    });
    realm_port.store(proxy.port, std::sync::atomic::Ordering::Relaxed);
    let image = format!("{}/private/app:v1", proxy.host());
    let d = Daemon::start();
    // `berth`, not docker: the docker CLI answers a 401 with a login prompt.
    let mut anon = d.berth_cmd(&["pull", &image]);
    anon.env("BERTH_CONFIG", work.path())
        .env("DOCKER_CONFIG", work.path());
    let anon = run(anon, None).failed();
    assert!(anon.stderr.contains("unauthorized"), "{}", anon.stderr);
    let wrong = d
        .docker(&["login", "-u", "berth", "-p", "nope", &proxy.host()])
        .failed();
    assert!(wrong.stderr.contains("unauthorized"), "{}", wrong.stderr);
    d.docker(&["login", "-u", "berth", "-p", "s3cret", &proxy.host()])
        .ok();
    d.docker(&["pull", &image]).ok();
    let out = d.docker(&["run", "--rm", &image, "echo", "token"]).ok();
    assert_eq!(out.stdout.trim(), "token");
    assert!(proxy
        .take_served()
        .iter()
        .any(|s| s.request.path.starts_with("/token")));
}

#[test]
fn a_full_disk_is_reported_and_the_store_stays_usable() {
    if skip_registry() {
        return;
    }
    let reg = Registry::start(RegistryOpts::default());
    let work = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    seed(&reg, &big_rootfs_tar(work.path(), 12), "big:v1");
    let image = format!("{}/big:v1", reg.host());
    // A daemon whose data root is a 16 MiB tmpfs: the layer blob and its unpacked files
    // need twice the layer.
    let mut d = Daemon::start();
    d.kill9();
    let data_root = d.data_root();
    let mount = |opts: &str| {
        sh(Command::new("mount")
            .args(["-t", "tmpfs", "-o", opts, "berth-test-full"])
            .arg(&data_root));
    };
    mount("size=16m");
    d.spawn();
    let full = d.docker(&["pull", &image]).failed();
    assert!(
        full.stderr.contains("No space left on device"),
        "{}",
        full.stderr
    );
    assert!(full.stderr.contains("layer sha256:"), "{}", full.stderr);
    assert!(d.docker(&["images", "-q"]).ok().stdout.trim().is_empty());
    assert!(layer_blobs(&d).is_empty());
    assert!(
        snapshots(&d, "active").is_empty(),
        "{:?} {}",
        snapshots(&d, "active"),
        d.log()
    );
    assert!(snapshots(&d, "committed").is_empty());
    assert!(
        files_in(&d.data_root().join("content/ingest")).is_empty(),
        "a failed write keeps no ingest"
    );
    // Room again: the same daemon pulls.
    mount("remount,size=64m");
    d.docker(&["pull", &image]).ok();
    d.docker(&["run", "--rm", &image, "true"]).ok();
}
