//! PortForward's connections: `localhost:<port>` as the pod sees it. The socket is made in
//! the pod's network namespace by a thread that joins it and ends (`berth_sys::netns::run_in`:
//! `setns` changes the calling thread only, and a tokio thread must never change namespace);
//! a socket keeps the namespace it was made in, so the connection is then handed to tokio.

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};
use std::time::Duration;

use super::{PodError, PodPhase};
use crate::{Engine, Error, Result};

/// A loopback connect answers at once (accepted or refused); this only bounds a namespace
/// whose loopback is filtered.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

impl Engine {
    /// A TCP connection to `localhost:port` in pod `pod_id`'s network namespace (the host's
    /// for a hostNetwork pod). The pod must be ready.
    pub async fn connect_in_pod(&self, pod_id: &str, port: u16) -> Result<tokio::net::TcpStream> {
        let pod = self.pod(pod_id).await?;
        if pod.state.phase != PodPhase::Ready {
            return Err(PodError::NotReady(pod.id).into());
        }
        let netns = if pod.spec.namespaces.host_network {
            None
        } else {
            Some(
                pod.state
                    .netns
                    .clone()
                    .ok_or_else(|| PodError::NotReady(pod.id.clone()))?,
            )
        };
        let path = netns.clone();
        let connected = tokio::task::spawn_blocking(move || match &path {
            None => Ok(connect_localhost(port)),
            Some(path) => berth_sys::netns::run_in(path, || connect_localhost(port)),
        })
        .await
        .map_err(Error::from_join)?;
        let connect_err = |source| PodError::PortConnect {
            pod: pod.id.clone(),
            port,
            source,
        };
        let stream = match connected {
            Ok(Ok(stream)) => stream,
            Ok(Err(e)) => return Err(connect_err(e).into()),
            Err(source) => {
                return Err(PodError::Netns {
                    pod: pod.id.clone(),
                    path: netns.unwrap_or_default(),
                    source,
                }
                .into())
            }
        };
        stream
            .set_nonblocking(true)
            .and_then(|()| tokio::net::TcpStream::from_std(stream))
            .map_err(|e| connect_err(e).into())
    }
}

/// `localhost`: IPv4 first, then IPv6 when nothing listens on IPv4 (a server bound to `::1`
/// only); the IPv4 error is the one reported.
fn connect_localhost(port: u16) -> io::Result<TcpStream> {
    let v4 = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    match TcpStream::connect_timeout(&v4, CONNECT_TIMEOUT) {
        Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
            let v6 = SocketAddr::from((Ipv6Addr::LOCALHOST, port));
            TcpStream::connect_timeout(&v6, CONNECT_TIMEOUT).map_err(|_| e)
        }
        other => other,
    }
}
