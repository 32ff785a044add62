use tonic::{Request, Response, Status};

use super::super::Runtime;
use crate::error;
use crate::proto::{StopPodSandboxRequest, StopPodSandboxResponse};

/// Idempotent: an unknown or stopped sandbox is success (the CRI's rule).
pub(in crate::runtime) async fn stop_pod_sandbox(
    rt: &Runtime,
    request: Request<StopPodSandboxRequest>,
) -> Result<Response<StopPodSandboxResponse>, Status> {
    let id = request.into_inner().pod_sandbox_id;
    rt.engine.stop_pod(&id).await.map_err(error::engine)?;
    Ok(Response::new(StopPodSandboxResponse {}))
}
