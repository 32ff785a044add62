//! remotecommand over WebSocket: one channel byte before each message's payload (0 stdin,
//! 1 stdout, 2 stderr, 3 error, 4 resize; in v5, 255 followed by a channel closes it). The
//! base64 variants send text messages: the channel as an ASCII digit, then base64.

use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use super::{
    deliver_resizes, pipes, pump_output, Protocol, RemoteCommand, ResizeDecoder, StreamOptions,
};
use crate::StreamingError;

const STDIN: u8 = 0;
const STDOUT: u8 = 1;
const STDERR: u8 = 2;
const ERROR: u8 = 3;
const RESIZE: u8 = 4;
const CLOSE: u8 = 255;

/// The subprotocols, best first: (name, version, base64). Before v4 the WebSocket protocols
/// had no version of their own; they behave as SPDY's v3 (text errors, resize channel).
pub(crate) const PROTOCOLS: [(&str, Protocol, bool); 5] = [
    ("v5.channel.k8s.io", Protocol::V5, false),
    ("v4.channel.k8s.io", Protocol::V4, false),
    ("v4.base64.channel.k8s.io", Protocol::V4, true),
    ("channel.k8s.io", Protocol::V3, false),
    ("base64.channel.k8s.io", Protocol::V3, true),
];

#[derive(Clone, Copy)]
struct Codec {
    base64: bool,
}

impl Codec {
    fn encode(self, channel: u8, data: &[u8]) -> Message {
        if self.base64 {
            let mut text = String::with_capacity(1 + data.len() * 4 / 3 + 4);
            text.push(char::from(b'0' + channel));
            STANDARD.encode_string(data, &mut text);
            Message::Text(text.into())
        } else {
            let mut bin = Vec::with_capacity(1 + data.len());
            bin.push(channel);
            bin.extend_from_slice(data);
            Message::Binary(bin.into())
        }
    }

    /// The channel and payload of a client message; `None` for what carries no data.
    fn decode(self, message: Message) -> Option<(u8, Bytes)> {
        match message {
            Message::Binary(mut bin) if !self.base64 && !bin.is_empty() => {
                let channel = bin[0];
                Some((channel, bin.split_off(1)))
            }
            Message::Text(text) if self.base64 && !text.is_empty() => {
                let channel = text.as_bytes()[0].wrapping_sub(b'0');
                let payload = STANDARD.decode(&text.as_bytes()[1..]).ok()?;
                Some((channel, payload.into()))
            }
            _ => None,
        }
    }
}

pub(crate) fn normal_close() -> Message {
    Message::Close(Some(CloseFrame {
        code: CloseCode::Normal,
        reason: "".into(),
    }))
}

/// Serves one exec or attach on an upgraded WebSocket, then closes it.
pub(crate) async fn serve<S, C>(
    ws: WebSocketStream<S>,
    protocol: Protocol,
    base64: bool,
    opts: StreamOptions,
    command: C,
    linger: Duration,
) -> Result<(), StreamingError>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    C: RemoteCommand,
{
    let codec = Codec { base64 };
    let opts = opts.normalized();
    let (mut sink, mut source) = ws.split();
    let (out, mut out_rx) = mpsc::channel::<Message>(16);
    let writer = tokio::spawn(async move {
        while let Some(message) = out_rx.recv().await {
            let closing = matches!(message, Message::Close(_));
            sink.send(message).await?;
            if closing {
                break;
            }
        }
        Ok::<(), tokio_tungstenite::tungstenite::Error>(())
    });

    // As the kubelet does: an empty message on the first output channel tells the client the
    // streams are ready.
    let first = if opts.stdout {
        STDOUT
    } else if opts.stderr {
        STDERR
    } else {
        ERROR
    };
    out.send(codec.encode(first, &[]))
        .await
        .map_err(|_| StreamingError::ClientGone)?;

    let (io, pipes) = pipes(opts, true);
    let mut stdin = pipes.stdin;
    let resize = pipes.resize;
    let supports_close = protocol >= Protocol::V5;
    let reader = tokio::spawn(async move {
        let mut decoder = ResizeDecoder::default();
        while let Some(message) = source.next().await {
            let Ok(message) = message else { break };
            if matches!(message, Message::Close(_)) {
                break;
            }
            let Some((channel, payload)) = codec.decode(message) else {
                continue;
            };
            match channel {
                STDIN => {
                    if let Some(pipe) = stdin.as_mut() {
                        if pipe.write_all(&payload).await.is_err() {
                            stdin = None;
                        }
                    }
                }
                RESIZE => {
                    if let Some(tx) = &resize {
                        match decoder.push(&payload) {
                            Ok(sizes) => deliver_resizes(tx, sizes),
                            Err(e) => tracing::debug!("ignoring a resize message: {e}"),
                        }
                    }
                }
                CLOSE if supports_close && payload.first() == Some(&STDIN) => {
                    if let Some(mut pipe) = stdin.take() {
                        let _ = pipe.shutdown().await;
                    }
                }
                other => tracing::debug!("ignoring a message for channel {other}"),
            }
        }
        // The socket ended: so has stdin.
        if let Some(mut pipe) = stdin {
            let _ = pipe.shutdown().await;
        }
    });

    let mut outputs = Vec::new();
    for (channel, pipe) in [(STDOUT, pipes.stdout), (STDERR, pipes.stderr)] {
        if let Some(pipe) = pipe {
            let out = out.clone();
            outputs.push(pump_output(
                pipe,
                move |chunk| {
                    let out = out.clone();
                    async move { out.send(codec.encode(channel, &chunk)).await.is_ok() }
                },
                || async {},
            ));
        }
    }

    let outcome = command.run(io).await;
    for output in outputs {
        let _ = output.await;
    }
    let payload = protocol.status(&outcome);
    if !payload.is_empty() {
        let _ = out.send(codec.encode(ERROR, &payload)).await;
    }
    // Client-go ends its streams cleanly only on a close with status 1000.
    let _ = out.send(normal_close()).await;
    drop(out);
    let written = writer.await;
    // Wait for the client's close so that nothing we sent is lost to a reset.
    let _ = tokio::time::timeout(linger, reader).await;
    match written {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(StreamingError::WebSocket(e)),
        Err(_) => Err(StreamingError::ClientGone),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_framing_binary_and_base64() {
        let binary = Codec { base64: false };
        assert_eq!(
            binary.encode(STDOUT, b"hi"),
            Message::Binary(Bytes::from_static(b"\x01hi"))
        );
        assert_eq!(
            binary.decode(Message::Binary(Bytes::from_static(b"\x00in"))),
            Some((STDIN, Bytes::from_static(b"in")))
        );
        assert_eq!(binary.decode(Message::Binary(Bytes::new())), None);
        let base64 = Codec { base64: true };
        assert_eq!(base64.encode(STDERR, b"hi"), Message::Text("2aGk=".into()));
        assert_eq!(
            base64.decode(Message::Text("0aGk=".into())),
            Some((STDIN, Bytes::from_static(b"hi")))
        );
        assert_eq!(base64.decode(Message::Text("0!!".into())), None);
    }
}
