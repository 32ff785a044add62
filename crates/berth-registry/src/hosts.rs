//! Which endpoints serve a registry name, and how to talk to them, as dockerd: mirrors (Docker
//! Hub only), TLS with the CAs of `certs.d/<host>/` (as `/etc/docker/certs.d`); an insecure
//! registry (configured, or loopback by default) is tried over TLS without verification first,
//! then over plain HTTP. Blocked registries (`blocked-registries`, a Berth setting) are never
//! contacted themselves: only their mirrors are.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Once;
use std::time::Duration;

use oci_client::client::{Certificate, CertificateEncoding, ClientConfig, ClientProtocol};

use crate::{Error, Result};

/// Docker Hub's names: the one registry mirrors apply to.
const DOCKER_HUB: &str = "docker.io";

/// Registry settings of the daemon (`insecure-registries`, `registry-mirrors`, certs dir).
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
#[serde(default, rename_all = "kebab-case")]
pub struct RegistryConfig {
    /// `host[:port]` names or CIDR ranges reached over plain HTTP.
    pub insecure_registries: Vec<String>,
    /// Mirror URLs (`https://mirror.example`, `http://127.0.0.1:5000`) tried before Docker Hub.
    pub mirrors: Vec<String>,
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
            parse_mirror(m)?;
        }
        for entry in &self.blocked_registries {
            if entry.is_empty() || entry.contains('/') {
                return Err(Error::BadAddress {
                    setting: "blocked-registries",
                    address: entry.clone(),
                });
            }
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

    /// Endpoints for registry `domain` in the order to try them: mirrors first for pulls from
    /// Docker Hub, then the registry itself ([`RegistryConfig::registry_endpoints`]). Pushes
    /// never go to mirrors.
    pub fn endpoints(&self, domain: &str, for_push: bool) -> Result<Vec<Endpoint>> {
        let mut out = Vec::new();
        if domain == DOCKER_HUB && !for_push {
            for m in &self.mirrors {
                let (host, plain_http) = parse_mirror(m)?;
                out.push(Endpoint {
                    ca_files: self.ca_files(&host)?,
                    plain_http: plain_http && !self.has_certs(&host),
                    verify_tls: !self.is_insecure(&host),
                    host,
                    mirror: true,
                });
            }
        }
        match self.registry_endpoints(domain) {
            Ok(own) => out.extend(own),
            // Blocked behind mirrors: they are all there is.
            Err(Error::Blocked(_)) if !out.is_empty() => {}
            Err(e) => return Err(e),
        }
        Ok(out)
    }

    pub fn is_blocked(&self, domain: &str) -> bool {
        self.blocked_registries.iter().any(|b| b == domain)
    }

    /// The registry itself: HTTPS; for an insecure registry HTTPS without certificate checks,
    /// then plain HTTP (unless `certs.d` says it speaks TLS), as dockerd.
    pub fn registry_endpoints(&self, domain: &str) -> Result<Vec<Endpoint>> {
        if self.is_blocked(domain) {
            return Err(Error::Blocked(domain.to_string()));
        }
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

fn parse_mirror(url: &str) -> Result<(String, bool)> {
    let bad = || Error::BadAddress {
        setting: "registry-mirrors",
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
