//! UpdatePodSandboxResources. containerd 2.x changes no cgroup here: the kubelet resizes the
//! pod's cgroup itself, and containerd only records the new resources for NRI plugins and
//! tells them. Berth has no NRI, so the pod must exist and nothing else happens.

use tonic::{Request, Response, Status};

use super::super::Runtime;
use crate::error;
use crate::proto::{UpdatePodSandboxResourcesRequest, UpdatePodSandboxResourcesResponse};

pub(in crate::runtime) async fn update_pod_sandbox_resources(
    rt: &Runtime,
    request: Request<UpdatePodSandboxResourcesRequest>,
) -> Result<Response<UpdatePodSandboxResourcesResponse>, Status> {
    let id = request.into_inner().pod_sandbox_id;
    rt.engine.pod(&id).await.map_err(error::engine)?;
    Ok(Response::new(UpdatePodSandboxResourcesResponse {}))
}
