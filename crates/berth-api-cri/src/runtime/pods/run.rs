use tonic::{Request, Response, Status};

use super::super::Runtime;
use crate::error::{self, RequestError};
use crate::proto::{RunPodSandboxRequest, RunPodSandboxResponse};

pub(in crate::runtime) async fn run_pod_sandbox(
    rt: &Runtime,
    request: Request<RunPodSandboxRequest>,
) -> Result<Response<RunPodSandboxResponse>, Status> {
    let request = request.into_inner();
    if !request.runtime_handler.is_empty() {
        return Err(RequestError::UnknownHandler(request.runtime_handler).into());
    }
    let config = request
        .config
        .ok_or(RequestError::Missing("RunPodSandbox", "config"))?;
    let spec = super::pod_spec(config, request.runtime_handler)?;
    let pod_sandbox_id = rt.engine.run_pod(spec).await.map_err(error::engine)?;
    Ok(Response::new(RunPodSandboxResponse { pod_sandbox_id }))
}
