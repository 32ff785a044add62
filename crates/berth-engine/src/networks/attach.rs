//! A container's side of networking: which mode it runs in, its endpoints on CNI networks
//! (added at start, deleted at exit), `network connect/disconnect`, and the start-up GC.
//!
//! A container on CNI networks gets a network namespace before it exists: a thread unshares
//! one and pins it at `<exec-root>/netns/<id>` (loopback up), the plugins are run on that
//! path, and the runtime joins it through the spec's namespace `path`. The namespace outlives
//! the process, so DEL finds the veth after the exit; it is unpinned after DEL. `--network
//! none` skips all of this (the runtime makes the namespace, as before).

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

/// How a container is networked.
pub(crate) enum NetPlan {
    /// A namespace of its own with loopback only (`none`): the runtime makes it.
    Isolated,
    Host,
    /// `container:<name|id>` (the spec builder joins it).
    Join,
    /// CNI networks; the first is the primary (published ports, the address in /etc/hosts).
    Cni(Vec<(Network, EndpointSettings)>),
}

/// What a start needs to know about the container's networking.
#[derive(Debug, Default)]
pub(crate) struct NetSetup {
    /// A pinned namespace for the runtime to join.
    pub netns: Option<PathBuf>,
    /// The container's addresses, for its /etc/hosts.
    pub addrs: Vec<IpAddr>,
    /// Name servers that go first in its resolv.conf (the network's embedded DNS server).
    pub nameservers: Vec<IpAddr>,
}

/// Resolves the network mode and the extra networks of a create request.
pub(crate) fn plan(store: &Store, opts: &CreateOptions) -> Result<NetPlan> {
    let mode = opts.host_config.network_mode.as_str();
    if opts.network_disabled || mode == "none" {
        return Ok(NetPlan::Isolated);
    }
    if mode == "host" {
        return Ok(NetPlan::Host);
    }
    if mode.starts_with("container:") {
        return Ok(NetPlan::Join);
    }
    let primary = find(store, if mode.is_empty() { "bridge" } else { mode })?;
    let endpoints = &opts.networking_config.endpoints_config;
    let mut nets: Vec<(Network, EndpointSettings)> = Vec::new();
    let mut settings_of_primary = EndpointSettings::default();
    for (key, settings) in endpoints {
        let net = find(store, key)?;
        if net.id == primary.id {
            settings_of_primary = settings.clone();
        } else if !net.is_bridge() {
            return Err(NetworkError::Conflicting {
                container: String::new(),
                reason: format!("network {} cannot be combined with others", net.name),
            }
            .into());
        } else {
            nets.push((net, settings.clone()));
        }
    }
    match primary.driver.as_str() {
        "host" => return Ok(NetPlan::Host),
        "null" => return Ok(NetPlan::Isolated),
        _ => {}
    }
    nets.insert(0, (primary, settings_of_primary));
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

/// Everything `create` can check about networking without changing anything.
pub(crate) fn validate(store: &Store, container: &str, opts: &CreateOptions) -> Result<()> {
    let plan = plan(store, opts).map_err(|e| match e {
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
    let ports = ports::requests(container, opts)?;
    match plan {
        NetPlan::Join if !ports.is_empty() => Err(NetworkError::Conflicting {
            container: container.to_string(),
            reason: "port publishing and the container type network mode".into(),
        }
        .into()),
        NetPlan::Cni(nets) => {
            for (net, settings) in &nets {
                requested_ips(container, net, settings)?;
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
        let mode = c.config.options.host_config.network_mode.as_str();
        if c.state.status.is_live() && mode != "host" {
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
            ep.dns_names = std::iter::once(c.name.clone())
                .chain(settings.aliases.iter().cloned())
                .chain(std::iter::once(c.id[..12].to_string()))
                .collect();
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
        nets: &[(Network, EndpointSettings)],
    ) -> Result<(Vec<Endpoint>, Vec<PublishedPort>)> {
        let requests = ports::requests(&c.name, &c.config.options)?;
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
        for (i, (net, settings)) in nets.iter().enumerate() {
            let published = if i == 0 { ports.as_slice() } else { &[] };
            match self.add_endpoint(c, net, settings, format!("eth{i}"), published) {
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
            .options
            .host_config
            .dns
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

    /// Networking of a container about to start. For CNI networks the endpoints are recorded
    /// in its state before anything else can fail, so every later failure path (and a crash)
    /// tears them down.
    pub(crate) async fn setup_networking(&self, c: &Container) -> Result<NetSetup> {
        let opts = c.config.options.clone();
        let plan = self.with_store(move |store| plan(store, &opts)).await?;
        let NetPlan::Cni(nets) = plan else {
            return Ok(NetSetup::default());
        };
        let engine = self.clone();
        let container = c.clone();
        let (endpoints, ports) = self
            .with_store(move |store| engine.attach_all(store, &container, &nets))
            .await?;
        let mut state = self.container(&c.id).await?.state;
        state.networks = endpoints.clone();
        state.ports = ports.clone();
        self.save_state(&c.id, state).await?;
        self.register_dns(c, &endpoints);
        let primary = endpoints.first();
        self.start_proxies(&c.id, primary, &ports)?;
        Ok(NetSetup {
            netns: Some(self.netns_path(&c.id)),
            addrs: endpoints.iter().flat_map(Endpoint::addrs).collect(),
            nameservers: primary
                .filter(|e| !e.dns_names.is_empty())
                .and_then(|e| e.gateway4)
                .into_iter()
                .collect(),
        })
    }

    /// Undoes [`Self::setup_networking`] after the process is gone (or never started).
    pub(crate) async fn teardown_networking(&self, id: &str) {
        let Ok(c) = self.container(id).await else {
            return;
        };
        let pinned = self.netns_path(id).exists();
        if c.state.networks.is_empty() && !pinned {
            return;
        }
        self.unregister_dns(id, &c.state.networks);
        self.inner.net.proxies.stop(id);
        let engine = self.clone();
        let (key, endpoints, ports) = (
            c.id.clone(),
            c.state.networks.clone(),
            c.state.ports.clone(),
        );
        let _ = self
            .with_store(move |store| {
                engine.detach_all(store, &key, &endpoints, &ports);
                Ok(())
            })
            .await;
        let mut state = c.state;
        state.networks.clear();
        state.ports.clear();
        if let Err(e) = self.save_state(id, state).await {
            tracing::warn!(container = id, error = %e, "record network teardown");
        }
    }

    /// `docker network connect`: recorded in the container's config; a running container
    /// gets the endpoint now.
    pub async fn connect_network(
        &self,
        network: &str,
        container: &str,
        settings: EndpointSettings,
    ) -> Result<()> {
        let net = self.network(network).await?;
        let c = self.container(container).await?;
        let entry = self.inner.containers.entry(&c.id, &c.state);
        let _op = entry.op.lock().await;
        let c = self.container(&c.id).await?;
        let already = c.state.networks.iter().any(|e| e.network_id == net.id)
            || c.config
                .options
                .networking_config
                .endpoints_config
                .keys()
                .any(|k| *k == net.name || *k == net.id);
        if already {
            return Err(NetworkError::AlreadyConnected {
                container: c.name.clone(),
                network: net.name.clone(),
            }
            .into());
        }
        let mode = c.config.options.host_config.network_mode.clone();
        // Off its network by a disconnect (not created so): the network it joins is its mode.
        let back_on = mode == "none" && c.config.disconnected_mode.is_some();
        if !net.is_bridge()
            || (matches!(mode.as_str(), "host" | "none") && !back_on)
            || mode.starts_with("container:")
        {
            return Err(NetworkError::CannotConnect {
                container: c.name.clone(),
                mode: if net.is_bridge() {
                    mode
                } else {
                    net.name.clone()
                },
            }
            .into());
        }
        requested_ips(&c.name, &net, &settings)?;
        if c.state.status.is_live() {
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
            let mut state = c.state.clone();
            state.networks.push(ep);
            self.save_state(&c.id, state).await?;
        }
        let mut config = c.config.clone();
        if back_on {
            config.options.host_config.network_mode = net.name.clone();
            config.disconnected_mode = None;
        }
        config
            .options
            .networking_config
            .endpoints_config
            .insert(net.name.clone(), settings);
        self.save_config(&c.id, &config).await?;
        self.publish_network_event("connect", &net, &c.id);
        Ok(())
    }

    /// `docker network disconnect`.
    pub async fn disconnect_network(&self, network: &str, container: &str) -> Result<()> {
        let net = self.network(network).await?;
        let c = self.container(container).await?;
        let entry = self.inner.containers.entry(&c.id, &c.state);
        let _op = entry.op.lock().await;
        let c = self.container(&c.id).await?;
        let mut config = c.config.clone();
        let endpoints = &mut config.options.networking_config.endpoints_config;
        let key = endpoints
            .keys()
            .find(|k| **k == net.name || **k == net.id)
            .cloned();
        let in_config = key.as_ref().is_some_and(|k| endpoints.remove(k).is_some());
        let live = c.state.networks.iter().position(|e| e.network_id == net.id);
        let primary = {
            let mode = c.config.options.host_config.network_mode.as_str();
            let mode = if mode.is_empty() || mode == "default" {
                "bridge"
            } else {
                mode
            };
            mode == net.name || mode == net.id
        };
        if !in_config && live.is_none() && !primary {
            return Err(NetworkError::NotConnected {
                container: c.name.clone(),
                network: net.name.clone(),
            }
            .into());
        }
        if primary {
            // Docker keeps the mode but the container is off that network: `none` says so,
            // and `disconnected_mode` that a connect may put it on one again.
            let mode =
                std::mem::replace(&mut config.options.host_config.network_mode, "none".into());
            config.disconnected_mode = Some(mode);
        }
        if let Some(i) = live {
            let mut state = c.state.clone();
            let ep = state.networks.remove(i);
            self.unregister_dns(&c.id, std::slice::from_ref(&ep));
            let engine = self.clone();
            let (id, ports) = (c.id.clone(), c.state.ports.clone());
            let e2 = ep.clone();
            self.with_store(move |store| Ok(engine.del_endpoint(store, &id, &e2, &ports)?))
                .await?;
            if ep.plugins.portmap {
                self.inner.net.proxies.stop(&c.id);
                self.inner.net.ports.release(&state.ports);
                state.ports.clear();
            }
            self.save_state(&c.id, state).await?;
        }
        self.save_config(&c.id, &config).await?;
        self.publish_network_event("disconnect", &net, &c.id);
        Ok(())
    }

    /// Inspect's `NetworkSettings.Networks`: a running container's endpoints; for one that is
    /// not running (created, exited) the networks it joins at its start, without addresses, as
    /// dockerd keeps them. compose 1.29 reads a new container's networks there before starting
    /// it: one missing is connected again, which fails as already connected.
    pub async fn inspect_endpoints(&self, c: &Container) -> Vec<Endpoint> {
        if !c.state.networks.is_empty() || c.state.status.is_live() {
            return c.state.networks.clone();
        }
        let opts = c.config.options.clone();
        let planned = self.with_store(move |store| plan(store, &opts)).await;
        // A network removed since the create: nothing to show, as the start will say.
        let Ok(NetPlan::Cni(nets)) = planned else {
            return Vec::new();
        };
        nets.into_iter()
            .map(|(net, settings)| Endpoint {
                network_id: net.id,
                network_name: net.name,
                aliases: settings.aliases,
                links: settings.links,
                ..Default::default()
            })
            .collect()
    }

    async fn save_config(&self, id: &str, config: &crate::containers::Config) -> Result<()> {
        let json = serde_json::to_string(config).map_err(Error::Json)?;
        let id = id.to_string();
        self.with_store(move |store| Ok(store.metadata.set_container_config(&id, &json)?))
            .await
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
