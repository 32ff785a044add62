use std::collections::HashMap;

use berth_engine::pods::{PidMode, Pod, PodPhase};
use tonic::{Request, Response, Status};

use super::super::Runtime;
use crate::error;
use crate::proto::{
    LinuxPodSandboxStatus, Namespace, NamespaceMode, NamespaceOption, PodIp,
    PodSandboxNetworkStatus, PodSandboxStatus, PodSandboxStatusRequest, PodSandboxStatusResponse,
};

pub(in crate::runtime) async fn pod_sandbox_status(
    rt: &Runtime,
    request: Request<PodSandboxStatusRequest>,
) -> Result<Response<PodSandboxStatusResponse>, Status> {
    let request = request.into_inner();
    let pod = rt
        .engine
        .pod(&request.pod_sandbox_id)
        .await
        .map_err(error::engine)?;
    let info = if request.verbose {
        HashMap::from([("info".to_string(), verbose_info(&pod))])
    } else {
        HashMap::new()
    };
    Ok(Response::new(PodSandboxStatusResponse {
        status: Some(status(&pod)),
        info,
        ..PodSandboxStatusResponse::default()
    }))
}

pub(in crate::runtime) fn status(pod: &Pod) -> PodSandboxStatus {
    let spec = &pod.spec;
    let mode = |host: bool| {
        i32::from(if host {
            NamespaceMode::Node
        } else {
            NamespaceMode::Pod
        })
    };
    let pid = match spec.namespaces.pid {
        PidMode::Pod => NamespaceMode::Pod,
        PidMode::Container => NamespaceMode::Container,
        PidMode::Node => NamespaceMode::Node,
    };
    let mut ips = pod.state.ips.iter().map(ToString::to_string);
    PodSandboxStatus {
        id: pod.id.clone(),
        metadata: Some(super::metadata(spec)),
        state: super::state(pod),
        created_at: super::created_at(pod),
        network: Some(PodSandboxNetworkStatus {
            ip: ips.next().unwrap_or_default(),
            additional_ips: ips.map(|ip| PodIp { ip }).collect(),
        }),
        linux: Some(LinuxPodSandboxStatus {
            namespaces: Some(Namespace {
                options: Some(NamespaceOption {
                    network: mode(spec.namespaces.host_network),
                    pid: pid.into(),
                    ipc: mode(spec.namespaces.host_ipc),
                    ..NamespaceOption::default()
                }),
            }),
        }),
        labels: spec.labels.clone().into_iter().collect(),
        annotations: spec.annotations.clone().into_iter().collect(),
        runtime_handler: spec.runtime_handler.clone(),
    }
}

/// containerd's verbose `info` (a JSON object under the key `info`): pid, process status,
/// namespace path, runtime handler, and the config the sandbox was made from.
fn verbose_info(pod: &Pod) -> String {
    let process_status = match pod.state.phase {
        PodPhase::Ready => "running",
        PodPhase::Creating => "created",
        PodPhase::NotReady => "stopped",
    };
    serde_json::json!({
        "pid": pod.state.pid,
        "processStatus": process_status,
        "netNamespaceClosed": pod.state.netns.is_none(),
        "netns": pod.state.netns,
        "ips": pod.state.ips,
        "runtimeHandler": pod.spec.runtime_handler,
        "config": pod.spec,
    })
    .to_string()
}
