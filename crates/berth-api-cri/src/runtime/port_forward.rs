//! PortForward: a URL on the streaming server for connections to the ports of a ready pod
//! (containerd's `sandbox_portforward.go`). The request's ports are not checked: the client
//! names the port of each connection, as with containerd.

use berth_engine::pods::PodPhase;
use tonic::{Request, Response, Status};

use super::exec::streaming;
use super::Runtime;
use crate::error::{self, RequestError};
use crate::proto::{PortForwardRequest, PortForwardResponse};
use crate::streaming::Pending;

pub(super) async fn port_forward(
    rt: &Runtime,
    request: Request<PortForwardRequest>,
) -> Result<Response<PortForwardResponse>, Status> {
    let r = request.into_inner();
    let server = streaming(rt, "PortForward")?;
    let pod = rt
        .engine
        .pod(&r.pod_sandbox_id)
        .await
        .map_err(error::engine)?;
    if pod.state.phase != PodPhase::Ready {
        return Err(RequestError::PodNotReady(pod.id).into());
    }
    let url = server
        .url(Pending::PortForward { pod_id: pod.id })
        .map_err(error::token)?;
    Ok(Response::new(PortForwardResponse { url }))
}
