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

/// The sockets this berthd bound, removed when it goes (a clean stop, or a start-up step that
/// fails after some were bound); never one another daemon listens on.
#[derive(Default)]
pub struct Sockets(Vec<String>);

impl Sockets {
    pub fn bind(&mut self, url: &str) -> Result<UnixListener> {
        let listener = bind(url)?;
        self.0.push(url.to_string());
        Ok(listener)
    }
}

impl Drop for Sockets {
    fn drop(&mut self) {
        for url in &self.0 {
            let _ = std::fs::remove_file(socket_path(url));
        }
    }
}

/// Binds `unix:///path`: a stale socket from a crashed daemon is replaced, the directory is
/// created, and the socket is root-only (0600), as the API hands out root on the host.
fn bind(host: &str) -> Result<UnixListener> {
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
            // Kubelets before 1.26 send the socket's path as the authority, which h2 refuses.
            let stream = berth_api_cri::LegacyAuthority::new(stream);
            let conn = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(stream), service);
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "CRI connection ended with an error");
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn sockets_go_with_their_daemon_but_never_anothers() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let url = |name: &str| format!("unix://{}", dir.path().join(name).display());
        let mut first = Sockets::default();
        let _listener = first.bind(&url("api.sock"))?;
        let mut second = Sockets::default();
        let _own = second.bind(&url("own.sock"))?;
        let refused = second.bind(&url("api.sock")).err().map(|e| e.to_string());
        assert!(
            refused
                .as_deref()
                .is_some_and(|e| e.ends_with("another daemon is already listening there")),
            "{refused:?}"
        );
        drop(second);
        assert!(!dir.path().join("own.sock").exists());
        assert!(dir.path().join("api.sock").exists());
        drop(first);
        assert!(!dir.path().join("api.sock").exists());
        Ok(())
    }
}
