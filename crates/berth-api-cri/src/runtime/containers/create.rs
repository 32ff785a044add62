use tonic::{Request, Response, Status};

use super::super::Runtime;
use super::convert;
use crate::error::{self, RequestError};
use crate::proto::{CreateContainerRequest, CreateContainerResponse};

pub(in crate::runtime) async fn create_container(
    rt: &Runtime,
    request: Request<CreateContainerRequest>,
) -> Result<Response<CreateContainerResponse>, Status> {
    let request = request.into_inner();
    let config = request
        .config
        .ok_or(RequestError::Missing("CreateContainer", "config"))?;
    let sandbox = request
        .sandbox_config
        .ok_or(RequestError::Missing("CreateContainer", "sandbox_config"))?;
    let req = convert::container_request(&request.pod_sandbox_id, config, &sandbox)?;
    let container_id = rt
        .engine
        .create_pod_container(req)
        .await
        .map_err(error::engine)?;
    Ok(Response::new(CreateContainerResponse { container_id }))
}
