//! Registry traffic: `POST /images/create?fromImage=` (pull), `POST /images/{name}/push`,
//! `POST /auth`, `GET /distribution/{name}/json`. Pull and push answer with Docker's JSON
//! progress stream; a failure before the first progress message is a plain error response with
//! its status code (as dockerd), a later one the stream's last line,
//! `{"errorDetail":{"message":…},"error":…}`.

use std::future::Future;

use axum::body::Body;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::Json;
use berth_engine::images::{Credentials, Progress, Reporter};
use futures_util::StreamExt;
use serde_json::{json, Value};

use crate::error::{ApiError, ApiResult};

/// The `X-Registry-Auth` header, anonymous when absent.
pub fn credentials(headers: &HeaderMap) -> ApiResult<Credentials> {
    match headers.get("x-registry-auth").map(|v| v.to_str()) {
        None => Ok(Credentials::default()),
        Some(Ok(v)) => Credentials::from_header(v).map_err(|e| ApiError::BadRequest(e.to_string())),
        Some(Err(_)) => Err(ApiError::BadRequest(
            "invalid X-Registry-Auth header: not ASCII".into(),
        )),
    }
}

pub(crate) fn progress_json(p: &Progress) -> Vec<Value> {
    let detail = match (p.current, p.total) {
        (Some(current), Some(total)) => json!({"current": current, "total": total}),
        _ => json!({}),
    };
    let mut line = json!({"status": p.status, "progressDetail": detail});
    if let Some(id) = &p.id {
        line["id"] = json!(id);
    }
    let mut out = vec![line];
    if let Some(pushed) = &p.pushed {
        out.push(json!({
            "progressDetail": {},
            "aux": {"Tag": pushed.tag, "Digest": pushed.digest, "Size": pushed.size},
        }));
    }
    out
}

fn line(v: &Value) -> bytes::Bytes {
    let mut b = serde_json::to_vec(v).unwrap_or_default();
    b.push(b'\n');
    b.into()
}

/// Runs `op` with a progress reporter and streams what it reports.
pub async fn stream_progress<F, Fut>(op: F) -> ApiResult<Response>
where
    F: FnOnce(Reporter) -> Fut,
    Fut: Future<Output = berth_engine::Result<()>> + Send + 'static,
{
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let task = tokio::spawn(op(Reporter::new(tx)));
    let Some(first) = rx.recv().await else {
        // Finished without a word: its result is the whole answer.
        task.await
            .map_err(|e| berth_engine::Error::Task(e.to_string()))??;
        return Ok(([(header::CONTENT_TYPE, "application/json")], "").into_response());
    };
    let messages = futures_util::stream::once(async move { first })
        .chain(futures_util::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|m| (m, rx))
        }))
        .flat_map(|p| {
            futures_util::stream::iter(progress_json(&p).iter().map(line).collect::<Vec<_>>())
        });
    let end = futures_util::stream::once(async move {
        let message = match task.await {
            Ok(Ok(())) => return None,
            Ok(Err(e)) => e.to_string(),
            Err(e) => format!("pull/push task: {e}"),
        };
        Some(line(
            &json!({"errorDetail": {"message": message}, "error": message}),
        ))
    })
    .filter_map(|l| async move { l });
    let body = messages.chain(end).map(Ok::<_, std::convert::Infallible>);
    Ok((
        [(header::CONTENT_TYPE, "application/json")],
        Body::from_stream(body),
    )
        .into_response())
}

/// `GET /distribution/{name}/json` (Docker's `DistributionInspect`, what `docker service` and
/// buildx ask): the descriptor of what the registry serves for `name` and its platforms.
/// `GET /distribution/{name}/manifest` (a Berth extension, for `berth manifest inspect`): that
/// manifest or index byte for byte, with its media type as `Content-Type` and its digest as
/// `Docker-Content-Digest`. Both ask with the `X-Registry-Auth` credentials.
pub async fn distribution(
    axum::extract::State(engine): axum::extract::State<berth_engine::Engine>,
    axum::extract::Path(path): axum::extract::Path<String>,
    headers: HeaderMap,
    uri: axum::http::Uri,
) -> ApiResult<Response> {
    if let Some(name) = path.strip_suffix("/json") {
        let d = engine
            .distribution_inspect(name, &credentials(&headers)?)
            .await?;
        return Ok(
            Json(json!({"Descriptor": d.descriptor, "Platforms": d.platforms})).into_response(),
        );
    }
    let Some(name) = path.strip_suffix("/manifest") else {
        return Ok(crate::error::not_implemented(axum::http::Method::GET, uri).await);
    };
    let m = engine
        .remote_manifest(name, &credentials(&headers)?)
        .await?;
    Ok((
        [
            (header::CONTENT_TYPE, m.media_type),
            (
                header::HeaderName::from_static("docker-content-digest"),
                m.digest.to_string(),
            ),
        ],
        m.bytes,
    )
        .into_response())
}

/// `POST /auth` (`docker login`): 200 `{"Status":"Login Succeeded"}` or 401 with the reason.
pub async fn auth(
    axum::extract::State(engine): axum::extract::State<berth_engine::Engine>,
    body: axum::body::Bytes,
) -> ApiResult<Json<Value>> {
    let creds: Credentials = crate::json::from_slice(&body)
        .map_err(|e| ApiError::BadRequest(format!("invalid auth config: {e}")))?;
    engine.login(&creds).await?;
    Ok(Json(
        json!({"Status": "Login Succeeded", "IdentityToken": ""}),
    ))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
