//! The real docker CLI against berthd: save/load, export, commit, diff, cp, sizes and pruning.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::process::Command;

use common::{unique, Daemon};

fn image_id(d: &Daemon, name: &str) -> String {
    d.docker(&["image", "inspect", "-f", "{{.Id}}", name])
        .ok()
        .text()
}

fn tar_list(path: &Path) -> Vec<String> {
    let out = Command::new("tar").arg("-tf").arg(path).output().unwrap();
    assert!(out.status.success(), "tar -tf {}: {out:?}", path.display());
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

/// Entries (files and directories) under the store's snapshot and blob directories.
fn store_entries(d: &Daemon) -> (usize, usize) {
    let count = |p: std::path::PathBuf| std::fs::read_dir(p).map_or(0, |r| r.count());
    (
        count(d.data_root().join("overlay/snapshots")),
        count(d.data_root().join("content/blobs/sha256")),
    )
}

fn sh(script: &str) {
    let status = Command::new("sh").arg("-c").arg(script).status().unwrap();
    assert!(status.success(), "{script}");
}

#[test]
fn save_then_load_keeps_id_tag_and_both_layouts() {
    if common::skip() {
        return;
    }
    let d = Daemon::start();
    let image = d.busybox();
    let id = image_id(&d, image);
    let archive = d.root.path().join("busybox.tar");
    d.docker(&["save", "-o", archive.to_str().unwrap(), image])
        .ok();
    let entries = tar_list(&archive);
    for want in ["index.json", "oci-layout", "manifest.json", "repositories"] {
        assert!(entries.iter().any(|e| e == want), "{want} in {entries:?}");
    }
    let config_blob = format!("blobs/sha256/{}", id.trim_start_matches("sha256:"));
    assert!(entries.contains(&config_blob), "{entries:?}");

    d.docker(&["rmi", image]).ok();
    assert!(d.docker(&["image", "inspect", image]).failed().code != 0);
    let out = d.docker(&["load", "-i", archive.to_str().unwrap()]).ok();
    assert!(out.stdout.contains("Loaded image: busybox:test"), "{out:?}");
    assert_eq!(image_id(&d, image), id, "image id survives save/load");
    let run = d.docker(&["run", "--rm", image, "echo", "loaded"]).ok();
    assert_eq!(run.stdout, "loaded\n");

    // The OCI layout alone (no manifest.json) loads too, and so does a gzipped archive.
    let dir = d.root.path().join("oci");
    std::fs::create_dir_all(&dir).unwrap();
    sh(&format!(
        "cd {dir} && tar -xf {archive} && rm manifest.json repositories && tar -czf ../oci.tgz .",
        dir = dir.display(),
        archive = archive.display()
    ));
    d.docker(&["rmi", image]).ok();
    let oci = d.root.path().join("oci.tgz");
    let out = d.docker(&["load", "-i", oci.to_str().unwrap()]).ok();
    assert!(out.stdout.contains("Loaded image: busybox:test"), "{out:?}");
    assert_eq!(image_id(&d, image), id);
}

/// `docker save <repository>` saves every tag of the repository, and only that repository.
#[test]
fn save_of_a_bare_repository_takes_all_its_tags() {
    if common::skip() {
        return;
    }
    let d = Daemon::start();
    let image = d.busybox();
    let repo = unique("repo");
    d.docker(&["tag", image, &format!("{repo}:one")]).ok();
    d.docker(&["tag", image, &format!("{repo}:two")]).ok();
    d.docker(&["tag", image, &format!("{repo}x:three")]).ok();
    let archive = d.root.path().join("repo.tar");
    d.docker(&["save", "-o", archive.to_str().unwrap(), &repo])
        .ok();
    let out = Command::new("tar")
        .args(["-xOf", archive.to_str().unwrap(), "manifest.json"])
        .output()
        .unwrap();
    let manifest: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        manifest[0]["RepoTags"],
        serde_json::json!([format!("{repo}:one"), format!("{repo}:two")]),
        "{manifest}"
    );
    // Without tags at all it is an unknown image, as `latest` is.
    let none = unique("nothing");
    let nowhere = d.root.path().join("none.tar");
    let out = d
        .docker(&["save", "-o", nowhere.to_str().unwrap(), &none])
        .failed();
    assert!(out.stderr.contains("No such image"), "{out:?}");
}

#[test]
fn load_refuses_bad_archives_and_leaves_nothing_behind() {
    if common::skip() {
        return;
    }
    let source = Daemon::start();
    let image = source.busybox();
    let archive = source.root.path().join("good.tar");
    source
        .docker(&["save", "-o", archive.to_str().unwrap(), image])
        .ok();

    let d = Daemon::start();
    let before = store_entries(&d);
    // Truncated: cut in the middle of the layer.
    let bytes = std::fs::read(&archive).unwrap();
    let cut = d.root.path().join("cut.tar");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let out = d.docker(&["load", "-i", cut.to_str().unwrap()]).failed();
    assert!(
        out.stderr.contains("corrupt or truncated") || out.stderr.contains("invalid image archive"),
        "{out:?}"
    );
    // Not an archive at all.
    let junk = d.root.path().join("junk.tar");
    std::fs::write(&junk, vec![7u8; 4096]).unwrap();
    d.docker(&["load", "-i", junk.to_str().unwrap()]).failed();

    // A config whose diff_id does not match the layer (docker-archive path).
    let dir = d.root.path().join("bad");
    std::fs::create_dir_all(&dir).unwrap();
    sh(&format!(
        "cd {} && tar -xf {}",
        dir.display(),
        archive.display()
    ));
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    let config_path = dir.join(manifest[0]["Config"].as_str().unwrap());
    let mut config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&config_path).unwrap()).unwrap();
    config["rootfs"]["diff_ids"][0] =
        "sha256:0000000000000000000000000000000000000000000000000000000000000000".into();
    std::fs::remove_file(&config_path).unwrap();
    std::fs::write(&config_path, serde_json::to_vec(&config).unwrap()).unwrap();
    let bad = d.root.path().join("bad.tar");
    sh(&format!(
        "cd {} && tar -cf {} .",
        dir.display(),
        bad.display()
    ));
    let out = d.docker(&["load", "-i", bad.to_str().unwrap()]).failed();
    assert!(out.stderr.contains("diff_id"), "{out:?}");

    // An OCI layout whose layer blob does not match its manifest digest.
    let oci = d.root.path().join("oci");
    std::fs::create_dir_all(&oci).unwrap();
    sh(&format!(
        "cd {oci} && tar -xf {archive} && rm manifest.json repositories",
        oci = oci.display(),
        archive = archive.display()
    ));
    let layer = oci.join(manifest[0]["Layers"][0].as_str().unwrap());
    let mut data = std::fs::read(&layer).unwrap();
    // Padding after the end of the archive: still a valid tar, a different digest.
    data.extend_from_slice(&[0u8; 1024]);
    std::fs::remove_file(&layer).unwrap();
    std::fs::write(&layer, data).unwrap();
    let bad_oci = d.root.path().join("bad-oci.tar");
    sh(&format!(
        "cd {} && tar -cf {} .",
        oci.display(),
        bad_oci.display()
    ));
    let out = d
        .docker(&["load", "-i", bad_oci.to_str().unwrap()])
        .failed();
    assert!(out.stderr.contains("digest"), "{out:?}");

    assert_eq!(d.docker(&["images", "-q"]).ok().stdout, "", "no image row");
    assert_eq!(store_entries(&d).0, before.0, "no snapshot left behind");
    // Whatever blobs a failed load committed are garbage: a prune collects them.
    d.docker(&["image", "prune", "-f"]).ok();
    assert_eq!(store_entries(&d), before);
}

#[test]
fn diff_export_and_commit_a_stopped_container() {
    if common::skip() {
        return;
    }
    let d = Daemon::start();
    let image = d.busybox();
    let name = unique("changed");
    d.docker(&[
        "run",
        "--name",
        &name,
        image,
        "sh",
        "-c",
        "echo hi > /newfile && rm /etc/group && mkdir /tmp/made",
    ])
    .ok();
    let diff = d.docker(&["diff", &name]).ok().stdout;
    for line in [
        "A /newfile",
        "D /etc/group",
        "C /etc",
        "A /tmp/made",
        "C /tmp",
    ] {
        assert!(diff.lines().any(|l| l == line), "{line:?} in {diff}");
    }

    let exported = d.root.path().join("export.tar");
    d.docker(&["export", "-o", exported.to_str().unwrap(), &name])
        .ok();
    let entries = tar_list(&exported);
    assert!(entries.iter().any(|e| e == "newfile"), "{entries:?}");
    assert!(entries.iter().any(|e| e == "bin/busybox"));
    assert!(
        !entries.iter().any(|e| e == "etc/group"),
        "deleted file exported"
    );
    assert!(
        !entries.iter().any(|e| e.contains(".wh.")),
        "whiteouts exported"
    );
    assert_eq!(
        d.leaked_mounts(),
        Vec::<String>::new(),
        "export left a mount"
    );

    // A bad --change is refused before anything is written.
    let before = store_entries(&d);
    let out = d
        .docker(&["commit", "-c", "FROBNICATE x", &name, "busybox:bad"])
        .failed();
    assert!(out.stderr.contains("FROBNICATE"), "{out:?}");
    assert_eq!(store_entries(&d), before);

    let committed = "busybox:committed";
    d.docker(&[
        "commit",
        "-c",
        "CMD [\"cat\", \"/newfile\"]",
        "-m",
        "a message",
        "-a",
        "someone",
        &name,
        committed,
    ])
    .ok();
    assert_eq!(d.docker(&["run", "--rm", committed]).ok().stdout, "hi\n");
    let out = d
        .docker(&["run", "--rm", committed, "ls", "/etc/group"])
        .failed();
    assert!(out.stderr.contains("No such file"), "{out:?}");
    let layers = d
        .docker(&[
            "image",
            "inspect",
            "-f",
            "{{len .RootFS.Layers}} {{.Author}} {{.Comment}}",
            committed,
        ])
        .ok();
    assert_eq!(layers.stdout.trim(), "2 someone a message");
    let history = d.docker(&["history", "-q", committed]).ok().stdout;
    assert_eq!(history.lines().count(), 2, "{history}");
}

#[test]
fn commit_pauses_a_running_container_and_it_keeps_running() {
    if common::skip() {
        return;
    }
    let d = Daemon::start();
    let image = d.busybox();
    let name = unique("live");
    d.docker(&[
        "run",
        "-d",
        "--name",
        &name,
        image,
        "sh",
        "-c",
        "echo state > /state; exec sleep 1000",
    ])
    .ok();
    // The file appears once the shell ran; cp reads the live rootfs.
    let mut found = false;
    for _ in 0..50 {
        if d.docker(&["cp", &format!("{name}:/state"), "-"]).code == 0 {
            found = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(found, "file never appeared in the running container");
    d.docker(&["commit", &name, "busybox:live"]).ok();
    let state = d
        .docker(&["inspect", "-f", "{{.State.Status}}", &name])
        .ok();
    assert_eq!(state.stdout.trim(), "running");
    let out = d
        .docker(&["run", "--rm", "busybox:live", "cat", "/state"])
        .ok();
    assert_eq!(out.stdout, "state\n");
}

#[test]
fn cp_files_and_directories_both_ways() {
    if common::skip() {
        return;
    }
    let d = Daemon::start();
    let image = d.busybox();
    let name = unique("cp");
    d.docker(&["create", "--name", &name, image, "sleep", "1000"])
        .ok();
    let local = d.root.path().join("local");
    std::fs::create_dir_all(local.join("tree/sub")).unwrap();
    std::fs::write(local.join("file.txt"), "file content\n").unwrap();
    std::fs::write(local.join("tree/sub/deep.txt"), "deep\n").unwrap();

    // Into a stopped (never started) container.
    d.docker(&[
        "cp",
        local.join("file.txt").to_str().unwrap(),
        &format!("{name}:/tmp/"),
    ])
    .ok();
    d.docker(&[
        "cp",
        local.join("tree").to_str().unwrap(),
        &format!("{name}:/root/tree"),
    ])
    .ok();
    // Out again.
    let back = d.root.path().join("back");
    std::fs::create_dir_all(&back).unwrap();
    d.docker(&[
        "cp",
        &format!("{name}:/tmp/file.txt"),
        back.to_str().unwrap(),
    ])
    .ok();
    assert_eq!(
        std::fs::read_to_string(back.join("file.txt")).unwrap(),
        "file content\n"
    );
    d.docker(&["cp", &format!("{name}:/root/tree"), back.to_str().unwrap()])
        .ok();
    assert_eq!(
        std::fs::read_to_string(back.join("tree/sub/deep.txt")).unwrap(),
        "deep\n"
    );
    assert_eq!(d.leaked_mounts(), Vec::<String>::new());

    // The running container sees what was copied in, and copies in while running work too.
    d.docker(&["start", &name]).ok();
    d.docker(&[
        "cp",
        local.join("file.txt").to_str().unwrap(),
        &format!("{name}:/file-live.txt"),
    ])
    .ok();
    let out = d
        .docker(&["cp", &format!("{name}:/file-live.txt"), "-"])
        .ok();
    assert!(out.stdout.contains("file content"), "{out:?}");
    let out = d
        .docker(&["cp", &format!("{name}:/root/tree/sub/deep.txt"), "-"])
        .ok();
    assert!(out.stdout.contains("deep"), "{out:?}");

    // docker cp asks for noOverwriteDirNonDir: a file may not replace a directory.
    let clash = d.root.path().join("clash");
    std::fs::create_dir_all(&clash).unwrap();
    std::fs::write(clash.join("tree"), "a file named like the directory\n").unwrap();
    let out = d
        .docker(&[
            "cp",
            clash.join("tree").to_str().unwrap(),
            &format!("{name}:/root/"),
        ])
        .failed();
    assert!(
        out.stderr
            .contains("cannot overwrite directory with non-directory"),
        "{out:?}"
    );
    let out = d
        .docker(&["cp", &format!("{name}:/root/tree/sub/deep.txt"), "-"])
        .ok();
    assert!(out.stdout.contains("deep"), "directory survived: {out:?}");

    // Missing paths are 404s with Docker's message.
    let out = d
        .docker(&[
            "cp",
            &format!("{name}:/no/such/file"),
            back.to_str().unwrap(),
        ])
        .failed();
    assert!(out.stderr.contains("Could not find the file"), "{out:?}");
}

#[test]
fn cp_paths_cannot_escape_the_container_root() {
    if common::skip() {
        return;
    }
    let d = Daemon::start();
    let image = d.busybox();
    let name = unique("escape");
    // Symlinks pointing at / and far above it.
    d.docker(&[
        "run",
        "--name",
        &name,
        image,
        "sh",
        "-c",
        "ln -s / /rootlink && ln -s ../../../../../.. /uplink && ln -s /etc/passwd /pwlink",
    ])
    .ok();
    let sentinel_name = unique("berth-sentinel");
    let host_sentinel = std::env::temp_dir().join(&sentinel_name);
    std::fs::write(&host_sentinel, "HOST SECRET\n").unwrap();

    // Reading through the links resolves inside the container.
    let tmp = std::env::temp_dir().display().to_string();
    for via in ["/rootlink", "/uplink", "/../../.."] {
        let out = d.docker(&["cp", &format!("{name}:{via}{tmp}/{sentinel_name}"), "-"]);
        assert_ne!(out.code, 0, "read the host through {via}: {out:?}");
        assert!(!out.stdout.contains("HOST SECRET"));
    }
    let out = d
        .docker(&["cp", &format!("{name}:/uplink/etc/passwd"), "-"])
        .ok();
    assert!(out.stdout.contains("nobody:x:65534"), "{out:?}");
    assert!(
        !out.stdout.lines().any(|l| l.starts_with("daemon:")),
        "host passwd leaked: {out:?}"
    );

    // Writing through them lands inside the container too.
    let local = d.root.path().join(&sentinel_name);
    std::fs::write(&local, "from outside\n").unwrap();
    for via in ["/rootlink/tmp/", "/uplink/tmp/"] {
        d.docker(&["cp", local.to_str().unwrap(), &format!("{name}:{via}")])
            .ok();
    }
    assert_eq!(
        std::fs::read_to_string(&host_sentinel).unwrap(),
        "HOST SECRET\n",
        "host file overwritten"
    );
    let out = d
        .docker(&["cp", &format!("{name}:/tmp/{sentinel_name}"), "-"])
        .ok();
    assert!(out.stdout.contains("from outside"), "{out:?}");
    // A symlink is copied as a symlink (its target is not followed out).
    let out = d.docker(&["cp", &format!("{name}:/pwlink"), "-"]).ok();
    assert!(!out.stdout.contains("root:x:0:0"), "{out:?}");
    let _ = std::fs::remove_file(&host_sentinel);
}

#[test]
fn sizes_disk_usage_and_pruning_free_the_store() {
    if common::skip() {
        return;
    }
    let d = Daemon::start();
    let image = d.busybox();
    let name = unique("big");
    d.docker(&[
        "run",
        "--name",
        &name,
        image,
        "dd",
        "if=/dev/zero",
        "of=/big",
        "bs=1024",
        "count=2048",
    ])
    .ok();
    let size: u64 = d
        .docker(&["inspect", "-s", "-f", "{{.SizeRw}}", &name])
        .ok()
        .stdout
        .trim()
        .parse()
        .unwrap();
    assert!(size >= 2 * 1024 * 1024, "SizeRw {size}");
    let ps = d.docker(&["ps", "-a", "-s", "--format", "{{.Size}}"]).ok();
    assert!(ps.stdout.contains("MB (virtual"), "{ps:?}");
    let df = d.docker(&["system", "df"]).ok();
    assert!(
        df.stdout.contains("Images") && df.stdout.contains("Containers"),
        "{df:?}"
    );
    let df = d.docker(&["system", "df", "-v"]).ok();
    assert!(df.stdout.contains("busybox"), "{df:?}");

    // An image's size is what its unpacked layers use, even when the layer blob is compressed.
    let gz = d.root.path().join("busybox.tar.gz");
    sh(&format!(
        "gzip -c {} > {}",
        common::busybox_tar().display(),
        gz.display()
    ));
    let zipped = unique("zipped");
    d.docker(&["import", gz.to_str().unwrap(), &zipped]).ok();
    let image_size: u64 = d
        .docker(&["image", "inspect", "-f", "{{.Size}}", &zipped])
        .ok()
        .stdout
        .trim()
        .parse()
        .unwrap();
    let busybox = std::fs::metadata("/bin/busybox").unwrap().len();
    let blob = std::fs::metadata(&gz).unwrap().len();
    assert!(
        image_size >= busybox && image_size > blob,
        "size {image_size}, busybox {busybox}, gzip blob {blob}"
    );
    d.docker(&["rmi", &zipped]).ok();

    let out = d.docker(&["container", "prune", "-f"]).ok();
    assert!(out.stdout.contains("Total reclaimed space: 2."), "{out:?}");
    assert_eq!(d.docker(&["ps", "-aq"]).ok().stdout, "");

    // A dangling image (a commit without a name) goes with a plain prune, the tagged one stays.
    let c = unique("c");
    d.docker(&["create", "--name", &c, image]).ok();
    d.docker(&["commit", &c]).ok();
    d.docker(&["rm", &c]).ok();
    assert_eq!(d.docker(&["images", "-q"]).ok().stdout.lines().count(), 2);
    // Both share busybox's unpacked layer; it counts once in LayersSize.
    let df = Command::new("curl")
        .args(["-s", "--unix-socket"])
        .arg(&d.socket)
        .arg("http://x/v1.44/system/df")
        .output()
        .unwrap();
    let df: serde_json::Value = serde_json::from_slice(&df.stdout).unwrap();
    let images = df["Images"].as_array().unwrap();
    let base = images
        .iter()
        .map(|i| i["Size"].as_u64().unwrap())
        .min()
        .unwrap();
    for i in images {
        assert_eq!(i["SharedSize"].as_u64(), Some(base), "{df}");
    }
    let layers = df["LayersSize"].as_u64().unwrap();
    let total: u64 = images.iter().map(|i| i["Size"].as_u64().unwrap()).sum();
    assert!(layers >= base && layers < total, "{df}");
    let out = d.docker(&["image", "prune", "-f"]).ok();
    assert!(out.stdout.contains("deleted: sha256:"), "{out:?}");
    assert_eq!(d.docker(&["images", "-q"]).ok().stdout.lines().count(), 1);
    // -a takes the unused tagged image too, and the store is empty afterwards.
    let out = d.docker(&["image", "prune", "-a", "-f"]).ok();
    assert!(out.stdout.contains("untagged: busybox:test"), "{out:?}");
    assert_eq!(d.docker(&["images", "-q"]).ok().stdout, "");
    assert_eq!(store_entries(&d), (0, 0), "blobs and snapshots freed");
}

/// `docker system prune -a --volumes`: stopped containers, unused networks and images, and
/// anonymous volumes go; what a running container uses stays.
#[test]
fn system_prune_takes_everything_unused() {
    if common::skip() {
        return;
    }
    let d = Daemon::start();
    let image = d.busybox();
    let running = unique("keep");
    d.docker(&["run", "-d", "--name", &running, image, "sleep", "100"])
        .ok();
    let stopped = unique("stopped");
    d.docker(&["run", "--name", &stopped, "-v", "/data", image, "true"])
        .ok();
    let volume = unique("vol");
    d.docker(&["volume", "create", &volume]).ok();
    let network = unique("net");
    d.docker(&["network", "create", "--internal", &network])
        .ok();
    let other = unique("other");
    d.docker(&["tag", image, &format!("{other}:x")]).ok();

    let out = d.docker(&["system", "prune", "-a", "-f", "--volumes"]).ok();
    assert!(out.stdout.contains("Total reclaimed space"), "{out:?}");
    let names = d.docker(&["ps", "-a", "--format", "{{.Names}}"]).ok();
    assert_eq!(names.stdout.trim(), running);
    // As Docker 23+: the anonymous volume goes, a named one needs `volume prune -a`.
    assert_eq!(d.docker(&["volume", "ls", "-q"]).ok().stdout.trim(), volume);
    let networks = d.docker(&["network", "ls", "--format", "{{.Name}}"]).ok();
    assert!(!networks.stdout.contains(&network), "{networks:?}");
    // The running container's image stays, under all its names (prune -a takes unused images).
    d.docker(&["image", "inspect", image]).ok();
    d.docker(&["rm", "-f", &running]).ok();
}

#[test]
fn rmi_frees_blobs_and_snapshots() {
    if common::skip() {
        return;
    }
    let d = Daemon::start();
    let image = d.busybox();
    assert_ne!(store_entries(&d), (0, 0));
    d.docker(&["rmi", image]).ok();
    assert_eq!(store_entries(&d), (0, 0));
}

#[test]
fn garbage_collection_does_not_race_loads() {
    if common::skip() {
        return;
    }
    let d = Daemon::start();
    let image = d.busybox();
    let archive = d.root.path().join("race.tar");
    d.docker(&["save", "-o", archive.to_str().unwrap(), image])
        .ok();
    // One thread keeps loading the image (reusing blobs and snapshots an earlier round left
    // unreferenced), the other keeps removing it and collecting garbage.
    std::thread::scope(|s| {
        s.spawn(|| {
            for _ in 0..6 {
                d.docker(&["load", "-i", archive.to_str().unwrap()]).ok();
            }
        });
        s.spawn(|| {
            for _ in 0..6 {
                let _ = d.docker(&["rmi", image]);
                d.docker(&["image", "prune", "-a", "-f"]).ok();
            }
        });
    });
    // Whatever the interleaving, a loaded image is whole: it runs.
    d.docker(&["load", "-i", archive.to_str().unwrap()]).ok();
    let out = d.docker(&["run", "--rm", image, "echo", "whole"]).ok();
    assert_eq!(out.stdout, "whole\n");
    let layers = d.data_root().join("overlay/snapshots");
    assert!(std::fs::read_dir(layers).unwrap().count() >= 1);
}
