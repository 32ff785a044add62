//! `POST /build`: the query as dockerd's `newImageBuildOptions` reads it, the body (the context
//! tar) streamed to the engine, and the engine's build events written back as dockerd's
//! classic builder streams them (docs/build.md, "API"): `Step N/M : …`, ` ---> <id>`, the
//! RUN output (stderr in red), `aux` ids, `Successfully built/tagged`, and a failure as the
//! last line's `errorDetail` (with the exit code the CLI exits with). A failure before the
//! first line is a plain HTTP error, as dockerd answers a bad Dockerfile.

use std::collections::BTreeMap;

use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use berth_engine::build::{
    go_html_escape, BuildEvent, BuildNetwork, BuildOptions, RemoveContainers, Reporter,
};
use berth_engine::model::{HostEntry, Rlimit};
use berth_engine::Engine;
use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::{json, Value};
use tokio_util::io::{StreamReader, SyncIoBridge};

use crate::body::DrainOnDrop;
use crate::error::{ApiError, ApiResult};

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct BuildQuery {
    dockerfile: String,
    t: Vec<String>,
    extrahosts: Vec<String>,
    remote: String,
    q: String,
    nocache: String,
    cachefrom: String,
    pull: String,
    rm: Option<String>,
    forcerm: String,
    memory: String,
    memswap: String,
    cpushares: String,
    cpusetcpus: String,
    cpusetmems: String,
    cpuperiod: String,
    cpuquota: String,
    buildargs: String,
    shmsize: String,
    squash: String,
    labels: String,
    networkmode: String,
    platform: String,
    target: String,
    ulimits: String,
    isolation: String,
    securityopt: Vec<String>,
    version: String,
    /// Berth's: JSON array of the ids of the secrets the context carries (docs/build.md).
    secrets: String,
    /// Berth's: JSON object, SSH agent id → socket path on the daemon's host.
    ssh: String,
}

/// dockerd's `httputils.BoolValue`: true unless empty, `0`, `no`, `false` or `none`.
fn bool_value(v: &str) -> bool {
    !matches!(
        v.trim().to_ascii_lowercase().as_str(),
        "" | "0" | "no" | "false" | "none"
    )
}

fn int(name: &str, v: &str) -> ApiResult<Option<i64>> {
    if v.is_empty() {
        return Ok(None);
    }
    v.parse()
        .map(Some)
        .map_err(|_| ApiError::BadRequest(format!("{name}={v}: not an integer")))
}

fn json_param<T: serde::de::DeserializeOwned + Default>(what: &str, v: &str) -> ApiResult<T> {
    if v.is_empty() {
        return Ok(T::default());
    }
    serde_json::from_str(v).map_err(|e| ApiError::BadRequest(format!("error reading {what}: {e}")))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct UlimitJson {
    name: String,
    hard: i64,
    soft: i64,
}

/// The engine's options from the query; what dockerd refuses is refused here, before the
/// body is read.
fn options(q: BuildQuery, headers: &HeaderMap) -> ApiResult<BuildOptions> {
    if !q.remote.is_empty() {
        return Err(ApiError::BadRequest(format!(
            "remote={}: remote build contexts are not supported (Berth builds offline); send \
             the context as the request body",
            q.remote
        )));
    }
    if bool_value(&q.squash) {
        return Err(ApiError::BadRequest(
            "squash is only supported with experimental mode".into(),
        ));
    }
    match q.version.as_str() {
        "" | "1" => {}
        "2" => {
            return Err(ApiError::BadRequest(
                "builder version 2 (BuildKit) is not supported: Berth's builder serves version 1 \
                 (DOCKER_BUILDKIT=0)"
                    .into(),
            ))
        }
        v => return Err(ApiError::BadRequest(format!("invalid version \"{v}\""))),
    }
    if !matches!(q.isolation.as_str(), "" | "default" | "process") {
        return Err(ApiError::BadRequest(format!(
            "Unsupported isolation: \"{}\"",
            q.isolation
        )));
    }
    if !q.securityopt.is_empty() {
        return Err(ApiError::BadRequest(
            "The daemon on this platform does not support setting security options on build".into(),
        ));
    }
    let build_args: BTreeMap<String, Option<String>> = json_param("build args", &q.buildargs)?;
    let labels: BTreeMap<String, String> = json_param("labels", &q.labels)?;
    let cache_from: Vec<String> = json_param("cache-from", &q.cachefrom)?;
    let ulimits: Vec<UlimitJson> = json_param("ulimit settings", &q.ulimits)?;
    let secrets: Vec<String> = json_param("secrets", &q.secrets)?;
    let ssh: BTreeMap<String, std::path::PathBuf> = json_param("ssh", &q.ssh)?;
    if let Some((id, path)) = ssh.iter().find(|(_, p)| !p.is_absolute()) {
        return Err(ApiError::BadRequest(format!(
            "ssh {id}: {} is not an absolute path",
            path.display()
        )));
    }
    let mut extra_hosts = Vec::new();
    for h in q
        .extrahosts
        .iter()
        .flat_map(|h| h.split(','))
        .filter(|h| !h.is_empty())
    {
        let (host, addr) = h.split_once(':').ok_or_else(|| {
            ApiError::BadRequest(format!("invalid extra host {h:?}: not host:ip"))
        })?;
        extra_hosts.push(HostEntry {
            hostname: host.to_string(),
            address: addr.to_string(),
        });
    }
    let shm_size = int("shmsize", &q.shmsize)?;
    if shm_size.is_some_and(|s| s <= 0) {
        return Err(ApiError::BadRequest(
            "shmsize must be greater than 0".into(),
        ));
    }
    let mut opts = BuildOptions {
        dockerfile: q.dockerfile,
        tags: q.t.into_iter().filter(|t| !t.is_empty()).collect(),
        build_args,
        target: Some(q.target).filter(|t| !t.is_empty()),
        no_cache: bool_value(&q.nocache),
        pull: bool_value(&q.pull),
        remove: match (
            q.rm.as_deref().is_none_or(bool_value),
            bool_value(&q.forcerm),
        ) {
            (_, true) => RemoveContainers::Always,
            (true, false) => RemoveContainers::OnSuccess,
            (false, false) => RemoveContainers::Never,
        },
        labels,
        cache_from,
        network: match q.networkmode.as_str() {
            "" | "default" | "bridge" => BuildNetwork::Default,
            "none" => BuildNetwork::None,
            "host" => BuildNetwork::Host,
            other => BuildNetwork::Named(other.to_string()),
        },
        extra_hosts,
        shm_size,
        platform: Some(q.platform).filter(|p| !p.is_empty()),
        credentials: registry_config(headers),
        secrets,
        ssh,
        ..BuildOptions::default()
    };
    opts.memory.limit = int("memory", &q.memory)?.filter(|m| *m != 0);
    opts.memory.swap = int("memswap", &q.memswap)?.filter(|m| *m != 0);
    opts.cpu.shares = int("cpushares", &q.cpushares)?
        .filter(|s| *s > 0)
        .map(i64::unsigned_abs);
    opts.cpu.quota = int("cpuquota", &q.cpuquota)?.filter(|s| *s != 0);
    opts.cpu.period = int("cpuperiod", &q.cpuperiod)?
        .filter(|s| *s > 0)
        .map(i64::unsigned_abs);
    opts.cpu.cpus = Some(q.cpusetcpus).filter(|c| !c.is_empty());
    opts.cpu.mems = Some(q.cpusetmems).filter(|c| !c.is_empty());
    opts.ulimits = ulimits
        .into_iter()
        .map(|u| Rlimit {
            name: u.name,
            soft: u.soft.max(0).unsigned_abs(),
            hard: u.hard.max(0).unsigned_abs(),
        })
        .collect();
    Ok(opts)
}

/// `X-Registry-Config`: base64 (URL alphabet) of registry → AuthConfig; undecodable is no
/// credentials, as dockerd takes it.
fn registry_config(headers: &HeaderMap) -> BTreeMap<String, berth_engine::images::Credentials> {
    use base64::Engine as _;
    let Some(v) = headers
        .get("x-registry-config")
        .and_then(|v| v.to_str().ok())
    else {
        return BTreeMap::new();
    };
    let decoded = base64::engine::general_purpose::URL_SAFE
        .decode(v.trim())
        .or_else(|_| base64::engine::general_purpose::STANDARD.decode(v.trim()));
    decoded
        .ok()
        .and_then(|bytes: Vec<u8>| serde_json::from_slice(&bytes).ok())
        .unwrap_or_default()
}

/// One message as dockerd writes it: Go's JSON (HTML characters escaped), `\r\n`.
fn line(v: &Value) -> bytes::Bytes {
    let mut b = go_html_escape(&serde_json::to_vec(v).unwrap_or_default());
    b.extend_from_slice(b"\r\n");
    b.into()
}

fn stream(text: impl Into<String>) -> Value {
    json!({ "stream": text.into() })
}

/// The lines for one event.
fn event_lines(e: &BuildEvent) -> Vec<Value> {
    let short = |d: &berth_types::Digest| d.hex().chars().take(12).collect::<String>();
    match e {
        BuildEvent::Step {
            number,
            total,
            instruction,
        } => vec![
            stream(format!("Step {number}/{total} : {instruction}")),
            stream("\n"),
        ],
        BuildEvent::UsingCache => vec![stream(" ---> Using cache\n")],
        BuildEvent::Running { container } => vec![stream(format!(
            " ---> Running in {}\n",
            &container[..container.len().min(12)]
        ))],
        BuildEvent::Triggers(n) => vec![
            stream(format!(
                "# Executing {n} build trigger{}",
                if *n == 1 { "" } else { "s" }
            )),
            stream("\n"),
        ],
        BuildEvent::Output { stderr, data } => {
            let text = String::from_utf8_lossy(data);
            vec![stream(if *stderr {
                format!("\u{1b}[91m{text}\u{1b}[0m")
            } else {
                text.into_owned()
            })]
        }
        BuildEvent::Removed { container } => vec![stream(format!(
            "Removing intermediate container {}\n",
            &container[..container.len().min(12)]
        ))],
        BuildEvent::StepDone { image } => vec![stream(format!(" ---> {}\n", short(image)))],
        BuildEvent::StageDone { image } => vec![json!({"aux": {"ID": image.to_string()}})],
        BuildEvent::Pull(p) => crate::distribution::progress_json(p),
        BuildEvent::Warning(w) => vec![stream(format!("[Warning] {w}\n"))],
        BuildEvent::Built { image } => {
            vec![stream(format!("Successfully built {}\n", short(image)))]
        }
        BuildEvent::Tagged { reference } => {
            vec![stream(format!("Successfully tagged {reference}\n"))]
        }
    }
}

fn error_line(e: &berth_engine::Error) -> Value {
    let message = e.to_string();
    let mut detail = json!({ "message": message });
    if let berth_engine::Error::Build(b) = e {
        if let Some(code) = b.code() {
            detail["code"] = json!(code);
        }
    }
    json!({ "errorDetail": detail, "error": message })
}

/// `POST /build`.
pub async fn build(
    State(engine): State<Engine>,
    headers: HeaderMap,
    raw_query: RawQuery,
    body: Body,
) -> ApiResult<Response> {
    let parsed = serde_html_form::from_str(raw_query.0.as_deref().unwrap_or_default())
        .map_err(|e| ApiError::BadRequest(format!("invalid query: {e}")))
        .and_then(|q: BuildQuery| Ok((bool_value(&q.q), options(q, &headers)?)));
    let (quiet, opts) = match parsed {
        Ok(parsed) => parsed,
        Err(e) => {
            // A client still sending the context would get a broken pipe instead of this
            // answer: what it sends is read (and dropped) first.
            drain(body).await;
            return Err(e);
        }
    };
    let reader = DrainOnDrop(SyncIoBridge::new(StreamReader::new(
        body.into_data_stream()
            .map(|r| r.map_err(std::io::Error::other)),
    )));
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let task =
        tokio::spawn(async move { engine.build_image(reader, opts, Reporter::new(tx)).await });
    // Nothing said yet: a failure now is the response's status (a bad Dockerfile is a 400).
    let Some(first) = rx.recv().await else {
        let id = task
            .await
            .map_err(|e| berth_engine::Error::Task(e.to_string()))??;
        return Ok(json_response(Body::from(line(&stream(format!("{id}\n"))))));
    };
    let events =
        futures_util::stream::once(async move { first })
            .chain(futures_util::stream::unfold(rx, |mut rx| async move {
                rx.recv().await.map(|e| (e, rx))
            }));
    if quiet {
        // Everything is held back: on success only the id; on failure all of it and the error.
        let all: Vec<BuildEvent> = events.collect().await;
        let outcome = task
            .await
            .unwrap_or_else(|e| Err(berth_engine::Error::Task(e.to_string())));
        let mut out = Vec::new();
        match outcome {
            Ok(id) => out.extend_from_slice(&line(&stream(format!("{id}\n")))),
            Err(e) => {
                for l in all.iter().flat_map(event_lines) {
                    out.extend_from_slice(&line(&l));
                }
                out.extend_from_slice(&line(&error_line(&e)));
            }
        }
        return Ok(json_response(Body::from(out)));
    }
    let lines = events.flat_map(|e| {
        futures_util::stream::iter(event_lines(&e).iter().map(line).collect::<Vec<_>>())
    });
    let end = futures_util::stream::once(async move {
        match task.await {
            Ok(Ok(_)) => None,
            Ok(Err(e)) => Some(line(&error_line(&e))),
            Err(e) => Some(line(&error_line(&berth_engine::Error::Task(e.to_string())))),
        }
    })
    .filter_map(|l| async move { l });
    Ok(json_response(Body::from_stream(
        lines.chain(end).map(Ok::<_, std::convert::Infallible>),
    )))
}

/// Most of a refused request's body read before answering; a client sending more than this
/// gets its broken pipe.
const DRAIN_LIMIT: usize = 256 << 20;

async fn drain(body: Body) {
    let mut stream = body.into_data_stream();
    let mut read = 0;
    while let Some(Ok(chunk)) = stream.next().await {
        read += chunk.len();
        if read > DRAIN_LIMIT {
            break;
        }
    }
}

fn json_response(body: Body) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
