//! `/volumes/...`: list, create, inspect, remove, prune.

use std::collections::BTreeMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use berth_engine::volumes::{
    Volume, VolumeCreate, VolumeListOptions, VolumePruneOptions, VolumeUsage,
};
use berth_engine::Engine;
use bytes::Bytes;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::error::{ApiError, ApiResult};
use crate::filters::Filters;
use crate::images::truthy;
use crate::version::RequestedVersion;

/// A volume as dockerd shows it.
pub(crate) fn volume_json(v: &Volume) -> Value {
    json!({
        "CreatedAt": v.created.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "Driver": v.driver,
        "Labels": v.labels,
        "Mountpoint": v.mountpoint,
        "Name": v.name,
        "Options": v.options,
        "Scope": "local",
    })
}

/// A volume in `GET /system/df`, with its usage.
pub(crate) fn usage_json(u: &VolumeUsage) -> Value {
    let mut v = volume_json(&u.volume);
    v["UsageData"] = json!({"Size": u.size, "RefCount": u.ref_count});
    v
}

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    filters: Option<String>,
}

pub(crate) fn strings(filters: &Filters, key: &str) -> Vec<String> {
    filters
        .values(key)
        .map(|v| v.iter().cloned().collect())
        .unwrap_or_default()
}

/// Docker's boolean filter values: `true`/`1` and `false`/`0`, one of them.
fn bool_filter(filters: &Filters, key: &str) -> ApiResult<Option<bool>> {
    let Some(values) = filters.values(key) else {
        return Ok(None);
    };
    if values.iter().all(|d| matches!(d.as_str(), "true" | "1")) {
        Ok(Some(true))
    } else if values.iter().all(|d| matches!(d.as_str(), "false" | "0")) {
        Ok(Some(false))
    } else {
        Err(ApiError::BadRequest(format!(
            "invalid filter '{key}={}'",
            values.iter().cloned().collect::<Vec<_>>().join(",")
        )))
    }
}

pub async fn list(
    State(engine): State<Engine>,
    Query(q): Query<ListQuery>,
) -> ApiResult<Json<Value>> {
    let filters = Filters::parse(q.filters.as_deref())?;
    filters.only(&["dangling", "driver", "label", "name"])?;
    let volumes = engine
        .list_volumes(VolumeListOptions {
            dangling: bool_filter(&filters, "dangling")?,
            drivers: strings(&filters, "driver"),
            labels: strings(&filters, "label"),
            names: strings(&filters, "name"),
        })
        .await?;
    Ok(Json(json!({
        "Volumes": volumes.iter().map(volume_json).collect::<Vec<_>>(),
        "Warnings": null,
    })))
}

/// The body of `POST /volumes/create`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct CreateBody {
    name: Option<String>,
    driver: Option<String>,
    driver_opts: Option<BTreeMap<String, String>>,
    labels: Option<BTreeMap<String, String>>,
}

pub async fn create(State(engine): State<Engine>, body: Bytes) -> ApiResult<Response> {
    let body: CreateBody = crate::json::from_slice(&body)
        .map_err(|e| ApiError::BadRequest(format!("invalid volume config: {e}")))?;
    let v = engine
        .create_volume(VolumeCreate {
            name: body.name,
            driver: body.driver.unwrap_or_default(),
            labels: body.labels.unwrap_or_default(),
            options: body.driver_opts.unwrap_or_default(),
        })
        .await?;
    Ok((StatusCode::CREATED, Json(volume_json(&v))).into_response())
}

pub async fn inspect(
    State(engine): State<Engine>,
    Path(name): Path<String>,
) -> ApiResult<Json<Value>> {
    Ok(Json(volume_json(&engine.volume(&name).await?)))
}

#[derive(Debug, Deserialize)]
pub struct RemoveQuery {
    force: Option<String>,
}

pub async fn remove(
    State(engine): State<Engine>,
    Path(name): Path<String>,
    Query(q): Query<RemoveQuery>,
) -> ApiResult<StatusCode> {
    engine
        .remove_volume(&name, truthy(q.force.as_deref()))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn prune(
    State(engine): State<Engine>,
    version: Option<Extension<RequestedVersion>>,
    Query(q): Query<ListQuery>,
) -> ApiResult<Json<Value>> {
    let filters = Filters::parse(q.filters.as_deref())?;
    filters.only(&["label", "label!", "all"])?;
    // Before API 1.42 prune removed named volumes too; `all` is how newer clients ask for it.
    let old_client = version.is_some_and(|Extension(v)| v < RequestedVersion(1, 42));
    let pruned = engine
        .prune_volumes(VolumePruneOptions {
            all: old_client || bool_filter(&filters, "all")?.unwrap_or(false),
            labels: strings(&filters, "label"),
            labels_not: strings(&filters, "label!"),
        })
        .await?;
    Ok(Json(json!({
        "VolumesDeleted": pruned.names,
        "SpaceReclaimed": pruned.space_reclaimed,
    })))
}

#[cfg(test)]
mod tests;
