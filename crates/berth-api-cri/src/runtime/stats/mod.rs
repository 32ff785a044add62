//! ContainerStats, ListContainerStats, PodSandboxStats and ListPodSandboxStats: the engine's
//! samples (cgroups, writable layers, the pod's interfaces) as the CRI's stats (convert.rs),
//! with containerd's rules: stopped containers are listed without cpu or memory, a pod that
//! cannot be measured now is left out of the list.

mod convert;

use berth_engine::pods::{PodContainerFilter, PodFilter};
use berth_types::ErrorKind;
use tonic::{Request, Response, Status};

pub(super) use convert::CpuRates;
pub(super) use convert::{stat as memory_stat, working_set};

use super::Runtime;
use crate::error;
use crate::proto::{
    ContainerStatsFilter, ContainerStatsRequest, ContainerStatsResponse, ListContainerStatsRequest,
    ListContainerStatsResponse, ListPodSandboxStatsRequest, ListPodSandboxStatsResponse,
    PodSandboxStatsRequest, PodSandboxStatsResponse,
};

pub(super) async fn container_stats(
    rt: &Runtime,
    request: Request<ContainerStatsRequest>,
) -> Result<Response<ContainerStatsResponse>, Status> {
    let id = request.into_inner().container_id;
    let stats = rt
        .engine
        .pod_container_stats(PodContainerFilter {
            id: Some(id.clone()),
            ..PodContainerFilter::default()
        })
        .await
        .map_err(error::engine)?;
    // The list's filter matches none for an unknown id; this RPC answers NotFound.
    let stats = stats
        .first()
        .ok_or_else(|| error::engine(berth_engine::Error::NoSuchContainer(id)))?;
    Ok(Response::new(ContainerStatsResponse {
        stats: Some(convert::container(stats, &rt.cpu_rates)),
    }))
}

pub(super) async fn list_container_stats(
    rt: &Runtime,
    request: Request<ListContainerStatsRequest>,
) -> Result<Response<ListContainerStatsResponse>, Status> {
    let filter = container_filter(request.into_inner().filter.unwrap_or_default());
    let stats = rt
        .engine
        .pod_container_stats(filter)
        .await
        .map_err(error::engine)?;
    Ok(Response::new(ListContainerStatsResponse {
        stats: stats
            .iter()
            .map(|s| convert::container(s, &rt.cpu_rates))
            .collect(),
    }))
}

pub(super) async fn pod_sandbox_stats(
    rt: &Runtime,
    request: Request<PodSandboxStatsRequest>,
) -> Result<Response<PodSandboxStatsResponse>, Status> {
    let id = request.into_inner().pod_sandbox_id;
    let stats = rt.engine.pod_stats(&id).await.map_err(error::engine)?;
    Ok(Response::new(PodSandboxStatsResponse {
        stats: Some(convert::pod(&stats, &rt.cpu_rates)),
    }))
}

/// A pod that is not ready (or gone meanwhile) is left out, as containerd does; any other
/// failure fails the call.
pub(super) async fn list_pod_sandbox_stats(
    rt: &Runtime,
    request: Request<ListPodSandboxStatsRequest>,
) -> Result<Response<ListPodSandboxStatsResponse>, Status> {
    let f = request.into_inner().filter.unwrap_or_default();
    let pods = rt
        .engine
        .list_pods(PodFilter {
            id: (!f.id.is_empty()).then_some(f.id),
            ready: None,
            labels: f.label_selector.into_iter().collect(),
        })
        .await
        .map_err(error::engine)?;
    let mut stats = Vec::with_capacity(pods.len());
    for pod in pods {
        match rt.engine.pod_stats(&pod.id).await {
            Ok(s) => stats.push(convert::pod(&s, &rt.cpu_rates)),
            Err(e) if matches!(e.kind(), ErrorKind::Unavailable | ErrorKind::NotFound) => {
                tracing::debug!(pod = %pod.id, error = %e, "no stats");
            }
            Err(e) => return Err(error::engine(e)),
        }
    }
    Ok(Response::new(ListPodSandboxStatsResponse { stats }))
}

/// ListContainerStats' filter as the engine's (ListContainers' without the state).
fn container_filter(f: ContainerStatsFilter) -> PodContainerFilter {
    let nonempty = |s: String| (!s.is_empty()).then_some(s);
    PodContainerFilter {
        id: nonempty(f.id),
        pod_id: nonempty(f.pod_sandbox_id),
        status: None,
        labels: f.label_selector.into_iter().collect(),
    }
}
