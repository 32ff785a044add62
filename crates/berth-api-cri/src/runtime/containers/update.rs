//! UpdateContainerResources and ReopenContainerLog.

use tonic::{Request, Response, Status};

use super::super::Runtime;
use super::convert;
use crate::error::{self, RequestError};
use crate::proto::{
    ReopenContainerLogRequest, ReopenContainerLogResponse, UpdateContainerResourcesRequest,
    UpdateContainerResourcesResponse,
};

pub(in crate::runtime) async fn update_container_resources(
    rt: &Runtime,
    request: Request<UpdateContainerResourcesRequest>,
) -> Result<Response<UpdateContainerResourcesResponse>, Status> {
    let request = request.into_inner();
    let linux = request
        .linux
        .ok_or(RequestError::Missing("UpdateContainerResources", "linux"))?;
    let resources = convert::resources(linux)?;
    rt.engine
        .update_pod_container_resources(&request.container_id, resources)
        .await
        .map_err(error::engine)?;
    Ok(Response::new(UpdateContainerResourcesResponse {}))
}

pub(in crate::runtime) async fn reopen_container_log(
    rt: &Runtime,
    request: Request<ReopenContainerLogRequest>,
) -> Result<Response<ReopenContainerLogResponse>, Status> {
    let id = request.into_inner().container_id;
    rt.engine
        .reopen_pod_container_log(&id)
        .await
        .map_err(error::engine)?;
    Ok(Response::new(ReopenContainerLogResponse {}))
}
