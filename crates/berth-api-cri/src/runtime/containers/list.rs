//! ListContainers and ContainerStatus.

use tonic::{Request, Response, Status};

use super::super::Runtime;
use super::report;
use crate::error;
use crate::proto::{
    ContainerStatusRequest, ContainerStatusResponse, ListContainersRequest, ListContainersResponse,
};

pub(in crate::runtime) async fn list_containers(
    rt: &Runtime,
    request: Request<ListContainersRequest>,
) -> Result<Response<ListContainersResponse>, Status> {
    let filter = report::container_filter(request.into_inner().filter);
    let containers = rt
        .engine
        .pod_containers(filter)
        .await
        .map_err(error::engine)?;
    Ok(Response::new(ListContainersResponse {
        containers: containers.iter().map(report::container).collect(),
    }))
}

pub(in crate::runtime) async fn container_status(
    rt: &Runtime,
    request: Request<ContainerStatusRequest>,
) -> Result<Response<ContainerStatusResponse>, Status> {
    let request = request.into_inner();
    let c = rt
        .engine
        .pod_container(&request.container_id)
        .await
        .map_err(error::engine)?;
    Ok(Response::new(ContainerStatusResponse {
        status: Some(report::container_status(&c)),
        ..ContainerStatusResponse::default()
    }))
}
