use berth_engine::pods::PodFilter;
use tonic::{Request, Response, Status};

use super::super::Runtime;
use crate::error;
use crate::proto::{
    ListPodSandboxRequest, ListPodSandboxResponse, PodSandbox, PodSandboxFilter, PodSandboxState,
};

pub(in crate::runtime) async fn list_pod_sandbox(
    rt: &Runtime,
    request: Request<ListPodSandboxRequest>,
) -> Result<Response<ListPodSandboxResponse>, Status> {
    let filter = request.into_inner().filter.map(filter).unwrap_or_default();
    let pods = rt.engine.list_pods(filter).await.map_err(error::engine)?;
    let items = pods
        .iter()
        .map(|pod| PodSandbox {
            id: pod.id.clone(),
            metadata: Some(super::metadata(&pod.spec)),
            state: super::state(pod),
            created_at: super::created_at(pod),
            labels: pod.spec.labels.clone().into_iter().collect(),
            annotations: pod.spec.annotations.clone().into_iter().collect(),
            runtime_handler: pod.spec.runtime_handler.clone(),
        })
        .collect();
    Ok(Response::new(ListPodSandboxResponse { items }))
}

pub(super) fn filter(f: PodSandboxFilter) -> PodFilter {
    PodFilter {
        id: (!f.id.is_empty()).then_some(f.id),
        ready: f
            .state
            .map(|s| s.state == i32::from(PodSandboxState::SandboxReady)),
        labels: f.label_selector.into_iter().collect(),
    }
}
