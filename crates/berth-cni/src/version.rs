//! CNI specification versions: parsing, ordering, and what a plugin says it supports.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A CNI specification version. The spec only publishes `major.minor.patch` releases; like
/// libcni we also read `1` and `1.0` (missing parts are zero).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version {
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
}

impl Version {
    /// The first version with `ip4`/`ip6` replaced by `ips` and configuration lists (prevResult).
    pub const V0_3_0: Self = Self::new(0, 3, 0);
    /// The first version with CHECK and a `prevResult` on DEL.
    pub const V0_4_0: Self = Self::new(0, 4, 0);
    /// The first version without the per-address `version` field in results.
    pub const V1_0_0: Self = Self::new(1, 0, 0);
    /// The first version with STATUS, GC and `cniVersions`.
    pub const V1_1_0: Self = Self::new(1, 1, 0);

    pub const fn new(major: u32, minor: u32, patch: u32) -> Self {
        Self {
            major,
            minor,
            patch,
        }
    }
}

/// Every version this client speaks, oldest first.
pub const SUPPORTED_VERSIONS: [Version; 7] = [
    Version::new(0, 1, 0),
    Version::new(0, 2, 0),
    Version::V0_3_0,
    Version::new(0, 3, 1),
    Version::V0_4_0,
    Version::V1_0_0,
    Version::V1_1_0,
];

/// Why a version string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid CNI version {0:?}: expected major.minor.patch")]
pub struct InvalidVersion(pub String);

impl FromStr for Version {
    type Err = InvalidVersion;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let invalid = || InvalidVersion(s.to_owned());
        let mut parts = [0u32; 3];
        for (index, part) in s.split('.').enumerate() {
            let slot = parts.get_mut(index).ok_or_else(invalid)?;
            // Digits only: u32::from_str would also take a leading '+'.
            if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
                return Err(invalid());
            }
            *slot = part.parse().map_err(|_| invalid())?;
        }
        Ok(Self::new(parts[0], parts[1], parts[2]))
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

impl Serialize for Version {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Version {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A plugin's answer to VERSION.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VersionInfo {
    pub cni_version: Version,
    /// Plugins older than the VERSION command's `supportedVersions` list support only the
    /// version they answer with.
    #[serde(default)]
    pub supported_versions: Vec<Version>,
}

impl VersionInfo {
    /// Whether the plugin accepts configurations of `version`.
    pub fn supports(&self, version: Version) -> bool {
        if self.supported_versions.is_empty() {
            self.cni_version == version
        } else {
            self.supported_versions.contains(&version)
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
