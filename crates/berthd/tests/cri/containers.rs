//! A pod's containers for the CRI tests: a pod with a log directory, a busybox container
//! config and the calls that create and start it.

use std::collections::HashMap;

use berth_testkit::{free_port, unique, Daemon};

use super::*;

/// A ready pod on the daemon's pod network, with a log directory of its own (CreateContainer's
/// log paths are relative to it).
pub async fn pod_with_logs(d: &Daemon, net: &PodNet, c: &mut Cri) -> (String, PodSandboxConfig) {
    let mut config = pod_config(net, free_port());
    let logs = d.root.path().join(unique("pod-logs"));
    std::fs::create_dir_all(&logs).unwrap_or_else(|e| panic!("{e}"));
    config.log_directory = logs.display().to_string();
    let (id, _) = run_ready(c, d, &config).await;
    (id, config)
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

pub async fn start(c: &mut Cri, id: &str) -> Result<(), Status> {
    c.runtime
        .start_container(StartContainerRequest {
            container_id: id.into(),
        })
        .await
        .map(|_| ())
}
