//! Networks: the predefined `bridge`, `host` and `none`, and user-defined bridge networks,
//! made by CNI plugins through berth-cni (docs/networking.md).
//!
//! A network is a record in the metadata DB (its definition as JSON); its CNI configuration
//! list is built from the definition when needed ([`cni`]). Containers keep what they asked
//! for in their config (`NetworkingConfig`) and what they got (addresses, ports) in their state
//! ([`Endpoint`]), which is also the valid set of the start-up GC. CNI plugins are processes
//! run from the blocking pool with `CNI_NETNS` set: berthd never enters a namespace for them.

mod attach;
mod cni;
mod dns;
mod error;
mod firewall;
mod links;
mod ports;
mod stats;
mod subnet;

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::PathBuf;

use berth_store::metadata::NetworkRecord;
use berth_store::Store;
use chrono::{DateTime, Utc};
use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use crate::{Engine, Error, Result};

pub(crate) use attach::{configure, validate, NetSetup};
pub use attach::{default_to_bridge, network_entries, Endpoint, NetworkEntry};
pub use cni::Plugins;
pub use error::NetworkError;
pub(crate) use links::parse as parse_link;
pub use links::Link;
pub(crate) use links::{linked, resolve as resolve_links};
pub use ports::PublishedPort;
pub(crate) use ports::{bindings as port_bindings, parse_key as parse_port_key};
pub(crate) use stats::parse_net_dev;
pub use stats::InterfaceStats;

/// The default network's name, as Docker's.
pub const DEFAULT_NETWORK: &str = "bridge";
const MTU_OPTION: &str = "com.docker.network.driver.mtu";
const BRIDGE_NAME_OPTION: &str = "com.docker.network.bridge.name";
const MASQ_OPTION: &str = "com.docker.network.bridge.enable_ip_masquerade";

/// One address range of a network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subnet {
    pub subnet: IpNet,
    pub gateway: IpAddr,
    /// `--ip-range`: where dynamic addresses come from (all of the subnet without it).
    #[serde(default)]
    pub ip_range: Option<IpNet>,
    /// `--aux-address name=ip`: addresses of the subnet no container gets.
    #[serde(default)]
    pub aux_addresses: BTreeMap<String, IpAddr>,
}

/// A network's definition, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Network {
    pub id: String,
    pub name: String,
    /// `bridge`, `host` or `null` (Docker's names).
    pub driver: String,
    pub created: DateTime<Utc>,
    /// The host bridge (bridge driver only).
    #[serde(default)]
    pub bridge: String,
    #[serde(default)]
    pub internal: bool,
    #[serde(default)]
    pub attachable: bool,
    #[serde(default)]
    pub enable_ipv6: bool,
    #[serde(default)]
    pub subnets: Vec<Subnet>,
    #[serde(default)]
    pub options: BTreeMap<String, String>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub mtu: Option<u32>,
    #[serde(default)]
    pub ip_masq: bool,
}

impl Network {
    pub fn is_bridge(&self) -> bool {
        self.driver == "bridge"
    }

    /// A network users made: containers on it resolve each other by name.
    pub fn user_defined(&self) -> bool {
        self.is_bridge() && self.name != DEFAULT_NETWORK
    }

    fn gateway_v4(&self) -> Option<IpAddr> {
        self.subnets.iter().map(|s| s.gateway).find(IpAddr::is_ipv4)
    }
}

/// `docker network create`.
#[derive(Debug, Clone, Default)]
pub struct NetworkCreate {
    pub name: String,
    /// Empty or `bridge`.
    pub driver: String,
    pub internal: bool,
    pub attachable: bool,
    pub enable_ipv6: bool,
    pub ipam: Vec<IpamRequest>,
    pub options: BTreeMap<String, String>,
    pub labels: BTreeMap<String, String>,
}

/// One `--subnet` with its `--gateway`, `--ip-range` and `--aux-address`es (strings as
/// typed).
#[derive(Debug, Clone, Default)]
pub struct IpamRequest {
    pub subnet: String,
    pub gateway: String,
    pub ip_range: String,
    pub aux_addresses: BTreeMap<String, String>,
}

/// `docker network ls` filters, already split by the API layer.
#[derive(Debug, Clone, Default)]
pub struct NetworkFilters {
    pub names: Vec<String>,
    pub ids: Vec<String>,
    pub labels: Vec<String>,
    pub drivers: Vec<String>,
    /// `custom` or `builtin`.
    pub types: Vec<String>,
}

impl NetworkFilters {
    fn matches(&self, n: &Network) -> bool {
        let builtin = !n.user_defined();
        (self.names.is_empty() || self.names.iter().any(|x| n.name.contains(x.as_str())))
            && (self.ids.is_empty() || self.ids.iter().any(|x| n.id.starts_with(x.as_str())))
            && self
                .labels
                .iter()
                .all(|l| crate::containers::label_matches(&n.labels, l))
            && (self.drivers.is_empty() || self.drivers.contains(&n.driver))
            && (self.types.is_empty()
                || self
                    .types
                    .iter()
                    .any(|t| (t == "builtin") == builtin && (t == "custom") != builtin))
    }
}

/// A container's view of a network, for `network inspect`'s `Containers`.
#[derive(Debug, Clone)]
pub struct NetworkMember {
    pub container_id: String,
    pub name: String,
    pub endpoint: Endpoint,
}

/// The engine's networking state.
pub(crate) struct NetState {
    pub(crate) cni: berth_cni::Cni,
    /// Serializes creating and removing networks (subnet choice, bridge names) and the
    /// start-up GC against attachments.
    lock: tokio::sync::Mutex<()>,
    pub(crate) dns: dns::Resolvers,
    pub(crate) ports: ports::Reserved,
    pub(crate) proxies: ports::Proxies,
}

impl NetState {
    pub(crate) fn new(config: &crate::EngineConfig) -> Self {
        Self {
            cni: berth_cni::Cni::new(
                config.network.cni_plugin_dirs.clone(),
                &config.data_root.join("cni"),
            ),
            lock: tokio::sync::Mutex::new(()),
            dns: dns::Resolvers::default(),
            ports: ports::Reserved::default(),
            proxies: ports::Proxies::default(),
        }
    }
}

/// dockerd refuses only blank names: a name is a label, never a file or interface name here
/// (the CNI network is named by the id, the host bridge `br-<id>`).
fn valid_name(name: &str) -> bool {
    !name.trim().is_empty()
}

fn parse_record(r: &NetworkRecord) -> Result<Network, NetworkError> {
    serde_json::from_str(&r.config).map_err(|source| NetworkError::Corrupt {
        network: r.name.clone(),
        source,
    })
}

fn to_record(n: &Network) -> Result<NetworkRecord, NetworkError> {
    Ok(NetworkRecord {
        id: n.id.clone(),
        name: n.name.clone(),
        config: serde_json::to_string(n).map_err(|source| NetworkError::Corrupt {
            network: n.name.clone(),
            source,
        })?,
        created: n.created,
    })
}

/// Finds a network by id, name or unique id prefix (`default` is the default bridge).
pub(crate) fn find(store: &Store, name_or_id: &str) -> Result<Network> {
    let wanted = if name_or_id == "default" {
        DEFAULT_NETWORK
    } else {
        name_or_id
    };
    match store.metadata.get_network(wanted) {
        Ok(r) => return Ok(parse_record(&r)?),
        Err(berth_store::Error::NetworkNotFound(_)) => {}
        Err(e) => return Err(e.into()),
    }
    let all = store.metadata.list_networks()?;
    let mut hits = all
        .iter()
        .filter(|r| !wanted.is_empty() && r.id.starts_with(wanted));
    match (hits.next(), hits.next()) {
        (Some(r), None) => Ok(parse_record(r)?),
        (Some(_), Some(_)) => Err(NetworkError::Ambiguous(name_or_id.to_string()).into()),
        _ => Err(NetworkError::NotFound(name_or_id.to_string()).into()),
    }
}

fn all_networks(store: &Store) -> Result<Vec<Network>> {
    store
        .metadata
        .list_networks()?
        .iter()
        .map(|r| parse_record(r).map_err(Error::from))
        .collect()
}

/// Builds a new bridge network's definition from the request: names, options, subnets
/// (given ones checked against `existing`, else allocated from `pools` past `existing` and
/// the host's routes).
fn define(
    req: &NetworkCreate,
    id: String,
    existing: &[Network],
    pools: &[(IpNet, u8)],
    ip_masq: bool,
    host_routes: &[IpNet],
) -> Result<Network, NetworkError> {
    let name = req.name.as_str();
    if !valid_name(name) {
        return Err(NetworkError::InvalidName(name.to_string()));
    }
    if !matches!(req.driver.as_str(), "" | "bridge") {
        return Err(NetworkError::UnknownDriver(req.driver.clone()));
    }
    let option = |key: &str| req.options.get(key).map(String::as_str);
    let bad_option = |key: &str, value: &str| NetworkError::BadOption {
        network: name.to_string(),
        option: key.to_string(),
        value: value.to_string(),
    };
    let mtu = match option(MTU_OPTION) {
        Some(v) => Some(
            v.parse::<u32>()
                .ok()
                .filter(|m| (68..=65535).contains(m))
                .ok_or_else(|| bad_option(MTU_OPTION, v))?,
        ),
        None => None,
    };
    let ip_masq = match option(MASQ_OPTION) {
        Some(v) => v.parse::<bool>().map_err(|_| bad_option(MASQ_OPTION, v))?,
        None => ip_masq,
    };
    let bridge = match option(BRIDGE_NAME_OPTION) {
        Some(b) if b.is_empty() || b.len() > 15 || b.contains(['/', ' ']) => {
            return Err(bad_option(BRIDGE_NAME_OPTION, b))
        }
        Some(b) => b.to_string(),
        None => format!("br-{}", &id[..12]),
    };
    let mut subnets = Vec::new();
    for r in &req.ipam {
        if r.subnet.is_empty() {
            return Err(NetworkError::BadAddress {
                network: name.to_string(),
                what: "gateway or ip-range",
                value: format!("{}{}", r.gateway, r.ip_range),
                reason: "needs a --subnet".into(),
            });
        }
        let net = subnet::parse_subnet(name, "subnet", &r.subnet)?;
        let gateway = if r.gateway.is_empty() {
            subnet::first_host(&net).ok_or_else(|| NetworkError::BadAddress {
                network: name.to_string(),
                what: "subnet",
                value: r.subnet.clone(),
                reason: "too small for a gateway".into(),
            })?
        } else {
            subnet::parse_host_in(name, "gateway", &r.gateway, &net)?
        };
        let ip_range = if r.ip_range.is_empty() {
            None
        } else {
            let range = subnet::parse_subnet(name, "ip-range", &r.ip_range)?;
            if !net.contains(&range) {
                return Err(NetworkError::BadAddress {
                    network: name.to_string(),
                    what: "ip-range",
                    value: r.ip_range.clone(),
                    reason: format!("not inside subnet {net}"),
                });
            }
            Some(range)
        };
        subnets.push(Subnet {
            subnet: net,
            gateway,
            ip_range,
            aux_addresses: aux_addresses(name, &net, &r.aux_addresses)?,
        });
    }
    let taken: Vec<(&Subnet, &Network)> = existing
        .iter()
        .flat_map(|n| n.subnets.iter().map(move |s| (s, n)))
        .collect();
    for (i, s) in subnets.iter().enumerate() {
        let clash = taken
            .iter()
            .map(|(t, n)| (t.subnet, n.name.as_str()))
            .chain(subnets[..i].iter().map(|t| (t.subnet, name)))
            .find(|(t, _)| subnet::overlaps(t, &s.subnet));
        if let Some((other, other_network)) = clash {
            return Err(NetworkError::Overlap {
                network: name.to_string(),
                subnet: s.subnet.to_string(),
                other: other.to_string(),
                other_network: other_network.to_string(),
            });
        }
    }
    let mut avoid: Vec<IpNet> = taken.iter().map(|(t, _)| t.subnet).collect();
    avoid.extend_from_slice(host_routes);
    // Every network has IPv4; with --ipv6 it has IPv6 too. A family without a --subnet gets
    // one from the pools (IPv4 goes first, as Docker lists it).
    for v6 in [false, true] {
        let given = subnets.iter().any(|s| s.subnet.addr().is_ipv6() == v6);
        if given || (v6 && !req.enable_ipv6) {
            continue;
        }
        let exhausted = || {
            if v6 {
                NetworkError::Ipv6NeedsSubnet(name.to_string())
            } else {
                NetworkError::PoolsExhausted(name.to_string())
            }
        };
        let net = subnet::allocate(pools, v6, &avoid).ok_or_else(exhausted)?;
        let gateway = subnet::first_host(&net).ok_or_else(exhausted)?;
        let at = if v6 { subnets.len() } else { 0 };
        subnets.insert(
            at,
            Subnet {
                subnet: net,
                gateway,
                ip_range: None,
                aux_addresses: BTreeMap::new(),
            },
        );
    }
    if let Some(other) = existing.iter().find(|n| n.bridge == bridge) {
        return Err(bad_option(
            BRIDGE_NAME_OPTION,
            &format!("{bridge} (used by network {})", other.name),
        ));
    }
    Ok(Network {
        id,
        name: name.to_string(),
        driver: "bridge".into(),
        created: Utc::now(),
        bridge,
        internal: req.internal,
        attachable: req.attachable,
        enable_ipv6: subnets.iter().any(|s| s.subnet.addr().is_ipv6()),
        subnets,
        options: req.options.clone(),
        labels: req.labels.clone(),
        mtu,
        ip_masq,
    })
}

/// `--aux-address`es of one subnet, checked as dockerd's `ValidateIPAM`: an address of the
/// subnet's family, inside it.
fn aux_addresses(
    network: &str,
    subnet: &IpNet,
    given: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, IpAddr>, NetworkError> {
    given
        .iter()
        .map(|(key, value)| {
            let bad = |reason: String| NetworkError::BadAuxAddress {
                network: network.to_string(),
                key: key.clone(),
                reason,
            };
            let addr: IpAddr = value.parse().map_err(|_| bad("invalid address".into()))?;
            if addr.is_ipv4() != subnet.addr().is_ipv4() {
                let family = if subnet.addr().is_ipv4() {
                    "IPv4"
                } else {
                    "IPv6"
                };
                return Err(bad(format!("parent subnet is an {family} block")));
            }
            if !subnet.contains(&addr) {
                return Err(bad(format!(
                    "parent subnet {subnet} doesn't contain this address"
                )));
            }
            Ok((key.clone(), addr))
        })
        .collect()
}

/// The default bridge as the daemon's flags describe it.
fn default_bridge(config: &crate::NetConfig, id: String) -> Result<Network, NetworkError> {
    let bad = |reason: &str| NetworkError::BadAddress {
        network: DEFAULT_NETWORK.into(),
        what: "--bip",
        value: config.bip.clone(),
        reason: reason.into(),
    };
    let iface: ipnet::IpNet = config.bip.parse().map_err(|_| bad("not a CIDR address"))?;
    if !iface.addr().is_ipv4() || iface.addr() == iface.network() {
        return Err(bad(
            "want the bridge's IPv4 address and prefix, as 172.29.0.1/16",
        ));
    }
    let mut subnets = vec![Subnet {
        subnet: iface.trunc(),
        gateway: iface.addr(),
        ip_range: None,
        aux_addresses: BTreeMap::new(),
    }];
    if config.ipv6 {
        let cidr = config.fixed_cidr_v6.as_deref().unwrap_or_default();
        let net = subnet::parse_subnet(DEFAULT_NETWORK, "--fixed-cidr-v6", cidr)?;
        let gateway = subnet::first_host(&net)
            .filter(IpAddr::is_ipv6)
            .ok_or_else(|| NetworkError::BadAddress {
                network: DEFAULT_NETWORK.into(),
                what: "--fixed-cidr-v6",
                value: cidr.to_string(),
                reason: "--ipv6 needs an IPv6 subnet with room for a gateway, as fd00:1::/64"
                    .into(),
            })?;
        subnets.push(Subnet {
            subnet: net,
            gateway,
            ip_range: None,
            aux_addresses: BTreeMap::new(),
        });
    }
    let mut options = BTreeMap::new();
    options.insert(BRIDGE_NAME_OPTION.to_string(), config.bridge.clone());
    Ok(Network {
        id,
        name: DEFAULT_NETWORK.into(),
        driver: "bridge".into(),
        created: Utc::now(),
        bridge: config.bridge.clone(),
        internal: false,
        attachable: false,
        enable_ipv6: config.ipv6,
        subnets,
        options,
        labels: BTreeMap::new(),
        mtu: None,
        ip_masq: config.ip_masq,
    })
}

/// The configured address pools, plus Docker's IPv6 fallback (a ULA /48 of this host) when
/// none of them is IPv6.
fn pools(config: &crate::NetConfig) -> Result<Vec<(IpNet, u8)>, NetworkError> {
    let mut pools = config
        .address_pools
        .iter()
        .map(|(base, size)| {
            let net = subnet::parse_subnet("(default address pool)", "base", base)?;
            if *size < net.prefix_len() || *size > net.max_prefix_len() {
                return Err(NetworkError::BadAddress {
                    network: "(default address pool)".into(),
                    what: "size",
                    value: size.to_string(),
                    reason: format!(
                        "must lie between /{} and /{}",
                        net.prefix_len(),
                        net.max_prefix_len()
                    ),
                });
            }
            Ok((net, *size))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if !pools.iter().any(|(base, _)| base.addr().is_ipv6()) {
        let machine_id = std::fs::read_to_string("/etc/machine-id").unwrap_or_default();
        pools.push(subnet::default_ula_pool(&machine_id));
    }
    Ok(pools)
}

impl Engine {
    pub(crate) fn ipam_dir(&self) -> PathBuf {
        self.config().data_root.join("cni").join("networks")
    }

    /// Makes sure `bridge`, `host` and `none` exist, the default bridge as the flags say now,
    /// and that every bridge network's isolation rules and resolver are in place.
    pub(crate) async fn open_networks(&self) -> Result<()> {
        let engine = self.clone();
        let networks = self
            .with_store(move |store| {
                let config = &engine.config().network;
                pools(config)?;
                let existing = all_networks(store)?;
                let mut want = default_bridge(config, crate::random_hex(32))?;
                match existing.iter().find(|n| n.name == DEFAULT_NETWORK) {
                    Some(have) => {
                        want.id = have.id.clone();
                        want.created = have.created;
                        if *have != want {
                            // New flags may change the bridge or drop IPv6: the old rules go.
                            firewall::unisolate(have)?;
                            store
                                .metadata
                                .set_network_config(&want.id, &to_record(&want)?.config)?;
                        }
                    }
                    None => store.metadata.create_network(&to_record(&want)?)?,
                }
                for (name, driver) in [("host", "host"), ("none", "null")] {
                    if existing.iter().all(|n| n.name != name) {
                        store.metadata.create_network(&to_record(&Network {
                            id: crate::random_hex(32),
                            name: name.into(),
                            driver: driver.into(),
                            created: Utc::now(),
                            bridge: String::new(),
                            internal: false,
                            attachable: false,
                            enable_ipv6: false,
                            subnets: Vec::new(),
                            options: BTreeMap::new(),
                            labels: BTreeMap::new(),
                            mtu: None,
                            ip_masq: false,
                        })?)?;
                    }
                }
                all_networks(store)
            })
            .await?;
        for n in networks.iter().filter(|n| n.is_bridge()) {
            let net = n.clone();
            tokio::task::spawn_blocking(move || firewall::isolate(&net))
                .await
                .map_err(Error::from_join)??;
            if n.user_defined() {
                self.inner.net.dns.start(n);
            }
        }
        Ok(())
    }

    /// `docker network create`: returns the new network's id.
    pub async fn create_network(&self, req: NetworkCreate) -> Result<String> {
        let _lock = self.inner.net.lock.lock().await;
        let engine = self.clone();
        let net = self
            .with_store(move |store| {
                let existing = all_networks(store)?;
                if existing.iter().any(|n| n.name == req.name) {
                    return Err(NetworkError::NameTaken(req.name.clone()).into());
                }
                let config = &engine.config().network;
                let net = define(
                    &req,
                    crate::random_hex(32),
                    &existing,
                    &pools(config)?,
                    config.ip_masq,
                    &subnet::host_routes(),
                )?;
                // The plugins must be installed and speak the list's version.
                let list = cni::conflist(&net, &engine.ipam_dir(), Plugins::ALL)?;
                engine
                    .inner
                    .net
                    .cni
                    .validate(&list)
                    .map_err(|source| NetworkError::Cni {
                        source: Box::new(source),
                        container: String::new(),
                        network: net.name.clone(),
                    })?;
                firewall::isolate(&net)?;
                if let Err(e) = store.metadata.create_network(&to_record(&net)?) {
                    let _ = firewall::unisolate(&net);
                    return Err(e.into());
                }
                Ok(net)
            })
            .await?;
        self.inner.net.dns.start(&net);
        self.events().publish(
            crate::events::EventType::Network,
            "create",
            &net.id,
            BTreeMap::from([
                ("name".into(), net.name.clone()),
                ("type".into(), net.driver.clone()),
            ]),
        );
        Ok(net.id)
    }

    /// One network by id, name or id prefix.
    pub async fn network(&self, name_or_id: &str) -> Result<Network> {
        let wanted = name_or_id.to_string();
        self.with_store(move |store| find(store, &wanted)).await
    }

    pub async fn list_networks(&self, filters: NetworkFilters) -> Result<Vec<Network>> {
        let all = self.with_store(all_networks).await?;
        Ok(all.into_iter().filter(|n| filters.matches(n)).collect())
    }

    /// The running containers attached to `network`.
    pub async fn network_members(&self, network: &Network) -> Result<Vec<NetworkMember>> {
        let containers = self
            .list_containers(crate::containers::ListOptions::default())
            .await?;
        Ok(containers
            .into_iter()
            .flat_map(|c| {
                let (id, name) = (c.id.clone(), c.name.clone());
                c.state
                    .networks
                    .into_iter()
                    .filter(|e| e.network_id == network.id)
                    .map(move |endpoint| NetworkMember {
                        container_id: id.clone(),
                        name: name.clone(),
                        endpoint,
                    })
            })
            .collect())
    }

    /// `docker network rm`: refused for predefined networks and while containers run on it.
    pub async fn remove_network(&self, name_or_id: &str) -> Result<()> {
        let _lock = self.inner.net.lock.lock().await;
        let net = self.network(name_or_id).await?;
        if !net.user_defined() {
            return Err(NetworkError::Predefined(net.name.clone(), "removed").into());
        }
        let members = self.network_members(&net).await?;
        if !members.is_empty() {
            return Err(NetworkError::InUse {
                network: net.name.clone(),
                id: net.id.clone(),
                containers: members.into_iter().map(|m| m.name).collect(),
            }
            .into());
        }
        self.inner.net.dns.stop(&net.id);
        let ipam = self.ipam_dir().join(cni::cni_name(&net));
        let gone = net.clone();
        self.with_store(move |store| {
            firewall::delete_bridge(&gone)?;
            firewall::unisolate(&gone)?;
            match std::fs::remove_dir_all(&ipam) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    tracing::warn!(path = %ipam.display(), error = %e, "remove IPAM state");
                }
                _ => {}
            }
            Ok(store.metadata.delete_network(&gone.id)?)
        })
        .await?;
        self.events().publish(
            crate::events::EventType::Network,
            "destroy",
            &net.id,
            BTreeMap::from([
                ("name".into(), net.name.clone()),
                ("type".into(), net.driver.clone()),
            ]),
        );
        Ok(())
    }

    /// `docker network prune`: every user-defined network no running container uses and that
    /// matches the label filters; returns their names.
    pub async fn prune_networks(&self, labels: &[String]) -> Result<Vec<String>> {
        let candidates = self
            .list_networks(NetworkFilters {
                labels: labels.to_vec(),
                types: vec!["custom".into()],
                ..Default::default()
            })
            .await?;
        let mut removed = Vec::new();
        for n in candidates {
            if self.network_members(&n).await?.is_empty()
                && self.remove_network(&n.id).await.is_ok()
            {
                removed.push(n.name);
            }
        }
        Ok(removed)
    }
}

#[cfg(test)]
mod tests;
