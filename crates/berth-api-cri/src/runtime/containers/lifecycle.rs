//! StartContainer, StopContainer and RemoveContainer: the engine's verbs as they are; Stop and
//! Remove are idempotent there, as the CRI requires.

use tonic::{Request, Response, Status};

use super::super::Runtime;
use crate::error;
use crate::proto::{
    RemoveContainerRequest, RemoveContainerResponse, StartContainerRequest, StartContainerResponse,
    StopContainerRequest, StopContainerResponse,
};

pub(in crate::runtime) async fn start_container(
    rt: &Runtime,
    request: Request<StartContainerRequest>,
) -> Result<Response<StartContainerResponse>, Status> {
    let id = request.into_inner().container_id;
    rt.engine
        .start_pod_container(&id)
        .await
        .map_err(error::engine)?;
    Ok(Response::new(StartContainerResponse {}))
}

pub(in crate::runtime) async fn stop_container(
    rt: &Runtime,
    request: Request<StopContainerRequest>,
) -> Result<Response<StopContainerResponse>, Status> {
    let request = request.into_inner();
    rt.engine
        .stop_pod_container(&request.container_id, request.timeout.max(0))
        .await
        .map_err(error::engine)?;
    Ok(Response::new(StopContainerResponse {}))
}

pub(in crate::runtime) async fn remove_container(
    rt: &Runtime,
    request: Request<RemoveContainerRequest>,
) -> Result<Response<RemoveContainerResponse>, Status> {
    let id = request.into_inner().container_id;
    rt.engine
        .remove_pod_container(&id)
        .await
        .map_err(error::engine)?;
    Ok(Response::new(RemoveContainerResponse {}))
}
