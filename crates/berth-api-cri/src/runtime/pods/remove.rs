use tonic::{Request, Response, Status};

use super::super::Runtime;
use crate::error;
use crate::proto::{RemovePodSandboxRequest, RemovePodSandboxResponse};

/// Idempotent: a sandbox already gone is success (the CRI's rule).
pub(in crate::runtime) async fn remove_pod_sandbox(
    rt: &Runtime,
    request: Request<RemovePodSandboxRequest>,
) -> Result<Response<RemovePodSandboxResponse>, Status> {
    let id = request.into_inner().pod_sandbox_id;
    rt.engine.remove_pod(&id).await.map_err(error::engine)?;
    Ok(Response::new(RemovePodSandboxResponse {}))
}
