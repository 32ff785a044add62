//! ListImages and StreamImages: every image of the store, or the one a filter names.

use tonic::{Request, Response, Status};

use super::{image::to_cri, Images};
use crate::batches::{batches, Batches};
use crate::error;
use crate::proto::{
    Image, ImageFilter, ListImagesRequest, ListImagesResponse, StreamImagesRequest,
    StreamImagesResponse,
};

pub(super) async fn list_images(
    images: &Images,
    request: Request<ListImagesRequest>,
) -> Result<Response<ListImagesResponse>, Status> {
    let images = matching(images, request.into_inner().filter).await?;
    Ok(Response::new(ListImagesResponse { images }))
}

pub(super) async fn stream_images(
    images: &Images,
    request: Request<StreamImagesRequest>,
) -> Result<Response<Batches<StreamImagesResponse>>, Status> {
    let all = matching(images, request.into_inner().filter).await?;
    Ok(Response::new(batches(&all, |images| {
        StreamImagesResponse { images }
    })))
}

/// A filter naming an image (reference, id or id prefix) lists that one image, if present.
async fn matching(images: &Images, filter: Option<ImageFilter>) -> Result<Vec<Image>, Status> {
    let wanted = filter
        .and_then(|f| f.image)
        .map(|spec| spec.image)
        .filter(|name| !name.is_empty());
    match wanted {
        Some(name) => Ok(images.find(&name).await?.iter().map(to_cri).collect()),
        None => Ok(images
            .engine
            .list_image_details()
            .await
            .map_err(error::engine)?
            .iter()
            .map(to_cri)
            .collect()),
    }
}
