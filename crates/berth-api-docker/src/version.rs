//! API versions: clients call `/v1.44/containers/json` or the unversioned path; both reach the
//! same handler, and versions outside what Berth speaks are refused as dockerd does.

use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
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

/// Headers dockerd puts on every response, errors included: clients read the daemon's API
/// version and OS from whichever response they get first.
fn common_headers(h: &mut HeaderMap) {
    h.insert("API-Version", HeaderValue::from_static(API_VERSION));
    h.insert("OSType", HeaderValue::from_static("linux"));
    h.insert("Docker-Experimental", HeaderValue::from_static("false"));
    h.insert(header::SERVER, HeaderValue::from_static(SERVER));
}

const SERVER: &str = concat!("Berth/", env!("CARGO_PKG_VERSION"), " (linux)");

pub async fn strip_prefix(req: Request, next: Next) -> Response {
    let resp = route_version(req, next).await;
    let mut resp = json_error_body(resp).await;
    common_headers(resp.headers_mut());
    resp
}

/// Clients decode every error as `{"message": ...}`; the framework's own rejections (a query
/// that does not parse, a method a route does not have) come as plain text or empty.
async fn json_error_body(resp: Response) -> Response {
    let status = resp.status();
    let is_json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return resp;
    }
    let text = match axum::body::to_bytes(resp.into_body(), 64 * 1024).await {
        Ok(b) if !b.is_empty() => String::from_utf8_lossy(&b).trim().to_string(),
        _ => status
            .canonical_reason()
            .unwrap_or("request failed")
            .to_lowercase(),
    };
    message(status, text).into_response()
}

/// Checks and strips the `/v1.NN` prefix (recording the version for handlers) and folds
/// repeated slashes, as clients join names that start with `/` onto paths (`/containers//a/b`).
async fn route_version(mut req: Request, next: Next) -> Response {
    let path = fold_slashes(req.uri().path());
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
        if !set_path(&mut req, rest) {
            return bad_path(&path);
        }
    } else if path != req.uri().path() && !set_path(&mut req, &path) {
        return bad_path(&path);
    }
    if let Some(v) = requested {
        req.extensions_mut().insert(v);
    }
    next.run(req).await
}

fn fold_slashes(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for c in path.chars() {
        if !(c == '/' && out.ends_with('/')) {
            out.push(c);
        }
    }
    out
}

/// Routes the request as `path`, keeping its query; false if that is no URI.
fn set_path(req: &mut Request, path: &str) -> bool {
    let query = req
        .uri()
        .query()
        .map(|q| format!("?{q}"))
        .unwrap_or_default();
    match format!("{path}{query}").parse::<Uri>() {
        Ok(uri) => {
            *req.uri_mut() = uri;
            true
        }
        Err(_) => false,
    }
}

fn bad_path(path: &str) -> Response {
    message(
        StatusCode::BAD_REQUEST,
        format!("invalid request path {path}"),
    )
    .into_response()
}

#[cfg(test)]
mod tests;
