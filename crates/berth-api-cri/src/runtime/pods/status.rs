use std::collections::HashMap;

use berth_engine::pods::{PidMode, Pod, PodPhase};
use tonic::{Request, Response, Status};

use super::super::Runtime;
use crate::error;
use crate::proto::{
    IdMapping, LinuxPodSandboxStatus, Namespace, NamespaceMode, NamespaceOption, PodIp,
    PodSandboxNetworkStatus, PodSandboxStatus, PodSandboxStatusRequest, PodSandboxStatusResponse,
    UserNamespace,
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
                    userns_options: Some(userns_options(spec.namespaces.user.as_ref())),
                    ..NamespaceOption::default()
                }),
            }),
        }),
        labels: spec.labels.clone().into_iter().collect(),
        annotations: spec.annotations.clone().into_iter().collect(),
        runtime_handler: spec.runtime_handler.clone(),
    }
}

/// The pod's user namespace as RunPodSandbox asked for it: POD with its mappings, or NODE.
fn userns_options(user: Option<&berth_engine::model::UserNamespace>) -> UserNamespace {
    let maps = |m: &[berth_engine::model::IdMapping]| {
        m.iter()
            .map(|m| IdMapping {
                container_id: m.container_id,
                host_id: m.host_id,
                length: m.size,
            })
            .collect()
    };
    match user {
        Some(u) => UserNamespace {
            mode: NamespaceMode::Pod.into(),
            uids: maps(&u.uid_mappings),
            gids: maps(&u.gid_mappings),
        },
        None => UserNamespace {
            mode: NamespaceMode::Node.into(),
            ..UserNamespace::default()
        },
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
