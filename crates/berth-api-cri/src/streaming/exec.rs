//! Exec's backend: an engine exec with the client's streams, terminal sizes and exit code;
//! and the relay between an attach connection and the client's streams, which attach shares.

use std::future::Future;

use berth_engine::containers::{AttachStream, ExecConfig, OutputKind, OutputReader};
use berth_engine::Engine;
use berth_k8s_streaming::{CommandIo, Outcome, RemoteCommand, TerminalSize};
use tokio::io::AsyncWriteExt;

pub(super) struct Exec {
    pub(super) engine: Engine,
    pub(super) container_id: String,
    pub(super) cmd: Vec<String>,
}

impl RemoteCommand for Exec {
    async fn run(self, mut io: CommandIo) -> Outcome {
        // A size that came with the streams is the terminal's from the start: a program that
        // reads it at once (a shell, an editor) never sees 0x0.
        let console_size = io
            .resize
            .as_mut()
            .and_then(|rx| rx.try_recv().ok())
            .map(|size| (size.height, size.width));
        let config = ExecConfig {
            cmd: self.cmd,
            tty: io.tty,
            attach_stdin: io.stdin.is_some(),
            attach_stdout: io.stdout.is_some(),
            attach_stderr: io.stderr.is_some(),
            ..ExecConfig::default()
        };
        let (handle, attached) = match self
            .engine
            .exec_attached(&self.container_id, config, console_size)
            .await
        {
            Ok(started) => started,
            Err(e) => return Outcome::Failed(e.to_string()),
        };
        let resizer = &handle;
        relay(attached, io, move |size| async move {
            if let Err(e) = resizer.resize(size.height, size.width).await {
                tracing::debug!(exec = resizer.id(), "resize: {e}");
            }
        })
        .await;
        match handle.wait().await {
            Ok(code) => Outcome::Exited(code),
            Err(e) => Outcome::Failed(e.to_string()),
        }
    }
}

/// Relays an attach connection and the client's streams until the process's output ends:
/// stdin to the process (its end closes the process's stdin), the output to stdout and stderr
/// (a stream the client did not ask for, or left, is read and dropped, so the process never
/// blocks on it), terminal sizes to `resize`. The client's output streams are closed on
/// return.
pub(super) async fn relay<F, Fut>(attached: AttachStream, mut io: CommandIo, resize: F)
where
    F: Fn(TerminalSize) -> Fut,
    Fut: Future<Output = ()>,
{
    let (read, mut write) = attached.stream.into_split();
    let mut reader = OutputReader::new(read, attached.tty);
    let mut stdout = io.stdout.take();
    let mut stderr = io.stderr.take();
    let output = async {
        loop {
            let (kind, data) = match reader.next().await {
                Ok(Some(chunk)) => chunk,
                Ok(None) => break,
                Err(e) => {
                    tracing::debug!("attach stream: {e}");
                    break;
                }
            };
            let sink = match kind {
                OutputKind::Stdout => &mut stdout,
                OutputKind::Stderr => &mut stderr,
            };
            if let Some(pipe) = sink {
                if pipe.write_all(&data).await.is_err() {
                    *sink = None;
                }
            }
        }
    };
    let stdin = async {
        if let Some(mut input) = io.stdin.take() {
            let _ = tokio::io::copy(&mut input, &mut write).await;
            let _ = write.shutdown().await;
        }
        // Owning `write` until the output ends: without stdin the connection stays whole.
        std::future::pending::<()>().await
    };
    let resizes = async {
        if let Some(mut sizes) = io.resize.take() {
            while let Some(size) = sizes.recv().await {
                resize(size).await;
            }
        }
        std::future::pending::<()>().await
    };
    tokio::select! {
        () = output => {}
        () = stdin => {}
        () = resizes => {}
    }
}
