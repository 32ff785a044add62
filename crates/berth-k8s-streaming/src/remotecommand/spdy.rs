//! remotecommand over SPDY: the client opens one stream per `streamType`; we wait for the set
//! the request implies, then run the command.

use std::time::Duration;

use tokio::io::AsyncWriteExt;

use super::{
    deliver_resizes, pipes, pump_output, Outcome, Protocol, RemoteCommand, ResizeDecoder,
    StreamOptions,
};
use crate::spdy::{RstStatus, Session, Stream};
use crate::StreamingError;

#[derive(Default)]
struct Streams {
    error: Option<Stream>,
    stdin: Option<Stream>,
    stdout: Option<Stream>,
    stderr: Option<Stream>,
    resize: Option<Stream>,
}

impl Streams {
    fn slot(
        &mut self,
        stream_type: &str,
        opts: StreamOptions,
        resize: bool,
    ) -> Option<&mut Option<Stream>> {
        let (slot, wanted) = match stream_type {
            "error" => (&mut self.error, true),
            "stdin" => (&mut self.stdin, opts.stdin),
            "stdout" => (&mut self.stdout, opts.stdout),
            "stderr" => (&mut self.stderr, opts.stderr),
            "resize" => (&mut self.resize, resize),
            _ => return None,
        };
        (wanted && slot.is_none()).then_some(slot)
    }

    fn complete(&self, opts: StreamOptions, resize: bool) -> bool {
        self.error.is_some()
            && (!opts.stdin || self.stdin.is_some())
            && (!opts.stdout || self.stdout.is_some())
            && (!opts.stderr || self.stderr.is_some())
            && (!resize || self.resize.is_some())
    }
}

/// Serves one exec or attach on an established session, then closes it.
pub(crate) async fn serve<C: RemoteCommand>(
    session: Session,
    protocol: Protocol,
    opts: StreamOptions,
    command: C,
    stream_timeout: Duration,
) -> Result<(), StreamingError> {
    let closer = session.closer();
    let result = run(session, protocol, opts, command, stream_timeout).await;
    closer.close().await;
    result
}

async fn run<C: RemoteCommand>(
    mut session: Session,
    protocol: Protocol,
    opts: StreamOptions,
    command: C,
    stream_timeout: Duration,
) -> Result<(), StreamingError> {
    let opts = opts.normalized();
    let resize = opts.tty && protocol.supports_resize();
    let mut streams = Streams::default();
    let deadline = tokio::time::sleep(stream_timeout);
    tokio::pin!(deadline);
    while !streams.complete(opts, resize) {
        let stream = tokio::select! {
            stream = session.accept() => stream.ok_or(StreamingError::ClientGone)?,
            () = &mut deadline => return Err(StreamingError::StreamsTimeout(stream_timeout)),
        };
        let stream_type = stream
            .headers()
            .get("streamtype")
            .unwrap_or_default()
            .to_owned();
        match streams.slot(&stream_type, opts, resize) {
            Some(slot) => *slot = Some(stream),
            None => refuse(stream, &stream_type).await,
        }
    }
    // Later streams are not part of the protocol; refusing them keeps the session's queue
    // from filling.
    let refuser = tokio::spawn(async move {
        while let Some(stream) = session.accept().await {
            let stream_type = stream
                .headers()
                .get("streamtype")
                .unwrap_or_default()
                .to_owned();
            refuse(stream, &stream_type).await;
        }
    });

    let (io, pipes) = pipes(opts, resize);
    let mut helpers = Vec::new();
    let mut finals = Vec::new();
    if let (Some(stream), Some(mut pipe)) = (streams.stdin, pipes.stdin) {
        let (mut reader, writer) = stream.split();
        finals.push(writer);
        helpers.push(tokio::spawn(async move {
            while let Ok(Some(chunk)) = reader.read().await {
                if pipe.write_all(&chunk).await.is_err() {
                    break;
                }
            }
            let _ = pipe.shutdown().await;
        }));
    }
    if let (Some(stream), Some(tx)) = (streams.resize, pipes.resize) {
        let (mut reader, writer) = stream.split();
        finals.push(writer);
        helpers.push(tokio::spawn(async move {
            let mut decoder = ResizeDecoder::default();
            while let Ok(Some(chunk)) = reader.read().await {
                match decoder.push(&chunk) {
                    Ok(sizes) => deliver_resizes(&tx, sizes),
                    Err(e) => {
                        tracing::debug!("ignoring the resize stream: {e}");
                        break;
                    }
                }
            }
        }));
    }
    let mut outputs = Vec::new();
    for (stream, pipe) in [
        (streams.stdout, pipes.stdout),
        (streams.stderr, pipes.stderr),
    ] {
        if let (Some(stream), Some(pipe)) = (stream, pipe) {
            let (_, writer) = stream.split();
            let writer = std::sync::Arc::new(writer);
            let closer = writer.clone();
            outputs.push(pump_output(
                pipe,
                move |chunk| {
                    let writer = writer.clone();
                    async move { writer.write(chunk).await.is_ok() }
                },
                move || async move {
                    let _ = closer.close().await;
                },
            ));
        }
    }

    let outcome = command.run(io).await;
    for output in outputs {
        let _ = output.await;
    }
    if let Some(error) = streams.error {
        let (_, writer) = error.split();
        let payload = protocol.status(&outcome);
        if !payload.is_empty() {
            writer.write(payload.into()).await?;
        }
        writer.close().await?;
    }
    for writer in finals {
        let _ = writer.close().await;
    }
    for helper in helpers {
        helper.abort();
    }
    refuser.abort();
    if let Outcome::Failed(message) = &outcome {
        tracing::debug!("remote command failed: {message}");
    }
    Ok(())
}

async fn refuse(stream: Stream, stream_type: &str) {
    tracing::debug!(
        "refusing SPDY stream {} of type {stream_type:?}: not expected",
        stream.id()
    );
    let (_, writer) = stream.split();
    let _ = writer.reset(RstStatus::RefusedStream).await;
}
