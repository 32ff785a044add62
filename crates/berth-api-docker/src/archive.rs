//! `docker save` / `docker load` (`GET /images/get`, `GET /images/{name}/get`,
//! `POST /images/load`).

use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use berth_engine::Engine;
use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::json;
use tokio_util::io::{StreamReader, SyncIoBridge};

use crate::body::{streamed, DrainOnDrop};
use crate::error::{ApiError, ApiResult};
use crate::images::json_lines;

#[derive(Debug, Deserialize)]
struct SaveQuery {
    /// Repeated `names=` parameters.
    #[serde(default)]
    names: Vec<String>,
}

/// `GET /images/get?names=a&names=b`.
pub async fn save_many(State(engine): State<Engine>, raw: RawQuery) -> ApiResult<Response> {
    let q: SaveQuery = serde_html_form::from_str(raw.0.as_deref().unwrap_or_default())
        .map_err(|e| ApiError::BadRequest(format!("invalid query: {e}")))?;
    if q.names.is_empty() {
        return Err(ApiError::BadRequest("names is required".into()));
    }
    save(&engine, q.names).await
}

/// `GET /images/{name}/get` and the body of [`save_many`].
pub async fn save(engine: &Engine, names: Vec<String>) -> ApiResult<Response> {
    let archive = engine.save_images(names).await?;
    let body = streamed("docker save", move |out| async move {
        tokio::task::spawn_blocking(move || archive.write_to(out).map_err(|e| e.to_string()))
            .await
            .map_err(|e| e.to_string())?
    });
    Ok(([(header::CONTENT_TYPE, "application/x-tar")], body).into_response())
}

/// `POST /images/load`: the whole archive is read and stored before the answer, so a bad
/// archive is a 400 (or 500) with nothing half-made, not an error inside a 200 stream.
pub async fn load(State(engine): State<Engine>, body: Body) -> ApiResult<Response> {
    let stream = body
        .into_data_stream()
        .map(|r| r.map_err(std::io::Error::other));
    let reader = DrainOnDrop(SyncIoBridge::new(StreamReader::new(stream)));
    // As dockerd: 200, and a failure is the stream's last message (the SDKs raise their load
    // error from `errorDetail`; a 4xx would be a different exception).
    let loaded = match engine.load_images(reader).await {
        Ok(loaded) => loaded,
        Err(e) => {
            tracing::warn!(error = %e, "image load failed");
            let text = e.to_string();
            return Ok(json_lines(&[
                json!({"errorDetail": {"message": text}, "error": text}),
            ]));
        }
    };
    let mut lines = Vec::new();
    for image in &loaded {
        if image.tags.is_empty() {
            lines.push(json!({"stream": format!("Loaded image ID: {}\n", image.id)}));
        }
        for tag in &image.tags {
            lines.push(json!({"stream": format!("Loaded image: {tag}\n")}));
        }
    }
    Ok(json_lines(&lines))
}
