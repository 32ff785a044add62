//! A container's side of networking: which mode it runs in, its endpoints on CNI networks
//! (added at start, deleted at exit), `network connect/disconnect`, and the start-up GC.
//!
//! A container on CNI networks gets a network namespace before it exists: a thread unshares
//! one and pins it at `<exec-root>/netns/<id>` (loopback up), the plugins are run on that
//! path, and the runtime joins it through the spec's namespace `path`. The namespace outlives
//! the process, so DEL finds the veth after the exit; it is unpinned after DEL. `--network
//! none` skips all of this (the runtime makes the namespace, as before).

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use berth_cni::{CapabilityArgs, GcAttachment, PortMapping, Protocol, RuntimeConf};
use berth_store::Store;
use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use super::cni::{self, Plugins};
use super::ports::{self, PublishedPort};
use super::{find, subnet, Network, NetworkError};
use crate::containers::{Container, Status};
use crate::model::{self, NetworkMode, Networking};
use crate::spec::{CreateOptions, EndpointSettings};
use crate::{Engine, Error, Result};

/// A container's attachment to one network, as inspect's `NetworkSettings.Networks` shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoint {
    pub network_id: String,
    pub network_name: String,
    pub endpoint_id: String,
    /// Inside the container: `eth0`, `eth1`, ...
    pub ifname: String,
    pub mac: String,
    pub ipv4: Option<IpNet>,
    pub gateway4: Option<IpAddr>,
    pub ipv6: Option<IpNet>,
    pub gateway6: Option<IpAddr>,
    pub aliases: Vec<String>,
    /// Names the network's DNS server answers with this endpoint's addresses.
    pub dns_names: Vec<String>,
    /// `--link name[:alias]` on a user network: names for this container alone.
    #[serde(default)]
    pub links: Vec<String>,
    /// The optional plugins it was added with: DEL runs the same list.
    pub plugins: Plugins,
}

impl Endpoint {
    pub fn addrs(&self) -> impl Iterator<Item = IpAddr> + '_ {
        self.ipv4.iter().chain(&self.ipv6).map(IpNet::addr)
    }
}

/// One network of a container as inspect lists it (`NetworkSettings.Networks.<name>`): what
/// it asks for, kept from create on, and what it got while it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkEntry {
    /// The key of `NetworkSettings.Networks`: the network's name (or the key it was
    /// configured under).
    pub name: String,
    pub settings: EndpointSettings,
    /// The attachment, while the container runs.
    pub endpoint: Option<Endpoint>,
}

/// A container's networks, from its configured endpoints (create's `EndpointsConfig` or the
/// `NetworkMode` network, and `network connect`s) and its attachments: listed from create on,
/// with the operational part (addresses, endpoint id, MAC) only while it runs, as dockerd
/// clears it at the exit. Attachments without a configuration (made by an older daemon) are
/// listed under their network's name, and so are those of a container without a Docker body.
pub fn network_entries(c: &Container) -> Vec<NetworkEntry> {
    let live = &c.state.networks;
    let mut taken = vec![false; live.len()];
    let configured = c
        .docker()
        .ok()
        .map(|o| &o.networking_config.endpoints_config);
    let mut out: Vec<NetworkEntry> = configured
        .into_iter()
        .flatten()
        .map(|(key, settings)| {
            let endpoint = live
                .iter()
                .enumerate()
                .find(|(i, e)| !taken[*i] && configures(key, settings, e))
                .map(|(i, e)| {
                    taken[i] = true;
                    e.clone()
                });
            NetworkEntry {
                name: key.clone(),
                settings: settings.clone(),
                endpoint,
            }
        })
        .collect();
    for (e, _) in live.iter().zip(taken).filter(|(_, taken)| !taken) {
        out.push(NetworkEntry {
            name: e.network_name.clone(),
            settings: EndpointSettings {
                aliases: e.aliases.clone(),
                links: e.links.clone(),
                network_id: e.network_id.clone(),
                ..Default::default()
            },
            endpoint: Some(e.clone()),
        });
    }
    out
}

/// Whether the endpoint configuration under `key` is the one `e` was attached with.
fn configures(key: &str, settings: &EndpointSettings, e: &Endpoint) -> bool {
    key == e.network_name
        || key == e.network_id
        || (!settings.network_id.is_empty() && settings.network_id == e.network_id)
}

/// The key under which `c` configures an endpoint on `net`.
fn configured_key(c: &Container, net: &Network) -> Result<Option<String>> {
    Ok(c.docker()?
        .networking_config
        .endpoints_config
        .iter()
        .find(|(k, s)| **k == net.name || **k == net.id || s.network_id == net.id)
        .map(|(k, _)| k.clone()))
}

/// The network a mode names: the default bridge for `default`, the predefined `host` and
/// `none` networks for those modes; none when joining another namespace.
fn mode_network(mode: &NetworkMode) -> Option<String> {
    match mode {
        NetworkMode::Default => Some(super::DEFAULT_NETWORK.into()),
        NetworkMode::Container(_) | NetworkMode::Pod(_) => None,
        mode => Some(mode.to_string()),
    }
}

/// Docker's `default` network mode is the default bridge, recorded by name, and so is an
/// endpoint configured under `default` (the docker CLI sends one), as dockerd's router does
/// before anything else looks at them.
pub fn default_to_bridge(opts: &mut CreateOptions) {
    let h = &mut opts.host_config;
    if matches!(h.network_mode.as_str(), "" | "default") {
        h.network_mode = super::DEFAULT_NETWORK.into();
    }
    let endpoints = &mut opts.networking_config.endpoints_config;
    if h.network_mode == super::DEFAULT_NETWORK && !endpoints.contains_key(super::DEFAULT_NETWORK) {
        if let Some(settings) = endpoints.remove("default") {
            endpoints.insert(super::DEFAULT_NETWORK.into(), settings);
        }
    }
}

/// The networks a create request configures, as dockerd records them: its `EndpointsConfig`
/// as given, or without one the `NetworkMode` network with empty settings; a user network
/// given as the mode by id is keyed by its name. Nothing for `container:` modes and a
/// disabled network.
pub(crate) fn configure(store: &Store, network: &Networking, opts: &mut CreateOptions) {
    default_to_bridge(opts);
    let Some(mode) = mode_network(&network.mode).filter(|_| !network.disabled) else {
        return;
    };
    let name = find(store, &mode).map_or_else(|_| mode.clone(), |n| n.name);
    let endpoints = &mut opts.networking_config.endpoints_config;
    if endpoints.is_empty() {
        endpoints.insert(name, EndpointSettings::default());
    } else if !endpoints.contains_key(&name) {
        if let Some(settings) = endpoints.remove(&mode) {
            endpoints.insert(name, settings);
        }
    }
}

/// How a container is networked.
pub(crate) enum NetPlan {
    /// A namespace of its own with loopback only (`none`): the runtime makes it.
    Isolated,
    Host,
    /// `container:<name|id>` (the spec builder joins it).
    Join,
    /// CNI networks; the first is the primary (published ports, the address in /etc/hosts).
    Cni(Vec<Attachment>),
}

/// One network a start attaches the container to.
pub(crate) struct Attachment {
    /// Where its configuration is kept (`EndpointsConfig`'s key).
    key: String,
    net: Network,
    settings: EndpointSettings,
}

/// What [`Engine::setup_networking`] set up for a start: the start records the endpoints and
/// ports in the container's state with the rest of it, a failed start hands them to
/// [`Engine::release_networking`].
#[derive(Debug, Clone, Default)]
pub(crate) struct NetSetup {
    /// A pinned namespace for the runtime to join.
    pub netns: Option<PathBuf>,
    /// One per CNI network, the primary first.
    pub endpoints: Vec<Endpoint>,
    pub ports: Vec<PublishedPort>,
    /// Name servers that go first in its resolv.conf (the network's embedded DNS server).
    pub nameservers: Vec<IpAddr>,
}

impl NetSetup {
    /// The container's addresses, for its /etc/hosts.
    pub fn addrs(&self) -> Vec<IpAddr> {
        self.endpoints.iter().flat_map(Endpoint::addrs).collect()
    }
}

/// Resolves the network mode and the configured networks: those of `EndpointsConfig`, or the
/// `NetworkMode` network when there are none (a container disconnected from all of them
/// while stopped gets it back at start, as with dockerd). The `NetworkMode` network, when
/// among them, is the primary.
pub(crate) fn plan(
    store: &Store,
    network: &Networking,
    endpoints: &BTreeMap<String, EndpointSettings>,
) -> Result<NetPlan> {
    let mode = match &network.mode {
        _ if network.disabled => return Ok(NetPlan::Isolated),
        NetworkMode::None => return Ok(NetPlan::Isolated),
        NetworkMode::Host => return Ok(NetPlan::Host),
        mode => match mode_network(mode) {
            Some(network) => network,
            None => return Ok(NetPlan::Join),
        },
    };
    let primary = find(store, &mode)?;
    match primary.driver.as_str() {
        "host" => return Ok(NetPlan::Host),
        "null" => return Ok(NetPlan::Isolated),
        _ => {}
    }
    let mut nets: Vec<Attachment> = Vec::new();
    for (key, settings) in endpoints {
        // By the key first: a network removed and made again under its name is the one meant.
        let net = match find(store, key) {
            Err(_) if !settings.network_id.is_empty() => find(store, &settings.network_id),
            found => found,
        }?;
        if !net.is_bridge() {
            return Err(NetworkError::Conflicting {
                container: String::new(),
                reason: format!("network {} cannot be combined with others", net.name),
            }
            .into());
        }
        nets.push(Attachment {
            key: key.clone(),
            net,
            settings: settings.clone(),
        });
    }
    match nets.iter().position(|a| a.net.id == primary.id) {
        Some(i) => nets[..=i].rotate_right(1),
        None if nets.is_empty() => nets.push(Attachment {
            key: primary.name.clone(),
            net: primary,
            settings: EndpointSettings::default(),
        }),
        None => {}
    }
    Ok(NetPlan::Cni(nets))
}

/// The requested address of an endpoint: only on user networks, inside one of its subnets.
fn requested_ips(
    container: &str,
    net: &Network,
    settings: &EndpointSettings,
) -> Result<Vec<String>, NetworkError> {
    let ipam = &settings.ipam_config;
    let mut out = Vec::new();
    for wanted in [&ipam.ipv4_address, &ipam.ipv6_address] {
        if wanted.is_empty() {
            continue;
        }
        if !net.user_defined() {
            return Err(NetworkError::IpOnDefaultNetwork {
                container: container.to_string(),
                network: net.name.clone(),
            });
        }
        let bad = |reason: String| NetworkError::BadEndpointAddress {
            container: container.to_string(),
            network: net.name.clone(),
            address: wanted.to_string(),
            reason,
        };
        let addr: IpAddr = wanted
            .parse()
            .map_err(|_| bad("not an IP address".into()))?;
        let s = net
            .subnets
            .iter()
            .find(|s| s.subnet.contains(&addr))
            .ok_or_else(|| bad("outside the network's subnets".into()))?;
        subnet::parse_host_in(&net.name, "address", wanted, &s.subnet)
            .map_err(|e| bad(e.to_string()))?;
        if addr == s.gateway {
            return Err(bad("the network's gateway".into()));
        }
        out.push(format!("{addr}/{}", s.subnet.prefix_len()));
    }
    Ok(out)
}

/// The names of a container on a user network, as dockerd's `buildEndpointDNSNames`: its
/// name, its aliases, its short id and its hostname, each once.
fn dns_names(c: &Container, aliases: &[String]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    let all = std::iter::once(c.name.as_str())
        .chain(aliases.iter().map(String::as_str))
        .chain([c.id.get(..12).unwrap_or(&c.id), c.config.hostname.as_str()]);
    for n in all.filter(|n| !n.is_empty()) {
        if !names.iter().any(|have| have == n) {
            names.push(n.to_string());
        }
    }
    names
}

/// Everything `create` can check about networking without changing anything.
pub(crate) fn validate(
    store: &Store,
    container: &str,
    network: &Networking,
    opts: &CreateOptions,
) -> Result<()> {
    let endpoints = &opts.networking_config.endpoints_config;
    let plan = plan(store, network, endpoints).map_err(|e| match e {
        Error::Network(e) => match *e {
            NetworkError::Conflicting { reason, .. } => NetworkError::Conflicting {
                container: container.to_string(),
                reason,
            },
            NetworkError::NotFound(network) => NetworkError::UnknownForContainer {
                container: container.to_string(),
                network,
            },
            e => e,
        }
        .into(),
        e => e,
    })?;
    let ports = ports::requests(network);
    match plan {
        NetPlan::Join if !ports.is_empty() => Err(NetworkError::Conflicting {
            container: container.to_string(),
            reason: "port publishing and the container type network mode".into(),
        }
        .into()),
        NetPlan::Cni(nets) => {
            for a in &nets {
                requested_ips(container, &a.net, &a.settings)?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

fn protocol(p: &str) -> Protocol {
    if p == "udp" {
        Protocol::Udp
    } else {
        Protocol::Tcp
    }
}

/// What `portmap` gets: every port but those bound to `::1` alone (berthd proxies them).
fn port_mappings(ports: &[PublishedPort]) -> Vec<PortMapping> {
    ports
        .iter()
        .filter(|p| !p.on_ipv6_loopback())
        .map(|p| PortMapping {
            host_port: p.host_port,
            container_port: p.container_port,
            protocol: protocol(&p.protocol),
            host_ip: p.host_ip.parse().ok(),
        })
        .collect()
}

impl Engine {
    /// Inspect's `SandboxKey`: the namespace the container's network lives in.
    pub fn sandbox_key(&self, c: &Container) -> String {
        let pinned = self.netns_path(&c.id);
        if pinned.exists() {
            return pinned.display().to_string();
        }
        if c.state.status.is_live() && c.config.spec.network.mode != NetworkMode::Host {
            return format!("/proc/{}/ns/net", c.state.pid);
        }
        String::new()
    }

    pub(crate) fn netns_path(&self, id: &str) -> PathBuf {
        self.config().exec_root.join("netns").join(id)
    }

    fn runtime_conf(
        &self,
        container: &str,
        ep: &Endpoint,
        netns: Option<&Path>,
        capability_args: CapabilityArgs,
    ) -> RuntimeConf {
        RuntimeConf {
            container_id: container.to_string(),
            netns: netns.map(Path::to_path_buf),
            ifname: ep.ifname.clone(),
            args: Vec::new(),
            capability_args,
        }
    }

    /// One CNI ADD (blocking).
    fn add_endpoint(
        &self,
        c: &Container,
        net: &Network,
        settings: &EndpointSettings,
        ifname: String,
        ports: &[PublishedPort],
    ) -> Result<Endpoint, NetworkError> {
        let plugins = Plugins {
            portmap: !ports.is_empty(),
            tuning: !settings.mac_address.is_empty(),
            firewall: false,
        };
        let list = cni::conflist(net, &self.ipam_dir(), plugins)?;
        let mut ep = Endpoint {
            network_id: net.id.clone(),
            network_name: net.name.clone(),
            endpoint_id: crate::random_hex(32),
            ifname,
            aliases: settings.aliases.clone(),
            plugins,
            ..Default::default()
        };
        let caps = CapabilityArgs {
            port_mappings: port_mappings(ports),
            ips: requested_ips(&c.name, net, settings)?,
            mac: Some(settings.mac_address.clone()).filter(|m| !m.is_empty()),
            ..Default::default()
        };
        let netns = self.netns_path(&c.id);
        let rt = self.runtime_conf(&c.id, &ep, Some(&netns), caps);
        let result = self
            .inner
            .net
            .cni
            .add(&list, &rt)
            .map_err(|source| NetworkError::Cni {
                source: Box::new(source),
                container: c.name.clone(),
                network: net.name.clone(),
            })?;
        let iface = result
            .interfaces
            .iter()
            .position(|i| i.sandbox.is_some() && i.name == ep.ifname);
        if let Some(i) = iface {
            ep.mac = result.interfaces[i].mac.clone().unwrap_or_default();
        }
        for ip in result
            .ips
            .iter()
            .filter(|ip| iface.is_none() || ip.interface == iface)
        {
            let net = IpNet::new(ip.address.addr, ip.address.prefix_len).ok();
            if ip.address.addr.is_ipv4() {
                ep.ipv4 = ep.ipv4.or(net);
                ep.gateway4 = ep.gateway4.or(ip.gateway);
            } else {
                ep.ipv6 = ep.ipv6.or(net);
                ep.gateway6 = ep.gateway6.or(ip.gateway);
            }
        }
        if net.user_defined() {
            ep.links = settings.links.clone();
            ep.dns_names = dns_names(c, &settings.aliases);
        }
        Ok(ep)
    }

    /// One CNI DEL (blocking). A network that is gone is deleted with nothing to do.
    fn del_endpoint(
        &self,
        store: &Store,
        container: &str,
        ep: &Endpoint,
        ports: &[PublishedPort],
    ) -> Result<(), NetworkError> {
        let net = match find(store, &ep.network_id) {
            Ok(n) => n,
            Err(_) => return Ok(()),
        };
        let list = cni::conflist(&net, &self.ipam_dir(), ep.plugins)?;
        let caps = CapabilityArgs {
            port_mappings: if ep.plugins.portmap {
                port_mappings(ports)
            } else {
                Vec::new()
            },
            ..Default::default()
        };
        let netns = self.netns_path(container);
        let netns = netns.exists().then_some(netns.as_path());
        let rt = self.runtime_conf(container, ep, netns, caps);
        self.inner
            .net
            .cni
            .del(&list, &rt)
            .map_err(|source| NetworkError::Cni {
                source: Box::new(source),
                container: container.to_string(),
                network: net.name.clone(),
            })
    }

    /// Attaches a starting container to its networks: ports, a pinned namespace, one ADD per
    /// network, all or nothing. Returns the endpoints and ports (blocking).
    fn attach_all(
        &self,
        store: &Store,
        c: &Container,
        nets: &[Attachment],
    ) -> Result<(Vec<Endpoint>, Vec<PublishedPort>)> {
        let requests = ports::requests(&c.config.spec.network);
        let ports = self.inner.net.ports.allocate(&c.name, &requests)?;
        let netns = self.netns_path(&c.id);
        let made = netns
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| berth_sys::netns::create_pinned(&netns));
        if let Err(source) = made {
            self.inner.net.ports.release(&ports);
            return Err(NetworkError::Netns {
                container: c.name.clone(),
                path: netns,
                source,
            }
            .into());
        }
        let mut endpoints: Vec<Endpoint> = Vec::new();
        for (i, a) in nets.iter().enumerate() {
            let published = if i == 0 { ports.as_slice() } else { &[] };
            match self.add_endpoint(c, &a.net, &a.settings, format!("eth{i}"), published) {
                Ok(ep) => endpoints.push(ep),
                Err(e) => {
                    self.detach_all(store, &c.id, &endpoints, &ports);
                    return Err(e.into());
                }
            }
        }
        Ok((endpoints, ports))
    }

    /// DEL of every endpoint (last first), the pinned namespace, the ports (blocking). Keeps
    /// going past failures, which are logged: the start-up GC retries from the CNI cache.
    fn detach_all(
        &self,
        store: &Store,
        container: &str,
        endpoints: &[Endpoint],
        ports: &[PublishedPort],
    ) {
        for ep in endpoints.iter().rev() {
            if let Err(e) = self.del_endpoint(store, container, ep, ports) {
                tracing::warn!(container, error = %e, "detach from network");
            }
        }
        let netns = self.netns_path(container);
        if let Err(e) = berth_sys::netns::remove_pinned(&netns) {
            tracing::warn!(container, path = %netns.display(), error = %e, "unpin network namespace");
        }
        self.inner.net.ports.release(ports);
    }

    /// The container's names on its user networks, and its `--dns` servers as the upstreams
    /// of its questions. Loopback servers are left out: they would mean the container's own
    /// loopback, which the resolver in the host's namespace cannot reach.
    fn register_dns(&self, c: &Container, endpoints: &[Endpoint]) {
        let upstreams: Vec<IpAddr> = c
            .config
            .spec
            .network
            .dns
            .servers
            .iter()
            .filter_map(|s| s.parse::<IpAddr>().ok())
            .filter(|ip| !ip.is_loopback())
            .collect();
        for ep in endpoints.iter().filter(|e| !e.dns_names.is_empty()) {
            self.inner.net.dns.register(
                &ep.network_id,
                &c.id,
                &ep.dns_names,
                ep.addrs().collect(),
                &upstreams,
                super::links::dns_aliases(&ep.links),
            );
        }
    }

    /// The `[::1]` proxies of the published ports, to the primary endpoint's IPv6 address
    /// (its IPv4 one without).
    fn start_proxies(
        &self,
        container: &str,
        primary: Option<&Endpoint>,
        ports: &[PublishedPort],
    ) -> Result<(), NetworkError> {
        let target = primary.and_then(|e| e.ipv6.or(e.ipv4));
        match target {
            Some(t) if !ports.is_empty() => {
                self.inner.net.proxies.start(container, ports, t.addr())
            }
            _ => Ok(()),
        }
    }

    fn unregister_dns(&self, container: &str, endpoints: &[Endpoint]) {
        for ep in endpoints {
            self.inner.net.dns.unregister(&ep.network_id, container);
        }
    }

    /// Networking of a container about to start, returned for the start to record once the
    /// process runs; a failure here undoes its own work. Until that record, a crash leaves the
    /// attachments to the start-up GC, which DELs every cached attachment no running container
    /// records, and unpins the namespace ([`Self::reconcile_networks`]).
    pub(crate) async fn setup_networking(&self, c: &Container) -> Result<NetSetup> {
        if c.config.spec.owner.pod().is_some() {
            // The pod's namespace, set up with the sandbox.
            return Ok(NetSetup::default());
        }
        let network = c.config.spec.network.clone();
        let endpoints = c.docker()?.networking_config.endpoints_config.clone();
        let plan = self
            .with_store(move |store| plan(store, &network, &endpoints))
            .await?;
        let nets = match plan {
            NetPlan::Cni(nets) => nets,
            NetPlan::Isolated | NetPlan::Host if !c.config.spec.network.disabled => {
                // `none` and `host` have no endpoint here, but dockerd's inspect shows the
                // network's id from the first start on.
                let Some(mode) = mode_network(&c.config.spec.network.mode) else {
                    return Ok(NetSetup::default());
                };
                let net = self.network(&mode).await?;
                let key = configured_key(c, &net)?.unwrap_or_else(|| net.name.clone());
                self.record_attachments(&c.id, vec![(key, net.id, Vec::new())])
                    .await?;
                return Ok(NetSetup::default());
            }
            _ => return Ok(NetSetup::default()),
        };
        let engine = self.clone();
        let container = c.clone();
        let keys: Vec<String> = nets.iter().map(|a| a.key.clone()).collect();
        let (endpoints, ports) = self
            .with_store(move |store| engine.attach_all(store, &container, &nets))
            .await?;
        let setup = NetSetup {
            netns: Some(self.netns_path(&c.id)),
            nameservers: endpoints
                .first()
                .filter(|e| !e.dns_names.is_empty())
                .and_then(|e| e.gateway4)
                .into_iter()
                .collect(),
            endpoints,
            ports,
        };
        let finished: Result<()> = async {
            let attached = keys
                .into_iter()
                .zip(&setup.endpoints)
                .map(|(key, ep)| (key, ep.network_id.clone(), ep.dns_names.clone()))
                .collect();
            self.record_attachments(&c.id, attached).await?;
            self.register_dns(c, &setup.endpoints);
            self.start_proxies(&c.id, setup.endpoints.first(), &setup.ports)?;
            Ok(())
        }
        .await;
        if let Err(e) = finished {
            self.release_networking(&c.id, &setup.endpoints, &setup.ports)
                .await;
            return Err(e);
        }
        Ok(setup)
    }

    /// Keeps what dockerd keeps of an attachment past the exit in the endpoint's
    /// configuration: the network's id and the DNS names (and the configuration itself, for a
    /// `NetworkMode` network a start added back). Written only when that changed, so restarts
    /// cost no write.
    async fn record_attachments(
        &self,
        id: &str,
        attached: Vec<(String, String, Vec<String>)>,
    ) -> Result<()> {
        let mut c = self.container(id).await?;
        let endpoints = &mut c.docker_mut()?.networking_config.endpoints_config;
        let before = endpoints.clone();
        let mut added = Vec::new();
        for (key, network_id, dns_names) in attached {
            let settings = endpoints.entry(key.clone()).or_insert_with(|| {
                added.push(key);
                EndpointSettings::default()
            });
            settings.network_id = network_id;
            settings.dns_names = dns_names;
        }
        if *endpoints == before {
            return Ok(());
        }
        for key in added {
            c.config.spec.network.endpoints.entry(key).or_default();
        }
        self.save_config(id, &c.config).await
    }

    /// Undoes [`Self::setup_networking`] for the endpoints and ports it returned: DNS names,
    /// `[::1]` proxies, the attachments, the pinned namespace. False when there was nothing.
    pub(crate) async fn release_networking(
        &self,
        id: &str,
        endpoints: &[Endpoint],
        ports: &[PublishedPort],
    ) -> bool {
        if endpoints.is_empty() && !self.netns_path(id).exists() {
            return false;
        }
        self.unregister_dns(id, endpoints);
        self.inner.net.proxies.stop(id);
        let engine = self.clone();
        let (key, endpoints, ports) = (id.to_string(), endpoints.to_vec(), ports.to_vec());
        let _ = self
            .with_store(move |store| {
                engine.detach_all(store, &key, &endpoints, &ports);
                Ok(())
            })
            .await;
        true
    }

    /// Releases the networking recorded in a container's state after its process is gone.
    pub(crate) async fn teardown_networking(&self, id: &str) {
        let Ok(c) = self.container(id).await else {
            return;
        };
        if !self
            .release_networking(id, &c.state.networks, &c.state.ports)
            .await
        {
            return;
        }
        let cleared = self.update_state(id, |state| {
            state.networks.clear();
            state.ports.clear();
        });
        if let Err(e) = cleared.await {
            tracing::warn!(container = id, error = %e, "record network teardown");
        }
    }

    /// `docker network connect`: recorded in the container's config (inspect lists it at
    /// once; a start attaches it); a running container gets the endpoint now. Connecting a
    /// stopped container again changes nothing, as dockerd.
    pub async fn connect_network(
        &self,
        network: &str,
        container: &str,
        mut settings: EndpointSettings,
    ) -> Result<()> {
        let net = self.network(network).await?;
        let c = self.container(container).await?;
        let entry = self.inner.containers.entry(&c.id, &c.state);
        let _op = entry.op.lock().await;
        let c = self.container(&c.id).await?;
        let live = c.state.status.is_live();
        let attached = c.state.networks.iter().any(|e| e.network_id == net.id);
        let configured = configured_key(&c, &net)?.is_some();
        if attached || (live && configured) {
            return Err(NetworkError::AlreadyConnected {
                container: c.name.clone(),
                network: net.name.clone(),
            }
            .into());
        }
        if configured {
            return Ok(());
        }
        let mode = &c.config.spec.network.mode;
        if !net.is_bridge() || !mode.has_own_namespace() || *mode == NetworkMode::None {
            return Err(NetworkError::CannotConnect {
                container: c.name.clone(),
                mode: if net.is_bridge() {
                    mode.to_string()
                } else {
                    net.name.clone()
                },
            }
            .into());
        }
        requested_ips(&c.name, &net, &settings)?;
        if live {
            let used: Vec<&str> = c.state.networks.iter().map(|e| e.ifname.as_str()).collect();
            let ifname = (0..)
                .map(|i| format!("eth{i}"))
                .find(|n| !used.contains(&n.as_str()))
                .unwrap_or_default();
            let engine = self.clone();
            let (cc, nn, ss) = (c.clone(), net.clone(), settings.clone());
            let ep = tokio::task::spawn_blocking(move || {
                engine.add_endpoint(&cc, &nn, &ss, ifname, &[])
            })
            .await
            .map_err(Error::from_join)??;
            self.register_dns(&c, std::slice::from_ref(&ep));
            settings.network_id.clone_from(&ep.network_id);
            settings.dns_names.clone_from(&ep.dns_names);
            self.update_state(&c.id, |state| state.networks.push(ep))
                .await?;
        }
        let mut c = c;
        let request = model::docker_endpoint(&c.name, &net.name, &settings)?;
        c.config
            .spec
            .network
            .endpoints
            .insert(net.name.clone(), request);
        c.docker_mut()?
            .networking_config
            .endpoints_config
            .insert(net.name.clone(), settings);
        self.save_config(&c.id, &c.config).await?;
        self.publish_network_event("connect", &net, &c.id);
        Ok(())
    }

    /// `docker network disconnect`: the endpoint goes from the config and, while the container
    /// runs, from its namespace. `HostConfig.NetworkMode` stays as it is (dockerd never
    /// changes it), so the container can be connected to it again; a container left on no
    /// network is put back on it by its next start.
    pub async fn disconnect_network(&self, network: &str, container: &str) -> Result<()> {
        let net = self.network(network).await?;
        let c = self.container(container).await?;
        let entry = self.inner.containers.entry(&c.id, &c.state);
        let _op = entry.op.lock().await;
        let mut c = self.container(&c.id).await?;
        let key = configured_key(&c, &net)?;
        let live = c
            .state
            .networks
            .iter()
            .find(|e| e.network_id == net.id)
            .cloned();
        if key.is_none() && live.is_none() {
            return Err(NetworkError::NotConnected {
                container: c.name.clone(),
                network: net.name.clone(),
            }
            .into());
        }
        if let Some(ep) = live {
            self.unregister_dns(&c.id, std::slice::from_ref(&ep));
            let engine = self.clone();
            let (id, ports) = (c.id.clone(), c.state.ports.clone());
            let e2 = ep.clone();
            self.with_store(move |store| Ok(engine.del_endpoint(store, &id, &e2, &ports)?))
                .await?;
            let portmap = ep.plugins.portmap;
            if portmap {
                self.inner.net.proxies.stop(&c.id);
                self.inner.net.ports.release(&c.state.ports);
            }
            self.update_state(&c.id, |state| {
                state.networks.retain(|e| e.network_id != ep.network_id);
                if portmap {
                    state.ports.clear();
                }
            })
            .await?;
        }
        if let Some(key) = key {
            c.config.spec.network.endpoints.remove(&key);
            c.docker_mut()?
                .networking_config
                .endpoints_config
                .remove(&key);
            self.save_config(&c.id, &c.config).await?;
        }
        self.publish_network_event("disconnect", &net, &c.id);
        Ok(())
    }

    fn publish_network_event(&self, action: &str, net: &Network, container: &str) {
        self.events().publish(
            crate::events::EventType::Network,
            action,
            &net.id,
            [
                ("name".to_string(), net.name.clone()),
                ("type".to_string(), net.driver.clone()),
                ("container".to_string(), container.to_string()),
            ]
            .into(),
        );
    }

    /// After live restore: DNS names and ports of the containers still running, then GC of
    /// every CNI attachment no running container owns (veths, addresses, rules of containers
    /// that exited or crashed half-way while berthd was away) and of pinned namespaces nobody
    /// uses. Holds the network lock so no network changes meanwhile.
    pub(crate) async fn reconcile_networks(&self) -> Result<()> {
        let _lock = self.inner.net.lock.lock().await;
        let live: Vec<Container> = self
            .list_containers(crate::containers::ListOptions::default())
            .await?
            .into_iter()
            .filter(|c| c.state.status.is_live() || c.state.status == Status::Restarting)
            .collect();
        for c in &live {
            self.register_dns(c, &c.state.networks);
            self.inner.net.ports.hold(&c.state.ports);
            if let Err(e) = self.start_proxies(&c.id, c.state.networks.first(), &c.state.ports) {
                tracing::warn!(container = %c.id, error = %e, "restore IPv6 loopback proxies");
            }
        }
        let engine = self.clone();
        self.with_store(move |store| {
            let cni = &engine.inner.net.cni;
            for net in super::all_networks(store)?.iter().filter(|n| n.is_bridge()) {
                let valid: Vec<GcAttachment> = live
                    .iter()
                    .flat_map(|c| {
                        c.state
                            .networks
                            .iter()
                            .filter(|e| e.network_id == net.id)
                            .map(|e| GcAttachment {
                                container_id: c.id.clone(),
                                ifname: e.ifname.clone(),
                            })
                    })
                    .collect();
                let list = cni::conflist(net, &engine.ipam_dir(), Plugins::ALL)?;
                if let Err(e) = cni.gc(&list, &valid) {
                    tracing::warn!(network = %net.name, error = %e, "garbage-collect attachments");
                }
                // An ADD cut short by a crash may have reserved an address without a cache
                // entry: host-local's files (`<ip>`: container id, interface) say whose it is.
                let dir = engine.ipam_dir().join(cni::cni_name(net));
                for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                    if entry.file_name().to_string_lossy().parse::<IpAddr>().is_err() {
                        continue;
                    }
                    let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
                    let mut lines = text.lines().map(str::trim);
                    let (Some(container), Some(ifname)) = (lines.next(), lines.next()) else {
                        continue;
                    };
                    let owned = valid
                        .iter()
                        .any(|v| v.container_id == container && v.ifname == ifname);
                    if owned {
                        continue;
                    }
                    let rt = RuntimeConf {
                        container_id: container.to_string(),
                        netns: None,
                        ifname: ifname.to_string(),
                        args: Vec::new(),
                        capability_args: CapabilityArgs::default(),
                    };
                    if let Err(e) = cni.del(&list, &rt) {
                        tracing::warn!(network = %net.name, container, error = %e, "release leaked address");
                    }
                }
            }
            let dir = engine.config().exec_root.join("netns");
            for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                let id = entry.file_name().to_string_lossy().into_owned();
                if !live.iter().any(|c| c.id == id) {
                    if let Err(e) = berth_sys::netns::remove_pinned(&entry.path()) {
                        tracing::warn!(path = %entry.path().display(), error = %e, "unpin leftover namespace");
                    }
                }
            }
            Ok(())
        })
        .await
    }
}

#[cfg(test)]
mod tests;
