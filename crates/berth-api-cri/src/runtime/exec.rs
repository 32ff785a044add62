//! ExecSync (a command run to completion, its output in the answer) and Exec (a URL on the
//! streaming server), as containerd's `container_execsync.go` and `container_exec.go`.

use std::time::Duration;

use berth_engine::containers::{ExecSyncExit, Status as ContainerStatus};
use berth_k8s_streaming::StreamOptions;
use tonic::{Request, Response, Status};

use super::Runtime;
use crate::error::{self, RequestError};
use crate::proto::{ContainerState, ExecRequest, ExecResponse, ExecSyncRequest, ExecSyncResponse};
use crate::streaming::{Pending, StreamServer};

/// Each of ExecSync's outputs is truncated here (containerd's `maxStreamSize`): beyond it the
/// answer would pass the kubelet's gRPC message limit.
const MAX_STREAM_SIZE: usize = 16 << 20;

pub(super) async fn exec_sync(
    rt: &Runtime,
    request: Request<ExecSyncRequest>,
) -> Result<Response<ExecSyncResponse>, Status> {
    let r = request.into_inner();
    let id = running_container(rt, &r.container_id).await?;
    if r.cmd.is_empty() {
        return Err(RequestError::Missing("ExecSync", "cmd").into());
    }
    let timeout = match u64::try_from(r.timeout) {
        Ok(0) => None,
        Ok(secs) => Some(Duration::from_secs(secs)),
        Err(_) => return Err(RequestError::Negative("timeout").into()),
    };
    let failed = |e: berth_engine::Error| {
        Status::new(
            error::code_of(e.kind()),
            format!("failed to exec in container: {e}"),
        )
    };
    let out = rt
        .engine
        .exec_sync(&id, r.cmd, timeout, MAX_STREAM_SIZE)
        .await
        .map_err(failed)?;
    match out.exit {
        ExecSyncExit::Exited(exit_code) => Ok(Response::new(ExecSyncResponse {
            stdout: out.stdout,
            stderr: out.stderr,
            exit_code,
        })),
        // The code the kubelet tells a probe's timeout by (containerd's error wraps the
        // context's DeadlineExceeded); the output so far is dropped, as containerd's is.
        ExecSyncExit::TimedOut(limit) => Err(Status::deadline_exceeded(format!(
            "failed to exec in container: timeout {}s exceeded: context deadline exceeded",
            limit.as_secs()
        ))),
    }
}

pub(super) async fn exec(
    rt: &Runtime,
    request: Request<ExecRequest>,
) -> Result<Response<ExecResponse>, Status> {
    let r = request.into_inner();
    let server = streaming(rt, "Exec")?;
    let container_id = running_container(rt, &r.container_id).await?;
    if r.cmd.is_empty() {
        return Err(RequestError::Missing("Exec", "cmd").into());
    }
    let opts = stream_options("Exec", r.stdin, r.stdout, r.stderr, r.tty)?;
    let url = server
        .url(Pending::Exec {
            container_id,
            cmd: r.cmd,
            opts,
        })
        .map_err(error::token)?;
    Ok(Response::new(ExecResponse { url }))
}

/// The streaming server, or why there is none.
pub(super) fn streaming<'a>(
    rt: &'a Runtime,
    rpc: &'static str,
) -> Result<&'a StreamServer, Status> {
    rt.streaming
        .as_ref()
        .ok_or_else(|| RequestError::StreamingOff(rpc).into())
}

/// The full id of a pod's container that is running: NotFound for none (Docker's containers
/// included), FailedPrecondition naming its state otherwise.
pub(super) async fn running_container(rt: &Runtime, id: &str) -> Result<String, Status> {
    let c = rt.engine.pod_container(id).await.map_err(error::engine)?;
    let status = c.container.state.status;
    if status != ContainerStatus::Running {
        let state = match status {
            ContainerStatus::Created => ContainerState::ContainerCreated,
            ContainerStatus::Exited | ContainerStatus::Dead => ContainerState::ContainerExited,
            _ => ContainerState::ContainerUnknown,
        };
        return Err(RequestError::NotRunning {
            id: c.container.id,
            state: state.as_str_name(),
        }
        .into());
    }
    Ok(c.container.id)
}

/// The streams of an Exec or Attach, checked as the kubelet's streaming server does.
pub(super) fn stream_options(
    rpc: &'static str,
    stdin: bool,
    stdout: bool,
    stderr: bool,
    tty: bool,
) -> Result<StreamOptions, RequestError> {
    if tty && stderr {
        return Err(RequestError::TtyWithStderr(rpc));
    }
    if !(stdin || stdout || stderr) {
        return Err(RequestError::NoStreams(rpc));
    }
    Ok(StreamOptions {
        stdin,
        stdout,
        stderr,
        tty,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_checked_as_the_kubelet_does() {
        assert!(matches!(
            stream_options("Exec", false, true, true, true),
            Err(RequestError::TtyWithStderr("Exec"))
        ));
        assert!(matches!(
            stream_options("Attach", false, false, false, false),
            Err(RequestError::NoStreams("Attach"))
        ));
        let opts = stream_options("Exec", true, false, false, true).expect("stdin and a tty");
        assert!(opts.stdin && opts.tty && !opts.stdout);
    }
}
