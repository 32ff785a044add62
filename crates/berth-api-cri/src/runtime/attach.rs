//! Attach: a URL on the streaming server for the streams of a running container's process
//! (containerd's `container_attach.go`).

use tonic::{Request, Response, Status};

use super::exec::{running_container, stream_options, streaming};
use super::Runtime;
use crate::error;
use crate::proto::{AttachRequest, AttachResponse};
use crate::streaming::Pending;

pub(super) async fn attach(
    rt: &Runtime,
    request: Request<AttachRequest>,
) -> Result<Response<AttachResponse>, Status> {
    let r = request.into_inner();
    let server = streaming(rt, "Attach")?;
    let container_id = running_container(rt, &r.container_id).await?;
    let opts = stream_options("Attach", r.stdin, r.stdout, r.stderr, r.tty)?;
    let url = server
        .url(Pending::Attach { container_id, opts })
        .map_err(error::token)?;
    Ok(Response::new(AttachResponse { url }))
}
