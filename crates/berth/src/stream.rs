//! Attached I/O for `run`, `start -a`, `attach` and `exec`: copies the API's output frames to
//! stdout/stderr and stdin to the container, watches for the detach keys, forwards window
//! resizes and (for non-TTY sessions) proxies signals to the container.

use std::io::Write;
use std::pin::Pin;

use anyhow::Result;
use bollard::container::LogOutput;
use bollard::query_parameters::{
    KillContainerOptions, ResizeContainerTTYOptions, ResizeExecOptions,
};
use futures_util::{Stream, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::signal::unix::{signal, SignalKind};

use crate::client::Client;
use crate::tty::{self, DetachFilter, Filtered};

pub type Output = Pin<Box<dyn Stream<Item = Result<LogOutput, bollard::errors::Error>> + Send>>;
pub type Input = Pin<Box<dyn AsyncWrite + Send>>;

/// How an attached session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// The container's (or exec's) output closed: it exited.
    OutputClosed,
    /// The user typed the detach sequence.
    Detached,
}

/// Writes one frame where docker would: stderr frames to stderr, the rest to stdout.
fn write_frame(frame: LogOutput) {
    match frame {
        LogOutput::StdErr { message } => {
            let mut err = std::io::stderr().lock();
            let _ = err.write_all(&message);
            let _ = err.flush();
        }
        LogOutput::StdOut { message } | LogOutput::Console { message } => {
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(&message);
            let _ = out.flush();
        }
        LogOutput::StdIn { .. } => {}
    }
}

/// Copies output to the terminal until it ends; returns the stream's error, if any.
pub async fn copy_output(mut output: Output) -> Result<()> {
    while let Some(frame) = output.next().await {
        write_frame(frame?);
    }
    Ok(())
}

/// Runs an attached session. `stdin` is `Some` when the user's stdin is attached; `detach_keys`
/// (TTY sessions) are filtered out of it and end the session.
pub async fn session(
    output: Output,
    stdin: Option<Input>,
    detach_keys: Option<Vec<u8>>,
) -> Result<Ended> {
    let (detach_tx, mut detach_rx) = tokio::sync::oneshot::channel::<()>();
    let input_task = stdin.map(|mut input| {
        tokio::spawn(async move {
            let mut filter = detach_keys.map(DetachFilter::new);
            let mut stdin = tokio::io::stdin();
            let mut buf = vec![0u8; 32 * 1024];
            loop {
                let n = match stdin.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                let (bytes, detach) = match filter.as_mut().map(|f| f.feed(&buf[..n])) {
                    None => (buf[..n].to_vec(), false),
                    Some(Filtered::Forward(b)) => (b, false),
                    Some(Filtered::Detach(b)) => (b, true),
                };
                if !bytes.is_empty()
                    && (input.write_all(&bytes).await.is_err() || input.flush().await.is_err())
                {
                    return;
                }
                if detach {
                    let _ = detach_tx.send(());
                    return;
                }
            }
            // End of our stdin: pass the EOF on (the container's stdin closes if StdinOnce).
            let _ = input.shutdown().await;
            // Keep the sender alive so the session does not read this as a detach.
            std::future::pending::<()>().await;
        })
    });
    let ended = tokio::select! {
        r = copy_output(output) => { r?; Ended::OutputClosed }
        Ok(()) = &mut detach_rx => Ended::Detached,
    };
    if let Some(t) = input_task {
        t.abort();
    }
    Ok(ended)
}

/// What a resize applies to.
#[derive(Debug, Clone)]
pub enum ResizeTarget {
    Container(String),
    Exec(String),
}

async fn resize_once(client: &Client, target: &ResizeTarget) {
    let Some((h, w)) = tty::size(libc::STDIN_FILENO).or_else(|| tty::size(libc::STDOUT_FILENO))
    else {
        return;
    };
    let (h, w) = (i32::from(h), i32::from(w));
    // A failed resize (the process just exited) is not worth reporting.
    let _ = match target {
        ResizeTarget::Container(id) => {
            client
                .api
                .resize_container_tty(id, ResizeContainerTTYOptions { h, w })
                .await
        }
        ResizeTarget::Exec(id) => client.api.resize_exec(id, ResizeExecOptions { h, w }).await,
    };
}

/// Sends the current window size now and again on every SIGWINCH, until aborted.
pub fn forward_resizes(client: Client, target: ResizeTarget) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        resize_once(&client, &target).await;
        let Ok(mut winch) = signal(SignalKind::window_change()) else {
            return;
        };
        while winch.recv().await.is_some() {
            resize_once(&client, &target).await;
        }
    })
}

/// Signals the CLI passes on to the container (`--sig-proxy`), as docker's ForwardAllSignals
/// does for the ones a terminal user sends.
const PROXIED: [(i32, &str); 6] = [
    (libc::SIGINT, "SIGINT"),
    (libc::SIGTERM, "SIGTERM"),
    (libc::SIGHUP, "SIGHUP"),
    (libc::SIGQUIT, "SIGQUIT"),
    (libc::SIGUSR1, "SIGUSR1"),
    (libc::SIGUSR2, "SIGUSR2"),
];

/// Proxies signals received by `berth` to the container until aborted. The handlers are
/// installed before this returns, so a signal right after the container starts is not lost
/// (nor fatal to berth).
pub fn proxy_signals(client: Client, container: String) -> tokio::task::JoinHandle<()> {
    let streams: Vec<_> = PROXIED
        .iter()
        .filter_map(|(signo, name)| Some((signal(SignalKind::from_raw(*signo)).ok()?, *name)))
        .collect();
    tokio::spawn(async move {
        let mut tasks = tokio::task::JoinSet::new();
        for (mut stream, name) in streams {
            let client = client.clone();
            let container = container.clone();
            tasks.spawn(async move {
                while stream.recv().await.is_some() {
                    let opts = KillContainerOptions {
                        signal: name.to_string(),
                    };
                    let _ = client.api.kill_container(&container, Some(opts)).await;
                }
            });
        }
        // Dropping the set (when this task is aborted) aborts the forwarders.
        while tasks.join_next().await.is_some() {}
    })
}
