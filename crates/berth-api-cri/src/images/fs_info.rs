//! ImageFsInfo: what the image store's directories use, walked now. The snapshots directory
//! comes first: kubelets before 1.29 read only the first entry.

use tonic::{Request, Response, Status};

use super::Images;
use crate::error;
use crate::proto::{
    FilesystemIdentifier, FilesystemUsage, ImageFsInfoRequest, ImageFsInfoResponse, UInt64Value,
};

pub(super) async fn image_fs_info(
    images: &Images,
    _: Request<ImageFsInfoRequest>,
) -> Result<Response<ImageFsInfoResponse>, Status> {
    let usage = images
        .engine
        .image_store_usage()
        .await
        .map_err(error::engine)?;
    let timestamp = chrono::Utc::now().timestamp_nanos_opt().unwrap_or(i64::MAX);
    let image_filesystems = usage
        .into_iter()
        .map(|u| FilesystemUsage {
            timestamp,
            fs_id: Some(FilesystemIdentifier {
                mountpoint: u.path.display().to_string(),
            }),
            used_bytes: Some(UInt64Value {
                value: u.used_bytes,
            }),
            inodes_used: Some(UInt64Value {
                value: u.inodes_used,
            }),
        })
        .collect();
    // Containers' writable layers live in the same snapshots directory: no split filesystem,
    // so no separate container filesystems (the proto's default).
    Ok(Response::new(ImageFsInfoResponse {
        image_filesystems,
        container_filesystems: Vec::new(),
    }))
}
