//! `/networks/...`: list, inspect, create, remove, prune, connect, disconnect; and the
//! `NetworkSettings` of container inspect.

use std::collections::BTreeMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use berth_engine::containers::Container;
use berth_engine::networks::{
    default_to_bridge, network_entries, InterfaceStats, IpamRequest, Network, NetworkCreate,
    NetworkEntry, NetworkFilters, NetworkMember, PublishedPort,
};
use berth_engine::spec::{CreateOptions, EndpointSettings};
use berth_engine::Engine;
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::error::{ApiError, ApiResult};
use crate::filters::Filters;
use crate::version::RequestedVersion;
use crate::volumes::strings;

/// An address with its prefix length, or `""` as Docker shows a missing one.
fn cidr(net: Option<ipnet::IpNet>) -> String {
    net.map(|n| n.to_string()).unwrap_or_default()
}

fn network_json(n: &Network, members: Option<&[NetworkMember]>) -> Value {
    let config: Vec<Value> = n
        .subnets
        .iter()
        .map(|s| {
            let mut v = json!({"Subnet": s.subnet.to_string(), "Gateway": s.gateway.to_string()});
            if let Some(r) = &s.ip_range {
                v["IPRange"] = json!(r.to_string());
            }
            if !s.aux_addresses.is_empty() {
                v["AuxiliaryAddresses"] = json!(s.aux_addresses);
            }
            v
        })
        .collect();
    let mut v = json!({
        "Name": n.name,
        "Id": n.id,
        "Created": n.created.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true),
        "Scope": "local",
        "Driver": n.driver,
        "EnableIPv6": n.enable_ipv6,
        "IPAM": {"Driver": "default", "Options": null, "Config": config},
        "Internal": n.internal,
        "Attachable": n.attachable,
        "Ingress": false,
        "ConfigFrom": {"Network": ""},
        "ConfigOnly": false,
        "Containers": {},
        "Options": n.options,
        "Labels": n.labels,
    });
    if let Some(members) = members {
        let containers: Map<String, Value> = members
            .iter()
            .map(|m| {
                (
                    m.container_id.clone(),
                    json!({
                        "Name": m.name,
                        "EndpointID": m.endpoint.endpoint_id,
                        "MacAddress": m.endpoint.mac,
                        "IPv4Address": cidr(m.endpoint.ipv4),
                        "IPv6Address": cidr(m.endpoint.ipv6),
                    }),
                )
            })
            .collect();
        v["Containers"] = Value::Object(containers);
    }
    v
}

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    filters: Option<String>,
}

pub async fn list(
    State(engine): State<Engine>,
    Query(q): Query<ListQuery>,
) -> ApiResult<Json<Value>> {
    let filters = Filters::parse(q.filters.as_deref())?;
    filters.only(&["name", "id", "label", "driver", "type", "scope"])?;
    let networks = engine
        .list_networks(NetworkFilters {
            names: strings(&filters, "name"),
            ids: strings(&filters, "id"),
            labels: strings(&filters, "label"),
            drivers: strings(&filters, "driver"),
            types: strings(&filters, "type"),
        })
        .await?;
    Ok(Json(Value::Array(
        networks.iter().map(|n| network_json(n, None)).collect(),
    )))
}

pub async fn inspect(
    State(engine): State<Engine>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let n = engine.network(&id).await?;
    let members = engine.network_members(&n).await?;
    Ok(Json(network_json(&n, Some(&members))))
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct IpamConfigBody {
    subnet: String,
    gateway: String,
    #[serde(rename = "IPRange")]
    ip_range: String,
    #[serde(deserialize_with = "nullable")]
    auxiliary_addresses: BTreeMap<String, String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct IpamBody {
    driver: String,
    #[serde(deserialize_with = "nullable")]
    config: Vec<IpamConfigBody>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct CreateBody {
    name: String,
    driver: String,
    internal: bool,
    attachable: bool,
    #[serde(rename = "EnableIPv6")]
    enable_ipv6: Option<bool>,
    #[serde(rename = "IPAM", deserialize_with = "nullable")]
    ipam: IpamBody,
    #[serde(deserialize_with = "nullable")]
    options: BTreeMap<String, String>,
    #[serde(deserialize_with = "nullable")]
    labels: BTreeMap<String, String>,
}

fn nullable<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

fn parse_body<T: for<'de> Deserialize<'de>>(body: &Bytes, what: &str) -> ApiResult<T> {
    crate::json::from_slice(body).map_err(|e| ApiError::BadRequest(format!("invalid {what}: {e}")))
}

pub async fn create(
    State(engine): State<Engine>,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let b: CreateBody = parse_body(&body, "network config")?;
    if !matches!(b.ipam.driver.as_str(), "" | "default") {
        return Err(ApiError::BadRequest(format!(
            "IPAM driver {:?} is not supported (only default)",
            b.ipam.driver
        )));
    }
    let id = engine
        .create_network(NetworkCreate {
            name: b.name,
            driver: b.driver,
            internal: b.internal,
            attachable: b.attachable,
            enable_ipv6: b.enable_ipv6.unwrap_or(false),
            ipam: b
                .ipam
                .config
                .into_iter()
                .map(|c| IpamRequest {
                    subnet: c.subnet,
                    gateway: c.gateway,
                    ip_range: c.ip_range,
                    aux_addresses: c.auxiliary_addresses,
                })
                .collect(),
            options: b.options,
            labels: b.labels,
        })
        .await?;
    Ok((StatusCode::CREATED, Json(json!({"Id": id, "Warning": ""}))))
}

pub async fn remove(State(engine): State<Engine>, Path(id): Path<String>) -> ApiResult<StatusCode> {
    engine.remove_network(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn prune(
    State(engine): State<Engine>,
    Query(q): Query<ListQuery>,
) -> ApiResult<Json<Value>> {
    let filters = Filters::parse(q.filters.as_deref())?;
    filters.only(&["label"])?;
    let removed = engine.prune_networks(&strings(&filters, "label")).await?;
    Ok(Json(json!({"NetworksDeleted": removed})))
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct ConnectBody {
    container: String,
    #[serde(deserialize_with = "nullable")]
    endpoint_config: EndpointSettings,
    force: bool,
}

pub async fn connect(
    State(engine): State<Engine>,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<StatusCode> {
    let b: ConnectBody = parse_body(&body, "connect request")?;
    engine
        .connect_network(&id, &b.container, b.endpoint_config)
        .await?;
    Ok(StatusCode::OK)
}

pub async fn disconnect(
    State(engine): State<Engine>,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<StatusCode> {
    let b: ConnectBody = parse_body(&body, "disconnect request")?;
    // `force` only matters to swarm's dangling endpoints.
    let _ = b.force;
    engine.disconnect_network(&id, &b.container).await?;
    Ok(StatusCode::OK)
}

/// Docker's `EndpointSettings` (api/types/network/endpoint.go): every key present, in its
/// order; only the members of `IPAMConfig` are left out when empty.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct EndpointJson {
    #[serde(rename = "IPAMConfig")]
    ipam_config: Option<IpamJson>,
    links: Option<Vec<String>>,
    aliases: Option<Vec<String>>,
    mac_address: String,
    #[serde(rename = "NetworkID")]
    network_id: String,
    #[serde(rename = "EndpointID")]
    endpoint_id: String,
    gateway: String,
    #[serde(rename = "IPAddress")]
    ip_address: String,
    #[serde(rename = "IPPrefixLen")]
    ip_prefix_len: u8,
    #[serde(rename = "IPv6Gateway")]
    ipv6_gateway: String,
    #[serde(rename = "GlobalIPv6Address")]
    global_ipv6_address: String,
    #[serde(rename = "GlobalIPv6PrefixLen")]
    global_ipv6_prefix_len: u8,
    driver_opts: Option<BTreeMap<String, String>>,
    #[serde(rename = "DNSNames")]
    dns_names: Option<Vec<String>>,
}

#[derive(Debug, Serialize)]
struct IpamJson {
    #[serde(rename = "IPv4Address", skip_serializing_if = "String::is_empty")]
    ipv4_address: String,
    #[serde(rename = "IPv6Address", skip_serializing_if = "String::is_empty")]
    ipv6_address: String,
    #[serde(rename = "LinkLocalIPs", skip_serializing_if = "Vec::is_empty")]
    link_local_ips: Vec<String>,
}

/// Go's nil slice or map for an empty one.
fn non_empty<T>(v: &T) -> Option<T>
where
    T: Clone,
    for<'a> &'a T: IntoIterator,
{
    v.into_iter().next().is_some().then(|| v.clone())
}

/// A network whose endpoints have DNS names (dockerd's `IsUserDefined` of the key).
fn user_defined(name: &str) -> bool {
    !matches!(name, "bridge" | "host" | "none" | "default") && !name.starts_with("container:")
}

/// One entry of `NetworkSettings.Networks`: the configuration, and the attachment's
/// addresses while it runs. Up to API 1.44 (all Berth serves), dockerd adds the short id and
/// the hostname to a user network's aliases.
fn endpoint_json(c: &Container, entry: &NetworkEntry) -> EndpointJson {
    let s = &entry.settings;
    let e = entry.endpoint.as_ref();
    let prefix = |n: Option<ipnet::IpNet>| n.map_or(0, |n| n.prefix_len());
    let addr = |n: Option<ipnet::IpNet>| n.map(|n| n.addr().to_string()).unwrap_or_default();
    let gw = |g: Option<std::net::IpAddr>| g.map(|g| g.to_string()).unwrap_or_default();
    let mut aliases = s.aliases.clone();
    if user_defined(&entry.name) {
        let short = c.id.get(..12).unwrap_or(&c.id);
        for extra in [short, c.config.hostname.as_str()] {
            if !extra.is_empty() && !aliases.iter().any(|a| a == extra) {
                aliases.push(extra.to_string());
            }
        }
    }
    let dns_names = e.map_or(&s.dns_names, |e| &e.dns_names);
    // The requested MAC shows until a start attaches the endpoint (which records the network
    // id); after the exit it is cleared with the other operational data, as dockerd does.
    let mac = match e {
        Some(e) => e.mac.clone(),
        None if s.network_id.is_empty() => s.mac_address.clone(),
        None => String::new(),
    };
    let ipam = &s.ipam_config;
    EndpointJson {
        ipam_config: (!ipam.is_empty()).then(|| IpamJson {
            ipv4_address: ipam.ipv4_address.clone(),
            ipv6_address: ipam.ipv6_address.clone(),
            link_local_ips: ipam.link_local_ips.clone(),
        }),
        links: non_empty(e.map_or(&s.links, |e| &e.links)),
        aliases: non_empty(&aliases),
        mac_address: mac,
        network_id: e.map_or_else(|| s.network_id.clone(), |e| e.network_id.clone()),
        endpoint_id: e.map(|e| e.endpoint_id.clone()).unwrap_or_default(),
        gateway: gw(e.and_then(|e| e.gateway4)),
        ip_address: addr(e.and_then(|e| e.ipv4)),
        ip_prefix_len: prefix(e.and_then(|e| e.ipv4)),
        ipv6_gateway: gw(e.and_then(|e| e.gateway6)),
        global_ipv6_address: addr(e.and_then(|e| e.ipv6)),
        global_ipv6_prefix_len: prefix(e.and_then(|e| e.ipv6)),
        driver_opts: non_empty(&s.driver_opts),
        dns_names: non_empty(dns_names),
    }
}

/// `NetworkSettings.Networks` (inspect and `docker ps`).
fn networks_json(c: &Container) -> Value {
    let networks: BTreeMap<String, EndpointJson> = network_entries(c)
        .iter()
        .map(|entry| (entry.name.clone(), endpoint_json(c, entry)))
        .collect();
    json!(networks)
}

/// dockerd's create warning for the deprecated container-wide `MacAddress`.
const MAC_WARNING: &str =
    "The container-wide MacAddress field is now deprecated. It should be specified in EndpointsConfig instead.";

/// The container-wide `MacAddress` of a create request moved into its endpoints, as dockerd's
/// `handleMACAddressBC`: from API 1.44 into the `NetworkMode` network's endpoint (which must be
/// the one configured, with no other MAC), with a warning; before 1.44 into the one endpoint,
/// and endpoint MACs, which those versions did not have, dropped. Returns the warning.
pub(crate) fn migrate_mac_address(
    o: &mut CreateOptions,
    version: Option<RequestedVersion>,
) -> ApiResult<Option<&'static str>> {
    let mac = std::mem::take(&mut o.mac_address);
    default_to_bridge(o);
    let mode = o.host_config.network_mode.clone();
    let bridge_or_user = mode == "bridge" || user_defined(&mode);
    let endpoints = &mut o.networking_config.endpoints_config;
    if version.is_some_and(|v| v < RequestedVersion(1, 44)) {
        if mac.is_empty() {
            endpoints.values_mut().for_each(|e| e.mac_address.clear());
            return Ok(None);
        }
        if !bridge_or_user {
            return Err(ApiError::BadRequest(
                "conflicting options: mac-address and the network mode".into(),
            ));
        }
        if endpoints.is_empty() {
            endpoints.insert(mode, EndpointSettings::default());
        }
        endpoints
            .values_mut()
            .for_each(|e| e.mac_address.clone_from(&mac));
        return Ok(None);
    }
    if mac.is_empty() {
        return Ok(None);
    }
    if bridge_or_user {
        if endpoints.is_empty() {
            endpoints.insert(mode.clone(), EndpointSettings::default());
        }
        let ep = endpoints.get_mut(&mode).ok_or_else(|| {
            ApiError::BadRequest("if a container-wide MAC address is supplied, HostConfig.NetworkMode must match the identity of a network in NetworkSettings.Networks".into())
        })?;
        if ep.mac_address.is_empty() {
            ep.mac_address = mac;
        } else if ep.mac_address != mac {
            return Err(ApiError::BadRequest("the container-wide MAC address must match the endpoint-specific MAC address for the main network, or be left empty".into()));
        }
    }
    Ok(Some(MAC_WARNING))
}

/// The host addresses a binding answers on, as dockerd lists them: its own, or for one without
/// an address `0.0.0.0`, and `::` too when the container has an IPv6 address (portmap's DNAT
/// then serves the host's IPv6 addresses and berthd's proxy `::1`; an IPv4-only container is
/// reached over IPv6 on `::1` alone, which is not all of `::`).
fn host_ips<'a>(c: &Container, p: &'a PublishedPort) -> Vec<&'a str> {
    if !p.host_ip.is_empty() {
        return vec![p.host_ip.as_str()];
    }
    let ipv6 = c.state.networks.first().is_some_and(|e| e.ipv6.is_some());
    if ipv6 {
        vec!["0.0.0.0", "::"]
    } else {
        vec!["0.0.0.0"]
    }
}

/// `NetworkSettings.Ports`: every exposed or published port, with its host bindings (`null`
/// for an exposed, unpublished one, as dockerd). None while the container is not running:
/// dockerd fills them at start and clears them at exit (its list reads the same map).
fn ports_json(c: &Container) -> Value {
    if !c.state.status.is_live() {
        return json!({});
    }
    let mut ports: Map<String, Value> = c
        .config
        .spec
        .network
        .exposed
        .iter()
        .map(|p| (format!("{}/{}", p.number, p.protocol), Value::Null))
        .collect();
    for p in &c.state.ports {
        let key = format!("{}/{}", p.container_port, p.protocol);
        for ip in host_ips(c, p) {
            let binding = json!({"HostIp": ip, "HostPort": p.host_port.to_string()});
            match ports.get_mut(&key) {
                Some(Value::Array(list)) => list.push(binding),
                _ => {
                    ports.insert(key.clone(), json!([binding]));
                }
            }
        }
    }
    Value::Object(ports)
}

/// Container inspect's `NetworkSettings`: the primary endpoint's addresses at the top level
/// (older clients read them there), every endpoint under `Networks`.
pub(crate) fn settings_json(c: &Container, sandbox_key: &str) -> Value {
    let networks = networks_json(c);
    let mut v = json!({
        "Bridge": "",
        "SandboxID": if sandbox_key.is_empty() { "" } else { c.id.as_str() },
        "SandboxKey": sandbox_key,
        "HairpinMode": false,
        "LinkLocalIPv6Address": "",
        "LinkLocalIPv6PrefixLen": 0,
        "Ports": ports_json(c),
        "Networks": networks,
    });
    let primary = c.state.networks.first().map(|e| {
        json!(endpoint_json(
            c,
            &NetworkEntry {
                name: e.network_name.clone(),
                settings: EndpointSettings::default(),
                endpoint: Some(e.clone()),
            }
        ))
    });
    for key in [
        "EndpointID",
        "Gateway",
        "GlobalIPv6Address",
        "GlobalIPv6PrefixLen",
        "IPAddress",
        "IPPrefixLen",
        "IPv6Gateway",
        "MacAddress",
    ] {
        v[key] = primary
            .as_ref()
            .map_or_else(|| json!(""), |p| p[key].clone());
    }
    if primary.is_none() {
        v["IPPrefixLen"] = json!(0);
        v["GlobalIPv6PrefixLen"] = json!(0);
    }
    v
}

/// `docker stats`' `networks`: the counters by interface name inside the container.
pub(crate) fn stats_json(interfaces: &[InterfaceStats]) -> Value {
    interfaces
        .iter()
        .map(|i| {
            (
                i.name.clone(),
                json!({
                    "rx_bytes": i.rx_bytes,
                    "rx_packets": i.rx_packets,
                    "rx_errors": i.rx_errors,
                    "rx_dropped": i.rx_dropped,
                    "tx_bytes": i.tx_bytes,
                    "tx_packets": i.tx_packets,
                    "tx_errors": i.tx_errors,
                    "tx_dropped": i.tx_dropped,
                }),
            )
        })
        .collect::<Map<String, Value>>()
        .into()
}

/// `docker ps`'s `Ports` of one container.
pub(crate) fn summary_ports(c: &Container) -> Value {
    // As inspect's `NetworkSettings.Ports` (`ports_json`): nothing unless running.
    if !c.state.status.is_live() {
        return json!([]);
    }
    let mut out: Vec<Value> = c
        .state
        .ports
        .iter()
        .flat_map(|p| {
            host_ips(c, p).into_iter().map(|ip| {
                json!({
                    "IP": ip,
                    "PrivatePort": p.container_port,
                    "PublicPort": p.host_port,
                    "Type": p.protocol,
                })
            })
        })
        .collect();
    for exposed in &c.config.spec.network.exposed {
        let (port, proto) = (exposed.number, exposed.protocol.to_string());
        if !c
            .state
            .ports
            .iter()
            .any(|p| p.container_port == port && p.protocol == proto)
        {
            out.push(json!({"PrivatePort": port, "Type": proto}));
        }
    }
    Value::Array(out)
}

/// `docker ps`'s `NetworkSettings.Networks`.
pub(crate) fn summary_networks(c: &Container) -> Value {
    networks_json(c)
}

#[cfg(test)]
mod tests;
