//! portforward over SPDY (`portforward.k8s.io`), also tunnelled in WebSocket binary messages.
//!
//! For each forwarded connection the client opens two streams with the same `port` and
//! `requestID` headers: `streamType: error` (which it half-closes at once) and
//! `streamType: data`. We connect to the port through the backend and copy both ways; a
//! failure is written as text on the error stream.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;

use crate::spdy::{RstStatus, Session, Stream, StreamWriter};

/// Half-made pairs kept at once: a client opens both streams of a pair back to back.
const MAX_PENDING_PAIRS: usize = 64;

/// Connects to a port of the sandbox (for the CRI adapter: `localhost:port` inside the pod's
/// network namespace). Called once per forwarded connection.
pub trait PortForward: Send + Sync + 'static {
    type Conn: AsyncRead + AsyncWrite + Send + Unpin + 'static;
    fn connect(&self, port: u16) -> impl Future<Output = io::Result<Self::Conn>> + Send;
}

#[derive(Default)]
struct Pair {
    data: Option<Stream>,
    error: Option<Stream>,
}

/// Serves port-forward streams until the client ends the session.
pub(crate) async fn serve<P: PortForward>(
    mut session: Session,
    backend: Arc<P>,
    pair_timeout: Duration,
) {
    let mut pending: HashMap<String, Pair> = HashMap::new();
    let (expired_tx, mut expired) = mpsc::unbounded_channel::<String>();
    loop {
        let stream = tokio::select! {
            stream = session.accept() => match stream {
                Some(stream) => stream,
                None => break,
            },
            Some(request_id) = expired.recv() => {
                if let Some(pair) = pending.remove(&request_id) {
                    let message = format!("timed out waiting for the other stream of request {request_id}");
                    fail_pair(pair, &message).await;
                }
                continue;
            }
        };
        let stream_type = stream
            .headers()
            .get("streamtype")
            .unwrap_or_default()
            .to_owned();
        let request_id = request_id(&stream, &stream_type);
        let slot_is_error = match stream_type.as_str() {
            "error" => true,
            "data" => false,
            other => {
                tracing::debug!("port-forward: refusing stream of type {other:?}");
                let (_, writer) = stream.split();
                let _ = writer.reset(RstStatus::RefusedStream).await;
                continue;
            }
        };
        if !pending.contains_key(&request_id) && pending.len() >= MAX_PENDING_PAIRS {
            let (_, writer) = stream.split();
            let _ = writer.reset(RstStatus::RefusedStream).await;
            continue;
        }
        let pair = pending.entry(request_id.clone()).or_insert_with(|| {
            let expired_tx = expired_tx.clone();
            let request_id = request_id.clone();
            tokio::spawn(async move {
                tokio::time::sleep(pair_timeout).await;
                let _ = expired_tx.send(request_id);
            });
            Pair::default()
        });
        let slot = if slot_is_error {
            &mut pair.error
        } else {
            &mut pair.data
        };
        if slot.is_some() {
            // A second stream of one kind for one request: refuse the newcomer.
            let (_, writer) = stream.split();
            let _ = writer.reset(RstStatus::ProtocolError).await;
            continue;
        }
        *slot = Some(stream);
        if pair.data.is_some() && pair.error.is_some() {
            if let Some(Pair {
                data: Some(data),
                error: Some(error),
            }) = pending.remove(&request_id)
            {
                tokio::spawn(forward(backend.clone(), data, error));
            }
        }
    }
}

/// The pairing key. Clients older than the `requestID` header open the error stream and then
/// the data stream with the next id; the kubelet pairs those by id, and so do we.
fn request_id(stream: &Stream, stream_type: &str) -> String {
    match stream.headers().get("requestid") {
        Some(id) => id.to_owned(),
        None if stream_type == "data" => stream.id().saturating_sub(2).to_string(),
        None => stream.id().to_string(),
    }
}

async fn fail_pair(pair: Pair, message: &str) {
    if let Some(error) = pair.error {
        let (_, writer) = error.split();
        report(&writer, message).await;
    }
    if let Some(data) = pair.data {
        let (_, writer) = data.split();
        let _ = writer.reset(RstStatus::Cancel).await;
    }
}

async fn report(error: &StreamWriter, message: &str) {
    tracing::debug!("port-forward: {message}");
    let _ = error
        .write(Bytes::copy_from_slice(message.as_bytes()))
        .await;
    let _ = error.close().await;
}

async fn forward<P: PortForward>(backend: Arc<P>, data: Stream, error: Stream) {
    let (_, error) = error.split();
    let port = data.headers().get("port").unwrap_or_default();
    let port = match port.parse::<u16>() {
        Ok(port) if port > 0 => port,
        _ => {
            report(&error, &format!("invalid port header {port:?}")).await;
            let (_, writer) = data.split();
            let _ = writer.close().await;
            return;
        }
    };
    let conn = match backend.connect(port).await {
        Ok(conn) => conn,
        Err(e) => {
            report(&error, &format!("error forwarding port {port}: {e}")).await;
            let (_, writer) = data.split();
            let _ = writer.close().await;
            return;
        }
    };
    let (mut from_client, to_client) = data.split();
    let (mut conn_read, mut conn_write) = tokio::io::split(conn);
    let upstream = async {
        while let Ok(Some(chunk)) = from_client.read().await {
            if conn_write.write_all(&chunk).await.is_err() {
                return;
            }
        }
        // The client half-closed: so do we towards the port.
        let _ = conn_write.shutdown().await;
    };
    let downstream = async {
        let mut buf = vec![0u8; 32 * 1024];
        let result = loop {
            match conn_read.read(&mut buf).await {
                Ok(0) => break Ok(()),
                Ok(n) => {
                    if to_client
                        .write(Bytes::copy_from_slice(&buf[..n]))
                        .await
                        .is_err()
                    {
                        return;
                    }
                }
                Err(e) => break Err(e),
            }
        };
        if let Err(e) = result {
            report(&error, &format!("error reading from port {port}: {e}")).await;
        }
        let _ = to_client.close().await;
    };
    // The port closing its side ends the forward, as with the kubelet: the client then closes
    // its local connection. A client that half-closes first keeps receiving.
    tokio::pin!(upstream, downstream);
    let mut upstream_done = false;
    loop {
        tokio::select! {
            () = &mut downstream => break,
            () = &mut upstream, if !upstream_done => upstream_done = true,
        }
    }
    let _ = error.close().await;
}
