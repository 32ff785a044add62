//! Version: who answers, and in which CRI version (the path the request came in by).

use tonic::{Request, Response, Status};

use super::Runtime;
use crate::proto::{VersionRequest, VersionResponse};
use crate::ApiVersion;

/// The kubelet API version field; containerd and CRI-O answer this constant too.
const KUBE_API_VERSION: &str = "0.1.0";

pub(super) async fn version(
    _: &Runtime,
    request: Request<VersionRequest>,
) -> Result<Response<VersionResponse>, Status> {
    Ok(Response::new(VersionResponse {
        version: KUBE_API_VERSION.into(),
        runtime_name: "berth".into(),
        runtime_version: env!("CARGO_PKG_VERSION").into(),
        runtime_api_version: ApiVersion::of(&request).as_str().into(),
    }))
}
