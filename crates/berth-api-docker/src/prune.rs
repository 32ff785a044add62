//! `POST /images/prune`, `POST /containers/prune` and `GET /system/df`.

use axum::extract::{Query, State};
use axum::Json;
use berth_engine::build::{CachePruneOptions, CacheRecord};
use berth_engine::containers::ContainerPruneOptions;
use berth_engine::images::{ImagePruneOptions, Removed};
use berth_engine::Engine;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::error::{ApiError, ApiResult};
use crate::filters::Filters;

#[derive(Debug, Deserialize)]
pub struct PruneQuery {
    filters: Option<String>,
}

/// Docker's `until`: a Unix time, an RFC 3339 time, or a duration before now (`24h`, `10m`).
fn parse_until(value: &str) -> ApiResult<i64> {
    let now = chrono::Utc::now().timestamp();
    let units = [("h", 3600), ("m", 60), ("s", 1)];
    for (suffix, secs) in units {
        if let Some(n) = value.strip_suffix(suffix) {
            if let Ok(n) = n.parse::<f64>() {
                let ago = n * secs as f64;
                // `as` saturates: a huge or odd duration is no overflow, just a far time.
                if !ago.is_finite() {
                    return Err(ApiError::BadRequest(format!(
                        "until={value}: not a duration"
                    )));
                }
                return Ok(now.saturating_sub(ago as i64));
            }
        }
    }
    Ok(crate::system::parse_time(value)? / 1_000_000_000)
}

/// The filters both prunes share: `until`, `label`, `label!`.
fn common(filters: &Filters) -> ApiResult<(Option<i64>, Vec<String>, Vec<String>)> {
    let until = match filters.values("until") {
        Some(v) => match v.iter().next() {
            Some(u) => Some(parse_until(u)?),
            None => None,
        },
        None => None,
    };
    let list = |k: &str| {
        filters
            .values(k)
            .map(|v| v.iter().cloned().collect())
            .unwrap_or_default()
    };
    Ok((until, list("label"), list("label!")))
}

pub async fn images(
    State(engine): State<Engine>,
    Query(q): Query<PruneQuery>,
) -> ApiResult<Json<Value>> {
    let filters = Filters::parse(q.filters.as_deref())?;
    filters.only(&["dangling", "until", "label", "label!"])?;
    let all = match filters.values("dangling") {
        None => false,
        Some(v) if v.iter().all(|d| matches!(d.as_str(), "false" | "0")) => true,
        Some(v) if v.iter().all(|d| matches!(d.as_str(), "true" | "1")) => false,
        Some(v) => {
            return Err(ApiError::BadRequest(format!(
                "invalid filter 'dangling={}'",
                v.iter().cloned().collect::<Vec<_>>().join(",")
            )))
        }
    };
    let (until, labels, labels_not) = common(&filters)?;
    let pruned = engine
        .prune_images(ImagePruneOptions {
            all,
            until,
            labels,
            labels_not,
        })
        .await?;
    let deleted: Vec<Value> = pruned
        .removed
        .iter()
        .map(|r| match r {
            Removed::Untagged(t) => json!({"Untagged": t}),
            Removed::Deleted(d) => json!({"Deleted": d}),
        })
        .collect();
    Ok(Json(json!({
        "ImagesDeleted": deleted,
        "SpaceReclaimed": pruned.space_reclaimed,
    })))
}

pub async fn containers(
    State(engine): State<Engine>,
    Query(q): Query<PruneQuery>,
) -> ApiResult<Json<Value>> {
    let filters = Filters::parse(q.filters.as_deref())?;
    filters.only(&["until", "label", "label!"])?;
    let (until, labels, labels_not) = common(&filters)?;
    let pruned = engine
        .prune_containers(ContainerPruneOptions {
            until,
            labels,
            labels_not,
        })
        .await?;
    Ok(Json(json!({
        "ContainersDeleted": pruned.ids,
        "SpaceReclaimed": pruned.space_reclaimed,
    })))
}

#[derive(Debug, Deserialize)]
pub struct BuildPruneQuery {
    filters: Option<String>,
    #[serde(rename = "keep-storage")]
    keep_storage: Option<String>,
    all: Option<String>,
}

/// `POST /build/prune` (`docker builder prune`, and `docker system prune`): the build cache's
/// least recently used entries, all or only those of untagged images, down to `keep-storage`.
pub async fn build_cache(
    State(engine): State<Engine>,
    Query(q): Query<BuildPruneQuery>,
) -> ApiResult<Json<Value>> {
    let filters = Filters::parse(q.filters.as_deref())?;
    filters.only(&["until"])?;
    let keep_bytes = match q.keep_storage.as_deref() {
        None | Some("") => 0,
        Some(v) => v.parse().map_err(|_| {
            ApiError::BadRequest(format!(
                "keep-storage is in bytes and expects an integer, got {v}"
            ))
        })?,
    };
    let until = filters
        .values("until")
        .and_then(|v| v.iter().next().cloned())
        .map(|v| parse_until(&v))
        .transpose()?;
    let pruned = engine
        .prune_build_cache(CachePruneOptions {
            all: q
                .all
                .as_deref()
                .is_some_and(|a| matches!(a, "1" | "true" | "True")),
            keep_bytes,
            until,
        })
        .await?;
    let deleted: Vec<String> = pruned.deleted.iter().map(|d| d.hex().to_string()).collect();
    Ok(Json(json!({
        "CachesDeleted": if deleted.is_empty() { Value::Null } else { json!(deleted) },
        "SpaceReclaimed": pruned.space_reclaimed,
    })))
}

/// One build cache entry as API 1.42+ lists it.
fn cache_json(r: &CacheRecord) -> Value {
    let time =
        |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
    json!({
        "ID": r.entry.key.hex(),
        "Parents": null,
        "Type": "regular",
        "Description": r.entry.description,
        "InUse": r.in_use,
        "Shared": false,
        "Size": r.entry.size,
        "CreatedAt": time(r.entry.created),
        "LastUsedAt": time(r.entry.last_used),
        "UsageCount": r.entry.usage_count,
    })
}

/// `GET /system/df`: images (with shared sizes and container counts), containers with their
/// sizes, volumes with theirs and their reference counts, and the build cache's entries.
pub async fn disk_usage(State(engine): State<Engine>) -> ApiResult<Json<Value>> {
    let usage = engine.disk_usage().await?;
    let images: Vec<Value> = usage
        .images
        .iter()
        .map(|i| {
            let mut v = crate::images::summary_json(&i.summary);
            v["SharedSize"] = json!(i.shared_size);
            v
        })
        .collect();
    let containers: Vec<Value> = usage
        .containers
        .iter()
        .map(|(c, size)| {
            let mut v = crate::containers::summary_json(c);
            v["SizeRw"] = json!(size.rw);
            v["SizeRootFs"] = json!(size.root_fs);
            v
        })
        .collect();
    Ok(Json(json!({
        "LayersSize": usage.layers_size,
        "Images": images,
        "Containers": containers,
        "Volumes": usage.volumes.iter().map(crate::volumes::usage_json).collect::<Vec<_>>(),
        "BuildCache": engine.build_cache().await?.iter().map(cache_json).collect::<Vec<_>>(),
    })))
}

#[cfg(test)]
mod tests;
