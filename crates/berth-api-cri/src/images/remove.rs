//! RemoveImage: the image goes with all its tags (the proto's rule, unlike `docker rmi` of one
//! tag), and an image already gone is success (idempotent).

use berth_types::ErrorKind;
use tonic::{Request, Response, Status};

use super::{name_of, Images};
use crate::error;
use crate::proto::{RemoveImageRequest, RemoveImageResponse};

pub(super) async fn remove_image(
    images: &Images,
    request: Request<RemoveImageRequest>,
) -> Result<Response<RemoveImageResponse>, Status> {
    let name = name_of(request.into_inner().image, "RemoveImage")?;
    let Some(details) = images.find(&name).await? else {
        return Ok(Response::new(RemoveImageResponse {}));
    };
    // By id with force: every tag goes; an image containers use is refused (FailedPrecondition).
    match images
        .engine
        .remove_image(details.summary.id.as_str(), true)
        .await
    {
        Ok(_) => Ok(Response::new(RemoveImageResponse {})),
        // Removed by someone else since the lookup.
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(Response::new(RemoveImageResponse {})),
        Err(e) => Err(error::engine(e)),
    }
}
