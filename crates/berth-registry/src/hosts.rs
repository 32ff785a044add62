//! Which endpoints serve a registry name, and how to talk to them: mirrors for pulls (Docker
//! Hub's `registry-mirrors` as dockerd, any registry's `registry-mirrors-by-host` as containerd's
//! `hosts.toml`), then the registry over TLS with the CAs of `certs.d/<host>/` (as
//! `/etc/docker/certs.d`); an insecure registry (configured, or loopback by default) is tried over
//! TLS without verification first, then over plain HTTP. Blocked registries
//! (`blocked-registries`, a Berth setting) are never contacted themselves: only their mirrors are.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Once;
use std::time::Duration;

use oci_client::client::{Certificate, CertificateEncoding, ClientConfig, ClientProtocol};

use crate::error::BlockedWhy;
use crate::{Error, Result};

/// Docker Hub's name: the registry `registry-mirrors` apply to.
const DOCKER_HUB: &str = "docker.io";

/// Registry settings of the daemon (`insecure-registries`, `registry-mirrors`,
/// `registry-mirrors-by-host`, `blocked-registries`, certs dir).
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
#[serde(default, rename_all = "kebab-case")]
pub struct RegistryConfig {
    /// `host[:port]` names or CIDR ranges reached over plain HTTP.
    pub insecure_registries: Vec<String>,
    /// Mirror URLs (`https://mirror.example`, `http://127.0.0.1:5000`) tried before Docker Hub.
    pub mirrors: Vec<String>,
    /// Mirror URLs per registry name (`registry.k8s.io`, `gcr.io`, `host:port`), tried in order
    /// before that registry; for `docker.io` after `mirrors`.
    pub mirrors_by_host: BTreeMap<String, Vec<String>>,
    /// `<dir>/<host[:port]>/*.crt` are extra CAs for that registry.
    pub certs_dir: Option<PathBuf>,
    /// Registries never contacted (`docker.io` for a site that pulls through its mirrors only).
    pub blocked_registries: Vec<String>,
}

/// One place to fetch from or push to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// `host[:port]` as it goes into URLs.
    pub host: String,
    pub plain_http: bool,
    /// Whether a TLS certificate must verify (not for insecure registries, as dockerd).
    pub verify_tls: bool,
    /// PEM files of extra CAs (`certs.d`).
    pub ca_files: Vec<PathBuf>,
    pub mirror: bool,
}

impl RegistryConfig {
    /// Checks every configured address, so a typo fails at daemon start, not at first pull.
    pub fn validate(&self) -> Result<()> {
        for m in &self.mirrors {
            parse_mirror(MIRRORS, m)?;
        }
        for (host, mirrors) in &self.mirrors_by_host {
            check_registry_name(MIRRORS_BY_HOST, host)?;
            for m in mirrors {
                parse_mirror(MIRRORS_BY_HOST, m)?;
            }
        }
        for entry in &self.blocked_registries {
            check_registry_name("blocked-registries", entry)?;
        }
        for entry in &self.insecure_registries {
            if entry.contains('/') && parse_cidr(entry).is_none() {
                return Err(Error::BadAddress {
                    setting: "insecure-registries",
                    address: entry.clone(),
                });
            }
        }
        Ok(())
    }

    /// Endpoints for registry `domain` in the order to try them: for a `pull` its mirrors,
    /// then the registry itself (HTTPS, then plain HTTP if insecure) unless it is blocked.
    /// Anything else (push, login, remote inspect) is about the registry itself: no mirrors.
    pub fn endpoints(&self, domain: &str, pull: bool) -> Result<Vec<Endpoint>> {
        let mut out = Vec::new();
        if pull {
            for (setting, m) in self.mirrors_of(domain) {
                let (host, plain_http) = parse_mirror(setting, m)?;
                out.push(Endpoint {
                    ca_files: self.ca_files(&host)?,
                    plain_http: plain_http && !self.has_certs(&host),
                    verify_tls: !self.is_insecure(&host),
                    host,
                    mirror: true,
                });
            }
        }
        if !self.is_blocked(domain) {
            out.extend(self.registry_endpoints(domain)?);
        } else if out.is_empty() {
            return Err(Error::Blocked {
                registry: domain.to_string(),
                why: if pull {
                    BlockedWhy::NoMirror
                } else {
                    BlockedWhy::NotAPull
                },
            });
        }
        Ok(out)
    }

    /// The mirror URLs of `domain`, in order, each with the setting it comes from.
    fn mirrors_of<'a>(
        &'a self,
        domain: &str,
    ) -> impl Iterator<Item = (&'static str, &'a String)> + 'a {
        let hub = (domain == DOCKER_HUB).then_some(&self.mirrors);
        hub.into_iter().flatten().map(|m| (MIRRORS, m)).chain(
            self.mirrors_by_host
                .get(domain)
                .into_iter()
                .flatten()
                .map(|m| (MIRRORS_BY_HOST, m)),
        )
    }

    fn is_blocked(&self, domain: &str) -> bool {
        self.blocked_registries.iter().any(|b| b == domain)
    }

    /// The registry itself, blocked or not: HTTPS; for an insecure registry HTTPS without
    /// certificate checks, then plain HTTP (unless `certs.d` says it speaks TLS), as dockerd.
    fn registry_endpoints(&self, domain: &str) -> Result<Vec<Endpoint>> {
        let ca_files = self.ca_files(domain)?;
        let insecure = self.is_insecure(domain);
        let tls = Endpoint {
            plain_http: false,
            verify_tls: !insecure,
            ca_files,
            host: domain.to_string(),
            mirror: false,
        };
        let mut out = vec![tls.clone()];
        if insecure && tls.ca_files.is_empty() {
            out.push(Endpoint {
                plain_http: true,
                ..tls
            });
        }
        Ok(out)
    }

    fn has_certs(&self, host: &str) -> bool {
        self.ca_files(host).is_ok_and(|f| !f.is_empty())
    }

    fn ca_files(&self, host: &str) -> Result<Vec<PathBuf>> {
        let Some(dir) = &self.certs_dir else {
            return Ok(Vec::new());
        };
        // `host:port` is the directory name, as Docker (the port stays part of it).
        let dir = dir.join(host);
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => return Err(Error::Io { path: dir, source }),
        };
        let mut files: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "crt"))
            .collect();
        files.sort();
        Ok(files)
    }

    /// Docker's rule: listed by name, or its address in a listed range; 127.0.0.0/8 (and
    /// `localhost`, `::1`) always.
    pub fn is_insecure(&self, domain: &str) -> bool {
        let host = host_part(domain);
        let ip: Option<IpAddr> = host.trim_matches(['[', ']']).parse().ok();
        if host == "localhost" || ip.is_some_and(|ip| ip.is_loopback()) {
            return true;
        }
        self.insecure_registries.iter().any(|entry| {
            entry == domain
                || entry == host
                || parse_cidr(entry)
                    .zip(ip)
                    .is_some_and(|((net, bits), ip)| in_range(ip, net, bits))
        })
    }
}

fn host_part(domain: &str) -> &str {
    if domain.starts_with('[') {
        return domain.split_once(']').map_or(domain, |(h, _)| h);
    }
    domain.rsplit_once(':').map_or(domain, |(h, _)| h)
}

const MIRRORS: &str = "registry-mirrors";
const MIRRORS_BY_HOST: &str = "registry-mirrors-by-host";

/// A registry name as references carry it: `host[:port]`, no scheme, no path.
fn check_registry_name(setting: &'static str, name: &str) -> Result<()> {
    if name.is_empty() || name.contains('/') {
        return Err(Error::BadAddress {
            setting,
            address: name.to_string(),
        });
    }
    Ok(())
}

/// `http[s]://host[:port]` → the host and whether it is plain HTTP.
fn parse_mirror(setting: &'static str, url: &str) -> Result<(String, bool)> {
    let bad = || Error::BadAddress {
        setting,
        address: url.to_string(),
    };
    let (scheme, rest) = url.split_once("://").ok_or_else(bad)?;
    let host = rest.trim_end_matches('/');
    if host.is_empty() || host.contains('/') {
        return Err(bad());
    }
    match scheme {
        "http" => Ok((host.to_string(), true)),
        "https" => Ok((host.to_string(), false)),
        _ => Err(bad()),
    }
}

fn parse_cidr(entry: &str) -> Option<(IpAddr, u8)> {
    let (net, bits) = entry.split_once('/')?;
    let net: IpAddr = net.parse().ok()?;
    let bits: u8 = bits.parse().ok()?;
    let max = if net.is_ipv4() { 32 } else { 128 };
    (bits <= max).then_some((net, bits))
}

fn in_range(ip: IpAddr, net: IpAddr, bits: u8) -> bool {
    let (ip, net, width) = match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(b)) => (u32::from(a) as u128, u32::from(b) as u128, 32),
        (IpAddr::V6(a), IpAddr::V6(b)) => (u128::from(a), u128::from(b), 128),
        _ => return false,
    };
    let shift = width - u32::from(bits);
    shift >= width || (ip >> shift) == (net >> shift)
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let scheme = if self.plain_http { "http" } else { "https" };
        write!(f, "{scheme}://{}", self.host)
    }
}

impl Endpoint {
    /// An oci-client for this endpoint (TLS roots, protocol, timeouts).
    pub(crate) fn client(&self) -> Result<oci_client::Client> {
        // reqwest is built without a default crypto provider; ring is the one linked.
        static PROVIDER: Once = Once::new();
        PROVIDER.call_once(|| {
            let _ = rustls::crypto::ring::default_provider().install_default();
        });
        let mut certs = Vec::new();
        for path in &self.ca_files {
            certs.push(Certificate {
                encoding: CertificateEncoding::Pem,
                data: read(path)?,
            });
        }
        let config = ClientConfig {
            protocol: if self.plain_http {
                ClientProtocol::Http
            } else {
                ClientProtocol::Https
            },
            extra_root_certificates: certs,
            accept_invalid_certificates: !self.plain_http && !self.verify_tls,
            // One streamed PUT per blob: no per-chunk round trips.
            use_monolithic_push: true,
            // Indexes are resolved by the caller, which knows the requested platform.
            platform_resolver: None,
            connect_timeout: Some(Duration::from_secs(15)),
            // A stalled transfer fails instead of hanging a pull forever.
            read_timeout: Some(Duration::from_secs(60)),
            user_agent: concat!("berth/", env!("CARGO_PKG_VERSION")),
            ..ClientConfig::default()
        };
        oci_client::Client::try_from(config).map_err(|source| Error::Tls {
            registry: self.host.clone(),
            source,
        })
    }
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
