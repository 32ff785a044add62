//! `/_ping`, `/version`, `/info`, `/events`.

use std::convert::Infallible;

use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use berth_engine::events::Event;
use berth_engine::system::go_arch;
use berth_engine::Engine;
use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::{json, Value};
use tokio_stream::wrappers::BroadcastStream;

use crate::error::{ApiError, ApiResult};
use crate::filters::Filters;
use crate::{API_VERSION, MIN_API_VERSION};

/// `/_ping`'s own headers; the version middleware adds those of every response (API
/// version, OS) that the clients negotiate with.
fn ping_headers() -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert("Builder-Version", HeaderValue::from_static("1"));
    h.insert("Swarm", HeaderValue::from_static("inactive"));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache, no-store, must-revalidate"),
    );
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    h
}

pub async fn ping() -> Response {
    let mut headers = ping_headers();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    (StatusCode::OK, headers, "OK").into_response()
}

pub async fn version(State(engine): State<Engine>) -> ApiResult<Json<Value>> {
    let info = engine.info().await?;
    let arch = go_arch(&info.architecture).to_string();
    let details = json!({
        "ApiVersion": API_VERSION, "MinAPIVersion": MIN_API_VERSION, "Os": "linux", "Arch": arch,
        "KernelVersion": info.kernel_version, "GitCommit": "", "GoVersion": "", "BuildTime": "",
    });
    Ok(Json(json!({
        "Platform": {"Name": "Berth Engine"},
        "Components": [{"Name": "Engine", "Version": info.server_version, "Details": details}],
        "Version": info.server_version,
        "ApiVersion": API_VERSION,
        "MinAPIVersion": MIN_API_VERSION,
        "GitCommit": "",
        "GoVersion": "",
        "Os": "linux",
        "Arch": arch,
        "KernelVersion": info.kernel_version,
        "BuildTime": "",
    })))
}

pub async fn info(State(engine): State<Engine>) -> ApiResult<Json<Value>> {
    let i = engine.info().await?;
    Ok(Json(json!({
        "ID": i.id,
        "Containers": i.containers,
        "ContainersRunning": i.containers_running,
        "ContainersPaused": i.containers_paused,
        "ContainersStopped": i.containers_stopped,
        "Images": i.images,
        "Driver": "overlayfs",
        "DriverStatus": [["Backing Filesystem", "extfs"], ["Supports d_type", "true"]],
        "Plugins": {
            "Volume": ["local"],
            "Network": ["bridge", "host", "none"],
            "Authorization": null,
            "Log": ["json-file"],
        },
        "MemoryLimit": true,
        "SwapLimit": i.cgroup_support.swap_limit,
        "CpuCfsPeriod": true,
        "CpuCfsQuota": true,
        "CPUShares": true,
        "CPUSet": true,
        "PidsLimit": true,
        "OomKillDisable": i.cgroup_version == "1",
        "IPv4Forwarding": true,
        "Debug": false,
        "NFd": 0,
        "NGoroutines": 0,
        "SystemTime": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true),
        "LoggingDriver": "json-file",
        "CgroupDriver": "cgroupfs",
        "CgroupVersion": i.cgroup_version,
        "NEventsListener": 0,
        "KernelVersion": i.kernel_version,
        "OperatingSystem": i.operating_system,
        "OSVersion": "",
        "OSType": i.os_type,
        "Architecture": i.architecture,
        "IndexServerAddress": "https://index.docker.io/v1/",
        "RegistryConfig": {
            "AllowNondistributableArtifactsCIDRs": [],
            "AllowNondistributableArtifactsHostnames": [],
            "InsecureRegistryCIDRs": ["127.0.0.0/8"],
            "IndexConfigs": {},
            "Mirrors": [],
        },
        "NCPU": i.ncpu,
        "MemTotal": i.mem_total,
        "GenericResources": null,
        "DockerRootDir": i.data_root,
        "HttpProxy": "",
        "HttpsProxy": "",
        "NoProxy": "",
        "Name": i.name,
        "Labels": [],
        "ExperimentalBuild": false,
        "ServerVersion": i.server_version,
        "Runtimes": {berth_engine::system::DEFAULT_RUNTIME: {"path": i.runtime}},
        "DefaultRuntime": berth_engine::system::DEFAULT_RUNTIME,
        "Swarm": {
            "NodeID": "", "NodeAddr": "", "LocalNodeState": "inactive", "ControlAvailable": false,
            "Error": "", "RemoteManagers": null,
        },
        "LiveRestoreEnabled": true,
        "Isolation": "",
        "InitBinary": "",
        "ContainerdCommit": {"ID": "", "Expected": ""},
        "RuncCommit": {"ID": "", "Expected": ""},
        "InitCommit": {"ID": "", "Expected": ""},
        "SecurityOptions": ["name=seccomp,profile=builtin", "name=cgroupns"],
        "Warnings": [],
    })))
}

#[derive(Debug, Deserialize)]
pub struct EventsQuery {
    since: Option<String>,
    until: Option<String>,
    filters: Option<String>,
}

/// Docker's time parameters: unix seconds with optional fraction, or RFC 3339.
pub(crate) fn parse_time(value: &str) -> Result<i64, ApiError> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(value) {
        return Ok(t.timestamp_nanos_opt().unwrap_or_default());
    }
    let (secs, frac) = value.split_once('.').unwrap_or((value, ""));
    let secs: i64 = secs
        .parse()
        .map_err(|_| ApiError::BadRequest(format!("invalid timestamp {value:?}")))?;
    let frac = format!("{frac:0<9}");
    let nanos: i64 = frac
        .get(..9)
        .and_then(|f| f.parse().ok())
        .ok_or_else(|| ApiError::BadRequest(format!("invalid timestamp {value:?}")))?;
    Ok(secs * 1_000_000_000 + nanos)
}

/// An event as the API sends it: the current fields plus the pre-1.22 `status`/`id`/`from`
/// that older clients still read.
fn event_json(e: &Event) -> Value {
    let mut v = serde_json::to_value(e).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut v {
        map.insert("status".into(), json!(e.action));
        map.insert("id".into(), json!(e.actor.id));
        if let Some(image) = e.actor.attributes.get("image") {
            map.insert("from".into(), json!(image));
        }
    }
    v
}

/// moby's event filter: every given key must match, whatever the event's type (a `container`
/// filter excludes image events, as with dockerd).
fn matches(filters: &Filters, e: &Event) -> bool {
    let attr = |k: &str| e.actor.attributes.get(k).map(String::as_str);
    let id = Some(e.actor.id.as_str());
    filters.accepts("type", e.kind.as_str())
        && filters.accepts("event", &e.action)
        && filters.accepts_any("container", &[id, attr("name")])
        && filters.accepts_any("image", &[id, attr("image"), attr("name")])
        && filters.accepts_labels(&e.actor.attributes)
}

pub async fn events(
    State(engine): State<Engine>,
    Query(q): Query<EventsQuery>,
) -> ApiResult<Response> {
    let filters = Filters::parse(q.filters.as_deref())?;
    let since = q.since.as_deref().map(parse_time).transpose()?;
    let until = q.until.as_deref().map(parse_time).transpose()?;
    let (past, live) = engine.events().subscribe(Some(since.unwrap_or(i64::MAX)));
    let last_past = past.last().map(|e| e.time_nano);
    let before_until = move |e: &Event| until.is_none_or(|u| e.time_nano <= u);
    let filters_past = filters.clone();
    let past = futures_util::stream::iter(past)
        .filter(move |e| std::future::ready(matches(&filters_past, e)));
    let live = BroadcastStream::new(live)
        // A lagging subscriber skips what it missed rather than ending the stream.
        .filter_map(|r| std::future::ready(r.ok()))
        // The subscription started before the history copy: drop what both delivered.
        .filter(move |e| std::future::ready(last_past.is_none_or(|t| e.time_nano > t)))
        .filter(move |e| std::future::ready(matches(&filters, e)));
    let events = past
        .chain(live)
        .take_while(move |e| std::future::ready(before_until(e)));
    let body = events.map(|e| {
        let mut line = serde_json::to_vec(&event_json(&e)).unwrap_or_default();
        line.push(b'\n');
        Ok::<_, Infallible>(bytes::Bytes::from(line))
    });
    // With `until`, the stream also ends at that time even if no event comes.
    let body = match until {
        Some(u) => {
            let now = chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default();
            let wait = std::time::Duration::from_nanos(u.saturating_sub(now).max(0) as u64);
            Body::from_stream(body.take_until(tokio::time::sleep(wait)))
        }
        None => Body::from_stream(body),
    };
    Ok((
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response())
}
