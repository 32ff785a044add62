//! `/images/...`: list, inspect, history, tag, remove. Image names contain slashes (and a
//! registry port), so one wildcard route takes the name and the action is the last segment,
//! as dockerd's `{name:.*}/json` routes do.

use axum::body::Body;
use axum::extract::{Path, Query, RawQuery, State};
use axum::http::{header, HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use berth_engine::images::{ImageSummary, ImportOptions, PullOptions, PushOptions, Removed};
use berth_engine::Engine;
use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::{json, Value};
use tokio_util::io::{StreamReader, SyncIoBridge};

use crate::error::{not_implemented, ApiError, ApiResult};
use crate::filters::Filters;

fn rfc3339(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
}

pub(crate) fn summary_json(s: &ImageSummary) -> Value {
    json!({
        "Id": s.id,
        "ParentId": s.parent.as_ref().map(ToString::to_string).unwrap_or_default(),
        "RepoTags": s.repo_tags,
        "RepoDigests": s.repo_digests,
        "Created": s.created,
        "Size": s.size,
        "SharedSize": -1,
        "VirtualSize": s.size,
        "Labels": s.labels,
        "Containers": s.containers,
    })
}

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    filters: Option<String>,
    /// `docker images -a`: a build's intermediate images too.
    #[serde(default)]
    all: Option<String>,
}

/// `reference` filters match the familiar name with shell-style `*` wildcards, as Docker.
fn glob_match(pattern: &str, text: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == text,
        Some((head, tail)) => {
            text.starts_with(head)
                && (0..=text.len() - head.len()).any(|i| glob_match(tail, &text[head.len() + i..]))
        }
    }
}

fn reference_matches(pattern: &str, tags: &[String]) -> bool {
    tags.iter().any(|tag| {
        let repo = tag.rsplit_once(':').map_or(tag.as_str(), |(r, _)| r);
        glob_match(pattern, tag) || glob_match(pattern, repo)
    })
}

pub async fn list(
    State(engine): State<Engine>,
    Query(q): Query<ListQuery>,
) -> ApiResult<Json<Value>> {
    let filters = Filters::parse(q.filters.as_deref())?;
    filters.only(&["reference", "label", "dangling", "before", "since"])?;
    let images = engine.list_images().await?;
    let dangling = filters
        .values("dangling")
        .map(|v| v.contains("true") || v.contains("1"));
    let all = q
        .all
        .as_deref()
        .is_some_and(|a| matches!(a, "1" | "true" | "True"));
    let out: Vec<Value> = images
        .iter()
        .filter(|s| all || !s.intermediate)
        .filter(|s| dangling.is_none_or(|d| d == s.repo_tags.is_empty()))
        .filter(|s| {
            filters
                .values("reference")
                .is_none_or(|pats| pats.iter().any(|p| reference_matches(p, &s.repo_tags)))
        })
        .filter(|s| filters.accepts_labels(&s.labels))
        .map(summary_json)
        .collect();
    Ok(Json(Value::Array(out)))
}

/// Splits `a/b:c/json` into (`a/b:c`, `json`).
fn split_action(rest: &str) -> Option<(&str, &str)> {
    rest.rsplit_once('/')
}

pub async fn get_named(
    State(engine): State<Engine>,
    Path(rest): Path<String>,
    uri: Uri,
) -> ApiResult<Response> {
    match split_action(&rest) {
        Some((name, "json")) => inspect(&engine, name)
            .await
            .map(IntoResponse::into_response),
        Some((name, "history")) => history(&engine, name)
            .await
            .map(IntoResponse::into_response),
        Some((name, "get")) => crate::archive::save(&engine, vec![name.to_string()]).await,
        _ => Ok(not_implemented(Method::GET, uri).await),
    }
}

#[derive(Debug, Deserialize)]
pub struct TagQuery {
    repo: Option<String>,
    tag: Option<String>,
}

pub async fn post_named(
    State(engine): State<Engine>,
    Path(rest): Path<String>,
    Query(q): Query<TagQuery>,
    headers: HeaderMap,
    uri: Uri,
) -> ApiResult<Response> {
    match split_action(&rest) {
        Some((name, "push")) => {
            let name = match q.tag.filter(|t| !t.is_empty()) {
                Some(tag) => format!("{name}:{tag}"),
                None => name.to_string(),
            };
            let opts = PushOptions {
                credentials: crate::distribution::credentials(&headers)?,
            };
            crate::distribution::stream_progress(move |reporter| async move {
                engine.push_image(&name, opts, reporter).await.map(drop)
            })
            .await
        }
        Some((name, "tag")) => {
            let repo = q
                .repo
                .filter(|r| !r.is_empty())
                .ok_or_else(|| ApiError::BadRequest("repo is required".into()))?;
            let target = match q.tag.filter(|t| !t.is_empty()) {
                Some(tag) => format!("{repo}:{tag}"),
                None => repo,
            };
            engine.tag_image(name, &target).await?;
            Ok(StatusCode::CREATED.into_response())
        }
        _ => Ok(not_implemented(Method::POST, uri).await),
    }
}

async fn inspect(engine: &Engine, name: &str) -> ApiResult<Json<Value>> {
    let d = engine.inspect_image(name).await?;
    let c = &d.config;
    Ok(Json(json!({
        "Id": d.summary.id,
        "RepoTags": d.summary.repo_tags,
        "RepoDigests": d.summary.repo_digests,
        "Parent": d.summary.parent.as_ref().map(ToString::to_string).unwrap_or_default(),
        "Comment": c["comment"].as_str().unwrap_or_default(),
        "Created": c["created"].as_str().map(str::to_string).unwrap_or_else(|| rfc3339(0)),
        "DockerVersion": c["docker_version"].as_str().unwrap_or_default(),
        "Author": c["author"].as_str().unwrap_or_default(),
        "Config": c["config"],
        "Container": c["container"].as_str().unwrap_or_default(),
        "ContainerConfig": legacy_container_config(c),
        "Architecture": c["architecture"],
        "Variant": c["variant"],
        "Os": c["os"],
        "Size": d.summary.size,
        "VirtualSize": d.summary.size,
        "GraphDriver": {"Name": "overlayfs", "Data": null},
        "RootFS": {"Type": "layers", "Layers": d.layers},
        "Metadata": {"LastTagTime": rfc3339(0)},
    })))
}

/// Image inspect's `ContainerConfig` (API < 1.45; 1.44 only deprecated it): the legacy
/// builder's `container_config`, else the empty config dockerd's image store shows. compose
/// 1.29 reads its `Volumes` when it recreates a container, and fails on a missing key.
fn legacy_container_config(image_config: &Value) -> Value {
    match &image_config["container_config"] {
        Value::Object(c) => Value::Object(c.clone()),
        _ => json!({
            "Hostname": "", "Domainname": "", "User": "", "AttachStdin": false,
            "AttachStdout": false, "AttachStderr": false, "Tty": false, "OpenStdin": false,
            "StdinOnce": false, "Env": null, "Cmd": null, "Image": "", "Volumes": null,
            "WorkingDir": "", "Entrypoint": null, "OnBuild": null, "Labels": null,
        }),
    }
}

async fn history(engine: &Engine, name: &str) -> ApiResult<Json<Value>> {
    let entries = engine.image_history(name).await?;
    Ok(Json(Value::Array(
        entries
            .iter()
            .map(|h| {
                json!({
                    "Id": h.id, "Created": h.created, "CreatedBy": h.created_by,
                    "Tags": h.tags, "Size": h.size, "Comment": h.comment,
                })
            })
            .collect(),
    )))
}

#[derive(Debug, Deserialize)]
pub struct RemoveQuery {
    force: Option<String>,
}

/// Docker's boolean query values: `1`, `true`, `True`.
pub fn truthy(v: Option<&str>) -> bool {
    matches!(v, Some("1" | "true" | "True" | "TRUE"))
}

pub async fn remove(
    State(engine): State<Engine>,
    Path(name): Path<String>,
    Query(q): Query<RemoveQuery>,
) -> ApiResult<Json<Value>> {
    let removed = engine
        .remove_image(&name, truthy(q.force.as_deref()))
        .await?;
    Ok(Json(Value::Array(
        removed
            .iter()
            .map(|r| match r {
                Removed::Untagged(t) => json!({"Untagged": t}),
                Removed::Deleted(d) => json!({"Deleted": d}),
            })
            .collect(),
    )))
}

#[derive(Debug, Deserialize)]
pub struct CreateQuery {
    #[serde(rename = "fromImage")]
    from_image: Option<String>,
    #[serde(rename = "fromSrc")]
    from_src: Option<String>,
    repo: Option<String>,
    tag: Option<String>,
    message: Option<String>,
    platform: Option<String>,
    /// Repeated `changes=` parameters, one Dockerfile instruction each.
    #[serde(default)]
    changes: Vec<String>,
}

/// `POST /images/create`: `fromSrc=-` imports the request body (docker import); `fromImage`
/// pulls from a registry.
pub async fn create(
    State(engine): State<Engine>,
    headers: HeaderMap,
    raw_query: RawQuery,
    body: Body,
) -> ApiResult<Response> {
    let q: CreateQuery = serde_html_form::from_str(raw_query.0.as_deref().unwrap_or_default())
        .map_err(|e| ApiError::BadRequest(format!("invalid query: {e}")))?;
    match (q.from_src.as_deref(), q.from_image.as_deref()) {
        (Some("-"), _) => {
            let reference = match (
                q.repo.filter(|r| !r.is_empty()),
                q.tag.filter(|t| !t.is_empty()),
            ) {
                (Some(repo), Some(tag)) => Some(format!("{repo}:{tag}")),
                (repo, _) => repo,
            };
            let stream = body
                .into_data_stream()
                .map(|r| r.map_err(std::io::Error::other));
            let reader = SyncIoBridge::new(StreamReader::new(stream));
            let id = engine
                .import_image(
                    reader,
                    ImportOptions {
                        reference,
                        // One instruction per parameter, or several in one value separated by
                        // newlines (what bollard and older clients send); dockerd takes both.
                        changes: q
                            .changes
                            .iter()
                            .flat_map(|c| c.lines())
                            .filter(|c| !c.trim().is_empty())
                            .map(str::to_string)
                            .collect(),
                        message: q.message,
                    },
                )
                .await?;
            Ok(json_lines(&[json!({"status": id})]))
        }
        (Some(src), _) => Err(ApiError::BadRequest(format!(
            "fromSrc={src}: only \"-\" (the request body) is supported; fetching a URL is not"
        ))),
        (None, Some(image)) => {
            // `tag` may hold a digest (`docker pull name@sha256:…` sends it there).
            let reference = match q.tag.filter(|t| !t.is_empty()) {
                Some(t) if t.contains(':') => format!("{image}@{t}"),
                Some(t) => format!("{image}:{t}"),
                None => image.to_string(),
            };
            let opts = PullOptions {
                platform: q.platform.filter(|p| !p.is_empty()),
                credentials: crate::distribution::credentials(&headers)?,
            };
            crate::distribution::stream_progress(move |reporter| async move {
                engine
                    .pull_image(&reference, opts, reporter)
                    .await
                    .map(drop)
            })
            .await
        }
        (None, None) => Err(ApiError::BadRequest(
            "fromImage or fromSrc is required".into(),
        )),
    }
}

/// A complete JSON-lines progress response, as dockerd streams for pull/import.
pub fn json_lines(items: &[Value]) -> Response {
    let mut body = Vec::new();
    for item in items {
        body.extend(serde_json::to_vec(item).unwrap_or_default());
        body.push(b'\n');
    }
    // Chunked, as dockerd's streams always are: the Python SDK decodes a chunked body as a
    // sequence of messages but a sized one as a single JSON document.
    let chunk = futures_util::stream::once(async { Ok::<_, std::convert::Infallible>(body) });
    (
        [(header::CONTENT_TYPE, "application/json")],
        Body::from_stream(chunk),
    )
        .into_response()
}

#[cfg(test)]
mod tests;
