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

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
    use tokio::net::UnixStream;
    use tokio::sync::mpsc;

    use super::*;

    fn frame(stream: u8, data: &[u8]) -> Vec<u8> {
        let len = u32::try_from(data.len()).unwrap_or(u32::MAX);
        [&[stream, 0, 0, 0][..], &len.to_be_bytes(), data].concat()
    }

    async fn read_all(mut pipe: DuplexStream) -> Vec<u8> {
        let mut all = Vec::new();
        let _ = pipe.read_to_end(&mut all).await;
        all
    }

    /// The shim's side: reads stdin to its end, answers it on stdout and a line on stderr.
    async fn fake_shim(mut shim: UnixStream) {
        let mut input = Vec::new();
        let _ = shim.read_to_end(&mut input).await;
        let _ = shim.write_all(&frame(1, &input)).await;
        let _ = shim.write_all(&frame(2, b"err\n")).await;
    }

    #[tokio::test]
    async fn relay_passes_stdin_splits_outputs_and_resizes() {
        let (ours, shim) = UnixStream::pair().unwrap_or_else(|e| panic!("{e}"));
        let shim = tokio::spawn(fake_shim(shim));
        let (stdin, mut client_stdin) = tokio::io::duplex(64);
        let (stdout, client_stdout) = tokio::io::duplex(64);
        let (stderr, client_stderr) = tokio::io::duplex(64);
        let (sizes, resize) = mpsc::channel(4);
        let io = CommandIo {
            stdin: Some(stdin),
            stdout: Some(stdout),
            stderr: Some(stderr),
            tty: false,
            resize: Some(resize),
        };
        let attached = AttachStream {
            stream: ours,
            tty: false,
            stdin_once: true,
        };
        let size = TerminalSize {
            width: 80,
            height: 24,
        };
        sizes.send(size).await.unwrap_or_else(|e| panic!("{e}"));
        client_stdin
            .write_all(b"hello")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        drop(client_stdin);
        let seen = Mutex::new(Vec::new());
        let relay = relay(attached, io, |size| {
            seen.lock().unwrap_or_else(|p| p.into_inner()).push(size);
            async {}
        });
        let (_, out, err) = tokio::join!(relay, read_all(client_stdout), read_all(client_stderr));
        assert_eq!(out, b"hello");
        assert_eq!(err, b"err\n");
        assert_eq!(*seen.lock().unwrap_or_else(|p| p.into_inner()), vec![size]);
        shim.await.unwrap_or_else(|e| panic!("{e}"));
    }

    #[tokio::test]
    async fn outputs_the_client_did_not_ask_for_are_drained() {
        let (ours, shim) = UnixStream::pair().unwrap_or_else(|e| panic!("{e}"));
        let big = vec![b'x'; 1 << 20];
        let writer = tokio::spawn(async move {
            let mut shim = shim;
            let _ = shim.write_all(&frame(2, &big)).await;
            let _ = shim.write_all(&frame(1, b"end")).await;
        });
        let (stdout, client_stdout) = tokio::io::duplex(64);
        let io = CommandIo {
            stdin: None,
            stdout: Some(stdout),
            stderr: None,
            tty: false,
            resize: None,
        };
        let attached = AttachStream {
            stream: ours,
            tty: false,
            stdin_once: false,
        };
        let relay = relay(attached, io, |_| async {});
        let (_, out) = tokio::join!(relay, read_all(client_stdout));
        assert_eq!(out, b"end");
        writer.await.unwrap_or_else(|e| panic!("{e}"));
    }
}
