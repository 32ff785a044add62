//! The HTTP edge: a request for `/exec/<token>`, `/attach/<token>` or `/portforward/<token>`
//! becomes either an error response or a 101 and the future that serves the upgraded
//! connection. SPDY or WebSocket is chosen by the request's `Upgrade` header, the protocol
//! version by `X-Stream-Protocol-Version` (SPDY) or `Sec-WebSocket-Protocol` (WebSocket),
//! first match in the client's order, as the kubelet negotiates.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use http_body_util::Full;
use hyper::header::{
    HeaderName, HeaderValue, CONNECTION, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_KEY,
    SEC_WEBSOCKET_PROTOCOL, SEC_WEBSOCKET_VERSION, UPGRADE,
};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::WebSocketStream;

use crate::portforward::{self, PortForward};
use crate::remotecommand::{self, Protocol, RemoteCommand, StreamOptions};
use crate::spdy::{Session, SessionConfig};
use crate::ws::WsIo;
use crate::StreamingError;

const X_STREAM_PROTOCOL_VERSION: HeaderName = HeaderName::from_static("x-stream-protocol-version");
const X_ACCEPTED_STREAM_PROTOCOL_VERSIONS: HeaderName =
    HeaderName::from_static("x-accepted-stream-protocol-versions");
const SPDY_31: &str = "SPDY/3.1";
const PORT_FORWARD_V1: &str = "portforward.k8s.io";
const PORT_FORWARD_TUNNEL: &str = "SPDY/3.1+portforward.k8s.io";

/// Tunables of the streaming server.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// How long a client may take to open its streams (exec, attach) or the second stream of
    /// a port-forward pair; the kubelet's default is 30 s.
    pub stream_creation_timeout: Duration,
    /// SPDY sessions; its `linger` applies to WebSocket connections too.
    pub session: SessionConfig,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            stream_creation_timeout: Duration::from_secs(30),
            session: SessionConfig::default(),
        }
    }
}

/// The answer to a streaming request.
pub struct Upgrade {
    pub response: Response<Full<Bytes>>,
    /// With a 101: serves the connection once hyper has sent the response and handed the
    /// connection over. Spawn it; it ends with the session.
    pub serve: Option<BoxFuture<'static, Result<(), StreamingError>>>,
}

impl Upgrade {
    fn refuse(status: StatusCode, message: String) -> Self {
        let mut response = Response::new(Full::new(Bytes::from(message)));
        *response.status_mut() = status;
        Upgrade {
            response,
            serve: None,
        }
    }
}

/// Exec or attach: `command` runs once the client's streams are there.
pub fn remote_command<B, C: RemoteCommand>(
    mut req: Request<B>,
    opts: StreamOptions,
    command: C,
    config: &ServerConfig,
) -> Upgrade {
    let config = config.clone();
    if is_websocket(&req) {
        let offered: Vec<&str> = header_list(&req, &SEC_WEBSOCKET_PROTOCOL).collect();
        // A client that names no subprotocol gets the original one (the kubelet's "").
        let chosen = if offered.is_empty() {
            Some(("", Protocol::V3, false))
        } else {
            offered.iter().find_map(|o| {
                remotecommand::websocket::PROTOCOLS
                    .iter()
                    .find(|(name, _, _)| name == o)
                    .copied()
            })
        };
        let Some((name, protocol, base64)) = chosen else {
            return Upgrade::refuse(
                StatusCode::BAD_REQUEST,
                format!("unable to upgrade: no supported protocol among {offered:?}"),
            );
        };
        let mut upgrade = websocket_accept(&req, name);
        if upgrade.response.status() == StatusCode::SWITCHING_PROTOCOLS {
            let on_upgrade = hyper::upgrade::on(&mut req);
            upgrade.serve = Some(
                async move {
                    let io = TokioIo::new(on_upgrade.await.map_err(StreamingError::Upgrade)?);
                    let ws = WebSocketStream::from_raw_socket(io, Role::Server, None).await;
                    remotecommand::websocket::serve(
                        ws,
                        protocol,
                        base64,
                        opts,
                        command,
                        config.session.linger,
                    )
                    .await
                }
                .boxed(),
            );
        }
        return upgrade;
    }
    let names: Vec<&'static str> = Protocol::SPDY.iter().map(|(name, _)| *name).collect();
    let chosen = match spdy_accept(&req, &names) {
        Ok(chosen) => chosen,
        Err(refused) => return *refused,
    };
    let Some(&(name, protocol)) = Protocol::SPDY.iter().find(|(n, _)| *n == chosen) else {
        return Upgrade::refuse(StatusCode::INTERNAL_SERVER_ERROR, "protocol table".into());
    };
    let on_upgrade = hyper::upgrade::on(&mut req);
    Upgrade {
        response: spdy_switching(name),
        serve: Some(
            async move {
                let io = TokioIo::new(on_upgrade.await.map_err(StreamingError::Upgrade)?);
                let (session, driver) = Session::new(io, config.session.clone())?;
                let serve = remotecommand::spdy::serve(
                    session,
                    protocol,
                    opts,
                    command,
                    config.stream_creation_timeout,
                );
                let (driven, served) = tokio::join!(driver, serve);
                served?;
                Ok(driven?)
            }
            .boxed(),
        ),
    }
}

/// Port-forward: each forwarded connection asks `backend` for a connection to its port.
pub fn port_forward<B, P: PortForward>(
    mut req: Request<B>,
    backend: P,
    config: &ServerConfig,
) -> Upgrade {
    let config = config.clone();
    let backend = Arc::new(backend);
    if is_websocket(&req) {
        if !header_list(&req, &SEC_WEBSOCKET_PROTOCOL).any(|p| p == PORT_FORWARD_TUNNEL) {
            return Upgrade::refuse(
                StatusCode::BAD_REQUEST,
                format!("unable to upgrade: port-forward over WebSocket needs the {PORT_FORWARD_TUNNEL} subprotocol"),
            );
        }
        let mut upgrade = websocket_accept(&req, PORT_FORWARD_TUNNEL);
        if upgrade.response.status() == StatusCode::SWITCHING_PROTOCOLS {
            let on_upgrade = hyper::upgrade::on(&mut req);
            upgrade.serve = Some(
                async move {
                    let io = TokioIo::new(on_upgrade.await.map_err(StreamingError::Upgrade)?);
                    let ws = WebSocketStream::from_raw_socket(io, Role::Server, None).await;
                    serve_port_forward(WsIo::new(ws), backend, &config).await
                }
                .boxed(),
            );
        }
        return upgrade;
    }
    if let Err(refused) = spdy_accept(&req, &[PORT_FORWARD_V1]) {
        return *refused;
    }
    let on_upgrade = hyper::upgrade::on(&mut req);
    Upgrade {
        response: spdy_switching(PORT_FORWARD_V1),
        serve: Some(
            async move {
                let io = TokioIo::new(on_upgrade.await.map_err(StreamingError::Upgrade)?);
                serve_port_forward(io, backend, &config).await
            }
            .boxed(),
        ),
    }
}

async fn serve_port_forward<T, P>(
    io: T,
    backend: Arc<P>,
    config: &ServerConfig,
) -> Result<(), StreamingError>
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + 'static,
    P: PortForward,
{
    let (session, driver) = Session::new(io, config.session.clone())?;
    let serve = portforward::serve(session, backend, config.stream_creation_timeout);
    let (driven, ()) = tokio::join!(driver, serve);
    Ok(driven?)
}

/// Values of a header, comma lists split, as Go's `commaSeparatedHeaderValues`.
fn header_list<'a, B>(req: &'a Request<B>, name: &HeaderName) -> impl Iterator<Item = &'a str> {
    req.headers()
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

fn header_contains<B>(req: &Request<B>, name: &HeaderName, needle: &str) -> bool {
    header_list(req, name).any(|v| v.eq_ignore_ascii_case(needle))
}

fn is_websocket<B>(req: &Request<B>) -> bool {
    header_contains(req, &UPGRADE, "websocket") && header_contains(req, &CONNECTION, "upgrade")
}

/// Checks the SPDY upgrade and negotiates the protocol (Go's `httpstream.Handshake`).
fn spdy_accept<B>(
    req: &Request<B>,
    supported: &[&'static str],
) -> Result<&'static str, Box<Upgrade>> {
    if !header_contains(req, &CONNECTION, "upgrade") || !header_contains(req, &UPGRADE, SPDY_31) {
        return Err(Box::new(Upgrade::refuse(
            StatusCode::BAD_REQUEST,
            "unable to upgrade: missing upgrade headers in request".into(),
        )));
    }
    let offered: Vec<&str> = header_list(req, &X_STREAM_PROTOCOL_VERSION).collect();
    if offered.is_empty() {
        return Err(Box::new(Upgrade::refuse(
            StatusCode::BAD_REQUEST,
            "unable to upgrade: header X-Stream-Protocol-Version does not exist in request".into(),
        )));
    }
    match offered
        .iter()
        .find_map(|o| supported.iter().find(|s| *s == o).copied())
    {
        Some(chosen) => Ok(chosen),
        None => {
            let mut refused = Upgrade::refuse(
                StatusCode::FORBIDDEN,
                format!(
                    "unable to upgrade: unable to negotiate protocol: client supports {offered:?}, server accepts {supported:?}"
                ),
            );
            for protocol in supported {
                refused.response.headers_mut().append(
                    X_ACCEPTED_STREAM_PROTOCOL_VERSIONS,
                    HeaderValue::from_static(protocol),
                );
            }
            Err(Box::new(refused))
        }
    }
}

fn spdy_switching(protocol: &'static str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let headers = response.headers_mut();
    headers.insert(CONNECTION, HeaderValue::from_static("Upgrade"));
    headers.insert(UPGRADE, HeaderValue::from_static(SPDY_31));
    headers.insert(
        X_STREAM_PROTOCOL_VERSION,
        HeaderValue::from_static(protocol),
    );
    response
}

/// The WebSocket handshake's answer (RFC 6455 section 4.2.2); `protocol` may be empty.
fn websocket_accept<B>(req: &Request<B>, protocol: &'static str) -> Upgrade {
    if req
        .headers()
        .get(SEC_WEBSOCKET_VERSION)
        .map(HeaderValue::as_bytes)
        != Some(b"13")
    {
        let mut refused = Upgrade::refuse(
            StatusCode::BAD_REQUEST,
            "unable to upgrade: WebSocket version 13 is required".into(),
        );
        refused
            .response
            .headers_mut()
            .insert(SEC_WEBSOCKET_VERSION, HeaderValue::from_static("13"));
        return refused;
    }
    let Some(key) = req.headers().get(SEC_WEBSOCKET_KEY) else {
        return Upgrade::refuse(
            StatusCode::BAD_REQUEST,
            "unable to upgrade: no Sec-WebSocket-Key".into(),
        );
    };
    let Ok(accept) = HeaderValue::from_str(&derive_accept_key(key.as_bytes())) else {
        return Upgrade::refuse(StatusCode::INTERNAL_SERVER_ERROR, "accept key".into());
    };
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let headers = response.headers_mut();
    headers.insert(CONNECTION, HeaderValue::from_static("Upgrade"));
    headers.insert(UPGRADE, HeaderValue::from_static("websocket"));
    headers.insert(SEC_WEBSOCKET_ACCEPT, accept);
    if !protocol.is_empty() {
        headers.insert(SEC_WEBSOCKET_PROTOCOL, HeaderValue::from_static(protocol));
    }
    Upgrade {
        response,
        serve: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(headers: &[(&str, &str)]) -> Request<()> {
        let mut req = Request::new(());
        for (name, value) in headers {
            req.headers_mut().append(
                HeaderName::from_bytes(name.as_bytes()).expect("name"),
                HeaderValue::from_str(value).expect("value"),
            );
        }
        req
    }

    fn exec(req: Request<()>) -> Upgrade {
        remote_command(
            req,
            StreamOptions::default(),
            |_io| async { remotecommand::Outcome::Exited(0) },
            &ServerConfig::default(),
        )
    }

    const SPDY_UPGRADE: [(&str, &str); 2] = [("connection", "Upgrade"), ("upgrade", "SPDY/3.1")];

    #[test]
    fn spdy_negotiation_takes_the_clients_first_supported_version() {
        let mut headers = SPDY_UPGRADE.to_vec();
        headers.push(("x-stream-protocol-version", "v5.channel.k8s.io"));
        headers.push((
            "x-stream-protocol-version",
            "v3.channel.k8s.io, v4.channel.k8s.io",
        ));
        let upgrade = exec(request(&headers));
        assert_eq!(upgrade.response.status(), StatusCode::SWITCHING_PROTOCOLS);
        let h = upgrade.response.headers();
        assert_eq!(h[&X_STREAM_PROTOCOL_VERSION], "v3.channel.k8s.io");
        assert_eq!(h[UPGRADE], "SPDY/3.1");
        assert!(upgrade.serve.is_some());
    }

    #[test]
    fn spdy_negotiation_failures_answer_as_the_kubelet() {
        let upgrade = exec(request(&SPDY_UPGRADE));
        assert_eq!(upgrade.response.status(), StatusCode::BAD_REQUEST);
        let mut headers = SPDY_UPGRADE.to_vec();
        headers.push(("x-stream-protocol-version", "v9.channel.k8s.io"));
        let upgrade = exec(request(&headers));
        assert_eq!(upgrade.response.status(), StatusCode::FORBIDDEN);
        let accepted: Vec<_> = upgrade
            .response
            .headers()
            .get_all(&X_ACCEPTED_STREAM_PROTOCOL_VERSIONS)
            .iter()
            .collect();
        assert_eq!(accepted.len(), 4);
        assert!(upgrade.serve.is_none());
        let upgrade = exec(request(&[(
            "x-stream-protocol-version",
            "v4.channel.k8s.io",
        )]));
        assert_eq!(upgrade.response.status(), StatusCode::BAD_REQUEST);
    }

    #[test]
    fn websocket_handshake_accepts_the_key_and_picks_a_subprotocol() {
        let upgrade = exec(request(&[
            ("connection", "Upgrade"),
            ("upgrade", "websocket"),
            ("sec-websocket-version", "13"),
            // RFC 6455's example key and answer.
            ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
            (
                "sec-websocket-protocol",
                "v9.channel.k8s.io, v4.base64.channel.k8s.io",
            ),
        ]));
        assert_eq!(upgrade.response.status(), StatusCode::SWITCHING_PROTOCOLS);
        let h = upgrade.response.headers();
        assert_eq!(h[SEC_WEBSOCKET_ACCEPT], "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
        assert_eq!(h[SEC_WEBSOCKET_PROTOCOL], "v4.base64.channel.k8s.io");
        let upgrade = exec(request(&[
            ("connection", "Upgrade"),
            ("upgrade", "websocket"),
            ("sec-websocket-version", "13"),
            ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
            ("sec-websocket-protocol", "v9.channel.k8s.io"),
        ]));
        assert_eq!(upgrade.response.status(), StatusCode::BAD_REQUEST);
    }
}
