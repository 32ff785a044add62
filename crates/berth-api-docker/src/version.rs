//! API versions: clients call `/v1.44/containers/json` or the unversioned path; both reach the
//! same handler, and versions outside what Berth speaks are refused as dockerd does.

use axum::extract::Request;
use axum::http::{StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::message;

/// The API version Berth advertises (what Podman advertises).
pub const API_VERSION: &str = "1.44";
/// The oldest API version accepted.
pub const MIN_API_VERSION: &str = "1.24";

/// `(major, minor)` of "1.44".
fn parse(v: &str) -> Option<(u32, u32)> {
    let (major, minor) = v.split_once('.')?;
    Some((major.parse().ok()?, minor.parse().ok()?))
}

/// Splits `/v1.44/rest` into the version and `/rest`.
fn split(path: &str) -> Option<(&str, &str)> {
    let rest = path.strip_prefix("/v")?;
    let end = rest.find('/')?;
    let version = &rest[..end];
    parse(version)?;
    Some((version, &rest[end..]))
}

/// The version a request asked for, for handlers whose output changed across versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct RequestedVersion(pub u32, pub u32);

pub async fn strip_prefix(mut req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    let mut requested = parse(API_VERSION).map(|(a, b)| RequestedVersion(a, b));
    if let Some((version, rest)) = split(&path) {
        let (Some(v), Some(min), Some(max)) =
            (parse(version), parse(MIN_API_VERSION), parse(API_VERSION))
        else {
            return message(
                StatusCode::BAD_REQUEST,
                format!("invalid API version {version}"),
            )
            .into_response();
        };
        if v < min {
            return message(
                StatusCode::BAD_REQUEST,
                format!("client version {version} is too old. Minimum supported API version is {MIN_API_VERSION}, please upgrade your client to a newer version"),
            )
            .into_response();
        }
        if v > max {
            return message(
                StatusCode::BAD_REQUEST,
                format!("client version {version} is too new. Maximum supported API version is {API_VERSION}"),
            )
            .into_response();
        }
        requested = Some(RequestedVersion(v.0, v.1));
        let query = req
            .uri()
            .query()
            .map(|q| format!("?{q}"))
            .unwrap_or_default();
        match format!("{rest}{query}").parse::<Uri>() {
            Ok(uri) => *req.uri_mut() = uri,
            Err(_) => {
                return message(
                    StatusCode::BAD_REQUEST,
                    format!("invalid request path {path}"),
                )
                .into_response()
            }
        }
    }
    if let Some(v) = requested {
        req.extensions_mut().insert(v);
    }
    next.run(req).await
}

#[cfg(test)]
mod tests;
