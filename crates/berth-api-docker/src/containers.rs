//! `/containers/...`: create, list, inspect, start, stop, restart, kill, pause, wait, remove,
//! logs, attach (HTTP upgrade), resize.

use std::convert::Infallible;

use axum::body::Body;
use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use berth_engine::containers::{
    AttachOptions, Container, CreateRequest, Health, HealthStatus, ListOptions, LogsOptions,
    Status, WaitCondition,
};
use berth_engine::model::NetworkMode;
use berth_engine::spec::CreateOptions;
use berth_engine::Engine;
use bytes::Bytes;
use futures_util::StreamExt;
use hyper_util::rt::TokioIo;
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::error::{ApiError, ApiResult};
use crate::filters::Filters;
use crate::images::truthy;
use crate::stream::{frame, human_duration};

fn rfc3339(t: Option<chrono::DateTime<chrono::Utc>>) -> String {
    t.map_or_else(
        || "0001-01-01T00:00:00Z".to_string(),
        |t| t.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true),
    )
}

/// `docker ps`'s STATUS column.
fn status_text(c: &Container) -> String {
    let now = chrono::Utc::now();
    let since = |t: Option<chrono::DateTime<chrono::Utc>>| human_duration(now - t.unwrap_or(now));
    match c.state.status {
        Status::Created => "Created".into(),
        Status::Running => match &c.state.health {
            Some(h) if h.status == HealthStatus::Starting => {
                format!("Up {} (health: starting)", since(c.state.started_at))
            }
            Some(h) => format!("Up {} ({})", since(c.state.started_at), h.status.as_str()),
            None => format!("Up {}", since(c.state.started_at)),
        },
        Status::Paused => format!("Up {} (Paused)", since(c.state.started_at)),
        Status::Restarting => format!(
            "Restarting ({}) {} ago",
            c.state.exit_code,
            since(c.state.finished_at)
        ),
        Status::Removing => "Removal In Progress".into(),
        Status::Exited => format!(
            "Exited ({}) {} ago",
            c.state.exit_code,
            since(c.state.finished_at)
        ),
        Status::Dead => "Dead".into(),
    }
}

fn command_text(c: &Container) -> String {
    std::iter::once(c.config.path.as_str())
        .chain(c.config.args.iter().map(String::as_str))
        .collect::<Vec<_>>()
        .join(" ")
}

fn network_mode(c: &Container) -> String {
    match &c.config.spec.network.mode {
        NetworkMode::Default => berth_engine::networks::DEFAULT_NETWORK.into(),
        mode => mode.to_string(),
    }
}

pub(crate) fn summary_json(c: &Container) -> Value {
    json!({
        "Id": c.id,
        "Names": [format!("/{}", c.name)],
        "Image": c.config.image_name,
        "ImageID": c.image_id,
        "Command": command_text(c),
        "Created": c.created.timestamp(),
        "Ports": crate::networks::summary_ports(c),
        "Labels": c.config.spec.labels,
        "State": c.state.status.as_str(),
        "Status": status_text(c),
        "HostConfig": {"NetworkMode": network_mode(c)},
        "NetworkSettings": {"Networks": crate::networks::summary_networks(c)},
        "Mounts": c.config.mounts,
    })
}

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    all: Option<String>,
    limit: Option<i64>,
    filters: Option<String>,
    size: Option<String>,
}

pub async fn list(
    State(engine): State<Engine>,
    Query(q): Query<ListQuery>,
) -> ApiResult<Json<Value>> {
    let filters = Filters::parse(q.filters.as_deref())?;
    filters.only(&["status", "label", "name", "id", "ancestor", "exited"])?;
    let values = |k: &str| -> Vec<String> {
        filters
            .values(k)
            .map(|v| v.iter().cloned().collect())
            .unwrap_or_default()
    };
    let exited = values("exited")
        .iter()
        .map(|v: &String| {
            v.parse::<i32>()
                .map_err(|_| ApiError::BadRequest(format!("invalid filter 'exited={v}'")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let opts = ListOptions {
        all: truthy(q.all.as_deref()),
        labels: values("label"),
        statuses: values("status"),
        names: values("name"),
        ids: values("id"),
        ancestors: values("ancestor"),
        exited,
    };
    let mut containers = engine.list_containers(opts).await?;
    if let Some(limit) = q.limit.filter(|l| *l > 0) {
        containers.truncate(limit as usize);
    }
    let mut out = Vec::with_capacity(containers.len());
    for c in &containers {
        let mut v = summary_json(c);
        if truthy(q.size.as_deref()) {
            add_sizes(&engine, &c.id, &mut v).await?;
        }
        out.push(v);
    }
    Ok(Json(Value::Array(out)))
}

/// `SizeRw` and `SizeRootFs`, which `?size=1` asks for (`docker ps -s`, `inspect -s`).
async fn add_sizes(engine: &Engine, id: &str, v: &mut Value) -> ApiResult<()> {
    let size = engine.container_size(id).await?;
    v["SizeRw"] = json!(size.rw);
    v["SizeRootFs"] = json!(size.root_fs);
    Ok(())
}

#[derive(Debug, Deserialize)]
pub struct InspectQuery {
    size: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct CreateQuery {
    name: Option<String>,
}

pub async fn create(
    State(engine): State<Engine>,
    Query(q): Query<CreateQuery>,
    version: Option<axum::Extension<crate::version::RequestedVersion>>,
    body: Bytes,
) -> ApiResult<Response> {
    let mut options: CreateOptions = crate::json::from_slice(&body)
        .map_err(|e| ApiError::BadRequest(format!("invalid container config: {e}")))?;
    if options.image.is_empty() {
        return Err(ApiError::BadRequest("config.Image is required".into()));
    }
    let mac_warning = crate::networks::migrate_mac_address(&mut options, version.map(|v| v.0))?;
    let (id, mut warnings) = engine
        .create_container(CreateRequest {
            name: q.name,
            options,
        })
        .await?;
    warnings.extend(mac_warning.map(str::to_string));
    Ok((
        StatusCode::CREATED,
        Json(json!({"Id": id, "Warnings": warnings})),
    )
        .into_response())
}

pub async fn inspect(
    State(engine): State<Engine>,
    Path(id): Path<String>,
    Query(q): Query<InspectQuery>,
) -> ApiResult<Json<Value>> {
    let c = engine.container(&id).await?;
    let o = c.docker()?;
    let s = &c.state;
    let data = engine.config().data_root.join("containers").join(&c.id);
    let sandbox_key = engine.sandbox_key(&c);
    // dockerd shows legacy links as `/target:/container/alias`, and none on user networks
    // (they are the endpoint's `Links` there).
    let mut host_config = json!(o.host_config);
    let links = engine.legacy_links(&c).await?;
    host_config["Links"] = if links.is_empty() {
        Value::Null
    } else {
        json!(links)
    };
    // Records made before create filled these in.
    if o.host_config.runtime.is_empty() {
        host_config["Runtime"] = json!(berth_engine::system::DEFAULT_RUNTIME);
    }
    if o.host_config.log_config.driver.is_empty() {
        host_config["LogConfig"]["Type"] = json!(berth_engine::system::DEFAULT_LOG_DRIVER);
    }
    let mut v = json!({
        "Id": c.id,
        "Created": rfc3339(Some(c.created)),
        "Path": c.config.path,
        "Args": c.config.args,
        "State": {
            "Status": s.status.as_str(),
            "Running": s.status.is_live() || s.status == Status::Restarting,
            "Paused": s.status == Status::Paused,
            "Restarting": s.status == Status::Restarting,
            "OOMKilled": s.oom_killed,
            "Dead": s.status == Status::Dead,
            "Pid": s.pid,
            "ExitCode": s.exit_code,
            "Error": s.error,
            "StartedAt": rfc3339(s.started_at),
            "FinishedAt": rfc3339(s.finished_at),
            "Health": s.health.as_ref().map(health_json),
        },
        "Image": c.image_id,
        "ResolvConfPath": data.join("resolv.conf"),
        "HostnamePath": data.join("hostname"),
        "HostsPath": data.join("hosts"),
        "LogPath": c.log_path,
        "Name": format!("/{}", c.name),
        "RestartCount": s.restart_count,
        "Driver": "overlayfs",
        "Platform": "linux",
        "MountLabel": "",
        "ProcessLabel": "",
        "AppArmorProfile": "",
        "ExecIDs": exec_ids(&engine, &c.id),
        "HostConfig": host_config,
        "GraphDriver": {"Name": "overlayfs", "Data": null},
        "Mounts": c.config.mounts,
        "Config": {
            "Hostname": c.config.hostname,
            "Domainname": o.domainname,
            "User": o.user,
            "AttachStdin": o.attach_stdin,
            "AttachStdout": o.attach_stdout,
            "AttachStderr": o.attach_stderr,
            "Tty": o.tty,
            "OpenStdin": o.open_stdin,
            "StdinOnce": o.stdin_once,
            "Env": o.env,
            "Cmd": o.cmd,
            "Image": c.config.image_name,
            "Volumes": o.volumes,
            "WorkingDir": o.working_dir,
            "Entrypoint": o.entrypoint,
            "OnBuild": null,
            "Labels": o.labels,
            "StopSignal": o.stop_signal,
            "Healthcheck": o.healthcheck,
            "ExposedPorts": o.exposed_ports,
        },
        "NetworkSettings": crate::networks::settings_json(&c, &sandbox_key),
    });
    // The deprecated container-wide MAC: dockerd shows the main network's requested one there.
    let mode = &o.host_config.network_mode;
    if let Some(ep) = o.networking_config.endpoints_config.get(mode) {
        if !ep.mac_address.is_empty() && !mode.starts_with("container:") {
            v["Config"]["MacAddress"] = json!(ep.mac_address);
        }
    }
    // Shown only when set, as dockerd's `*int` with omitempty.
    if let Some(t) = o.stop_timeout {
        v["Config"]["StopTimeout"] = json!(t);
    }
    if truthy(q.size.as_deref()) {
        add_sizes(&engine, &c.id, &mut v).await?;
    }
    Ok(Json(v))
}

/// `.State.Health` as dockerd shows it.
fn health_json(h: &Health) -> Value {
    json!({
        "Status": h.status.as_str(),
        "FailingStreak": h.failing_streak,
        "Log": h.log.iter().map(|r| json!({
            "Start": rfc3339(Some(r.start)),
            "End": rfc3339(Some(r.end)),
            "ExitCode": r.exit_code,
            "Output": r.output,
        })).collect::<Vec<_>>(),
    })
}

/// Docker shows `null` rather than `[]` when a container has no execs.
fn exec_ids(engine: &Engine, id: &str) -> Value {
    let ids = engine.exec_ids(id);
    if ids.is_empty() {
        Value::Null
    } else {
        json!(ids)
    }
}

fn not_modified() -> Response {
    StatusCode::NOT_MODIFIED.into_response()
}

pub async fn start(State(engine): State<Engine>, Path(id): Path<String>) -> ApiResult<Response> {
    Ok(if engine.start_container(&id).await? {
        StatusCode::NO_CONTENT.into_response()
    } else {
        not_modified()
    })
}

#[derive(Debug, Deserialize)]
pub struct StopQuery {
    t: Option<i64>,
    signal: Option<String>,
}

pub async fn stop(
    State(engine): State<Engine>,
    Path(id): Path<String>,
    Query(q): Query<StopQuery>,
) -> ApiResult<Response> {
    let _ = q.signal;
    Ok(if engine.stop_container(&id, q.t).await? {
        StatusCode::NO_CONTENT.into_response()
    } else {
        not_modified()
    })
}

pub async fn restart(
    State(engine): State<Engine>,
    Path(id): Path<String>,
    Query(q): Query<StopQuery>,
) -> ApiResult<StatusCode> {
    engine.restart_container(&id, q.t).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
pub struct KillQuery {
    signal: Option<String>,
}

pub async fn kill(
    State(engine): State<Engine>,
    Path(id): Path<String>,
    Query(q): Query<KillQuery>,
) -> ApiResult<StatusCode> {
    engine.kill_container(&id, q.signal.as_deref()).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn pause(State(engine): State<Engine>, Path(id): Path<String>) -> ApiResult<StatusCode> {
    engine.pause_container(&id, true).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn unpause(
    State(engine): State<Engine>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    engine.pause_container(&id, false).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
pub struct WaitQuery {
    condition: Option<String>,
}

pub async fn wait(
    State(engine): State<Engine>,
    Path(id): Path<String>,
    Query(q): Query<WaitQuery>,
) -> ApiResult<Response> {
    let condition = match q.condition.as_deref() {
        None | Some("") | Some("not-running") => WaitCondition::NotRunning,
        Some("next-exit") => WaitCondition::NextExit,
        Some("removed") => WaitCondition::Removed,
        Some(other) => {
            return Err(ApiError::BadRequest(format!(
                "invalid condition: {other:?}"
            )))
        }
    };
    // Resolve now so an unknown container is a 404, not a 200 with an error body.
    engine.container(&id).await?;
    // The status line goes out at once (the CLI waits on it before starting the container);
    // the body follows when the condition holds.
    let body = futures_util::stream::once(async move {
        let v = match engine.wait_container(&id, condition).await {
            Ok(s) => {
                let error = (!s.error.is_empty()).then(|| json!({"Message": s.error}));
                json!({"StatusCode": s.exit_code, "Error": error})
            }
            Err(e) => json!({"StatusCode": -1, "Error": {"Message": e.to_string()}}),
        };
        let mut bytes = serde_json::to_vec(&v).unwrap_or_default();
        bytes.push(b'\n');
        Ok::<_, Infallible>(Bytes::from(bytes))
    });
    Ok((
        [(header::CONTENT_TYPE, "application/json")],
        Body::from_stream(body),
    )
        .into_response())
}

#[derive(Debug, Deserialize)]
pub struct RemoveQuery {
    force: Option<String>,
    v: Option<String>,
    link: Option<String>,
}

pub async fn remove(
    State(engine): State<Engine>,
    Path(id): Path<String>,
    Query(q): Query<RemoveQuery>,
) -> ApiResult<StatusCode> {
    if truthy(q.link.as_deref()) {
        engine.remove_link(&id).await?;
        return Ok(StatusCode::NO_CONTENT);
    }
    engine
        .remove_container(&id, truthy(q.force.as_deref()), truthy(q.v.as_deref()))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /containers/{parent}/{alias}?link=1`: a legacy link's name has a `/` in it.
pub async fn remove_link(
    State(engine): State<Engine>,
    Path((parent, alias)): Path<(String, String)>,
    Query(q): Query<RemoveQuery>,
) -> ApiResult<StatusCode> {
    let name = format!("/{parent}/{alias}");
    if !truthy(q.link.as_deref()) {
        return Err(berth_engine::Error::NoSuchContainer(name).into());
    }
    engine.remove_link(&name).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
pub struct LogsQuery {
    stdout: Option<String>,
    stderr: Option<String>,
    follow: Option<String>,
    tail: Option<String>,
    since: Option<String>,
    until: Option<String>,
    timestamps: Option<String>,
}

pub async fn logs(
    State(engine): State<Engine>,
    Path(id): Path<String>,
    Query(q): Query<LogsQuery>,
) -> ApiResult<Response> {
    let c = engine.container(&id).await?;
    let tail = match q.tail.as_deref() {
        None | Some("") | Some("all") => None,
        Some(n) => Some(
            n.parse::<usize>()
                .map_err(|_| ApiError::BadRequest(format!("invalid tail {n:?}")))?,
        ),
    };
    let time = |v: Option<&str>| {
        v.filter(|s| !s.is_empty() && *s != "0")
            .map(crate::system::parse_time)
            .transpose()
    };
    let opts = LogsOptions {
        stdout: truthy(q.stdout.as_deref()),
        stderr: truthy(q.stderr.as_deref()),
        follow: truthy(q.follow.as_deref()),
        tail,
        since: time(q.since.as_deref())?,
        until: time(q.until.as_deref())?,
    };
    if !opts.stdout && !opts.stderr {
        return Err(ApiError::BadRequest(
            "Bad parameters: you must choose at least one stream".into(),
        ));
    }
    let timestamps = truthy(q.timestamps.as_deref());
    let tty = c.config.spec.process.tty;
    let lines = engine.container_logs(&id, opts).await?;
    let body = tokio_stream::wrappers::ReceiverStream::new(lines).map(move |l| {
        let mut payload = Vec::new();
        if timestamps {
            payload.extend(
                l.time
                    .to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
                    .bytes(),
            );
            payload.push(b' ');
        }
        payload.extend(l.bytes);
        let out = if tty {
            payload
        } else {
            frame(if l.stderr { 2 } else { 1 }, &payload)
        };
        Ok::<_, Infallible>(Bytes::from(out))
    });
    let content_type = if tty {
        "application/vnd.docker.raw-stream"
    } else {
        "application/vnd.docker.multiplexed-stream"
    };
    Ok((
        [(header::CONTENT_TYPE, content_type)],
        Body::from_stream(body),
    )
        .into_response())
}

#[derive(Debug, Deserialize)]
pub struct AttachQuery {
    stdin: Option<String>,
    stdout: Option<String>,
    stderr: Option<String>,
    logs: Option<String>,
    stream: Option<String>,
    #[serde(rename = "detachKeys")]
    detach_keys: Option<String>,
}

/// `POST /containers/{id}/attach`: switches the connection to a raw stream (HTTP upgrade) and
/// splices it to the shim's attach socket.
pub async fn attach(
    State(engine): State<Engine>,
    Path(id): Path<String>,
    Query(q): Query<AttachQuery>,
    mut req: Request,
) -> ApiResult<Response> {
    let want_stdout = truthy(q.stdout.as_deref());
    let want_stderr = truthy(q.stderr.as_deref());
    let stdin = truthy(q.stdin.as_deref());
    let keys = detach_keys(q.detach_keys.as_deref())?;
    let c = engine.container(&id).await?;
    // Only a terminal session detaches: piped binary input must reach the container unaltered.
    let keys = if c.config.spec.process.tty && stdin {
        keys
    } else {
        Vec::new()
    };
    let (logs, stream) = (truthy(q.logs.as_deref()), truthy(q.stream.as_deref()));
    // Registered before the 101 goes out: the client starts the container right after it.
    let pending = if stream {
        Some(
            engine
                .attach_container(&id, AttachOptions { stdin })
                .await?,
        )
    } else {
        None
    };
    let upgrade = hyper::upgrade::on(&mut req);
    let raw = c.config.spec.process.tty;
    let resp = upgraded_stream(&req, raw);
    tokio::spawn(async move {
        let attached = match pending {
            Some(p) => Some(p.connect().await),
            None => None,
        };
        // A container that exited (or was removed) before its monitor took the attach (a
        // short one-off attached right after its start) ends the stream after its logs, as in
        // dockerd; the exit is recorded moments after the monitor went away, and the logs are
        // complete then. Any other failure is an error the client should see.
        let exited = match &attached {
            Some(Err(_)) => {
                let wait = engine.wait_container(&c.id, WaitCondition::NotRunning);
                match tokio::time::timeout(EXIT_RECORDED, wait).await {
                    Ok(Ok(now)) => now.exits > c.state.exits,
                    Ok(Err(_)) => true,
                    Err(_) => false,
                }
            }
            _ => false,
        };
        let Ok(upgraded) = upgrade.await else { return };
        let mut client = TokioIo::new(upgraded);
        // `logs`: what the container wrote so far comes first, then (with `stream`) the live
        // output; without `stream` the attach ends there.
        if logs {
            // The Python SDK reads the 101's headers through a buffered reader and then reads
            // the raw socket: body bytes that arrived with the headers are lost to it. Logs are
            // ready at once, so give the client a moment to take the headers alone first.
            tokio::time::sleep(HEADERS_ALONE).await;
            let opts = LogsOptions {
                stdout: want_stdout,
                stderr: want_stderr,
                follow: false,
                tail: None,
                since: None,
                until: None,
            };
            if let Ok(mut lines) = engine.container_logs(&c.id, opts).await {
                while let Some(l) = lines.recv().await {
                    let out = if raw {
                        l.bytes
                    } else {
                        frame(if l.stderr { 2 } else { 1 }, &l.bytes)
                    };
                    if client.write_all(&out).await.is_err() {
                        return;
                    }
                }
            }
        }
        let attached = match attached {
            Some(Ok(a)) => a,
            Some(Err(e)) => {
                if !exited {
                    let _ = client
                        .write_all(&frame(2, format!("Error: {e}\n").as_bytes()))
                        .await;
                }
                let _ = client.shutdown().await;
                return;
            }
            None => {
                let _ = client.shutdown().await;
                return;
            }
        };
        splice(
            client,
            attached,
            raw,
            want_stdout,
            want_stderr,
            keys,
            std::future::ready(()),
        )
        .await;
    });
    Ok(resp)
}

/// How long an attach with `logs` waits after its 101 before writing (see its use).
const HEADERS_ALONE: std::time::Duration = std::time::Duration::from_millis(50);

/// How long an attach whose monitor went away waits for the container's exit to be recorded.
const EXIT_RECORDED: std::time::Duration = std::time::Duration::from_secs(5);

/// The 101 that switches an attach or exec request to a stream: Docker's multiplexed content
/// type for framed output from API 1.42 on, the raw one before and for raw output.
pub(crate) fn upgraded_stream(req: &Request, raw: bool) -> Response {
    let framed_type = req
        .extensions()
        .get::<crate::version::RequestedVersion>()
        .is_none_or(|v| *v >= crate::version::RequestedVersion(1, 42));
    let content_type = if !raw && framed_type {
        "application/vnd.docker.multiplexed-stream"
    } else {
        "application/vnd.docker.raw-stream"
    };
    let mut resp = Response::new(Body::empty());
    *resp.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let h = resp.headers_mut();
    h.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    h.insert(header::UPGRADE, HeaderValue::from_static("tcp"));
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp
}

/// Docker's `detachKeys` (`ctrl-p,ctrl-q`, `ctrl-a`, `a,b`): the byte sequence that detaches a
/// client from a container's stdin. An empty value means the default.
pub(crate) fn detach_keys(spec: Option<&str>) -> Result<Vec<u8>, ApiError> {
    let spec = spec.filter(|s| !s.is_empty()).unwrap_or("ctrl-p,ctrl-q");
    let bad = || ApiError::BadRequest(format!("Invalid detach keys ({spec}) provided"));
    spec.split(',')
        .map(|key| match key.strip_prefix("ctrl-") {
            Some(c) if c.len() == 1 => match c.as_bytes()[0] {
                b @ b'a'..=b'z' => Ok(b - b'a' + 1),
                b'@' => Ok(0),
                b @ (b'[' | b'\\' | b']' | b'^' | b'_') => Ok(b - b'[' + 27),
                _ => Err(bad()),
            },
            None if key.len() == 1 => Ok(key.as_bytes()[0]),
            _ => Err(bad()),
        })
        .collect()
}

/// Copies client bytes to the container's stdin, holding back a possible detach sequence.
/// Returns the stdin half when the client typed `keys`: the connection to the container stays
/// open, so the detach does not look like the end of its input.
async fn forward_input<R>(
    client_r: &mut R,
    shim_w: &mut tokio::net::unix::OwnedWriteHalf,
    keys: &[u8],
) -> bool
where
    R: tokio::io::AsyncRead + Unpin,
{
    let mut buf = [0u8; 4096];
    let mut held = 0usize;
    loop {
        let n = match client_r.read(&mut buf).await {
            Ok(0) | Err(_) => return false,
            Ok(n) => n,
        };
        let mut out = Vec::with_capacity(n);
        for &b in &buf[..n] {
            if keys.get(held) == Some(&b) {
                held += 1;
                if held == keys.len() {
                    let _ = shim_w.write_all(&out).await;
                    return true;
                }
                continue;
            }
            // Not the sequence after all: what was held back is ordinary input.
            out.extend_from_slice(&keys[..held]);
            held = usize::from(keys.first() == Some(&b));
            if held == 0 {
                out.push(b);
            }
        }
        if shim_w.write_all(&out).await.is_err() {
            return false;
        }
    }
}

/// Copies client bytes to the container's stdin and container output (filtered by stream) to
/// the client, until the output ends; then awaits `before_close` (exec: its exit code must be
/// recorded before the client, which inspects it next, sees EOF) and closes the connection.
/// When the client types `detach_keys`, only the client goes: the container keeps its stdin
/// and its output is drained until it exits.
pub(crate) async fn splice<C>(
    client: C,
    attached: berth_engine::containers::AttachStream,
    raw: bool,
    stdout: bool,
    stderr: bool,
    detach_keys: Vec<u8>,
    before_close: impl std::future::Future<Output = ()>,
) where
    C: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (mut client_r, mut client_w) = tokio::io::split(client);
    let (mut shim_r, mut shim_w) = attached.stream.into_split();
    let tty = attached.tty;
    let stdin_once = attached.stdin_once;
    let (detached_tx, detached_rx) = tokio::sync::oneshot::channel();
    let to_container = tokio::spawn(async move {
        if forward_input(&mut client_r, &mut shim_w, &detach_keys).await {
            let _ = detached_tx.send(shim_w);
            return;
        }
        if stdin_once {
            // The client closed its stdin: pass the EOF on.
            let _ = shim_w.shutdown().await;
        } else {
            // Keep the write half open so the shim does not see this client leave early.
            std::future::pending::<()>().await;
        }
    });
    let detached = {
        let forward = forward_output(&mut shim_r, &mut client_w, tty, raw, stdout, stderr);
        tokio::pin!(forward);
        tokio::select! {
            () = &mut forward => None,
            Ok(w) = detached_rx => Some(w),
        }
    };
    if let Some(stdin) = detached {
        let _ = client_w.shutdown().await;
        // Keep reading so the shim never drops this connection as a slow client (which would
        // close stdin); everything ends when the container's output does.
        tokio::spawn(async move {
            let _ = tokio::io::copy(&mut shim_r, &mut tokio::io::sink()).await;
            drop(stdin);
        });
        return;
    }
    before_close.await;
    let _ = client_w.shutdown().await;
    to_container.abort();
}

/// Container output to the client. The shim sends a tty's output raw and other output in
/// Docker's frames; the client gets frames of the wanted streams unless `raw` (an exec started
/// with `Tty`, whatever its process has): dockerd frames by what the start request asks.
async fn forward_output<W>(
    shim_r: &mut tokio::net::unix::OwnedReadHalf,
    client_w: &mut W,
    tty: bool,
    raw: bool,
    stdout: bool,
    stderr: bool,
) where
    W: tokio::io::AsyncWrite + Unpin,
{
    if tty {
        if raw {
            let _ = tokio::io::copy(shim_r, client_w).await;
            return;
        }
        let mut buf = vec![0u8; 32 * 1024];
        loop {
            let n = match shim_r.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            if stdout && client_w.write_all(&frame(1, &buf[..n])).await.is_err() {
                return;
            }
        }
    }
    let mut header = [0u8; 8];
    loop {
        if shim_r.read_exact(&mut header).await.is_err() {
            return;
        }
        let len = u32::from_be_bytes([header[4], header[5], header[6], header[7]]) as usize;
        let mut payload = vec![0u8; len];
        if shim_r.read_exact(&mut payload).await.is_err() {
            return;
        }
        let wanted = match header[0] {
            1 => stdout,
            2 => stderr,
            _ => true,
        };
        let written = if !wanted {
            Ok(())
        } else if raw {
            client_w.write_all(&payload).await
        } else {
            match client_w.write_all(&header).await {
                Ok(()) => client_w.write_all(&payload).await,
                e => e,
            }
        };
        if written.is_err() {
            return;
        }
    }
}

/// `?h=ROWS&w=COLS` of the container and exec resize endpoints.
#[derive(Debug, Deserialize)]
pub struct ResizeQuery {
    h: Option<u16>,
    w: Option<u16>,
}

impl ResizeQuery {
    pub fn rows(&self) -> u16 {
        self.h.unwrap_or(0)
    }

    pub fn cols(&self) -> u16 {
        self.w.unwrap_or(0)
    }
}

pub async fn resize(
    State(engine): State<Engine>,
    Path(id): Path<String>,
    Query(q): Query<ResizeQuery>,
) -> ApiResult<StatusCode> {
    engine.resize_container(&id, q.rows(), q.cols()).await?;
    Ok(StatusCode::OK)
}

#[cfg(test)]
mod tests;
