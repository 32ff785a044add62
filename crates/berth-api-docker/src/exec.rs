//! `/containers/{id}/exec` and `/exec/...`: create, start (HTTP upgrade unless detached),
//! inspect, resize.

use axum::extract::{Path, Query, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use berth_engine::containers::{ExecConfig, ExecStartOptions};
use berth_engine::Engine;
use hyper_util::rt::TokioIo;
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::io::AsyncWriteExt;

use crate::error::{ApiError, ApiResult};
use crate::stream::frame;

/// Docker's `ExecConfig` body.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct CreateBody {
    user: Option<String>,
    privileged: bool,
    tty: bool,
    attach_stdin: bool,
    attach_stdout: bool,
    attach_stderr: bool,
    env: Option<Vec<String>>,
    working_dir: Option<String>,
    cmd: Option<Vec<String>>,
    detach_keys: Option<String>,
}

pub async fn create(
    State(engine): State<Engine>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> ApiResult<Response> {
    let b: CreateBody = crate::json::from_slice(&body)
        .map_err(|e| ApiError::BadRequest(format!("invalid exec config: {e}")))?;
    let detach_keys = b.detach_keys.unwrap_or_default();
    // Refused here, as dockerd does, rather than when the session starts.
    crate::containers::detach_keys(Some(&detach_keys))?;
    let exec_id = engine
        .create_exec(
            &id,
            ExecConfig {
                cmd: b.cmd.unwrap_or_default(),
                env: b.env.unwrap_or_default(),
                user: b.user.unwrap_or_default(),
                working_dir: b.working_dir.unwrap_or_default(),
                tty: b.tty,
                attach_stdin: b.attach_stdin,
                attach_stdout: b.attach_stdout,
                attach_stderr: b.attach_stderr,
                privileged: b.privileged,
                detach_keys,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(json!({"Id": exec_id}))).into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct StartBody {
    detach: bool,
    /// The client's framing: raw when set, whatever the exec's process has (dockerd's rule).
    tty: bool,
    /// `[rows, cols]`.
    console_size: Option<Vec<u16>>,
}

/// `POST /exec/{id}/start`: detached, starts and answers 200; attached, switches to a raw
/// stream and starts the process once the stream is there, so no output is lost.
pub async fn start(
    State(engine): State<Engine>,
    Path(id): Path<String>,
    mut req: Request,
) -> ApiResult<Response> {
    let body = axum::body::to_bytes(std::mem::take(req.body_mut()), 1 << 20)
        .await
        .map_err(|e| ApiError::BadRequest(format!("read body: {e}")))?;
    let b: StartBody = crate::json::from_slice(&body)
        .map_err(|e| ApiError::BadRequest(format!("invalid exec start config: {e}")))?;
    let console_size = match b.console_size.as_deref() {
        Some([rows, cols]) => Some((*rows, *cols)),
        _ => None,
    };
    let opts = ExecStartOptions {
        detach: b.detach,
        console_size,
    };
    let exec = engine.exec_inspect(&id)?;
    if exec.state.started {
        return Err(berth_engine::Error::ExecStarted(id).into());
    }
    if b.detach {
        engine.start_exec(&id, opts).await?;
        return Ok(StatusCode::OK.into_response());
    }
    let tty = exec.config.tty;
    let raw = b.tty;
    // Terminal sessions only, as for attach.
    let keys = if tty {
        crate::containers::detach_keys(Some(&exec.config.detach_keys))?
    } else {
        Vec::new()
    };
    let (want_stdout, want_stderr) = (exec.config.attach_stdout, exec.config.attach_stderr);
    let upgrade = hyper::upgrade::on(&mut req);
    let resp = crate::containers::upgraded_stream(&req, raw);
    tokio::spawn(async move {
        let Ok(upgraded) = upgrade.await else { return };
        let mut client = TokioIo::new(upgraded);
        match engine.start_exec(&id, opts).await {
            Ok(Some(attached)) => {
                let wait = async {
                    let _ = engine.wait_exec(&id).await;
                };
                crate::containers::splice(
                    client,
                    attached,
                    raw,
                    want_stdout,
                    want_stderr,
                    keys,
                    wait,
                )
                .await;
            }
            Ok(None) => {
                let _ = client.shutdown().await;
            }
            Err(e) => {
                // As dockerd: the stream is already promised, so the error goes into it; the
                // CLI prints it and then inspects the exit code (126).
                let text = format!("{e}\r\n");
                let bytes = if raw {
                    text.into_bytes()
                } else {
                    frame(1, text.as_bytes())
                };
                let _ = client.write_all(&bytes).await;
                let _ = client.shutdown().await;
            }
        }
    });
    Ok(resp)
}

pub async fn inspect(
    State(engine): State<Engine>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let e = engine.exec_inspect(&id)?;
    let (entrypoint, arguments) = match e.config.cmd.split_first() {
        Some((first, rest)) => (first.clone(), rest.to_vec()),
        None => (String::new(), Vec::new()),
    };
    Ok(Json(json!({
        "ID": e.id,
        "Running": e.state.running,
        "ExitCode": e.state.exit_code,
        "ProcessConfig": {
            "tty": e.config.tty,
            "entrypoint": entrypoint,
            "arguments": arguments,
            "privileged": e.config.privileged,
            "user": e.config.user,
        },
        "OpenStdin": e.config.attach_stdin,
        "OpenStderr": e.config.attach_stderr,
        "OpenStdout": e.config.attach_stdout,
        "CanRemove": false,
        "ContainerID": e.container_id,
        "DetachKeys": e.config.detach_keys,
        "Pid": e.state.pid,
    })))
}

pub async fn resize(
    State(engine): State<Engine>,
    Path(id): Path<String>,
    Query(q): Query<crate::containers::ResizeQuery>,
) -> ApiResult<StatusCode> {
    engine.resize_exec(&id, q.rows(), q.cols()).await?;
    Ok(StatusCode::OK)
}
