//! The CRI streaming server: Exec, Attach and PortForward answer a URL on it, and the client
//! (kubelet, crictl) connects there with the Kubernetes streaming protocols
//! (berth-k8s-streaming). A URL carries a random single-use token that names the validated
//! request and expires after a minute, as the kubelet's streaming server does; the server
//! itself has no other authentication, so berthd binds it to loopback by default.

mod attach;
mod exec;
mod port_forward;
mod tokens;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use berth_engine::Engine;
use berth_k8s_streaming::{ServerConfig, StreamOptions, Upgrade};
use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

pub(crate) use tokens::TokenError;
use tokens::Tokens;

/// A validated streaming request, waiting for its client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Pending {
    Exec {
        container_id: String,
        cmd: Vec<String>,
        opts: StreamOptions,
    },
    Attach {
        container_id: String,
        opts: StreamOptions,
    },
    PortForward {
        pod_id: String,
    },
}

impl Pending {
    /// The URL path's first segment for this request.
    fn kind(&self) -> &'static str {
        match self {
            Pending::Exec { .. } => "exec",
            Pending::Attach { .. } => "attach",
            Pending::PortForward { .. } => "portforward",
        }
    }
}

/// The streaming server: cheap to clone; the CRI service hands out URLs on it, berthd serves
/// its listener with [`StreamServer::serve`].
#[derive(Clone)]
pub struct StreamServer {
    inner: Arc<Inner>,
}

struct Inner {
    engine: Engine,
    /// `http://<address>`, the bound address (a port 0 in the flag is resolved).
    base_url: String,
    tokens: Tokens,
    config: ServerConfig,
}

impl StreamServer {
    /// A server whose URLs name `addr`, the address its listener is bound to.
    pub fn new(engine: Engine, addr: SocketAddr) -> Self {
        Self {
            inner: Arc::new(Inner {
                engine,
                base_url: format!("http://{addr}"),
                tokens: Tokens::default(),
                config: ServerConfig::default(),
            }),
        }
    }

    /// The URL a client uses for `pending`, once.
    pub(crate) fn url(&self, pending: Pending) -> Result<String, TokenError> {
        let kind = pending.kind();
        let token = self.inner.tokens.insert(pending)?;
        Ok(format!("{}/{kind}/{token}", self.inner.base_url))
    }

    /// Serves HTTP/1.1 (with upgrades) on `listener` until accepting fails.
    pub async fn serve(self, listener: TcpListener) -> std::io::Result<()> {
        loop {
            let (stream, peer) = listener.accept().await?;
            let server = self.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req| {
                    let server = server.clone();
                    async move { Ok::<_, Infallible>(server.respond(req)) }
                });
                let conn = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .with_upgrades();
                if let Err(e) = conn.await {
                    tracing::debug!(%peer, error = %e, "streaming connection ended with an error");
                }
            });
        }
    }

    fn respond(&self, req: Request<Incoming>) -> Response<Full<Bytes>> {
        let upgrade = self.route(req);
        if let Some(serve) = upgrade.serve {
            tokio::spawn(async move {
                if let Err(e) = serve.await {
                    tracing::debug!(error = %e, "streaming session failed");
                }
            });
        }
        upgrade.response
    }

    fn route(&self, req: Request<Incoming>) -> Upgrade {
        let mut segments = req.uri().path().trim_start_matches('/').splitn(2, '/');
        let (kind, token) = (segments.next().unwrap_or(""), segments.next().unwrap_or(""));
        // A token is spent by any request that names it, as the kubelet's cache consumes it.
        let pending = match self.inner.tokens.take(token) {
            Some(pending) if pending.kind() == kind => pending,
            _ => return refuse(StatusCode::NOT_FOUND, "unknown or expired streaming token"),
        };
        let engine = self.inner.engine.clone();
        let config = &self.inner.config;
        match pending {
            Pending::Exec {
                container_id,
                cmd,
                opts,
            } => berth_k8s_streaming::remote_command(
                req,
                opts,
                exec::Exec {
                    engine,
                    container_id,
                    cmd,
                },
                config,
            ),
            Pending::Attach { container_id, opts } => berth_k8s_streaming::remote_command(
                req,
                opts,
                attach::Attach {
                    engine,
                    container_id,
                },
                config,
            ),
            Pending::PortForward { pod_id } => berth_k8s_streaming::port_forward(
                req,
                port_forward::PodPorts { engine, pod_id },
                config,
            ),
        }
    }
}

fn refuse(status: StatusCode, message: &'static str) -> Upgrade {
    let mut response = Response::new(Full::new(Bytes::from_static(message.as_bytes())));
    *response.status_mut() = status;
    Upgrade {
        response,
        serve: None,
    }
}
