//! PortForward's connections: `localhost:<port>` as the pod sees it. The socket is made on a
//! thread of its own that joins the pod's network namespace first (`setns` changes the
//! calling thread only, and a tokio worker must never change namespace); a socket keeps the
//! namespace it was made in, so the connected socket is then handed to tokio and the thread
//! ends.

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};
use std::path::PathBuf;
use std::time::Duration;

use nix::sched::CloneFlags;

use super::{PodError, PodPhase};
use crate::{Engine, Error, Result};

/// A loopback connect answers at once (accepted or refused); this only bounds a namespace
/// whose loopback is down or filtered.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

impl Engine {
    /// A TCP connection to `localhost:port` in pod `pod_id`'s network namespace (the host's
    /// for a hostNetwork pod). The pod must be ready.
    pub async fn connect_in_pod(&self, pod_id: &str, port: u16) -> Result<tokio::net::TcpStream> {
        let pod = self.pod(pod_id).await?;
        if pod.state.phase != PodPhase::Ready {
            return Err(PodError::NotReady(pod.id).into());
        }
        let connected = if pod.spec.namespaces.host_network {
            let (tx, rx) = tokio::sync::oneshot::channel();
            // Blocking connect, but in berthd's own namespace: the blocking pool may run it.
            tokio::task::spawn_blocking(move || {
                let _ = tx.send(connect_localhost(port));
            });
            rx.await
        } else {
            let netns = pod
                .state
                .netns
                .clone()
                .ok_or_else(|| PodError::NotReady(pod.id.clone()))?;
            connect_in_netns(&pod.id, netns, port)?.await
        };
        let connect_err = |source| PodError::PortConnect {
            pod: pod.id.clone(),
            port,
            source,
        };
        let stream = connected
            .map_err(|_| connect_err(io::Error::other("the connecting thread went away")))?
            .map_err(|e| match e {
                Connect::Netns(path, source) => PodError::Netns {
                    pod: pod.id.clone(),
                    path,
                    source,
                },
                Connect::Port(source) => connect_err(source),
            })?;
        stream
            .set_nonblocking(true)
            .and_then(|()| tokio::net::TcpStream::from_std(stream))
            .map_err(|source| Error::from(connect_err(source)))
    }
}

/// Why a connection in a namespace was not made.
enum Connect {
    Netns(PathBuf, io::Error),
    Port(io::Error),
}

type Connected = tokio::sync::oneshot::Receiver<std::result::Result<TcpStream, Connect>>;

/// Starts the connecting thread.
fn connect_in_netns(pod: &str, netns: PathBuf, port: u16) -> Result<Connected> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("berth-portfwd".into())
        .spawn(move || {
            let joined = std::fs::File::open(&netns)
                .and_then(|ns| nix::sched::setns(ns, CloneFlags::CLONE_NEWNET).map_err(Into::into))
                .map_err(|e| Connect::Netns(netns, e));
            let _ = tx.send(joined.and_then(|()| connect_localhost(port)));
        })
        .map_err(|source| PodError::PortConnect {
            pod: pod.to_string(),
            port,
            source,
        })?;
    Ok(rx)
}

/// `localhost`: IPv4 first, then IPv6 when nothing listens on IPv4 (a server bound to `::1`
/// only).
fn connect_localhost(port: u16) -> std::result::Result<TcpStream, Connect> {
    let v4 = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    match TcpStream::connect_timeout(&v4, CONNECT_TIMEOUT) {
        Ok(stream) => Ok(stream),
        Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
            let v6 = SocketAddr::from((Ipv6Addr::LOCALHOST, port));
            TcpStream::connect_timeout(&v6, CONNECT_TIMEOUT).map_err(|_| Connect::Port(e))
        }
        Err(e) => Err(Connect::Port(e)),
    }
}
