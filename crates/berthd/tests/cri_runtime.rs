//! The CRI RuntimeService over berthd's CRI socket, on runtime.v1 and runtime.v1alpha2:
//! Version, Status (and the pods' network condition), RuntimeConfig, UpdateRuntimeConfig, and
//! Unimplemented for the container RPCs that come later (pods: cri_pods.rs).

mod cri;

use std::os::unix::fs::PermissionsExt;

use berth_testkit::{skip_unless, Client, Daemon};
use cri::*;

fn daemon() -> Option<Daemon> {
    (!skip_unless(Client::Berth)).then(|| Daemon::start_for(Client::Berth))
}

#[tokio::test]
async fn version_names_berth_and_the_api_version_asked() {
    let Some(d) = daemon() else { return };
    let mut c = connect(&d.cri_socket).await;
    let v1 = c
        .runtime
        .version(VersionRequest::default())
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .into_inner();
    assert_eq!(
        (
            v1.version.as_str(),
            v1.runtime_name.as_str(),
            v1.runtime_version.as_str(),
            v1.runtime_api_version.as_str()
        ),
        ("0.1.0", "berth", env!("CARGO_PKG_VERSION"), "v1")
    );
    let alpha: VersionResponse = c
        .v1alpha2(
            "RuntimeService",
            "Version",
            VersionRequest {
                version: "0.1.0".into(),
            },
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(alpha.runtime_api_version, "v1alpha2");
    assert_eq!(alpha.runtime_name, "berth");
}

fn condition<'a>(status: &'a StatusResponse, kind: &str) -> &'a RuntimeCondition {
    status
        .status
        .as_ref()
        .and_then(|s| s.conditions.iter().find(|c| c.r#type == kind))
        .unwrap_or_else(|| panic!("no {kind} in {status:?}"))
}

#[tokio::test]
async fn status_network_ready_follows_the_cni_conf_dir() {
    let Some(d) = daemon() else { return };
    let mut c = connect(&d.cri_socket).await;
    let status = c
        .runtime
        .status(StatusRequest { verbose: false })
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .into_inner();
    assert!(condition(&status, "RuntimeReady").status, "{status:?}");
    let net = condition(&status, "NetworkReady");
    assert!(!net.status, "{status:?}");
    assert_eq!(net.reason, "NetworkPluginNotReady");
    let dir = d.cni_conf_dir().display().to_string();
    assert!(net.message.contains(&dir), "{net:?}");
    assert!(status.info.is_empty(), "info only when verbose: {status:?}");
    assert_eq!(status.runtime_handlers.len(), 1, "{status:?}");
    // Every kernel CI runs on (5.10 excepted) has mount_setattr.
    let features = status.runtime_handlers[0].features.unwrap_or_default();
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let (major, minor) = kernel
        .split_once('.')
        .map(|(a, b)| {
            let minor: String = b.chars().take_while(char::is_ascii_digit).collect();
            (a.parse().unwrap_or(0), minor.parse().unwrap_or(0))
        })
        .unwrap_or((0, 0));
    assert_eq!(
        features.recursive_read_only_mounts,
        (major, minor) >= (5u32, 12u32),
        "{kernel}"
    );
    // Pods' user namespaces need overlayfs over id-mapped layers.
    assert_eq!(
        features.user_namespaces,
        (major, minor) >= (5u32, 19u32),
        "{kernel}"
    );

    std::fs::create_dir_all(d.cni_conf_dir()).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        d.cni_conf_dir().join("10-pods.conflist"),
        r#"{"cniVersion":"1.0.0","name":"pods","plugins":[{"type":"bridge"}]}"#,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    // The same answer on the kubelet 1.20 path.
    let status: StatusResponse = c
        .v1alpha2("RuntimeService", "Status", StatusRequest { verbose: true })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let net = condition(&status, "NetworkReady");
    assert!(net.status && net.reason.is_empty(), "{net:?}");
    let config: serde_json::Value = serde_json::from_str(
        status
            .info
            .get("config")
            .unwrap_or_else(|| panic!("{status:?}")),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(config["cniConfDir"], dir.as_str());
    assert_eq!(config["cniBinDir"], "/opt/cni/bin");
    assert_eq!(config["podNetwork"], "pods");
    assert_eq!(config["cgroupDriver"], "cgroupfs");
    assert_eq!(
        status.info.get("lastCNILoadStatus").map(String::as_str),
        Some("\"OK\"")
    );
}

#[tokio::test]
async fn runtime_config_is_cgroupfs_and_the_pod_cidr_is_kept() {
    let Some(mut d) = daemon() else { return };
    let mut c = connect(&d.cri_socket).await;
    let config = c
        .runtime
        .runtime_config(RuntimeConfigRequest {})
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .into_inner();
    assert_eq!(
        config.linux.map(|l| l.cgroup_driver()),
        Some(CgroupDriver::Cgroupfs)
    );
    let update = |cidr: &str| UpdateRuntimeConfigRequest {
        runtime_config: Some(RuntimeConfig {
            network_config: Some(NetworkConfig {
                pod_cidr: cidr.to_string(),
            }),
        }),
    };
    c.runtime
        .update_runtime_config(update("10.88.0.0/16,fd00:88::/64"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    // Empty is "no change"; a bad CIDR is refused and changes nothing either.
    c.runtime
        .update_runtime_config(update(""))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_code(
        c.runtime
            .update_runtime_config(update("10.88.0.0/33"))
            .await,
        Code::InvalidArgument,
        "pod CIDR \"10.88.0.0/33\"",
    );
    let kept = serde_json::json!(["10.88.0.0/16", "fd00:88::/64"]);
    assert_eq!(pod_cidrs(&mut c).await, kept);
    // And across a restart (even a crash): the kubelet sends them again only on a change.
    d.kill9();
    d.spawn();
    let mut c = connect(&d.cri_socket).await;
    assert_eq!(pod_cidrs(&mut c).await, kept);
}

/// The pod CIDRs a verbose v1alpha2 Status shows.
async fn pod_cidrs(c: &mut Cri) -> serde_json::Value {
    let status: StatusResponse = c
        .v1alpha2("RuntimeService", "Status", StatusRequest { verbose: true })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let config: serde_json::Value =
        serde_json::from_str(status.info.get("config").map_or("", String::as_str))
            .unwrap_or_else(|e| panic!("{e}"));
    config["podCidrs"].clone()
}

#[tokio::test]
async fn container_rpcs_answer_on_both_paths_and_checkpoint_is_unimplemented() {
    let Some(d) = daemon() else { return };
    let mut c = connect(&d.cri_socket).await;
    assert_code(
        c.runtime
            .create_container(CreateContainerRequest::default())
            .await,
        Code::InvalidArgument,
        "CreateContainer: config is required",
    );
    let none = c
        .runtime
        .list_containers(ListContainersRequest::default())
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .into_inner();
    assert!(none.containers.is_empty(), "{none:?}");
    let none: ListContainersResponse = c
        .v1alpha2(
            "RuntimeService",
            "ListContainers",
            ListContainersRequest::default(),
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(none.containers.is_empty(), "{none:?}");
    assert_code(
        c.runtime
            .checkpoint_container(CheckpointContainerRequest::default())
            .await,
        Code::Unimplemented,
        "CheckpointContainer",
    );
    // Not a CRI service at all: gRPC's own Unimplemented, for v1alpha2 as well.
    for path in [
        "/runtime.v1alpha2.NoSuchService/Version",
        "/runtime.v1.RuntimeService/NoSuchMethod",
    ] {
        let r: Result<VersionResponse, _> = c.call(path, VersionRequest::default()).await;
        assert_eq!(
            r.err().map(|s| s.code()),
            Some(Code::Unimplemented),
            "{path}"
        );
    }
}

#[tokio::test]
async fn the_cri_socket_is_root_only_and_removed_on_stop() {
    let Some(mut d) = daemon() else { return };
    let mode = std::fs::metadata(&d.cri_socket)
        .unwrap_or_else(|e| panic!("{e}"))
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    // The Docker API is unchanged beside it.
    d.berth(&["version"]).ok();
    d.stop();
    assert!(!d.cri_socket.exists(), "the CRI socket outlived berthd");
    assert!(!d.socket.exists(), "the API socket outlived berthd");
}
