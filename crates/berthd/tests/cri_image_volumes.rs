//! Image volumes (KEP 4639) through the CRI: a pod's container mounts an image, whole and by a
//! subpath, read-only and executable; ContainerStatus reports the image's id; the image cannot
//! be removed while mounted; bad requests (writable, missing image, missing subpath) are
//! refused and leave nothing; after a `kill -9` of berthd and the container's removal, no mount
//! and no snapshot is left.

mod cri;

use berth_testkit::unique;
use cri::*;

/// An image volume at `target`.
fn image_mount(target: &str, image: &str, subpath: &str, readonly: bool) -> Mount {
    Mount {
        container_path: target.into(),
        readonly,
        image: spec(image),
        image_sub_path: subpath.into(),
        ..Default::default()
    }
}

/// The snapshots of the daemon's store (directories, so leftovers without a row count too).
fn snapshots(d: &berth_testkit::Daemon) -> usize {
    std::fs::read_dir(d.data_root().join("overlay/snapshots"))
        .map(|dir| dir.count())
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Mounts of image volumes still in the host's table.
fn image_volume_mounts(d: &berth_testkit::Daemon) -> Vec<String> {
    d.leaked_mounts()
        .into_iter()
        .filter(|m| m.contains("/image/"))
        .collect()
}

#[tokio::test]
async fn a_pods_container_mounts_an_image_read_only_and_leaves_nothing() {
    let Some((mut d, net)) = daemon("bridge", None) else {
        return;
    };
    let _cleanup = RemovePods(d.cri_socket.clone());
    let mut c = connect(&d.cri_socket).await;
    let own = unique("imgvol-own");
    import(&d, &format!("{own}:1"), "CMD [\"sh\"]");
    let data = format!("{}:1", unique("imgvol-data"));
    let data_id = import(&d, &data, "ENV IMGVOL=1");
    let (pod_id, sandbox) = pod(&d, &net, &mut c).await;
    let before = snapshots(&d);

    // Refused, naming what is wrong, and nothing made.
    let refused = [
        (
            image_mount("/mnt/image", &data, "", false),
            Code::InvalidArgument,
            "read-only",
        ),
        (
            image_mount("/mnt/image", "imgvol-absent:1", "", true),
            Code::NotFound,
            "imgvol-absent:1",
        ),
        (
            image_mount("/mnt/image", &data, "not-there", true),
            Code::NotFound,
            "not-there",
        ),
    ];
    for (n, (mount, code, message)) in refused.into_iter().enumerate() {
        let mut config = container_config(&format!("bad{n}"), &format!("{own}:1"), "true");
        config.mounts = vec![mount];
        assert_code(
            create(&mut c, &pod_id, &sandbox, config).await,
            code,
            message,
        );
    }
    assert_eq!(snapshots(&d), before);

    let mut config = container_config("reader", &format!("{own}:1"), "exec sleep 1000");
    config.mounts = vec![
        image_mount("/mnt/image", &data, "", true),
        image_mount("/mnt/etc", &data, "/etc", true),
    ];
    let id = create(&mut c, &pod_id, &sandbox, config)
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", d.log()));
    let s = container_status(&mut c, &id)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let reported: Vec<(&str, &str, &str)> = s
        .mounts
        .iter()
        .map(|m| {
            let image = m.image.as_ref().map(|i| i.image_ref.as_str());
            (
                m.container_path.as_str(),
                image.unwrap_or_default(),
                m.image_sub_path.as_str(),
            )
        })
        .collect();
    assert_eq!(
        reported,
        [
            ("/mnt/image", data_id.as_str(), ""),
            ("/mnt/etc", data_id.as_str(), "/etc")
        ]
    );
    assert_code(
        c.images
            .remove_image(RemoveImageRequest { image: spec(&data) })
            .await,
        Code::FailedPrecondition,
        "",
    );
    start(&mut c, &id)
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", d.log()));

    // Its mounts outlive a crash of berthd, and are still released afterwards.
    drop(c);
    d.kill9();
    d.spawn();
    let mut c = connect(&d.cri_socket).await;

    // The image's files, a subpath's as its root, and its programs run.
    let reads: [(&[&str], &str); 3] = [
        (&["cat", "/mnt/etc/passwd"], "root:x:0:0"),
        (&["ls", "/mnt/image/etc"], "passwd"),
        (&["/mnt/image/bin/busybox", "echo", "ran"], "ran"),
    ];
    for (cmd, want) in reads {
        let out = exec_sync(&mut c, &id, cmd, 10)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.exit_code, 0, "{cmd:?}: {out:?}");
        assert!(text.contains(want), "{cmd:?}: {text}");
    }
    for target in ["/mnt/image/new", "/mnt/etc/new"] {
        let out = exec_sync(&mut c, &id, &["touch", target], 10)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let err = String::from_utf8_lossy(&out.stderr);
        assert_ne!(out.exit_code, 0, "{target} is writable");
        assert!(err.contains("Read-only file system"), "{err}");
    }

    c.runtime
        .remove_container(RemoveContainerRequest {
            container_id: id.clone(),
        })
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", d.log()));
    assert_eq!(image_volume_mounts(&d), Vec::<String>::new());
    assert_eq!(snapshots(&d), before);
    c.images
        .remove_image(RemoveImageRequest { image: spec(&data) })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    stop(&mut c, &pod_id).await;
    remove(&mut c, &pod_id).await;
}
