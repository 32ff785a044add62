//! Legacy links (`--link name[:alias]`), as dockerd keeps them.
//!
//! On the default bridge (any mode that is not a user network) a link is checked and recorded
//! at create, the target by id so that a rename keeps it, and applied at every start: the
//! target must be running on the default bridge; the linking container's /etc/hosts gets the
//! target's addresses under the alias, its hostname and its name, and its environment
//! Docker's `<ALIAS>_*` variables (the target's address, exposed ports and environment).
//!
//! On a user network a link is only a name: the embedded DNS server answers the alias with
//! the target's addresses, to the linking container alone. Nothing is checked at create
//! (dockerd neither): the alias resolves while a container of that name is on the network.

use std::net::IpAddr;
use std::path::PathBuf;

use berth_store::Store;
use serde::{Deserialize, Serialize};

use super::{Endpoint, NetworkError, DEFAULT_NETWORK};
use crate::containers::{self, Container};
use crate::model::{NetworkMode, Networking};
use crate::spec::CreateOptions;
use crate::{Engine, Error, Result};

/// A legacy link of a container on the default bridge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    /// The target's full id.
    pub container: String,
    /// The name the linking container knows it by.
    pub alias: String,
}

/// `name[:alias]` → (name, alias); also the `/name:/parent/alias` form that inspect shows
/// (clients send it back when they copy a container's `HostConfig`), as dockerd's `ParseLink`.
pub(crate) fn parse(spec: &str) -> Result<(String, String), NetworkError> {
    let bad = |reason: &str| NetworkError::BadLink {
        spec: spec.to_string(),
        reason: reason.to_string(),
    };
    let mut parts = spec.splitn(3, ':');
    let (name, alias) = match (parts.next(), parts.next(), parts.next()) {
        (Some(""), None, _) | (None, ..) => return Err(bad("empty link")),
        (Some(name), None, _) => (name, name),
        (Some(name), Some(alias), None) => match name.strip_prefix('/') {
            Some(name) => (name, alias.rsplit('/').next().unwrap_or(alias)),
            None => (name, alias),
        },
        (Some(_), Some(_), Some(_)) => return Err(bad("want name or name:alias")),
    };
    if name.is_empty() || alias.is_empty() {
        return Err(bad("want name or name:alias"));
    }
    Ok((name.to_string(), alias.to_string()))
}

/// What a link to a running target brings, as dockerd's `links.EnvVars`: `<ALIAS>_NAME`
/// (`link_name` is `/parent/alias`), the first exposed port (TCP first, then by number) as
/// `<ALIAS>_PORT`, each port's `_PORT_<n>_<PROTO>[_ADDR|_PORT|_PROTO]`, `_START`/`_END` for
/// runs of consecutive ports, and the target's environment as `<ALIAS>_ENV_<VAR>` (without
/// `HOME` and `PATH`).
pub(crate) fn env_vars(
    link_name: &str,
    target: IpAddr,
    target_env: &[String],
    exposed: &[(u16, String)],
) -> Vec<String> {
    let alias = link_name
        .rsplit('/')
        .next()
        .unwrap_or(link_name)
        .to_ascii_uppercase()
        .replace('-', "_");
    let mut ports = exposed.to_vec();
    ports.sort_by(|a, b| (a.1 != "tcp", a.1.as_str(), a.0).cmp(&(b.1 != "tcp", b.1.as_str(), b.0)));
    let url = |(port, proto): &(u16, String)| format!("{proto}://{target}:{port}");
    let prefix = |(port, proto): &(u16, String)| {
        format!("{alias}_PORT_{port}_{}", proto.to_ascii_uppercase())
    };
    let mut env = Vec::new();
    if let Some(first) = ports.first() {
        env.push(format!("{alias}_PORT={}", url(first)));
    }
    let mut run_start = 0;
    for (i, p) in ports.iter().enumerate() {
        let pre = prefix(p);
        env.push(format!("{pre}={}", url(p)));
        env.push(format!("{pre}_ADDR={target}"));
        env.push(format!("{pre}_PORT={}", p.0));
        env.push(format!("{pre}_PROTO={}", p.1));
        let next_continues = ports
            .get(i + 1)
            .is_some_and(|n| n.1 == p.1 && u32::from(n.0) == u32::from(p.0) + 1);
        if next_continues {
            continue;
        }
        if run_start != i {
            let start = &ports[run_start];
            let pre = prefix(start);
            env.push(format!("{pre}_START={}", url(start)));
            env.push(format!("{pre}_PORT_START={}", start.0));
            env.push(format!("{pre}_END={}", url(p)));
            env.push(format!("{pre}_PORT_END={}", p.0));
        }
        run_start = i + 1;
    }
    env.push(format!("{alias}_NAME={link_name}"));
    for var in target_env {
        let Some((key, value)) = var.split_once('=') else {
            continue;
        };
        if key != "HOME" && key != "PATH" {
            env.push(format!("{alias}_ENV_{key}={value}"));
        }
    }
    env
}

/// The names of a target in the linking container's /etc/hosts: the alias, its hostname,
/// and its name unless that is the alias.
pub(crate) fn host_names(alias: &str, target_hostname: &str, target_name: &str) -> String {
    if alias == target_name {
        format!("{alias} {target_hostname}")
    } else {
        format!("{alias} {target_hostname} {target_name}")
    }
}

/// The `(alias, target name)` pairs of an endpoint's links, lowercase, for the DNS server.
/// Malformed ones were refused at create.
pub(crate) fn dns_aliases(links: &[String]) -> Vec<(String, String)> {
    links
        .iter()
        .filter_map(|l| parse(l).ok())
        .map(|(name, alias)| (alias.to_ascii_lowercase(), name.to_ascii_lowercase()))
        .collect()
}

/// Checks the links of a create request and records them as dockerd does. On a user network
/// they belong to the primary endpoint (the docker CLI puts them there itself; a bare API
/// request gets them copied) and make no legacy link. Elsewhere each target must exist and
/// not share the host's network; a target that joins another container's namespace stands
/// for that container.
pub(crate) fn resolve(
    store: &Store,
    network: &Networking,
    opts: &mut CreateOptions,
) -> Result<Vec<Link>> {
    for spec in opts
        .networking_config
        .endpoints_config
        .values()
        .flat_map(|e| &e.links)
    {
        parse(spec)?;
    }
    let h = &opts.host_config;
    if h.links.is_empty() {
        return Ok(Vec::new());
    }
    let parsed = h
        .links
        .iter()
        .map(|l| parse(l))
        .collect::<Result<Vec<_>, _>>()?;
    match network.mode {
        NetworkMode::Host => {
            return Err(NetworkError::LinkWithNetworkMode { mode: "host" }.into());
        }
        NetworkMode::Container(_) | NetworkMode::Pod(_) => {
            return Err(NetworkError::LinkWithNetworkMode { mode: "container" }.into());
        }
        _ => {}
    }
    let mode = network.mode.to_string();
    if super::find(store, &mode).is_ok_and(|n| n.user_defined()) {
        let endpoints = &mut opts.networking_config.endpoints_config;
        if endpoints.values().all(|e| e.links.is_empty()) {
            endpoints.entry(mode).or_default().links = opts.host_config.links.clone();
        }
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for (name, alias) in parsed {
        let missing = |e: Error| match e {
            Error::NoSuchContainer(_) => {
                NetworkError::LinkTargetMissing { name: name.clone() }.into()
            }
            e => e,
        };
        let mut target = containers::parse_record(
            &containers::find(store, &name).map_err(missing)?,
            PathBuf::new(),
        )?;
        // Joins cannot form a cycle: a peer must exist when its joiner is created.
        while let Some(peer) = target.config.spec.network.mode.joined_container() {
            let peer = containers::find(store, peer).map_err(missing)?;
            target = containers::parse_record(&peer, PathBuf::new())?;
        }
        if target.config.spec.network.mode == NetworkMode::Host {
            return Err(NetworkError::LinkWithNetworkMode { mode: "host" }.into());
        }
        out.push(Link {
            container: target.id,
            alias,
        });
    }
    Ok(out)
}

/// What the legacy links of a starting container bring.
#[derive(Debug, Default)]
pub(crate) struct Linked {
    /// `/etc/hosts` entries: a target's address and its names.
    pub hosts: Vec<(IpAddr, String)>,
    pub env: Vec<String>,
}

/// The links of `c`, when its start attached it (`endpoints`) to the default bridge: every
/// target still there must be running on the default bridge too. A target that was removed is
/// skipped, its link went with it in dockerd.
pub(crate) fn linked(store: &Store, c: &Container, endpoints: &[Endpoint]) -> Result<Linked> {
    let mut out = Linked::default();
    if c.config.links.is_empty() || !endpoints.iter().any(|e| e.network_name == DEFAULT_NETWORK) {
        return Ok(out);
    }
    for link in &c.config.links {
        let record = match store.metadata.get_container(&link.container) {
            Ok(r) => r,
            Err(berth_store::Error::ContainerNotFound(_)) => continue,
            Err(e) => return Err(e.into()),
        };
        let target = containers::parse_record(&record, PathBuf::new())?;
        let link_name = format!("/{}/{}", c.name, link.alias);
        if !target.state.status.is_live() {
            return Err(NetworkError::LinkTargetNotRunning {
                target: target.name,
                link: link_name,
            }
            .into());
        }
        let ep = target
            .state
            .networks
            .iter()
            .find(|e| e.network_name == DEFAULT_NETWORK)
            .ok_or_else(|| NetworkError::LinkTargetElsewhere {
                target: target.name.clone(),
            })?;
        let names = host_names(&link.alias, &target.config.hostname, &target.name);
        out.hosts
            .extend(ep.addrs().map(|addr| (addr, names.clone())));
        let Some(ipv4) = ep.ipv4 else {
            continue;
        };
        let image = store.metadata.get_image(&target.image_id)?;
        let merged =
            crate::spec::merge(target.docker()?, &containers::image_config(&image.config)?)?;
        let exposed: Vec<(u16, String)> = merged
            .exposed_ports
            .keys()
            .filter_map(|k| {
                let (port, proto) = k.split_once('/').unwrap_or((k, "tcp"));
                Some((port.parse().ok()?, proto.to_ascii_lowercase()))
            })
            .collect();
        out.env
            .extend(env_vars(&link_name, ipv4.addr(), &merged.env, &exposed));
    }
    Ok(out)
}

impl Engine {
    /// `docker rm --link /parent/alias`: drops the parent's legacy link `alias` (its /etc/hosts
    /// and environment change at the next start, as in dockerd).
    pub async fn remove_link(&self, link_name: &str) -> Result<()> {
        let full = format!("/{}", link_name.trim_start_matches('/'));
        let Some((parent, alias)) = full.rsplit_once('/').filter(|(p, _)| !p.is_empty()) else {
            return Err(Error::RemoveDefaultLinkName);
        };
        let c = self.container(parent).await?;
        let entry = self.inner.containers.entry(&c.id, &c.state);
        let _op = entry.op.lock().await;
        let c = self.container(&c.id).await?;
        let mut c = c;
        let before = c.config.links.len();
        c.config.links.retain(|l| l.alias != alias);
        if c.config.links.len() == before {
            return Err(Error::NoSuchContainer(full));
        }
        c.config.spec.network.links.retain(|l| l.alias != alias);
        c.docker_mut()?
            .host_config
            .links
            .retain(|spec| parse(spec).map_or(true, |(_, a)| a != alias));
        self.save_config(&c.id, &c.config).await
    }

    /// Inspect's `HostConfig.Links`: `/target:/container/alias` for each legacy link whose
    /// target still exists, under the target's current name.
    pub async fn legacy_links(&self, c: &Container) -> Result<Vec<String>> {
        let (name, links) = (c.name.clone(), c.config.links.clone());
        self.with_store(move |store| {
            let mut out = Vec::new();
            for link in &links {
                match store.metadata.get_container(&link.container) {
                    Ok(t) => out.push(format!("/{}:/{name}/{}", t.name, link.alias)),
                    Err(berth_store::Error::ContainerNotFound(_)) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            Ok(out)
        })
        .await
    }
}

#[cfg(test)]
mod tests;
