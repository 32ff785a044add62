//! `POST /images/prune`, `POST /containers/prune` and `GET /system/df`.

use axum::extract::{Query, State};
use axum::Json;
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
                return Ok(now - (n * secs as f64) as i64);
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

/// `POST /build/prune`, which `docker system prune` calls: Berth has no builder, so there is
/// never a build cache to free (`/build` itself answers 501).
pub async fn build_cache() -> Json<Value> {
    Json(json!({"CachesDeleted": [], "SpaceReclaimed": 0}))
}

/// `GET /system/df`: images (with shared sizes and container counts), containers with their
/// sizes, volumes with theirs and their reference counts; build cache is empty (no builder).
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
        "BuildCache": [],
    })))
}

#[cfg(test)]
mod tests;
