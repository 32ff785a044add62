//! The CRI ImageService over the engine's one image store, which the Docker API shares: an
//! image pulled, loaded or built through either API is the other's at once. One file per RPC
//! or small group.

mod fs_info;
mod image;
mod list;
mod pull;
mod remove;
mod status;

use berth_engine::{images::ImageDetails, Engine};
use berth_types::ErrorKind;
use tonic::{Request, Response, Status};

use crate::error::{self, RequestError};
use crate::proto::image_service_server::ImageService;
use crate::proto::*;

pub(crate) struct Images {
    engine: Engine,
}

impl Images {
    pub(crate) fn new(engine: Engine) -> Self {
        Self { engine }
    }

    /// The image `name` (reference, id or id prefix) names, `None` when there is none.
    async fn find(&self, name: &str) -> Result<Option<ImageDetails>, Status> {
        match self.engine.inspect_image(name).await {
            Ok(details) => Ok(Some(details)),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(error::engine(e)),
        }
    }
}

/// The image an `ImageSpec` names; `rpc` for the message when there is none.
fn name_of(spec: Option<ImageSpec>, rpc: &'static str) -> Result<String, RequestError> {
    spec.map(|s| s.image)
        .filter(|name| !name.is_empty())
        .ok_or(RequestError::NoImage(rpc))
}

#[tonic::async_trait]
impl ImageService for Images {
    type StreamImagesStream = crate::batches::Batches<StreamImagesResponse>;

    async fn list_images(
        &self,
        request: Request<ListImagesRequest>,
    ) -> Result<Response<ListImagesResponse>, Status> {
        list::list_images(self, request).await
    }

    async fn stream_images(
        &self,
        request: Request<StreamImagesRequest>,
    ) -> Result<Response<Self::StreamImagesStream>, Status> {
        list::stream_images(self, request).await
    }

    async fn image_status(
        &self,
        request: Request<ImageStatusRequest>,
    ) -> Result<Response<ImageStatusResponse>, Status> {
        status::image_status(self, request).await
    }

    async fn pull_image(
        &self,
        request: Request<PullImageRequest>,
    ) -> Result<Response<PullImageResponse>, Status> {
        pull::pull_image(self, request).await
    }

    async fn remove_image(
        &self,
        request: Request<RemoveImageRequest>,
    ) -> Result<Response<RemoveImageResponse>, Status> {
        remove::remove_image(self, request).await
    }

    async fn image_fs_info(
        &self,
        request: Request<ImageFsInfoRequest>,
    ) -> Result<Response<ImageFsInfoResponse>, Status> {
        fs_info::image_fs_info(self, request).await
    }
}
