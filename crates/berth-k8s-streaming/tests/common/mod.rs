//! A streaming server on a loopback port for the protocol tests.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;

use berth_k8s_streaming::Upgrade;
use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// Serves HTTP/1.1 with upgrades; `route` answers each request with an `Upgrade`, whose
/// session future is spawned.
pub async fn server<F, Fut>(route: F) -> SocketAddr
where
    F: Fn(Request<Incoming>) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Upgrade> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let route = route.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req| {
                    let route = route.clone();
                    async move { Ok::<_, Infallible>(respond(route(req).await)) }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .with_upgrades()
                    .await;
            });
        }
    });
    addr
}

fn respond(upgrade: Upgrade) -> Response<Full<Bytes>> {
    if let Some(serve) = upgrade.serve {
        tokio::spawn(async move {
            if let Err(e) = serve.await {
                eprintln!("streaming session: {e}");
            }
        });
    }
    upgrade.response
}

/// A 404 for paths a test does not serve.
pub fn not_found() -> Upgrade {
    let mut response = Response::new(Full::new(Bytes::from_static(b"no route")));
    *response.status_mut() = hyper::StatusCode::NOT_FOUND;
    Upgrade {
        response,
        serve: None,
    }
}
