//! Networking: the `network` verbs (inspect is `inspect --type network`) and the networking
//! flags of `run`/`create`, validated as docker's CLI validates them.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use anyhow::{bail, Context, Result};
use bollard::models::{
    ContainerCreateBody, EndpointIpamConfig, EndpointSettings, Ipam, IpamConfig, Network,
    NetworkConnectRequest, NetworkCreateRequest, NetworkDisconnectRequest, NetworkingConfig,
};
use bollard::query_parameters::{ListNetworksOptions, PruneNetworksOptions};

use super::volume::key_values;
use super::{filters, for_each};
use crate::cli::{
    ContainerOptions, EndpointAddresses, NetworkConnectArgs, NetworkCreateArgs,
    NetworkDisconnectArgs, NetworkLsArgs, NetworkRmArgs, PruneArgs,
};
use crate::client::Client;
use crate::output::{self, col, Column, ListStyle, Row};

/// An address block as Go's `net.ParseCIDR` reads it (host bits may be set).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl Cidr {
    fn parse(s: &str) -> Result<Self> {
        let bad = || format!("invalid CIDR address: {s}");
        let (addr, prefix) = s.split_once('/').with_context(bad)?;
        let addr: IpAddr = addr.parse().ok().with_context(bad)?;
        let prefix: u8 = prefix
            .bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| prefix.parse().ok())
            .flatten()
            .with_context(bad)?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        if prefix > max {
            bail!("{}", bad());
        }
        Ok(Self { addr, prefix })
    }

    fn contains(&self, ip: IpAddr) -> bool {
        let masked = |bits: u128, width: u32| match u32::from(self.prefix) {
            0 => 0,
            p => bits >> (width - p),
        };
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                masked(u32::from(net).into(), 32) == masked(u32::from(ip).into(), 32)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                masked(u128::from(net), 128) == masked(u128::from(ip), 128)
            }
            _ => false,
        }
    }
}

/// Whether `subnet` holds `data`, an address or a CIDR (docker's `subnetMatches`).
fn subnet_matches(subnet: &str, data: &str) -> Result<bool> {
    let s = Cidr::parse(subnet).context("invalid subnet")?;
    let ip = if data.contains('/') {
        Some(Cidr::parse(data)?.addr)
    } else {
        data.parse().ok()
    };
    Ok(ip.is_some_and(|ip| s.contains(ip)))
}

#[derive(Clone, Copy)]
enum Slot {
    Range,
    Gateway,
}

/// Sets `item` as the range or gateway of every subnet holding it; one per subnet.
fn assign(configs: &mut [IpamConfig], item: &str, slot: Slot) -> Result<()> {
    let mut matched = false;
    for c in configs {
        let subnet = c.subnet.clone().unwrap_or_default();
        if !subnet_matches(&subnet, item)? {
            continue;
        }
        let (field, clash) = match slot {
            Slot::Range => (&mut c.ip_range, "multiple ranges"),
            Slot::Gateway => (&mut c.gateway, "multiple gateways"),
        };
        if let Some(old) = field {
            let on = if matches!(slot, Slot::Range) {
                "on"
            } else {
                "for"
            };
            bail!("cannot configure {clash} ({item}, {old}) {on} the same subnet ({subnet})");
        }
        *field = Some(item.to_string());
        matched = true;
    }
    if !matched {
        let what = if matches!(slot, Slot::Range) {
            "range"
        } else {
            "gateway"
        };
        bail!("no matching subnet for {what} {item}");
    }
    Ok(())
}

/// Pairs every `--ip-range` and `--gateway` with the `--subnet` holding it, one IPAM config
/// per subnet in the order given (docker's `consolidateIpam`, with its messages).
pub fn ipam_configs(
    subnets: &[String],
    ranges: &[String],
    gateways: &[String],
) -> Result<Vec<IpamConfig>> {
    if subnets.len() < ranges.len() || subnets.len() < gateways.len() {
        bail!("every ip-range or gateway must have a corresponding subnet");
    }
    let mut configs: Vec<IpamConfig> = Vec::new();
    for s in subnets {
        for c in &configs {
            let k = c.subnet.as_deref().unwrap_or_default();
            if subnet_matches(s, k)? || subnet_matches(k, s)? {
                bail!("multiple overlapping subnet configuration is not supported");
            }
        }
        configs.push(IpamConfig {
            subnet: Some(s.clone()),
            ..Default::default()
        });
    }
    for r in ranges {
        assign(&mut configs, r, Slot::Range)?;
    }
    for g in gateways {
        assign(&mut configs, g, Slot::Gateway)?;
    }
    Ok(configs)
}

/// The create request of `network create`.
pub fn create_request(a: &NetworkCreateArgs) -> Result<NetworkCreateRequest> {
    Ok(NetworkCreateRequest {
        name: a.name.clone(),
        driver: Some(a.driver.clone()),
        internal: a.internal.then_some(true),
        attachable: a.attachable.then_some(true),
        enable_ipv6: a.ipv6.then_some(true),
        ipam: Some(Ipam {
            driver: Some("default".into()),
            config: Some(ipam_configs(&a.subnet, &a.ip_range, &a.gateway)?),
            options: None,
        }),
        options: Some(key_values("--opt", &a.opt)?),
        labels: Some(key_values("--label", &a.label)?),
        ..Default::default()
    })
}

pub async fn create(c: &Client, a: NetworkCreateArgs) -> Result<()> {
    let req = create_request(&a)?;
    let r = c.api.create_network(req).await.context("create network")?;
    if !r.warning.is_empty() {
        eprintln!("{}", r.warning);
    }
    println!("{}", r.id);
    Ok(())
}

/// `docker network ls` rows, with docker's `{{json .}}` field names.
pub fn network_rows(networks: &[Network], no_trunc: bool) -> Vec<Row> {
    let mut networks: Vec<&Network> = networks.iter().collect();
    networks.sort_by(|a, b| {
        output::natural_cmp(
            a.name.as_deref().unwrap_or_default(),
            b.name.as_deref().unwrap_or_default(),
        )
    });
    networks
        .iter()
        .map(|n| {
            let created = n
                .created
                .as_deref()
                .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                .map_or(0, |t| t.timestamp());
            vec![
                ("CreatedAt", output::created_at(created)),
                ("Driver", n.driver.clone().unwrap_or_default()),
                (
                    "ID",
                    output::short_id(n.id.as_deref().unwrap_or_default(), no_trunc),
                ),
                ("IPv6", n.enable_ipv6.unwrap_or(false).to_string()),
                ("Internal", n.internal.unwrap_or(false).to_string()),
                ("Labels", output::labels_text(n.labels.iter().flatten())),
                ("Name", n.name.clone().unwrap_or_default()),
                ("Scope", n.scope.clone().unwrap_or_default()),
            ]
        })
        .collect()
}

pub const NETWORK_COLUMNS: [Column; 4] = [
    col("ID", "NETWORK ID", false),
    col("Name", "NAME", false),
    col("Driver", "DRIVER", false),
    col("Scope", "SCOPE", false),
];

pub async fn ls(c: &Client, a: NetworkLsArgs) -> Result<()> {
    let list = c
        .api
        .list_networks(Some(ListNetworksOptions {
            filters: filters(&a.filter)?,
        }))
        .await
        .context("list networks")?;
    let rows = network_rows(&list, a.no_trunc);
    let style = ListStyle::new(a.format.format.as_deref(), a.quiet, a.no_trunc);
    output::print(&output::render_list(&rows, &NETWORK_COLUMNS, &style, "ID"));
    Ok(())
}

pub async fn rm(c: &Client, a: NetworkRmArgs) -> Result<()> {
    for_each(&a.networks, |name| async move {
        c.api.remove_network(&name).await?;
        Ok(Some(name))
    })
    .await
}

pub async fn prune(c: &Client, a: PruneArgs) -> Result<()> {
    super::container::confirm(
        a.force,
        "WARNING! This will remove all custom networks not used by at least one container.",
    )?;
    let r = c
        .api
        .prune_networks(Some(PruneNetworksOptions {
            filters: filters(&a.filter)?,
        }))
        .await
        .context("prune networks")?;
    let deleted = r.networks_deleted.unwrap_or_default();
    if !deleted.is_empty() {
        println!("Deleted Networks:");
        for d in &deleted {
            println!("{d}");
        }
        println!();
    }
    Ok(())
}

/// `--ip`/`--ip6` as an endpoint's IPAM config, each checked to be of its family.
fn endpoint_ipam(a: &EndpointAddresses) -> Result<Option<EndpointIpamConfig>> {
    let (ip, ip6) = (a.ip.as_deref(), a.ip6.as_deref());
    if let Some(ip) = ip {
        ip.parse::<Ipv4Addr>()
            .ok()
            .with_context(|| format!("invalid IPv4 address: {ip}"))?;
    }
    if let Some(ip6) = ip6 {
        ip6.parse::<Ipv6Addr>()
            .ok()
            .with_context(|| format!("invalid IPv6 address: {ip6}"))?;
    }
    Ok((ip.is_some() || ip6.is_some()).then(|| EndpointIpamConfig {
        ipv4_address: ip.map(str::to_string),
        ipv6_address: ip6.map(str::to_string),
        link_local_ips: None,
    }))
}

pub async fn connect(c: &Client, a: NetworkConnectArgs) -> Result<()> {
    let settings = EndpointSettings {
        ipam_config: endpoint_ipam(&a.addresses)?,
        aliases: (!a.alias.is_empty()).then(|| a.alias.clone()),
        ..Default::default()
    };
    let req = NetworkConnectRequest {
        container: a.container,
        endpoint_config: Some(settings),
    };
    c.api.connect_network(&a.network, req).await?;
    Ok(())
}

pub async fn disconnect(c: &Client, a: NetworkDisconnectArgs) -> Result<()> {
    let req = NetworkDisconnectRequest {
        container: a.container,
        force: Some(a.force),
    };
    c.api.disconnect_network(&a.network, req).await?;
    Ok(())
}

/// `--mac-address`: six hex octets separated by `:` or `-`.
fn validate_mac(mac: &str) -> Result<()> {
    let octets: Vec<&str> = mac.split([':', '-']).collect();
    let ok = octets.len() == 6
        && octets
            .iter()
            .all(|o| o.len() == 2 && o.bytes().all(|b| b.is_ascii_hexdigit()));
    if !ok {
        bail!("{mac} is not a valid mac address");
    }
    Ok(())
}

/// `--add-host name:ip` or `name=ip` (docker's `ValidateExtraHost`): the IP may be in
/// brackets, or `host-gateway`; sent to the daemon as `name:ip`.
pub fn extra_host(val: &str) -> Result<String> {
    let (name, ip) = val
        .split_once('=')
        .or_else(|| val.split_once(':'))
        .filter(|(k, _)| !k.is_empty() && !k.contains(':'))
        .with_context(|| format!("bad format for add-host: {val:?}"))?;
    if ip != "host-gateway" {
        let bare = ip
            .strip_prefix('[')
            .and_then(|i| i.strip_suffix(']'))
            .filter(|i| !i.is_empty())
            .unwrap_or(ip);
        if bare.parse::<IpAddr>().is_err() {
            bail!("invalid IP address in add-host: {bare:?}");
        }
        return Ok(format!("{name}:{bare}"));
    }
    Ok(format!("{name}:{ip}"))
}

/// `--dns-search`: `.` or a domain name (docker's `ValidateDNSSearch`), without a final dot.
pub fn dns_search(val: &str) -> Result<String> {
    let val = val.trim_matches(' ');
    if val == "." {
        return Ok(val.to_string());
    }
    let bad = || anyhow::anyhow!("{val} is not a valid domain");
    let name = val.trim_end();
    let name = name.strip_suffix('.').unwrap_or(name);
    let label_ok = |l: &str| {
        let b = l.as_bytes();
        !b.is_empty()
            && b[0].is_ascii_alphanumeric()
            && b[b.len() - 1].is_ascii_alphanumeric()
            && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
    };
    if !name.bytes().any(|b| b.is_ascii_alphabetic())
        || name.len() >= 255
        || !name.split('.').all(label_ok)
    {
        return Err(bad());
    }
    Ok(name.to_string())
}

/// Whether a network mode names a user network (not bridge, host, none, container:...).
fn user_defined(mode: &str) -> bool {
    !matches!(mode, "default" | "bridge" | "host" | "none") && !mode.starts_with("container:")
}

/// The endpoints of the create body (docker's `parseNetworkOpts`): `--ip`, `--ip6`,
/// `--network-alias` and `--mac-address` belong to the first network (`bridge` when none is
/// given), and `--link` too when that is a user network; a single network without them needs
/// no entry.
fn endpoints(o: &ContainerOptions) -> Result<HashMap<String, EndpointSettings>> {
    if o.network.iter().any(|n| user_defined(n)) && o.network.iter().any(|n| !user_defined(n)) {
        bail!("conflicting options: cannot attach both user-defined and non-user-defined network-modes");
    }
    if let Some(mac) = &o.mac_address {
        validate_mac(mac)?;
    }
    let on_user_network = o.network.first().is_some_and(|n| user_defined(n));
    let first = EndpointSettings {
        ipam_config: endpoint_ipam(&o.addresses)?,
        aliases: (!o.network_alias.is_empty()).then(|| o.network_alias.clone()),
        links: (on_user_network && !o.link.is_empty()).then(|| o.link.clone()),
        mac_address: o.mac_address.clone(),
        ..Default::default()
    };
    let mut out = HashMap::new();
    let custom = first != EndpointSettings::default();
    let default = ["bridge".to_string()];
    let networks = if o.network.is_empty() {
        &default[..]
    } else {
        &o.network[..]
    };
    for (i, name) in networks.iter().enumerate() {
        let settings = if i == 0 {
            first.clone()
        } else {
            EndpointSettings::default()
        };
        if out.insert(name.clone(), settings).is_some() {
            bail!("network {name:?} is specified multiple times");
        }
    }
    if networks.len() == 1 && !custom {
        out.clear();
    }
    Ok(out)
}

/// Fills the networking part of a create body from `run`/`create` flags.
pub fn apply_container_flags(o: &ContainerOptions, body: &mut ContainerCreateBody) -> Result<()> {
    let published = super::ports::published(&o.publish, &o.expose)?;
    let endpoints = endpoints(o)?;
    for dns in &o.dns {
        dns.parse::<IpAddr>()
            .ok()
            .with_context(|| format!("IP address is not correctly formatted: {dns}"))?;
    }
    let some = |v: Vec<String>| (!v.is_empty()).then_some(v);
    let h = body.host_config.get_or_insert_with(Default::default);
    h.network_mode = o.network.first().cloned();
    h.publish_all_ports = o.publish_all.then_some(true);
    h.port_bindings = (!published.bindings.is_empty()).then(|| {
        published
            .bindings
            .into_iter()
            .map(|(port, b)| (port, Some(b)))
            .collect()
    });
    h.links = some(o.link.clone());
    h.dns = some(o.dns.clone());
    h.dns_search = some(
        o.dns_search
            .iter()
            .map(|d| dns_search(d))
            .collect::<Result<_>>()?,
    );
    h.dns_options = some(o.dns_option.clone());
    h.extra_hosts = some(
        o.add_host
            .iter()
            .map(|e| extra_host(e))
            .collect::<Result<_>>()?,
    );
    body.exposed_ports = some(published.exposed.into_iter().collect());
    body.networking_config = (!endpoints.is_empty()).then_some(NetworkingConfig {
        endpoints_config: Some(endpoints),
    });
    Ok(())
}

#[cfg(test)]
mod tests;
