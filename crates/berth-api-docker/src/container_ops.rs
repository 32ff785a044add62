//! `/containers/{id}/top`, `/stats`, `/rename` and `/update`.

use std::convert::Infallible;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use berth_engine::containers::{Container, StatsSample, UpdateRequest};
use berth_engine::Engine;
use bytes::Bytes;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::error::{ApiError, ApiResult};
use crate::images::truthy;

/// How often a stats stream sends a sample, as dockerd.
const STATS_INTERVAL: Duration = Duration::from_secs(1);

#[derive(Debug, Deserialize)]
pub struct TopQuery {
    ps_args: Option<String>,
}

pub async fn top(
    State(engine): State<Engine>,
    Path(id): Path<String>,
    Query(q): Query<TopQuery>,
) -> ApiResult<Json<Value>> {
    let top = engine
        .top_container(&id, q.ps_args.as_deref().unwrap_or_default())
        .await?;
    Ok(Json(
        json!({"Titles": top.titles, "Processes": top.processes}),
    ))
}

#[derive(Debug, Deserialize)]
pub struct RenameQuery {
    name: Option<String>,
}

pub async fn rename(
    State(engine): State<Engine>,
    Path(id): Path<String>,
    Query(q): Query<RenameQuery>,
) -> ApiResult<StatusCode> {
    let name = q
        .name
        .filter(|n| !n.is_empty())
        .ok_or_else(|| ApiError::BadRequest("Neither old nor new names may be empty".into()))?;
    engine.rename_container(&id, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn update(
    State(engine): State<Engine>,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let req: UpdateRequest = crate::json::from_slice(&body)
        .map_err(|e| ApiError::BadRequest(format!("invalid update config: {e}")))?;
    let warnings = engine.update_container(&id, req).await?;
    Ok(Json(json!({ "Warnings": warnings })))
}

#[derive(Debug, Deserialize)]
pub struct StatsQuery {
    stream: Option<String>,
    #[serde(rename = "one-shot")]
    one_shot: Option<String>,
}

fn rfc3339(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
}

const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

/// `cpu_stats` / `precpu_stats`; zeros without a sample, as dockerd's first `precpu_stats`.
fn cpu_json(s: Option<&StatsSample>) -> Value {
    let zero = json!({
        "cpu_usage": {"total_usage": 0, "usage_in_kernelmode": 0, "usage_in_usermode": 0},
        "throttling_data": {"periods": 0, "throttled_periods": 0, "throttled_time": 0},
    });
    let Some((s, cg)) = s.and_then(|s| s.cgroup.as_ref().map(|cg| (s, cg))) else {
        return zero;
    };
    let cpu = cg.cpu.clone().unwrap_or_default();
    let mut usage = json!({
        "total_usage": cpu.usage.total,
        "usage_in_kernelmode": cpu.usage.kernel,
        "usage_in_usermode": cpu.usage.user,
    });
    // cgroup v2 has no per-CPU numbers; dockerd leaves the field out there.
    if !cpu.usage.percpu.is_empty() {
        usage["percpu_usage"] = json!(cpu.usage.percpu);
    }
    let t = cpu.throttling.unwrap_or_default();
    json!({
        "cpu_usage": usage,
        "system_cpu_usage": s.system_cpu_usage,
        "online_cpus": s.online_cpus,
        "throttling_data": {
            "periods": t.periods,
            "throttled_periods": t.throttled_periods,
            "throttled_time": t.throttled_time,
        },
    })
}

/// Docker's stats JSON for `s`, with `pre` as the previous sample.
fn stats_json(c: &Container, s: &StatsSample, pre: Option<&StatsSample>) -> Value {
    let mut v = json!({
        "name": format!("/{}", c.name),
        "id": c.id,
        "read": ZERO_TIME,
        "preread": pre.filter(|p| p.cgroup.is_some()).map_or(ZERO_TIME.to_string(), |p| rfc3339(p.read)),
        "pids_stats": {},
        "blkio_stats": {
            "io_service_bytes_recursive": null, "io_serviced_recursive": null,
            "io_queue_recursive": null, "io_service_time_recursive": null,
            "io_wait_time_recursive": null, "io_merged_recursive": null,
            "io_time_recursive": null, "sectors_recursive": null,
        },
        "num_procs": 0,
        "storage_stats": {},
        "cpu_stats": cpu_json(Some(s)),
        "precpu_stats": cpu_json(pre),
        "memory_stats": {},
    });
    let Some(cg) = &s.cgroup else {
        return v;
    };
    v["read"] = json!(rfc3339(s.read));
    if !s.networks.is_empty() {
        v["networks"] = crate::networks::stats_json(&s.networks);
    }
    if let Some(p) = &cg.pids {
        v["pids_stats"] = if p.limit > 0 {
            json!({"current": p.current, "limit": p.limit})
        } else {
            json!({"current": p.current})
        };
    }
    if let Some(b) = &cg.blkio {
        let entries = |list: &[berth_engine::containers::BlkioEntry]| -> Value {
            if list.is_empty() {
                Value::Null
            } else {
                json!(list
                    .iter()
                    .map(|e| json!({"major": e.major, "minor": e.minor, "op": e.op, "value": e.value}))
                    .collect::<Vec<_>>())
            }
        };
        v["blkio_stats"]["io_service_bytes_recursive"] = entries(&b.io_service_bytes_recursive);
        v["blkio_stats"]["io_serviced_recursive"] = entries(&b.io_serviced_recursive);
    }
    if let Some(m) = &cg.memory {
        // An unlimited container reports the host's memory as its limit, as dockerd.
        let limit = if s.host_memory > 0 {
            m.usage.limit.min(s.host_memory)
        } else {
            m.usage.limit
        };
        v["memory_stats"] = if s.cgroup_v2 {
            json!({"usage": m.usage.usage, "stats": m.raw, "limit": limit})
        } else {
            json!({
                "usage": m.usage.usage,
                "max_usage": m.usage.max,
                "stats": m.raw,
                "failcnt": m.usage.failcnt,
                "limit": limit,
            })
        };
    }
    v
}

fn json_line(v: &Value) -> Bytes {
    let mut bytes = serde_json::to_vec(v).unwrap_or_default();
    bytes.push(b'\n');
    Bytes::from(bytes)
}

/// `GET /containers/{id}/stats`: a sample per second while `stream` (the default), else one
/// object; without `one-shot` that one waits a second so `precpu_stats` is filled and the CLI
/// can compute a CPU percentage.
pub async fn stats(
    State(engine): State<Engine>,
    Path(id): Path<String>,
    Query(q): Query<StatsQuery>,
) -> ApiResult<Response> {
    let stream = q.stream.as_deref().is_none_or(|s| truthy(Some(s)));
    let one_shot = truthy(q.one_shot.as_deref());
    let (c, first) = engine.container_stats(&id).await?;
    if !stream {
        if one_shot || first.cgroup.is_none() {
            return Ok(Json(stats_json(&c, &first, None)).into_response());
        }
        tokio::time::sleep(STATS_INTERVAL).await;
        let (c, second) = engine.container_stats(&id).await?;
        return Ok(Json(stats_json(&c, &second, Some(&first))).into_response());
    }
    let first_line = json_line(&stats_json(&c, &first, None));
    let running = first.cgroup.is_some();
    let rest = futures_util::stream::unfold(
        (engine, c.id.clone(), first, running),
        |(engine, id, prev, running)| async move {
            if !running {
                return None;
            }
            tokio::time::sleep(STATS_INTERVAL).await;
            let (c, sample) = engine.container_stats(&id).await.ok()?;
            let line = json_line(&stats_json(&c, &sample, Some(&prev)));
            // After a stopped container's zero sample, the stream ends.
            let still = sample.cgroup.is_some();
            Some((Ok::<_, Infallible>(line), (engine, id, sample, still)))
        },
    );
    let body = futures_util::StreamExt::chain(
        futures_util::stream::once(async move { Ok::<_, Infallible>(first_line) }),
        rest,
    );
    Ok((
        [(header::CONTENT_TYPE, "application/json")],
        Body::from_stream(body),
    )
        .into_response())
}
