//! The result of ADD, in the 1.x model, read from any version a plugin prints and written in
//! the version a configuration list speaks (for `prevResult` and the cache).

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use crate::version::Version;

/// An address with its prefix length, as CNI writes them (`10.1.0.5/24`, `fd00::5/64`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IpNet {
    pub addr: IpAddr,
    pub prefix_len: u8,
}

/// Why an `address/prefix` string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid CIDR address {0:?}")]
pub struct InvalidIpNet(pub String);

impl FromStr for IpNet {
    type Err = InvalidIpNet;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let invalid = || InvalidIpNet(s.to_owned());
        let (addr, prefix) = s.split_once('/').ok_or_else(invalid)?;
        let addr: IpAddr = addr.parse().map_err(|_| invalid())?;
        let prefix_len: u8 = prefix.parse().map_err(|_| invalid())?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        if prefix_len > max {
            return Err(invalid());
        }
        Ok(Self { addr, prefix_len })
    }
}

impl fmt::Display for IpNet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix_len)
    }
}

impl Serialize for IpNet {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for IpNet {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// The outcome of a successful ADD: what the plugins created and configured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CniResult {
    pub cni_version: Version,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub interfaces: Vec<Interface>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ips: Vec<IpConfig>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub routes: Vec<Route>,
    #[serde(default, skip_serializing_if = "Dns::is_empty")]
    pub dns: Dns,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Interface {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mtu: Option<u32>,
    /// The network namespace path for interfaces inside the container; absent for host ones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sandbox: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub socket_path: Option<String>,
    #[serde(rename = "pciID", default, skip_serializing_if = "Option::is_none")]
    pub pci_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IpConfig {
    pub address: IpNet,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<IpAddr>,
    /// Index into [`CniResult::interfaces`] of the interface holding the address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interface: Option<usize>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Route {
    pub dst: IpNet,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gw: Option<IpAddr>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mtu: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub advmss: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<u32>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dns {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nameservers: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub search: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
}

impl Dns {
    pub fn is_empty(&self) -> bool {
        self == &Self::default()
    }
}

/// Why a result could not be read or written in the version asked for.
#[derive(Debug, thiserror::Error)]
pub enum ResultError {
    #[error("malformed JSON: {0}")]
    Malformed(#[from] serde_json::Error),
    #[error("results cannot be written as cniVersion {0} (only 0.3.0 and later)")]
    UnsupportedVersion(Version),
}

/// The 0.1.0/0.2.0 shape: one `ip4` and one `ip6` block with their own routes.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LegacyResult {
    cni_version: Version,
    ip4: Option<LegacyIp>,
    ip6: Option<LegacyIp>,
    #[serde(default)]
    dns: Dns,
}

#[derive(Deserialize)]
struct LegacyIp {
    ip: IpNet,
    gateway: Option<IpAddr>,
    #[serde(default)]
    routes: Vec<Route>,
}

impl CniResult {
    /// Reads a result of any version (upconverting 0.x), like libcni's `NewResultFromResult`.
    /// A result without `cniVersion` is taken as `default_version`, the version it was asked
    /// for, as libcni does for plugins that forget it.
    pub fn from_value(mut value: Value, default_version: Version) -> Result<Self, ResultError> {
        let version = fill_version(&mut value, default_version)?;
        if version >= Version::V0_3_0 {
            // 0.3.x/0.4.0 differ from 1.x only by the `version` of each IP, ignored here.
            return Ok(serde_json::from_value(value)?);
        }
        let mut legacy: LegacyResult = serde_json::from_value(value)?;
        let mut result = Self {
            cni_version: legacy.cni_version,
            interfaces: Vec::new(),
            ips: Vec::new(),
            routes: Vec::new(),
            dns: std::mem::take(&mut legacy.dns),
        };
        for ip in [legacy.ip4, legacy.ip6].into_iter().flatten() {
            result.ips.push(IpConfig {
                address: ip.ip,
                gateway: ip.gateway,
                interface: None,
            });
            result.routes.extend(ip.routes);
        }
        Ok(result)
    }

    /// The result as a plugin of `version` expects it in `prevResult`.
    pub fn to_value(&self, version: Version) -> Result<Value, ResultError> {
        if version < Version::V0_3_0 {
            return Err(ResultError::UnsupportedVersion(version));
        }
        let mut value = serde_json::to_value(Self {
            cni_version: version,
            ..self.clone()
        })?;
        if version < Version::V1_0_0 {
            let ips = value.get_mut("ips").and_then(Value::as_array_mut);
            for (ip, config) in ips.into_iter().flatten().zip(&self.ips) {
                let family = if config.address.addr.is_ipv4() {
                    "4"
                } else {
                    "6"
                };
                if let Value::Object(ip) = ip {
                    ip.insert("version".into(), family.into());
                }
            }
        }
        Ok(value)
    }
}

/// Brings a result printed by a plugin into `version`, keeping it byte for byte (with the
/// fields this crate does not model) when it already is in that version.
pub(crate) fn convert(mut value: Value, version: Version) -> Result<Value, ResultError> {
    if fill_version(&mut value, version)? == version {
        return Ok(value);
    }
    CniResult::from_value(value, version)?.to_value(version)
}

/// The `cniVersion` of a result object, inserting `default` when it is missing or empty.
fn fill_version(value: &mut Value, default: Version) -> Result<Version, ResultError> {
    let Value::Object(map) = value else {
        let error = <serde_json::Error as serde::de::Error>::custom("not a JSON object");
        return Err(ResultError::Malformed(error));
    };
    match map.get("cniVersion") {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) if s.is_empty() => {}
        Some(v) => return Ok(Version::deserialize(v)?),
    }
    map.insert("cniVersion".into(), default.to_string().into());
    Ok(default)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
