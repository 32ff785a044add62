//! ImageStatus: a missing image is an empty answer, not an error (the proto's rule).

use std::collections::HashMap;

use berth_types::Digest;
use serde::Serialize;
use tonic::{Request, Response, Status};

use super::{image::to_cri, name_of, Images};
use crate::proto::{ImageStatusRequest, ImageStatusResponse};

/// `info["info"]` of a verbose ImageStatus (`crictl inspecti`).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Info<'a> {
    id: &'a Digest,
    media_type: &'a str,
    /// Uncompressed layer digests, bottom first.
    layers: &'a [Digest],
    /// The image config as stored.
    image_spec: &'a serde_json::Value,
}

pub(super) async fn image_status(
    images: &Images,
    request: Request<ImageStatusRequest>,
) -> Result<Response<ImageStatusResponse>, Status> {
    let request = request.into_inner();
    let name = name_of(request.image, "ImageStatus")?;
    let Some(details) = images.find(&name).await? else {
        return Ok(Response::new(ImageStatusResponse::default()));
    };
    let mut info = HashMap::new();
    if request.verbose {
        let verbose = Info {
            id: &details.summary.id,
            media_type: &details.manifest_media_type,
            layers: &details.layers,
            image_spec: &details.config,
        };
        let json = serde_json::to_string(&verbose).map_err(|e| Status::internal(e.to_string()))?;
        info.insert("info".to_string(), json);
    }
    Ok(Response::new(ImageStatusResponse {
        image: Some(to_cri(&details)),
        info,
    }))
}
