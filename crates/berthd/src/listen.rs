//! Unix socket listeners: the Docker API with HTTP/1.1 and connection upgrades (attach, exec),
//! the CRI with HTTP/2 (gRPC).

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use anyhow::{Context, Result};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::UnixListener;

fn socket_path(host: &str) -> &Path {
    Path::new(host.trim_start_matches("unix://"))
}

/// Binds `unix:///path`: a stale socket from a crashed daemon is replaced, the directory is
/// created, and the socket is root-only (0600), as the API hands out root on the host.
pub fn bind(host: &str) -> Result<UnixListener> {
    let path = socket_path(host);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
    }
    match std::os::unix::net::UnixStream::connect(path) {
        Ok(_) => anyhow::bail!(
            "{}: another daemon is already listening there",
            path.display()
        ),
        Err(_) => {
            let _ = std::fs::remove_file(path);
        }
    }
    let listener =
        UnixListener::bind(path).with_context(|| format!("listen on {}", path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .with_context(|| format!("chmod {}", path.display()))?;
    Ok(listener)
}

pub fn remove_socket(host: &str) {
    let _ = std::fs::remove_file(socket_path(host));
}

pub async fn serve(listener: UnixListener, app: axum::Router) -> Result<()> {
    loop {
        let (stream, _) = listener.accept().await.context("accept API connection")?;
        let service = hyper_util::service::TowerToHyperService::new(app.clone());
        tokio::spawn(async move {
            let conn = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades();
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "API connection ended with an error");
            }
        });
    }
}

/// Serves the CRI's gRPC services: HTTP/2 only, as gRPC clients speak it from the first byte
/// (prior knowledge, no upgrade).
pub async fn serve_cri(listener: UnixListener, service: berth_api_cri::CriService) -> Result<()> {
    loop {
        let (stream, _) = listener.accept().await.context("accept CRI connection")?;
        let service = hyper_util::service::TowerToHyperService::new(service.clone());
        tokio::spawn(async move {
            let conn = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(stream), service);
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "CRI connection ended with an error");
            }
        });
    }
}
