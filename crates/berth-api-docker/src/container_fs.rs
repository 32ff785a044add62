//! A container's filesystem: `export`, `changes` (docker diff), `archive` (docker cp), and
//! `POST /commit`.

use axum::body::Body;
use axum::extract::{Path, Query, RawQuery, State};
use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use berth_engine::containers::{ChangeKind, CommitOptions, ExtractOptions, PathStat};
use berth_engine::Engine;
use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::{json, Value};
use tokio_util::io::{StreamReader, SyncIoBridge};

use crate::body::{base64, streamed, DrainOnDrop};
use crate::error::{ApiError, ApiResult};
use crate::images::truthy;

const PATH_STAT_HEADER: &str = "x-docker-container-path-stat";

/// `GET /containers/{id}/export`.
pub async fn export(State(engine): State<Engine>, Path(id): Path<String>) -> ApiResult<Response> {
    // Resolve now so an unknown container is a 404, not a broken 200.
    let c = engine.container(&id).await?;
    let body = streamed("docker export", move |out| async move {
        engine.export_container(&c.id, out).await
    });
    Ok(([(header::CONTENT_TYPE, "application/x-tar")], body).into_response())
}

/// `GET /containers/{id}/changes`.
pub async fn changes(
    State(engine): State<Engine>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let changes = engine.container_changes(&id).await?;
    Ok(Json(Value::Array(
        changes
            .iter()
            .map(|c| {
                let kind = match c.kind {
                    ChangeKind::Modified => 0,
                    ChangeKind::Added => 1,
                    ChangeKind::Deleted => 2,
                };
                json!({"Path": c.path, "Kind": kind})
            })
            .collect(),
    )))
}

// `st_mode` bits (the same on every Linux architecture).
const S_IFMT: u32 = 0o170_000;
const S_IFSOCK: u32 = 0o140_000;
const S_IFLNK: u32 = 0o120_000;
const S_IFBLK: u32 = 0o060_000;
const S_IFDIR: u32 = 0o040_000;
const S_IFCHR: u32 = 0o020_000;
const S_IFIFO: u32 = 0o010_000;
const S_ISUID: u32 = 0o4000;
const S_ISGID: u32 = 0o2000;
const S_ISVTX: u32 = 0o1000;

/// Go's `os.FileMode` bits for an `st_mode`: what the docker CLI decodes from the stat header.
fn go_file_mode(mode: u32) -> u32 {
    let mut m = mode & 0o777;
    if mode & S_ISUID != 0 {
        m |= 1 << 23;
    }
    if mode & S_ISGID != 0 {
        m |= 1 << 22;
    }
    if mode & S_ISVTX != 0 {
        m |= 1 << 20;
    }
    m | match mode & S_IFMT {
        S_IFDIR => 1 << 31,
        S_IFLNK => 1 << 27,
        S_IFIFO => 1 << 25,
        S_IFSOCK => 1 << 24,
        S_IFBLK => 1 << 26,
        S_IFCHR => (1 << 26) | (1 << 21),
        _ => 0,
    }
}

fn stat_header(stat: &PathStat) -> ApiResult<HeaderValue> {
    let mtime =
        chrono::DateTime::from_timestamp(stat.mtime.0, stat.mtime.1.clamp(0, 999_999_999) as u32)
            .unwrap_or_default()
            .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true);
    let v = json!({
        "name": stat.name,
        "size": stat.size,
        "mode": go_file_mode(stat.mode),
        "mtime": mtime,
        "linkTarget": stat.link_target,
    });
    let encoded = base64(&serde_json::to_vec(&v).unwrap_or_default());
    HeaderValue::from_str(&encoded)
        .map_err(|e| ApiError::BadRequest(format!("path stat header: {e}")))
}

#[derive(Debug, Deserialize)]
pub struct ArchiveQuery {
    path: Option<String>,
    #[serde(rename = "noOverwriteDirNonDir")]
    no_overwrite_dir_non_dir: Option<String>,
    #[serde(rename = "copyUIDGID")]
    copy_uid_gid: Option<String>,
}

fn required_path(q: &ArchiveQuery) -> ApiResult<String> {
    q.path
        .clone()
        .filter(|p| !p.is_empty())
        .ok_or_else(|| ApiError::BadRequest("path is required".into()))
}

/// `HEAD /containers/{id}/archive?path=`.
pub async fn archive_head(
    State(engine): State<Engine>,
    Path(id): Path<String>,
    Query(q): Query<ArchiveQuery>,
) -> ApiResult<Response> {
    let path = required_path(&q)?;
    let stat = engine.stat_container_path(&id, &path).await?;
    let mut resp = StatusCode::OK.into_response();
    resp.headers_mut().insert(
        HeaderName::from_static(PATH_STAT_HEADER),
        stat_header(&stat)?,
    );
    Ok(resp)
}

/// `GET /containers/{id}/archive?path=`: the stat header and a tar of the path.
pub async fn archive_get(
    State(engine): State<Engine>,
    Path(id): Path<String>,
    Query(q): Query<ArchiveQuery>,
) -> ApiResult<Response> {
    let path = required_path(&q)?;
    let stat = engine.stat_container_path(&id, &path).await?;
    let header_value = stat_header(&stat)?;
    let body = streamed("docker cp", move |out| async move {
        engine.archive_container_path(&id, &path, out).await
    });
    let mut resp = ([(header::CONTENT_TYPE, "application/x-tar")], body).into_response();
    resp.headers_mut()
        .insert(HeaderName::from_static(PATH_STAT_HEADER), header_value);
    Ok(resp)
}

/// `PUT /containers/{id}/archive?path=`: extracts the tar body into directory `path`.
pub async fn archive_put(
    State(engine): State<Engine>,
    Path(id): Path<String>,
    Query(q): Query<ArchiveQuery>,
    body: Body,
) -> ApiResult<StatusCode> {
    let path = required_path(&q)?;
    let stream = body
        .into_data_stream()
        .map(|r| r.map_err(std::io::Error::other));
    let reader = DrainOnDrop(SyncIoBridge::new(StreamReader::new(stream)));
    let opts = ExtractOptions {
        no_overwrite_dir_non_dir: truthy(q.no_overwrite_dir_non_dir.as_deref()),
        copy_uid_gid: truthy(q.copy_uid_gid.as_deref()),
    };
    engine
        .extract_to_container(&id, &path, reader, opts)
        .await?;
    Ok(StatusCode::OK)
}

#[derive(Debug, Deserialize)]
struct CommitQuery {
    container: Option<String>,
    repo: Option<String>,
    tag: Option<String>,
    comment: Option<String>,
    author: Option<String>,
    pause: Option<String>,
    #[serde(default)]
    changes: Vec<String>,
}

/// `POST /commit?container=&repo=&tag=&comment=&author=&pause=&changes=`, with an optional
/// container config as body (`docker commit` sends none): it becomes the new image's config,
/// completed from the container's.
pub async fn commit(
    State(engine): State<Engine>,
    raw: RawQuery,
    body: axum::body::Bytes,
) -> ApiResult<Response> {
    let q: CommitQuery = serde_html_form::from_str(raw.0.as_deref().unwrap_or_default())
        .map_err(|e| ApiError::BadRequest(format!("invalid query: {e}")))?;
    let container = q
        .container
        .filter(|c| !c.is_empty())
        .ok_or_else(|| ApiError::BadRequest("container is required".into()))?;
    let reference = match (
        q.repo.filter(|r| !r.is_empty()),
        q.tag.filter(|t| !t.is_empty()),
    ) {
        (Some(repo), Some(tag)) => Some(format!("{repo}:{tag}")),
        (Some(repo), None) => Some(repo),
        (None, Some(_)) => {
            return Err(ApiError::BadRequest("tag given without repo".into()));
        }
        (None, None) => None,
    };
    let opts = CommitOptions {
        reference,
        comment: q.comment.unwrap_or_default(),
        author: q.author.unwrap_or_default(),
        // Docker pauses unless told `pause=0`.
        pause: q.pause.as_deref().is_none_or(|p| truthy(Some(p))),
        changes: q.changes,
        config: commit_config(&body)?,
    };
    let id = engine.commit_container(&container, opts).await?;
    Ok((StatusCode::CREATED, Json(json!({"Id": id}))).into_response())
}

/// The body of `POST /commit`: empty, `null` or `{}` for none (bollard always sends a config,
/// `{}` by default, where the docker CLI sends nothing), else a JSON object.
fn commit_config(body: &[u8]) -> ApiResult<Option<serde_json::Map<String, Value>>> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Null) => Ok(None),
        Ok(Value::Object(config)) => Ok(Some(config).filter(|c| !c.is_empty())),
        Ok(other) => Err(ApiError::BadRequest(format!(
            "invalid commit config: expected an object, got {other}"
        ))),
        Err(e) => Err(ApiError::BadRequest(format!("invalid commit config: {e}"))),
    }
}

#[cfg(test)]
mod tests;
