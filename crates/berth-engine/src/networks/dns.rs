//! The embedded DNS server of user-defined networks: on the network's gateway address, port
//! 53, UDP and TCP, in the host's namespace. It answers A and AAAA questions for the names of
//! the containers on the asking container's networks (name, aliases, short id; the asker is
//! known by its source address, as Docker resolves names on every network a container is
//! on) and forwards every other name to the asking container's `--dns` servers, as Docker's
//! resolver does (they are its upstreams, not lines of its resolv.conf). A container without
//! `--dns` gets the host's resolvers for multi-label names; an unknown single-label name is
//! NXDOMAIN then (it can only have meant a container, and must not leave the machine). The
//! wire format is small enough to do by hand: one question in, the question echoed and
//! address records out.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, UdpSocket};
use tokio::task::AbortHandle;

use super::Network;

/// TTL of answers about containers, as Docker's resolver.
const TTL: u32 = 600;
const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(3);
const TYPE_A: u16 = 1;
const TYPE_AAAA: u16 = 28;
const RCODE_NXDOMAIN: u8 = 3;
const RCODE_SERVFAIL: u8 = 2;
const RCODE_FORMERR: u8 = 1;

/// Names of one container on one network.
#[derive(Debug, Clone)]
struct Record {
    container: String,
    /// Lowercase, without a trailing dot.
    names: Vec<String>,
    addrs: Vec<IpAddr>,
    /// The container's `--dns` servers: where its other questions go.
    upstreams: Vec<IpAddr>,
    /// Its `--link` aliases on this network and the names they stand for (lowercase).
    links: Vec<(String, String)>,
}

type Table = HashMap<String, Vec<Record>>;

/// Every network's records and its server tasks.
#[derive(Default)]
pub(crate) struct Resolvers {
    table: Arc<RwLock<Table>>,
    tasks: Mutex<HashMap<String, Vec<AbortHandle>>>,
}

impl Resolvers {
    /// Starts serving `net` on its IPv4 gateway (once; again after a stop).
    pub(crate) fn start(&self, net: &Network) {
        let Some(gateway) = net.gateway_v4() else {
            return;
        };
        let mut tasks = self.tasks.lock().unwrap_or_else(|p| p.into_inner());
        if tasks.contains_key(&net.id) {
            return;
        }
        let addr = SocketAddr::new(gateway, 53);
        let mut handles = Vec::new();
        match bind(addr, socket2::Type::DGRAM).and_then(|s| UdpSocket::from_std(s.into())) {
            Ok(sock) => {
                let (table, id) = (self.table.clone(), net.id.clone());
                handles.push(tokio::spawn(serve_udp(sock, table, id)).abort_handle());
            }
            Err(e) => tracing::warn!(network = %net.name, %addr, error = %e, "DNS over UDP"),
        }
        let listener = bind(addr, socket2::Type::STREAM).and_then(|s| {
            s.listen(64)?;
            TcpListener::from_std(s.into())
        });
        match listener {
            Ok(l) => {
                let (table, id) = (self.table.clone(), net.id.clone());
                handles.push(tokio::spawn(serve_tcp(l, table, id)).abort_handle());
            }
            Err(e) => tracing::warn!(network = %net.name, %addr, error = %e, "DNS over TCP"),
        }
        tasks.insert(net.id.clone(), handles);
    }

    pub(crate) fn stop(&self, network_id: &str) {
        let mut tasks = self.tasks.lock().unwrap_or_else(|p| p.into_inner());
        for h in tasks.remove(network_id).unwrap_or_default() {
            h.abort();
        }
        self.table
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(network_id);
    }

    pub(crate) fn register(
        &self,
        network_id: &str,
        container: &str,
        names: &[String],
        addrs: Vec<IpAddr>,
        upstreams: &[IpAddr],
        links: Vec<(String, String)>,
    ) {
        let mut table = self.table.write().unwrap_or_else(|p| p.into_inner());
        let records = table.entry(network_id.to_string()).or_default();
        records.retain(|r| r.container != container);
        records.push(Record {
            container: container.to_string(),
            names: names.iter().map(|n| n.to_ascii_lowercase()).collect(),
            addrs,
            upstreams: upstreams.to_vec(),
            links,
        });
    }

    pub(crate) fn unregister(&self, network_id: &str, container: &str) {
        let mut table = self.table.write().unwrap_or_else(|p| p.into_inner());
        if let Some(records) = table.get_mut(network_id) {
            records.retain(|r| r.container != container);
        }
    }
}

/// A non-blocking socket bound to `addr` even before the address exists (the bridge gets its
/// gateway address with the network's first container).
fn bind(addr: SocketAddr, kind: socket2::Type) -> std::io::Result<socket2::Socket> {
    let s = socket2::Socket::new(socket2::Domain::for_address(addr), kind, None)?;
    s.set_freebind_v4(true)?;
    s.set_reuse_address(true)?;
    s.set_nonblocking(true)?;
    s.set_cloexec(true)?;
    s.bind(&addr.into())?;
    Ok(s)
}

async fn serve_udp(sock: UdpSocket, table: Arc<RwLock<Table>>, network: String) {
    let sock = Arc::new(sock);
    let mut buf = vec![0u8; 4096];
    loop {
        let Ok((n, peer)) = sock.recv_from(&mut buf).await else {
            continue;
        };
        let query = buf[..n].to_vec();
        let (sock, table, network) = (sock.clone(), table.clone(), network.clone());
        tokio::spawn(async move {
            if let Some(reply) = answer(&query, &table, &network, peer.ip()).await {
                let _ = sock.send_to(&reply, peer).await;
            }
        });
    }
}

async fn serve_tcp(listener: TcpListener, table: Arc<RwLock<Table>>, network: String) {
    loop {
        let Ok((mut stream, peer)) = listener.accept().await else {
            continue;
        };
        let (table, network) = (table.clone(), network.clone());
        tokio::spawn(async move {
            // Length-prefixed messages until the client closes (RFC 7766).
            loop {
                let Ok(len) = stream.read_u16().await else {
                    return;
                };
                let mut query = vec![0u8; usize::from(len)];
                if stream.read_exact(&mut query).await.is_err() {
                    return;
                }
                let Some(reply) = answer(&query, &table, &network, peer.ip()).await else {
                    return;
                };
                let Ok(len) = u16::try_from(reply.len()) else {
                    return;
                };
                if stream.write_u16(len).await.is_err() || stream.write_all(&reply).await.is_err() {
                    return;
                }
            }
        });
    }
}

/// The question of a query: its name (lowercase, dotted), type, and where it ends.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Question {
    pub name: String,
    pub qtype: u16,
    pub end: usize,
}

/// Parses the header's question count and the first question (names in questions are never
/// compressed). `None` for anything that is not a well-formed standard query.
pub(crate) fn parse_question(msg: &[u8]) -> Option<Question> {
    if msg.len() < 12 || msg[2] & 0x80 != 0 || u16::from_be_bytes([msg[4], msg[5]]) != 1 {
        return None;
    }
    let mut pos = 12;
    let mut labels = Vec::new();
    loop {
        let len = usize::from(*msg.get(pos)?);
        pos += 1;
        if len == 0 {
            break;
        }
        if len > 63 {
            return None;
        }
        let label = msg.get(pos..pos + len)?;
        labels.push(String::from_utf8_lossy(label).to_ascii_lowercase());
        pos += len;
    }
    let qtype = u16::from_be_bytes([*msg.get(pos)?, *msg.get(pos + 1)?]);
    msg.get(pos + 3)?;
    Some(Question {
        name: labels.join("."),
        qtype,
        end: pos + 4,
    })
}

/// A reply to `query` with `rcode` and address records for its question.
pub(crate) fn reply(query: &[u8], q: &Question, rcode: u8, addrs: &[IpAddr]) -> Vec<u8> {
    let mut out = Vec::with_capacity(q.end + addrs.len() * 28);
    out.extend_from_slice(&query[..2]);
    // QR, the query's opcode and RD; AA, RA.
    out.push(0x80 | (query[2] & 0x79) | 0x04);
    out.push(0x80 | (rcode & 0x0f));
    out.extend_from_slice(&1u16.to_be_bytes());
    out.extend_from_slice(&(addrs.len() as u16).to_be_bytes());
    out.extend_from_slice(&[0, 0, 0, 0]);
    out.extend_from_slice(&query[12..q.end]);
    for addr in addrs {
        // A pointer to the question's name at offset 12.
        out.extend_from_slice(&[0xc0, 0x0c]);
        let (rtype, data) = match addr {
            IpAddr::V4(a) => (TYPE_A, a.octets().to_vec()),
            IpAddr::V6(a) => (TYPE_AAAA, a.octets().to_vec()),
        };
        out.extend_from_slice(&rtype.to_be_bytes());
        out.extend_from_slice(&1u16.to_be_bytes());
        out.extend_from_slice(&TTL.to_be_bytes());
        out.extend_from_slice(&(data.len() as u16).to_be_bytes());
        out.extend_from_slice(&data);
    }
    out
}

/// What the table knows of `name` on the networks of the container at `peer` (on `network`
/// for an unknown asker): `Ok` with the addresses, or `Err` with the asker's own upstream
/// servers when no container there has that name.
fn lookup(
    table: &RwLock<Table>,
    network: &str,
    name: &str,
    peer: IpAddr,
) -> Result<Vec<IpAddr>, Vec<IpAddr>> {
    let table = table.read().unwrap_or_else(|p| p.into_inner());
    let asker_record = table.values().flatten().find(|r| r.addrs.contains(&peer));
    let asker = asker_record.map(|r| r.container.as_str());
    // A link alias of the asker stands for its target's name, for the asker alone.
    let name = asker_record
        .and_then(|r| r.links.iter().find(|(alias, _)| alias == name))
        .map_or(name, |(_, target)| target.as_str());
    let hits: Vec<&Record> = table
        .iter()
        .filter(|(net, records)| match asker {
            Some(c) => records.iter().any(|r| r.container == c),
            None => net.as_str() == network,
        })
        .flat_map(|(_, records)| records)
        .filter(|r| r.names.iter().any(|n| n == name))
        .collect();
    if hits.is_empty() {
        return Err(asker_record
            .map(|r| r.upstreams.clone())
            .unwrap_or_default());
    }
    Ok(hits.iter().flat_map(|r| r.addrs.iter().copied()).collect())
}

async fn answer(
    query: &[u8],
    table: &RwLock<Table>,
    network: &str,
    peer: IpAddr,
) -> Option<Vec<u8>> {
    let Some(q) = parse_question(query) else {
        // Echo the id with FORMERR when there is a header at all.
        if query.len() >= 12 {
            let mut out = query[..12].to_vec();
            out[2] = 0x80;
            out[3] = 0x80 | RCODE_FORMERR;
            out[4..12].fill(0);
            return Some(out);
        }
        return None;
    };
    let upstreams = match lookup(table, network, &q.name, peer) {
        Ok(addrs) => {
            let wanted: Vec<IpAddr> = addrs
                .into_iter()
                .filter(|a| match q.qtype {
                    TYPE_A => a.is_ipv4(),
                    TYPE_AAAA => a.is_ipv6(),
                    _ => false,
                })
                .collect();
            return Some(reply(query, &q, 0, &wanted));
        }
        Err(upstreams) => upstreams,
    };
    let servers = if upstreams.is_empty() {
        if !q.name.contains('.') {
            return Some(reply(query, &q, RCODE_NXDOMAIN, &[]));
        }
        host_upstreams()
    } else {
        upstreams
            .iter()
            .map(|ip| SocketAddr::new(*ip, 53))
            .collect()
    };
    Some(match forward(query, &servers).await {
        Some(r) => r,
        None => reply(query, &q, RCODE_SERVFAIL, &[]),
    })
}

/// The host's name servers (`/etc/resolv.conf`; loopback ones work, we are on the host).
fn host_upstreams() -> Vec<SocketAddr> {
    std::fs::read_to_string("/etc/resolv.conf")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.strip_prefix("nameserver"))
        .filter_map(|s| s.trim().parse::<IpAddr>().ok())
        .map(|ip| SocketAddr::new(ip, 53))
        .collect()
}

async fn forward(query: &[u8], servers: &[SocketAddr]) -> Option<Vec<u8>> {
    for &upstream in servers {
        let local: SocketAddr = if upstream.is_ipv4() {
            "0.0.0.0:0".parse().ok()?
        } else {
            "[::]:0".parse().ok()?
        };
        let Ok(sock) = UdpSocket::bind(local).await else {
            continue;
        };
        if sock.send_to(query, upstream).await.is_err() {
            continue;
        }
        let mut buf = vec![0u8; 4096];
        if let Ok(Ok((n, _))) =
            tokio::time::timeout(UPSTREAM_TIMEOUT, sock.recv_from(&mut buf)).await
        {
            buf.truncate(n);
            return Some(buf);
        }
    }
    None
}

#[cfg(test)]
mod tests;
