//! Ports: `-p`/`--expose` parsed exactly as docker's `nat.ParsePortSpecs`, the `PORTS` column of
//! `ps` (docker's `DisplayablePorts`) and the `port` verb.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{bail, Context, Result};
use bollard::models::{PortBinding, PortMap, PortSummary};

use crate::cli::PortArgs;
use crate::client::{Client, Exit};
use crate::output::natural_cmp;

/// Exposed ports (`80/tcp`) and their host bindings, keyed and ordered by port.
#[derive(Debug, Default, PartialEq)]
pub struct Published {
    pub exposed: BTreeSet<String>,
    pub bindings: BTreeMap<String, Vec<PortBinding>>,
}

/// A port number as Go's `strconv.ParseUint(s, 10, 16)` reads it: digits only, no sign.
fn port_number(s: &str) -> Option<u16> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// `8000` or `8000-9000` (nat.ParsePortRange: text after a second `-` is ignored).
pub fn port_range(ports: &str) -> Result<(u16, u16)> {
    if ports.is_empty() {
        bail!("empty string specified for ports");
    }
    let bad = || format!("invalid syntax: {ports:?}");
    let Some((first, rest)) = ports.split_once('-') else {
        let p = port_number(ports).with_context(bad)?;
        return Ok((p, p));
    };
    let second = rest.split('-').next().unwrap_or_default();
    let start = port_number(first).with_context(bad)?;
    let end = port_number(second).with_context(bad)?;
    if end < start {
        bail!("invalid range specified for port: {ports}");
    }
    Ok((start, end))
}

/// `80`, `80/udp`, `80/` -> (proto, port) as nat.SplitProtoPort; empty parts give ("", "").
fn split_proto_port(raw: &str) -> (&str, &str) {
    let mut parts = raw.split('/');
    let port = parts.next().unwrap_or_default();
    if port.is_empty() {
        return ("", "");
    }
    match parts.next() {
        None | Some("") => ("tcp", port),
        Some(proto) => (proto, port),
    }
}

/// `ip:host:container` -> its three parts; an IPv6 address keeps its colons.
fn split_parts(raw: &str) -> (String, &str, &str) {
    let parts: Vec<&str> = raw.split(':').collect();
    let n = parts.len();
    match parts.as_slice() {
        [c] => (String::new(), "", c),
        [h, c] => (String::new(), h, c),
        _ => (parts[..n - 2].join(":"), parts[n - 2], parts[n - 1]),
    }
}

/// docker's `--publish target=80,published=8080,protocol=udp` as the short form.
fn standard_notation(spec: &str) -> Result<String> {
    if !spec.contains('=') {
        return Ok(spec.to_string());
    }
    let mut params: BTreeMap<&str, &str> = BTreeMap::from([("protocol", "tcp")]);
    for param in spec.split(',') {
        match param.split_once('=') {
            Some((k, v)) if !k.is_empty() => {
                params.insert(k, v);
            }
            _ => bail!("invalid publish opts format (should be name=value but got '{param}')"),
        }
    }
    let target = params
        .get("target")
        .context("Publish option 'target' not specified")?;
    let published = params.get("published").copied().unwrap_or_default();
    Ok(format!("{published}:{target}/{}", params["protocol"]))
}

/// One `-p` spec as (port, binding) pairs, one per container port (nat.ParsePortSpec).
pub fn parse_port_spec(raw: &str) -> Result<Vec<(String, PortBinding)>> {
    let (mut ip, host_port, container_port) = split_parts(raw);
    let (proto, container_port) = split_proto_port(container_port);
    if let Some(inner) = ip.strip_prefix('[') {
        // Brackets only delimit an IPv6 address (`[::1]:80:80`).
        match inner.strip_suffix(']') {
            Some(addr) if !addr.contains(['[', ']']) => ip = addr.to_string(),
            _ => bail!("invalid IP address {ip}: missing ']' in address"),
        }
    }
    if !ip.is_empty() && ip.parse::<std::net::IpAddr>().is_err() {
        bail!("invalid IP address: {ip}");
    }
    if container_port.is_empty() {
        bail!("no port specified: {raw}<empty>");
    }
    let (start, end) = port_range(container_port)
        .map_err(|_| anyhow::anyhow!("invalid containerPort: {container_port}"))?;
    let (host_start, host_end) = if host_port.is_empty() {
        (0, 0)
    } else {
        port_range(host_port).map_err(|_| anyhow::anyhow!("invalid hostPort: {host_port}"))?
    };
    // A host range for a single container port is where the daemon picks one from.
    if !host_port.is_empty() && end - start != host_end - host_start && end != start {
        bail!(
            "invalid ranges specified for container and host Ports: {container_port} and {host_port}"
        );
    }
    let proto = proto.to_lowercase();
    if !matches!(proto.as_str(), "tcp" | "udp" | "sctp") {
        bail!("invalid proto: {proto}");
    }
    Ok((0..=end - start)
        .map(|i| {
            let mut host = if host_port.is_empty() {
                String::new()
            } else {
                (host_start + i).to_string()
            };
            if start == end && host_start != host_end {
                host = format!("{host}-{host_end}");
            }
            let binding = PortBinding {
                host_ip: Some(ip.clone()),
                host_port: Some(host),
            };
            (format!("{}/{proto}", start + i), binding)
        })
        .collect())
}

/// `-p` and `--expose` flags as the create body's exposed ports and port bindings.
pub fn published(publish: &[String], expose: &[String]) -> Result<Published> {
    let mut out = Published::default();
    for spec in publish {
        for (port, binding) in parse_port_spec(&standard_notation(spec)?)? {
            out.exposed.insert(port.clone());
            out.bindings.entry(port).or_default().push(binding);
        }
    }
    for e in expose {
        if e.contains(':') {
            bail!("invalid port format for --expose: {e}");
        }
        let (proto, port) = split_proto_port(e);
        let (start, end) = port_range(port).map_err(|err| {
            anyhow::anyhow!("invalid range format for --expose: {e}, error: {err}")
        })?;
        out.exposed
            .extend((start..=end).map(|p| format!("{p}/{proto}")));
    }
    Ok(out)
}

/// Go's `net.JoinHostPort`: IPv6 hosts in brackets.
fn join_host_port(host: &str, port: &str) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// The `PORTS` column (docker's `DisplayablePorts`): unpublished ports and ports published on
/// the same number are grouped into ranges, other mappings follow one by one.
pub fn display_ports(ports: &[PortSummary]) -> String {
    let mut ports = ports.to_vec();
    let proto = |p: &PortSummary| p.typ.map_or_else(|| "tcp".to_string(), |t| t.to_string());
    ports.sort_by(|a, b| {
        (a.private_port, a.ip.as_deref(), a.public_port, proto(a)).cmp(&(
            b.private_port,
            b.ip.as_deref(),
            b.public_port,
            proto(b),
        ))
    });
    // Groups by (ip, proto), in the order they first appear: (first, last) of the open range.
    let mut groups: Vec<((String, String), (u16, u16))> = Vec::new();
    let mut result = Vec::new();
    let mut mappings = Vec::new();
    let form = |(ip, proto): &(String, String), (first, last): (u16, u16)| {
        let range = if first == last {
            first.to_string()
        } else {
            format!("{first}-{last}")
        };
        if ip.is_empty() {
            format!("{range}/{proto}")
        } else {
            format!("{}->{range}/{proto}", join_host_port(ip, &range))
        }
    };
    for p in &ports {
        let current = p.private_port;
        let ip = p.ip.clone().unwrap_or_default();
        if !ip.is_empty() && p.public_port != Some(current) {
            let host = join_host_port(&ip, &p.public_port.unwrap_or(0).to_string());
            mappings.push(format!("{host}->{current}/{}", proto(p)));
            continue;
        }
        let key = (ip, proto(p));
        match groups.iter_mut().find(|(k, _)| *k == key) {
            None => groups.push((key, (current, current))),
            Some((_, range)) if range.1.checked_add(1) == Some(current) => range.1 = current,
            Some((k, range)) => {
                result.push(form(k, *range));
                *range = (current, current);
            }
        }
    }
    result.extend(groups.iter().map(|(k, range)| form(k, *range)));
    result.extend(mappings);
    result.join(", ")
}

/// `docker port` lines: every mapping as `80/tcp -> 0.0.0.0:8080`, or the host addresses of
/// one `PRIVATE_PORT[/PROTO]`, in natural order.
pub fn port_lines(ports: &PortMap, want: Option<&str>, container: &str) -> Result<Vec<String>> {
    let mut out = Vec::new();
    match want {
        Some(want) => {
            let (port, proto) = want.split_once('/').unwrap_or((want, "tcp"));
            let proto = if proto.is_empty() { "tcp" } else { proto };
            if port_number(port).is_none() {
                bail!("Error: invalid port ({port})");
            }
            let frontends = ports
                .get(&format!("{port}/{proto}"))
                .cloned()
                .flatten()
                .unwrap_or_default();
            if frontends.is_empty() {
                bail!("Error: No public port '{want}' published for {container}");
            }
            out.extend(frontends.iter().map(frontend));
        }
        None => {
            for (from, frontends) in ports {
                for f in frontends.iter().flatten() {
                    out.push(format!("{from} -> {}", frontend(f)));
                }
            }
        }
    }
    out.sort_by(|a, b| natural_cmp(a, b));
    Ok(out)
}

fn frontend(b: &PortBinding) -> String {
    join_host_port(
        b.host_ip.as_deref().unwrap_or_default(),
        b.host_port.as_deref().unwrap_or_default(),
    )
}

pub async fn port(c: &Client, a: PortArgs) -> Result<()> {
    let info = c.api.inspect_container(&a.container, None).await?;
    let ports = info
        .network_settings
        .and_then(|n| n.ports)
        .unwrap_or_default();
    let lines = port_lines(&ports, a.port.as_deref(), &a.container)
        .map_err(|e| Exit::with(1, e.to_string()))?;
    for line in lines {
        println!("{line}");
    }
    Ok(())
}

#[cfg(test)]
mod tests;
