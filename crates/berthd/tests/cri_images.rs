//! The CRI ImageService over berthd's CRI socket: one image store with the Docker API (an
//! image imported through the Docker API is listed by the CRI, one removed by the CRI is gone
//! for Docker clients), pulls with AuthConfig from a private registry, the CRI's idempotence
//! and empty-answer rules, runtime.v1alpha2, and crictl end to end.

mod cri;

use std::path::Path;

use berth_testkit::registry::{Registry, RegistryOpts};
use berth_testkit::{run, skip_unless, Client, Daemon};
use cri::*;

fn daemon() -> Option<Daemon> {
    (!skip_unless(Client::Berth)).then(|| Daemon::start_for(Client::Berth))
}

async fn list(c: &mut Cri, filter: Option<&str>) -> Vec<Image> {
    c.images
        .list_images(ListImagesRequest {
            filter: filter.map(|name| ImageFilter { image: spec(name) }),
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .into_inner()
        .images
}

async fn status(c: &mut Cri, name: &str, verbose: bool) -> ImageStatusResponse {
    c.images
        .image_status(ImageStatusRequest {
            image: spec(name),
            verbose,
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .into_inner()
}

#[tokio::test]
async fn docker_api_images_are_cri_images_and_cri_removal_is_theirs() {
    let Some(d) = daemon() else { return };
    let mut c = connect(&d.cri_socket).await;
    let id = import(&d, "busybox:cri", "USER 1000:50");
    d.berth(&["tag", "busybox:cri", "example.com/other/name:v2"])
        .ok();

    let all = list(&mut c, None).await;
    assert_eq!(all.len(), 1, "{all:?}");
    let image = &all[0];
    assert_eq!(image.id, id);
    assert_eq!(
        image.repo_tags,
        ["docker.io/library/busybox:cri", "example.com/other/name:v2"]
    );
    assert!(image.size > 0, "{image:?}");
    assert_eq!(image.uid, Some(Int64Value { value: 1000 }));
    assert_eq!(image.username, "");
    assert_eq!(
        image.spec.as_ref().map(|s| s.image.as_str()),
        Some(id.as_str())
    );
    assert!(!image.pinned);

    // By short name, full name, id and id prefix; a filter names one image.
    for name in [
        "busybox:cri",
        "docker.io/library/busybox:cri",
        id.as_str(),
        &id["sha256:".len()..][..12],
    ] {
        let found = status(&mut c, name, false).await;
        assert_eq!(
            found.image.as_ref().map(|i| i.id.as_str()),
            Some(id.as_str()),
            "{name}"
        );
        assert!(found.info.is_empty(), "info only when verbose");
    }
    assert_eq!(
        list(&mut c, Some("example.com/other/name:v2")).await.len(),
        1
    );
    assert!(list(&mut c, Some("busybox:absent")).await.is_empty());

    let verbose = status(&mut c, "busybox:cri", true).await;
    let info: serde_json::Value =
        serde_json::from_str(verbose.info.get("info").map_or("", String::as_str))
            .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(info["id"], id.as_str());
    assert_eq!(info["imageSpec"]["config"]["User"], "1000:50");

    // A user by name.
    let named = import(&d, "busybox:named", "USER nobody");
    let found = status(&mut c, &named, false).await.image;
    assert_eq!(
        found.map(|i| (i.uid, i.username)),
        Some((None, "nobody".to_string()))
    );

    // Removing one tag removes the image with all its tags, for the Docker API too.
    c.images
        .remove_image(RemoveImageRequest {
            image: spec("example.com/other/name:v2"),
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let left = d
        .berth(&["images", "--format", "{{.Repository}}:{{.Tag}}"])
        .ok();
    assert_eq!(left.text(), "busybox:named");
    // Gone is gone: RemoveImage succeeds again, ImageStatus answers no image.
    c.images
        .remove_image(RemoveImageRequest {
            image: spec("busybox:cri"),
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        status(&mut c, &id, false).await,
        ImageStatusResponse::default()
    );

    // An image a container uses stays (FailedPrecondition, as containerd's Conflict).
    d.berth(&["create", "--name", "user", "busybox:named", "true"])
        .ok();
    assert_code(
        c.images
            .remove_image(RemoveImageRequest {
                image: spec("busybox:named"),
            })
            .await,
        Code::FailedPrecondition,
        "",
    );
}

#[tokio::test]
async fn requests_without_an_image_are_invalid() {
    let Some(d) = daemon() else { return };
    let mut c = connect(&d.cri_socket).await;
    assert_code(
        c.images.image_status(ImageStatusRequest::default()).await,
        Code::InvalidArgument,
        "ImageStatus: an image is required",
    );
    assert_code(
        c.images.pull_image(PullImageRequest::default()).await,
        Code::InvalidArgument,
        "PullImage: an image is required",
    );
    assert_code(
        c.images
            .remove_image(RemoveImageRequest { image: spec("") })
            .await,
        Code::InvalidArgument,
        "RemoveImage: an image is required",
    );
    assert_code(
        c.images
            .image_status(ImageStatusRequest {
                image: spec("Not A Reference"),
                verbose: false,
            })
            .await,
        Code::InvalidArgument,
        "",
    );
}

#[tokio::test]
async fn image_service_on_the_v1alpha2_path() {
    let Some(d) = daemon() else { return };
    let c = connect(&d.cri_socket).await;
    let id = import(&d, "busybox:alpha", "CMD [\"sh\"]");
    let listed: ListImagesResponse = c
        .v1alpha2("ImageService", "ListImages", ListImagesRequest::default())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        listed
            .images
            .iter()
            .map(|i| i.id.as_str())
            .collect::<Vec<_>>(),
        [id.as_str()]
    );
    let found: ImageStatusResponse = c
        .v1alpha2(
            "ImageService",
            "ImageStatus",
            ImageStatusRequest {
                image: spec("busybox:alpha"),
                verbose: false,
            },
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(found.image.map(|i| i.id), Some(id));
    let fs: ImageFsInfoResponse = c
        .v1alpha2("ImageService", "ImageFsInfo", ImageFsInfoRequest {})
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(fs.image_filesystems.len(), 2, "{fs:?}");
}

#[tokio::test]
async fn image_fs_info_is_the_stores_usage() {
    let Some(d) = daemon() else { return };
    let mut c = connect(&d.cri_socket).await;
    let usage = |fs: &ImageFsInfoResponse| -> Vec<(String, u64, u64)> {
        fs.image_filesystems
            .iter()
            .map(|f| {
                assert!(f.timestamp > 0, "{f:?}");
                (
                    f.fs_id
                        .as_ref()
                        .map(|i| i.mountpoint.clone())
                        .unwrap_or_default(),
                    f.used_bytes.as_ref().map_or(0, |u| u.value),
                    f.inodes_used.as_ref().map_or(0, |u| u.value),
                )
            })
            .collect()
    };
    let before = c
        .images
        .image_fs_info(ImageFsInfoRequest {})
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .into_inner();
    import(&d, "busybox:fs", "CMD [\"sh\"]");
    let after = c
        .images
        .image_fs_info(ImageFsInfoRequest {})
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .into_inner();
    assert!(after.container_filesystems.is_empty(), "{after:?}");
    let data = d.data_root();
    let (before, after) = (usage(&before), usage(&after));
    assert_eq!(
        after.iter().map(|u| u.0.as_str()).collect::<Vec<_>>(),
        [
            data.join("overlay").display().to_string(),
            data.join("content").display().to_string()
        ]
    );
    // The unpacked busybox (~2 MB, hundreds of applet links) and its compressed blob.
    assert!(
        after[0].1 >= before[0].1 + 1_000_000,
        "{before:?} {after:?}"
    );
    assert!(after[0].2 > before[0].2 + 100, "{before:?} {after:?}");
    assert!(after[1].1 > before[1].1, "{before:?} {after:?}");
}

/// Imports busybox as `<registry>/<repo>` and pushes it with `berth` (logged in with a
/// private config when the registry wants it); the local copy is removed, so the CRI pulls.
fn push(d: &Daemon, reg: &Registry, repo: &str, login: Option<(&str, &str)>) -> String {
    let image = format!("{}/{repo}", reg.host());
    let cfg = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let berth = |args: &[&str]| {
        let mut cmd = d.berth_cmd(args);
        cmd.env("BERTH_CONFIG", cfg.path())
            .env("DOCKER_CONFIG", cfg.path().join("none"));
        run(cmd, None)
    };
    if let Some((user, password)) = login {
        berth(&["login", "-u", user, "-p", password, &reg.host()]).ok();
    }
    let id = import(d, &image, "CMD [\"sh\"]");
    berth(&["push", &image]).ok();
    d.berth(&["rmi", &image]).ok();
    id
}

fn skip_registry() -> bool {
    for tool in ["/usr/bin/docker-registry", "/usr/bin/htpasswd"] {
        if !Path::new(tool).exists() {
            eprintln!("skipped: {tool} missing (apt-get install docker-registry apache2-utils)");
            return true;
        }
    }
    false
}

#[tokio::test]
async fn pull_image_with_auth_config_from_a_private_registry() {
    if skip_registry() {
        return;
    }
    let Some(d) = daemon() else { return };
    let reg = Registry::start(RegistryOpts {
        htpasswd: Some(("berth", "s3cret")),
        ..Default::default()
    });
    let id = push(&d, &reg, "private:v1", Some(("berth", "s3cret")));
    let image = format!("{}/private:v1", reg.host());
    let mut c = connect(&d.cri_socket).await;
    let pull = |auth: Option<AuthConfig>, handler: &str| PullImageRequest {
        image: Some(ImageSpec {
            image: image.clone(),
            runtime_handler: handler.to_string(),
            ..Default::default()
        }),
        auth,
        sandbox_config: None,
    };

    assert_code(
        c.images.pull_image(pull(None, "")).await,
        Code::Unauthenticated,
        "",
    );
    assert_code(
        c.images
            .pull_image(pull(
                Some(AuthConfig {
                    identity_token: "refresh-token".into(),
                    ..Default::default()
                }),
                "",
            ))
            .await,
        Code::Unimplemented,
        "identity tokens",
    );
    assert_code(
        c.images.pull_image(pull(None, "kata")).await,
        Code::InvalidArgument,
        "runtime handler \"kata\"",
    );
    let by_password = c
        .images
        .pull_image(pull(
            Some(AuthConfig {
                username: "berth".into(),
                password: "s3cret".into(),
                server_address: reg.host(),
                ..Default::default()
            }),
            "",
        ))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .into_inner();
    // image_ref is Image.id (the proto requires they match).
    assert_eq!(by_password.image_ref, id);
    let pulled = status(&mut c, &image, false).await.image;
    let pulled = pulled.unwrap_or_else(|| panic!("{image} not pulled"));
    assert_eq!(pulled.id, id);
    assert_eq!(pulled.repo_tags, std::slice::from_ref(&image));
    assert!(
        pulled.repo_digests.len() == 1
            && pulled.repo_digests[0].starts_with(&format!("{}/private@sha256:", reg.host())),
        "{pulled:?}"
    );
    // The Docker API sees the CRI's pull.
    let docker_id = d
        .berth(&["image", "inspect", "--format", "{{.Id}}", &image])
        .ok()
        .text();
    assert_eq!(docker_id, id);

    // `auth` (base64 of user:password, as config.json keeps it) works too; and the digest.
    d.berth(&["rmi", &image]).ok();
    let auth = AuthConfig {
        auth: "YmVydGg6czNjcmV0".into(),
        ..Default::default()
    };
    let by_auth = c
        .images
        .pull_image(pull(Some(auth.clone()), ""))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .into_inner();
    assert_eq!(by_auth.image_ref, id);
    let missing = PullImageRequest {
        image: spec(&format!("{}/private:absent", reg.host())),
        auth: Some(auth),
        sandbox_config: None,
    };
    assert_code(c.images.pull_image(missing).await, Code::NotFound, "");
}

#[tokio::test]
async fn stream_images_sends_every_image_once() {
    let Some(d) = daemon() else { return };
    let mut c = connect(&d.cri_socket).await;
    let empty: Vec<_> = collect(&mut c).await;
    assert!(empty.is_empty(), "{empty:?}");
    let a = import(&d, "busybox:a", "USER 1");
    let b = import(&d, "busybox:b", "USER 2");
    let mut ids: Vec<_> = collect(&mut c).await.into_iter().map(|i| i.id).collect();
    ids.sort();
    let mut want = vec![a, b];
    want.sort();
    assert_eq!(ids, want);
}

async fn collect(c: &mut Cri) -> Vec<Image> {
    use futures_util::StreamExt;
    let mut stream = c
        .images
        .stream_images(StreamImagesRequest::default())
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .into_inner();
    let mut images = Vec::new();
    while let Some(message) = stream.next().await {
        let message = message.unwrap_or_else(|e| panic!("{e}"));
        assert!(!message.images.is_empty(), "an empty message");
        images.extend(message.images);
    }
    images
}

/// crictl (kubernetes-sigs/cri-tools, built by scripts/build-cri-tools.sh; scripts/test.sh
/// passes its path) against berthd: version, info, pull, images, inspecti, imagefsinfo, rmi.
#[test]
fn crictl_drives_the_image_service() {
    if skip_registry() {
        return;
    }
    let Some(d) = daemon() else { return };
    let reg = Registry::start(RegistryOpts::default());
    let id = push(&d, &reg, "bb:1", None);
    let image = format!("{}/bb:1", reg.host());
    let Some(cli) = Crictl::for_socket(&d.cri_socket) else {
        return;
    };
    let crictl = |args: &[&str]| cli.run(args);
    let version = crictl(&["version"]).ok();
    assert!(
        version.stdout.contains("RuntimeName:  berth"),
        "{version:?}"
    );
    assert!(
        version.stdout.contains("RuntimeApiVersion:  v1"),
        "{version:?}"
    );
    let info = crictl(&["info"]).ok();
    assert!(info.stdout.contains("NetworkPluginNotReady"), "{info:?}");

    let pulled = crictl(&["pull", &image]).ok();
    assert!(pulled.stdout.contains(&id), "{pulled:?}");
    let images = crictl(&["images", "--no-trunc"]).ok();
    assert!(
        images.stdout.contains(&format!("{}/bb", reg.host())) && images.stdout.contains(&id),
        "{images:?}"
    );
    let inspect = crictl(&["inspecti", &image]).ok();
    assert!(inspect.stdout.contains("\"imageSpec\""), "{inspect:?}");
    let fs = crictl(&["imagefsinfo"]).ok();
    assert!(fs.stdout.contains("/data/overlay"), "{fs:?}");
    crictl(&["rmi", &image]).ok();
    assert!(crictl(&["images", "-q"]).ok().text().is_empty());
    assert!(d.berth(&["images", "-q"]).ok().text().is_empty());
}
