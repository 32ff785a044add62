//! Published ports: `-p`/`-P` requests (Docker's `PortBindings`, `PublishAllPorts`) turned into
//! host ports, checked against the daemon's other containers and the host's listeners, and
//! handed to the CNI `portmap` plugin.
//!
//! IPv6 has no `route_localnet`: the kernel drops a packet from `::1` that DNAT sends to a
//! bridge, so `portmap` cannot serve the IPv6 loopback. Connections to `[::1]:port` are proxied
//! by berthd instead (Docker's `docker-proxy` does the same), for `-p [::1]:port:...` and for
//! every binding without an address, TCP and UDP.

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, UdpSocket};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::task::{AbortHandle, JoinSet};

use super::NetworkError;
use crate::model::{Networking, Port};
use crate::spec::HostConfig;

/// One published port, as `docker port` and inspect's `NetworkSettings.Ports` show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishedPort {
    pub container_port: u16,
    /// `tcp` or `udp`.
    pub protocol: String,
    /// Empty: every address of the host.
    pub host_ip: String,
    pub host_port: u16,
}

/// A port to publish, before a host port is chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PortRequest {
    pub container_port: u16,
    pub protocol: String,
    pub host_ip: Option<IpAddr>,
    /// `(0, 0)`: any free port.
    pub host_ports: (u16, u16),
}

fn bad(container: &str, spec: &str, reason: &str) -> NetworkError {
    NetworkError::BadPort {
        container: container.to_string(),
        spec: spec.to_string(),
        reason: reason.to_string(),
    }
}

/// `80/tcp` → (80, "tcp"); the protocol defaults to tcp.
pub(crate) fn parse_key(container: &str, key: &str) -> Result<(u16, String), NetworkError> {
    let (port, proto) = key.split_once('/').unwrap_or((key, "tcp"));
    let proto = proto.to_ascii_lowercase();
    if !matches!(proto.as_str(), "tcp" | "udp") {
        return Err(bad(container, key, "protocol must be tcp or udp"));
    }
    let port = port
        .parse::<u16>()
        .ok()
        .filter(|p| *p != 0)
        .ok_or_else(|| bad(container, key, "container port must be 1-65535"))?;
    Ok((port, proto))
}

/// `""` (any), `8080`, or `8000-8010` (any free one of them).
fn parse_host_ports(container: &str, value: &str) -> Result<(u16, u16), NetworkError> {
    if value.is_empty() {
        return Ok((0, 0));
    }
    let num = |s: &str| {
        s.parse::<u16>()
            .map_err(|_| bad(container, value, "host port must be 0-65535"))
    };
    let (lo, hi) = match value.split_once('-') {
        Some((a, b)) => (num(a)?, num(b)?),
        None => {
            let p = num(value)?;
            (p, p)
        }
    };
    if lo > hi {
        return Err(bad(container, value, "the range ends before it starts"));
    }
    Ok((lo, hi))
}

/// The ports a container asks to publish: its mappings, and with publish-all every exposed
/// port that has none, on a free host port.
pub(crate) fn requests(network: &Networking) -> Vec<PortRequest> {
    let request = |port: &Port, host_ip, host_ports| PortRequest {
        container_port: port.number,
        protocol: port.protocol.to_string(),
        host_ip,
        host_ports,
    };
    let mut out: Vec<PortRequest> = network
        .ports
        .iter()
        .map(|m| request(&m.container, m.host_ip, m.host_ports))
        .collect();
    if network.publish_all {
        for port in &network.exposed {
            let wanted = request(port, None, (0, 0));
            let bound = out.iter().any(|r| {
                r.container_port == wanted.container_port && r.protocol == wanted.protocol
            });
            if !bound {
                out.push(wanted);
            }
        }
    }
    out
}

/// The ports `PortBindings` publishes explicitly.
pub(crate) fn bindings(container: &str, h: &HostConfig) -> Result<Vec<PortRequest>, NetworkError> {
    let mut out = Vec::new();
    for (key, bindings) in &h.port_bindings {
        let (container_port, protocol) = parse_key(container, key)?;
        for b in bindings.iter().flatten() {
            let host_ip = match b.host_ip.as_str() {
                "" => None,
                ip => Some(
                    ip.parse::<IpAddr>()
                        .map_err(|_| bad(container, ip, "not an IP address"))?,
                ),
            };
            out.push(PortRequest {
                container_port,
                protocol: protocol.clone(),
                host_ip,
                host_ports: parse_host_ports(container, &b.host_port)?,
            });
        }
    }
    Ok(out)
}

/// Host ports taken by this daemon's containers: `(protocol, port)`.
#[derive(Default)]
pub(crate) struct Reserved(Mutex<HashSet<(String, u16)>>);

impl Reserved {
    fn set(&self) -> std::sync::MutexGuard<'_, HashSet<(String, u16)>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Marks ports of a container that kept running across a daemon restart.
    pub(crate) fn hold(&self, ports: &[PublishedPort]) {
        let mut set = self.set();
        for p in ports {
            set.insert((p.protocol.clone(), p.host_port));
        }
    }

    pub(crate) fn release(&self, ports: &[PublishedPort]) {
        let mut set = self.set();
        for p in ports {
            set.remove(&(p.protocol.clone(), p.host_port));
        }
    }

    /// Chooses a host port for every request: a fixed one must be free here and on the host;
    /// a free one comes from the ephemeral range, starting at a random place so daemons side
    /// by side rarely race for the same one. All or nothing.
    pub(crate) fn allocate(
        &self,
        container: &str,
        requests: &[PortRequest],
    ) -> Result<Vec<PublishedPort>, NetworkError> {
        let mut set = self.set();
        let mut out: Vec<PublishedPort> = Vec::new();
        let (lo, hi) = ephemeral_range();
        for r in requests {
            let ip = r.host_ip.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
            let usable = |port: u16, set: &HashSet<(String, u16)>, out: &[PublishedPort]| {
                !set.contains(&(r.protocol.clone(), port))
                    && !out
                        .iter()
                        .any(|p| p.protocol == r.protocol && p.host_port == port)
                    && host_port_free(&r.protocol, ip, port)
            };
            let (from, to) = match r.host_ports {
                (0, 0) => (lo, hi),
                range => range,
            };
            let span = u32::from(to - from) + 1;
            let offset = if from == to {
                0
            } else {
                u32::from_str_radix(&crate::random_hex(4), 16).unwrap_or(0) % span
            };
            let found = (0..span)
                .map(|i| from + ((offset + i) % span) as u16)
                .find(|p| usable(*p, &set, &out));
            let Some(port) = found else {
                return Err(if from == to {
                    NetworkError::PortInUse {
                        container: container.to_string(),
                        host_ip: ip.to_string(),
                        port: from,
                    }
                } else {
                    NetworkError::NoFreePort {
                        container: container.to_string(),
                        spec: format!("{}/{}", r.container_port, r.protocol),
                    }
                });
            };
            out.push(PublishedPort {
                container_port: r.container_port,
                protocol: r.protocol.clone(),
                host_ip: r.host_ip.map(|i| i.to_string()).unwrap_or_default(),
                host_port: port,
            });
        }
        for p in &out {
            set.insert((p.protocol.clone(), p.host_port));
        }
        Ok(out)
    }
}

/// The kernel's ephemeral port range, where Docker picks free host ports too.
fn ephemeral_range() -> (u16, u16) {
    let text =
        std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range").unwrap_or_default();
    let mut it = text
        .split_whitespace()
        .filter_map(|s| s.parse::<u16>().ok());
    match (it.next(), it.next()) {
        (Some(lo), Some(hi)) if lo <= hi && lo > 0 => (lo, hi),
        _ => (32768, 60999),
    }
}

/// Nothing on the host listens there: binding it (and letting go) works.
fn host_port_free(protocol: &str, ip: IpAddr, port: u16) -> bool {
    match protocol {
        "udp" => UdpSocket::bind((ip, port)).is_ok(),
        _ => TcpListener::bind((ip, port)).is_ok(),
    }
}

impl PublishedPort {
    /// Served by berthd's proxy on `[::1]` (see the module's comment).
    pub(crate) fn proxied(&self) -> bool {
        self.host_ip.is_empty() || self.on_ipv6_loopback()
    }

    /// Bound to `::1` only: for the proxy alone, `portmap` must not see it.
    pub(crate) fn on_ipv6_loopback(&self) -> bool {
        self.host_ip.parse::<IpAddr>().ok() == Some(IpAddr::V6(Ipv6Addr::LOCALHOST))
    }
}

/// The `[::1]` proxies of running containers, by container id.
#[derive(Default)]
pub(crate) struct Proxies(Mutex<HashMap<String, Vec<AbortHandle>>>);

impl Proxies {
    /// Starts proxying a container's ports to `target` (its address on the primary network).
    /// A binding on `::1` itself must get its listener; one without an address is served on
    /// `::1` where the host has it. Must run inside the tokio runtime.
    pub(crate) fn start(
        &self,
        container: &str,
        ports: &[PublishedPort],
        target: IpAddr,
    ) -> Result<(), NetworkError> {
        let mut handles = Vec::new();
        for p in ports.iter().filter(|p| p.proxied()) {
            let listen = SocketAddr::new(Ipv6Addr::LOCALHOST.into(), p.host_port);
            let to = SocketAddr::new(target, p.container_port);
            let task = if p.protocol == "udp" {
                udp_socket(listen).map(|s| tokio::spawn(proxy_udp(s, to)))
            } else {
                listener(listen).map(|l| tokio::spawn(proxy_tcp(l, to)))
            };
            match task {
                Ok(t) => handles.push(t.abort_handle()),
                Err(e) if !p.on_ipv6_loopback() => {
                    tracing::debug!(container, %listen, error = %e, "no IPv6 loopback proxy");
                }
                Err(_) => {
                    handles.iter().for_each(AbortHandle::abort);
                    return Err(NetworkError::PortInUse {
                        container: container.to_string(),
                        host_ip: p.host_ip.clone(),
                        port: p.host_port,
                    });
                }
            }
        }
        let mut all = self.0.lock().unwrap_or_else(|e| e.into_inner());
        for h in all
            .insert(container.to_string(), handles)
            .unwrap_or_default()
        {
            h.abort();
        }
        Ok(())
    }

    pub(crate) fn stop(&self, container: &str) {
        let mut all = self.0.lock().unwrap_or_else(|e| e.into_inner());
        for h in all.remove(container).unwrap_or_default() {
            h.abort();
        }
    }
}

fn listener(addr: SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    let l = TcpListener::bind(addr)?;
    l.set_nonblocking(true)?;
    tokio::net::TcpListener::from_std(l)
}

/// Accepts for ever; each client gets its own connection to the container. The connections
/// live in a `JoinSet` this task owns, so stopping the proxy closes them too (as killing
/// docker-proxy does).
async fn proxy_tcp(listener: tokio::net::TcpListener, to: SocketAddr) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((mut client, _)) => {
                    connections.spawn(async move {
                        if let Ok(mut server) = tokio::net::TcpStream::connect(to).await {
                            let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                        }
                    });
                }
                // Out of descriptors and the like: retrying at once would spin.
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            },
            Some(_) = connections.join_next() => {}
        }
    }
}

/// How long a UDP client's upstream socket lives without a reply, as docker-proxy's
/// connection tracking.
const UDP_IDLE: Duration = Duration::from_secs(90);
/// Clients served at once; datagrams of more are dropped (docker-proxy's limit).
const UDP_MAX_CLIENTS: usize = 1024;

fn udp_socket(addr: SocketAddr) -> std::io::Result<tokio::net::UdpSocket> {
    let s = UdpSocket::bind(addr)?;
    s.set_nonblocking(true)?;
    tokio::net::UdpSocket::from_std(s)
}

/// Relays datagrams for ever: each client address gets its own socket towards the container,
/// so replies find their way back; a client's socket goes after [`UDP_IDLE`] without a
/// reply. The reply tasks live in a `JoinSet` this task owns, so stopping the proxy stops
/// them and frees the port at once.
async fn proxy_udp(listener: tokio::net::UdpSocket, to: SocketAddr) {
    let listener = Arc::new(listener);
    let mut clients: HashMap<SocketAddr, Arc<tokio::net::UdpSocket>> = HashMap::new();
    let mut replies: JoinSet<SocketAddr> = JoinSet::new();
    let mut buf = vec![0u8; 65535];
    loop {
        tokio::select! {
            got = listener.recv_from(&mut buf) => {
                let Ok((n, client)) = got else {
                    continue;
                };
                let upstream = match clients.get(&client) {
                    Some(u) => u.clone(),
                    None if clients.len() >= UDP_MAX_CLIENTS => continue,
                    None => {
                        let Ok(u) = upstream_udp(to).await else {
                            continue;
                        };
                        let u = Arc::new(u);
                        clients.insert(client, u.clone());
                        replies.spawn(udp_replies(listener.clone(), u.clone(), client));
                        u
                    }
                };
                let _ = upstream.send(&buf[..n]).await;
            }
            Some(done) = replies.join_next() => {
                if let Ok(client) = done {
                    clients.remove(&client);
                }
            }
        }
    }
}

/// A socket connected to the container, so it receives only the container's replies.
async fn upstream_udp(to: SocketAddr) -> std::io::Result<tokio::net::UdpSocket> {
    let any: IpAddr = if to.is_ipv4() {
        Ipv4Addr::UNSPECIFIED.into()
    } else {
        Ipv6Addr::UNSPECIFIED.into()
    };
    let s = tokio::net::UdpSocket::bind((any, 0)).await?;
    s.connect(to).await?;
    Ok(s)
}

/// Sends the container's replies back to `client` until none came for [`UDP_IDLE`]; returns
/// the client, whose entry then goes.
async fn udp_replies(
    listener: Arc<tokio::net::UdpSocket>,
    upstream: Arc<tokio::net::UdpSocket>,
    client: SocketAddr,
) -> SocketAddr {
    let mut buf = vec![0u8; 65535];
    // An error is an ICMP error of an earlier datagram (nothing listened yet): the next
    // datagram may be answered, so only silence ends the relay.
    while let Ok(got) = tokio::time::timeout(UDP_IDLE, upstream.recv(&mut buf)).await {
        if let Ok(n) = got {
            let _ = listener.send_to(&buf[..n], client).await;
        }
    }
    client
}

#[cfg(test)]
mod tests;
