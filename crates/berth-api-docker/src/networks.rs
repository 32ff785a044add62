//! `/networks/...`: list, inspect, create, remove, prune, connect, disconnect; and the
//! `NetworkSettings` of container inspect.

use std::collections::BTreeMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use berth_engine::containers::Container;
use berth_engine::networks::{
    Endpoint, IpamRequest, Network, NetworkCreate, NetworkFilters, NetworkMember, PublishedPort,
};
use berth_engine::spec::EndpointSettings;
use berth_engine::Engine;
use bytes::Bytes;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::error::{ApiError, ApiResult};
use crate::filters::Filters;
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

fn endpoint_json(e: &Endpoint) -> Value {
    let prefix = |n: Option<ipnet::IpNet>| n.map(|n| n.prefix_len()).unwrap_or(0);
    let addr = |n: Option<ipnet::IpNet>| n.map(|n| n.addr().to_string()).unwrap_or_default();
    let gw = |g: Option<std::net::IpAddr>| g.map(|g| g.to_string()).unwrap_or_default();
    json!({
        "IPAMConfig": null,
        "Links": if e.links.is_empty() { Value::Null } else { json!(e.links) },
        "Aliases": if e.aliases.is_empty() { Value::Null } else { json!(e.aliases) },
        "MacAddress": e.mac,
        "DriverOpts": null,
        "NetworkID": e.network_id,
        "EndpointID": e.endpoint_id,
        "Gateway": gw(e.gateway4),
        "IPAddress": addr(e.ipv4),
        "IPPrefixLen": prefix(e.ipv4),
        "IPv6Gateway": gw(e.gateway6),
        "GlobalIPv6Address": addr(e.ipv6),
        "GlobalIPv6PrefixLen": prefix(e.ipv6),
        "DNSNames": if e.dns_names.is_empty() { Value::Null } else { json!(e.dns_names) },
    })
}

/// An endpoint's `Aliases` in container inspect: on a user-defined network dockerd adds the
/// short id and the hostname for API versions before 1.45 (all that berthd serves; 1.45 moved
/// them to `DNSNames`). compose 1.29 looks for the short id there: without it, it disconnects
/// and reconnects every container it creates.
fn inspect_aliases(id: &str, hostname: &str, e: &Endpoint) -> Value {
    let mut aliases = e.aliases.clone();
    if !matches!(e.network_name.as_str(), "bridge" | "host" | "none") {
        for name in [id.get(..12).unwrap_or(id), hostname] {
            if !name.is_empty() && !aliases.iter().any(|a| a == name) {
                aliases.push(name.to_string());
            }
        }
    }
    if aliases.is_empty() {
        Value::Null
    } else {
        json!(aliases)
    }
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
        .options
        .exposed_ports
        .keys()
        .map(|p| (p.clone(), Value::Null))
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
/// (older clients read them there), every endpoint under `Networks` (`endpoints`, from
/// `Engine::inspect_endpoints`).
pub(crate) fn settings_json(c: &Container, endpoints: &[Endpoint], sandbox_key: &str) -> Value {
    let networks: Map<String, Value> = endpoints
        .iter()
        .map(|e| {
            let mut v = endpoint_json(e);
            v["Aliases"] = inspect_aliases(&c.id, &c.config.hostname, e);
            (e.network_name.clone(), v)
        })
        .collect();
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
    let primary = c.state.networks.first().map(endpoint_json);
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
    for key in c.config.options.exposed_ports.keys() {
        let (port, proto) = key.split_once('/').unwrap_or((key, "tcp"));
        let Ok(port) = port.parse::<u16>() else {
            continue;
        };
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
    Value::Object(
        c.state
            .networks
            .iter()
            .map(|e| (e.network_name.clone(), endpoint_json(e)))
            .collect(),
    )
}

#[cfg(test)]
mod tests;
