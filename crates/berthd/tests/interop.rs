//! Images move between berthd and Debian's dockerd 20.10 with `docker save` / `docker load`,
//! both ways, keeping their ids (config digests). dockerd runs on private roots and a private
//! socket; the host's /var/lib/docker and /run/docker.sock are never touched.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};

use common::dockerd::{Dockerd, DOCKERD};
use common::{Daemon, Out};

fn skip() -> bool {
    if common::skip() {
        return true;
    }
    if !Path::new(DOCKERD).exists() {
        eprintln!("skipping: no {DOCKERD} (apt-get install docker.io)");
        return true;
    }
    false
}

fn id_of(out: Out) -> String {
    out.ok().text()
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn images_move_between_dockerd_and_berthd_with_the_same_ids() {
    if skip() {
        return;
    }
    let dockerd = Dockerd::start();
    let berthd = Daemon::start();
    let work: PathBuf = berthd.root.path().join("interop");
    std::fs::create_dir_all(&work).unwrap();
    let busybox_tar = path(common::busybox_tar()).to_string();

    // dockerd → berthd.
    dockerd
        .docker(&["import", "-c", "CMD [\"sh\"]", &busybox_tar, "busybox:dk"])
        .ok();
    let dk_id = id_of(dockerd.docker(&["image", "inspect", "-f", "{{.Id}}", "busybox:dk"]));
    let from_dockerd = work.join("from-dockerd.tar");
    dockerd
        .docker(&["save", "-o", path(&from_dockerd), "busybox:dk"])
        .ok();
    let out = berthd.docker(&["load", "-i", path(&from_dockerd)]).ok();
    assert!(out.stdout.contains("Loaded image: busybox:dk"), "{out:?}");
    assert_eq!(
        id_of(berthd.docker(&["image", "inspect", "-f", "{{.Id}}", "busybox:dk"])),
        dk_id
    );
    let out = berthd
        .docker(&[
            "run",
            "--rm",
            "busybox:dk",
            "echo",
            "dockerd image on berthd",
        ])
        .ok();
    assert_eq!(out.stdout, "dockerd image on berthd\n");

    // berthd → dockerd, with a two-layer image made by commit.
    let image = berthd.busybox();
    berthd
        .docker(&[
            "run",
            "--name",
            "maker",
            image,
            "sh",
            "-c",
            "echo made > /made",
        ])
        .ok();
    berthd
        .docker(&[
            "commit",
            "-c",
            "CMD [\"cat\", \"/made\"]",
            "maker",
            "berth:made",
        ])
        .ok();
    let ids: Vec<String> = [image, "berth:made"]
        .iter()
        .map(|n| id_of(berthd.docker(&["image", "inspect", "-f", "{{.Id}}", n])))
        .collect();
    let from_berthd = work.join("from-berthd.tar");
    berthd
        .docker(&["save", "-o", path(&from_berthd), image, "berth:made"])
        .ok();
    let out = dockerd.docker(&["load", "-i", path(&from_berthd)]).ok();
    assert!(out.stdout.contains("Loaded image: busybox:test"), "{out:?}");
    assert!(out.stdout.contains("Loaded image: berth:made"), "{out:?}");
    for (name, id) in [image, "berth:made"].iter().zip(&ids) {
        assert_eq!(
            &id_of(dockerd.docker(&["image", "inspect", "-f", "{{.Id}}", name])),
            id,
            "{name}"
        );
    }
    let out = dockerd
        .docker(&["run", "--rm", "--network", "none", "berth:made"])
        .ok();
    assert_eq!(out.stdout, "made\n");
    let out = dockerd
        .docker(&[
            "run",
            "--rm",
            "--network",
            "none",
            image,
            "echo",
            "berthd image on dockerd",
        ])
        .ok();
    assert_eq!(out.stdout, "berthd image on dockerd\n");

    // And back: what dockerd saves of berthd's two-layer image loads into berthd unchanged.
    let round = work.join("round.tar");
    dockerd
        .docker(&["save", "-o", path(&round), "berth:made"])
        .ok();
    berthd.docker(&["rm", "maker"]).ok();
    berthd.docker(&["rmi", "berth:made"]).ok();
    berthd.docker(&["load", "-i", path(&round)]).ok();
    assert_eq!(
        id_of(berthd.docker(&["image", "inspect", "-f", "{{.Id}}", "berth:made"])),
        ids[1]
    );
    assert_eq!(
        berthd.docker(&["run", "--rm", "berth:made"]).ok().stdout,
        "made\n"
    );
}
