//! A pod's containers for the CRI tests: a ready pod with busybox, a container config, and the
//! container calls most tests make.

use std::collections::HashMap;
use std::time::Duration;

use berth_testkit::{free_port, unique, Daemon};

use super::*;

/// A ready pod on the daemon's pod network, its logs under the daemon's root.
pub async fn pod(d: &Daemon, net: &PodNet, c: &mut Cri) -> (String, PodSandboxConfig) {
    pod_from(d, c, pod_config(net, free_port())).await
}

/// A ready pod made from `config`, its logs under the daemon's root.
pub async fn pod_from(
    d: &Daemon,
    c: &mut Cri,
    mut config: PodSandboxConfig,
) -> (String, PodSandboxConfig) {
    let logs = d.root.path().join(unique("pod-logs"));
    std::fs::create_dir_all(&logs).unwrap_or_else(|e| panic!("{e}"));
    config.log_directory = logs.display().to_string();
    let (id, _) = run_ready(c, d, &config).await;
    (id, config)
}

/// Where most pod-container tests start: a daemon on its own pod network, busybox imported as
/// `image` (`sh` as its command), a client and a ready pod. Bound in this order, the pods are
/// removed before the daemon stops.
pub async fn ready_pod(
    image: &str,
) -> Option<(Daemon, PodNet, RemovePods, Cri, String, PodSandboxConfig)> {
    let (d, net) = daemon("bridge", None)?;
    let cleanup = RemovePods(d.cri_socket.clone());
    let mut c = connect(&d.cri_socket).await;
    import(&d, image, "CMD [\"sh\"]");
    let (pod_id, sandbox) = pod(&d, &net, &mut c).await;
    Some((d, net, cleanup, c, pod_id, sandbox))
}

/// A container running `sh -c script` in the pod's PID namespace, labelled `tier=<name>`.
pub fn container_config(name: &str, image: &str, script: &str) -> ContainerConfig {
    ContainerConfig {
        metadata: Some(ContainerMetadata {
            name: name.into(),
            attempt: 0,
        }),
        image: spec(image),
        command: vec!["sh".into(), "-c".into()],
        args: vec![script.into()],
        log_path: format!("{name}/0.log"),
        labels: HashMap::from([("tier".to_string(), name.to_string())]),
        annotations: HashMap::from([("berth.test/ctr".to_string(), name.to_string())]),
        linux: Some(LinuxContainerConfig {
            security_context: Some(LinuxContainerSecurityContext {
                namespace_options: Some(NamespaceOption {
                    pid: NamespaceMode::Pod.into(),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

pub async fn create(
    c: &mut Cri,
    pod_id: &str,
    sandbox: &PodSandboxConfig,
    config: ContainerConfig,
) -> Result<String, Status> {
    c.runtime
        .create_container(CreateContainerRequest {
            pod_sandbox_id: pod_id.into(),
            config: Some(config),
            sandbox_config: Some(sandbox.clone()),
        })
        .await
        .map(|r| r.into_inner().container_id)
}

/// A container of the pod, created and started; a failure panics with the daemon's log.
pub async fn create_started(
    d: &Daemon,
    c: &mut Cri,
    pod_id: &str,
    sandbox: &PodSandboxConfig,
    config: ContainerConfig,
) -> String {
    let id = create(c, pod_id, sandbox, config)
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", d.log()));
    start(c, &id)
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", d.log()));
    id
}

pub async fn start(c: &mut Cri, id: &str) -> Result<(), Status> {
    c.runtime
        .start_container(StartContainerRequest {
            container_id: id.into(),
        })
        .await
        .map(|_| ())
}

pub async fn container_status(c: &mut Cri, id: &str) -> Result<ContainerStatus, Status> {
    c.runtime
        .container_status(ContainerStatusRequest {
            container_id: id.into(),
            verbose: false,
        })
        .await
        .map(|r| r.into_inner().status.unwrap_or_default())
}

pub async fn containers(c: &mut Cri, filter: ContainerFilter) -> Vec<String> {
    let mut ids: Vec<String> = c
        .runtime
        .list_containers(ListContainersRequest {
            filter: Some(filter),
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .into_inner()
        .containers
        .into_iter()
        .map(|c| c.id)
        .collect();
    ids.sort();
    ids
}

/// Waits until the container has exited; its final status.
pub async fn exited(c: &mut Cri, id: &str) -> ContainerStatus {
    let mut last = None;
    for _ in 0..300 {
        let s = container_status(c, id)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        if s.state == ContainerState::ContainerExited as i32 {
            return s;
        }
        last = Some(s);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("container {id} never exited: {last:?}");
}

/// ExecSync of `cmd` in container `id`; `timeout` in seconds, 0 for none.
pub async fn exec_sync(
    c: &mut Cri,
    id: &str,
    cmd: &[&str],
    timeout: i64,
) -> Result<ExecSyncResponse, Status> {
    c.runtime
        .exec_sync(ExecSyncRequest {
            container_id: id.into(),
            cmd: cmd.iter().map(|s| s.to_string()).collect(),
            timeout,
        })
        .await
        .map(tonic::Response::into_inner)
}
