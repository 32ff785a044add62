//! Network configuration lists: parsing, validation, loading from a directory like libcni, and
//! the per-plugin JSON a plugin reads on stdin.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use crate::version::{Version, SUPPORTED_VERSIONS};

/// A network configuration list (`.conflist`): the plugins one network runs, in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NetworkConfigList {
    pub cni_version: Version,
    /// Versions the configuration also conforms to (1.1); the newest one this client speaks
    /// wins over `cniVersion`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cni_versions: Vec<Version>,
    pub name: String,
    #[serde(default, deserialize_with = "flag", skip_serializing_if = "is_false")]
    pub disable_check: bool,
    #[serde(
        rename = "disableGC",
        default,
        deserialize_with = "flag",
        skip_serializing_if = "is_false"
    )]
    pub disable_gc: bool,
    pub plugins: Vec<PluginConfig>,
    /// Other top-level keys, kept so a list written back is the list read.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One plugin of a list. Everything but `type` and `capabilities` is the plugin's own
/// business and passed through untouched.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PluginConfig {
    #[serde(rename = "type")]
    pub plugin_type: String,
    /// Capability arguments the plugin wants in `runtimeConfig`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub capabilities: BTreeMap<String, bool>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A single-plugin `.conf`/`.json` file, which a list wraps (libcni's `ConfListFromConf`).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SingleConfig {
    cni_version: Version,
    name: String,
    #[serde(flatten)]
    plugin: PluginConfig,
}

fn is_false(b: &bool) -> bool {
    !b
}

/// `disableCheck`/`disableGC`: the spec says "string", most files write a boolean; libcni
/// reads both.
fn flag<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Flag {
        Bool(bool),
        Text(String),
    }
    match Flag::deserialize(deserializer)? {
        Flag::Bool(b) => Ok(b),
        Flag::Text(s) if s.eq_ignore_ascii_case("true") => Ok(true),
        Flag::Text(s) if s.eq_ignore_ascii_case("false") => Ok(false),
        Flag::Text(s) => Err(serde::de::Error::custom(format!(
            "expected true or false, found {s:?}"
        ))),
    }
}

/// Where a configuration came from, for error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    File(PathBuf),
    /// Built in memory (by the engine), named by its network.
    Memory,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::File(path) => write!(f, "{}", path.display()),
            Self::Memory => f.write_str("network configuration"),
        }
    }
}

/// Why a configuration was refused; every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("reading {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{origin}: malformed network configuration: {source}")]
    Malformed {
        origin: Origin,
        source: serde_json::Error,
    },
    #[error("{origin}: {problem}")]
    Invalid { origin: Origin, problem: Problem },
    #[error("network {name:?} is defined by both {first} and {second}")]
    Duplicate {
        name: String,
        first: PathBuf,
        second: PathBuf,
    },
}

/// What is wrong with a well-formed configuration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    #[error("network name {0:?} must start with a letter or digit followed by letters, digits, '_', '.' or '-'")]
    Name(String),
    #[error("network {0:?} has no plugins")]
    NoPlugins(String),
    #[error(
        "plugin #{index} of network {network:?}: type {plugin_type:?} is not a plugin file name"
    )]
    PluginType {
        network: String,
        index: usize,
        plugin_type: String,
    },
    #[error(
        "network {network:?}: cniVersion {version} is not one this client speaks (0.1.0 to 1.1.0)"
    )]
    UnsupportedVersion { network: String, version: Version },
    #[error("network {network:?}: cniVersion {version} cannot chain plugins; a list of several needs 0.3.0 or later")]
    NoChaining { network: String, version: Version },
}

impl NetworkConfigList {
    /// Parses and validates a `.conflist`.
    pub fn from_slice(bytes: &[u8], origin: Origin) -> Result<Self, ConfigError> {
        let list: Self =
            serde_json::from_slice(bytes).map_err(|source| ConfigError::Malformed {
                origin: origin.clone(),
                source,
            })?;
        list.validate()
            .map_err(|problem| ConfigError::Invalid { origin, problem })?;
        Ok(list)
    }

    /// Parses a single-plugin `.conf` and wraps it into a list of one.
    pub fn from_single_slice(bytes: &[u8], origin: Origin) -> Result<Self, ConfigError> {
        let single: SingleConfig =
            serde_json::from_slice(bytes).map_err(|source| ConfigError::Malformed {
                origin: origin.clone(),
                source,
            })?;
        let list = Self {
            cni_version: single.cni_version,
            cni_versions: Vec::new(),
            name: single.name,
            disable_check: false,
            disable_gc: false,
            plugins: vec![single.plugin],
            extra: Map::new(),
        };
        list.validate()
            .map_err(|problem| ConfigError::Invalid { origin, problem })?;
        Ok(list)
    }

    /// Reads one file: `.conflist` as a list, anything else as a single-plugin config.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let bytes = std::fs::read(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        let origin = Origin::File(path.to_owned());
        if path.extension().is_some_and(|ext| ext == "conflist") {
            Self::from_slice(&bytes, origin)
        } else {
            Self::from_single_slice(&bytes, origin)
        }
    }

    /// The version every plugin of the list is run with: the newest of `cniVersions` this
    /// client speaks, else `cniVersion`.
    pub fn version(&self) -> Version {
        self.cni_versions
            .iter()
            .filter(|v| SUPPORTED_VERSIONS.contains(v))
            .max()
            .copied()
            .unwrap_or(self.cni_version)
    }

    /// Checks what the spec requires of a list before any plugin runs.
    pub fn validate(&self) -> Result<(), Problem> {
        if !valid_name(&self.name) {
            return Err(Problem::Name(self.name.clone()));
        }
        let network = || self.name.clone();
        let version = self.version();
        if !SUPPORTED_VERSIONS.contains(&version) {
            return Err(Problem::UnsupportedVersion {
                network: network(),
                version,
            });
        }
        if self.plugins.is_empty() {
            return Err(Problem::NoPlugins(network()));
        }
        if self.plugins.len() > 1 && version < Version::V0_3_0 {
            return Err(Problem::NoChaining {
                network: network(),
                version,
            });
        }
        for (index, plugin) in self.plugins.iter().enumerate() {
            let t = &plugin.plugin_type;
            // The type names a file in the plugin directories, never a path elsewhere.
            if t.is_empty() || t == "." || t == ".." || t.contains(['/', '\0']) {
                return Err(Problem::PluginType {
                    network: network(),
                    index,
                    plugin_type: t.clone(),
                });
            }
        }
        Ok(())
    }
}

/// The spec's network name rule; it also keeps names safe in cache file names.
pub(crate) fn valid_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphanumeric())
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

/// Loads every configuration of `dir` (`*.conflist`, `*.conf`, `*.json`), in file name order
/// as libcni's users do (the first one is the default network). A bad file is an error naming
/// it, and so is a network name defined twice.
pub fn load_dir(dir: &Path) -> Result<Vec<NetworkConfigList>, ConfigError> {
    let read_err = |source| ConfigError::Read {
        path: dir.to_owned(),
        source,
    };
    let mut paths = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(read_err)? {
        let entry = entry.map_err(read_err)?;
        let path = entry.path();
        let wanted = path
            .extension()
            .is_some_and(|ext| ext == "conflist" || ext == "conf" || ext == "json");
        // file_type() does not follow symlinks; configuration files are often links.
        if wanted && path.is_file() {
            paths.push(path);
        }
    }
    paths.sort();
    let mut seen: BTreeMap<String, PathBuf> = BTreeMap::new();
    let mut lists = Vec::with_capacity(paths.len());
    for path in paths {
        let list = NetworkConfigList::load(&path)?;
        if let Some(first) = seen.insert(list.name.clone(), path.clone()) {
            return Err(ConfigError::Duplicate {
                name: list.name,
                first,
                second: path,
            });
        }
        lists.push(list);
    }
    Ok(lists)
}

impl PluginConfig {
    /// The JSON this plugin reads on stdin: its config with the list's `name` and
    /// `cniVersion` (the spec has the list's values replace the plugin's), and `inject`ed keys
    /// (`runtimeConfig`, `prevResult`, GC's valid attachments) replacing any of the same name.
    pub(crate) fn stdin(
        &self,
        network: &str,
        version: Version,
        inject: Map<String, Value>,
    ) -> Vec<u8> {
        let mut config = self.extra.clone();
        config.insert("type".into(), self.plugin_type.clone().into());
        if !self.capabilities.is_empty() {
            let capabilities = self.capabilities.iter();
            let capabilities = capabilities.map(|(k, v)| (k.clone(), Value::Bool(*v)));
            config.insert("capabilities".into(), Value::Object(capabilities.collect()));
        }
        config.insert("name".into(), network.into());
        config.insert("cniVersion".into(), version.to_string().into());
        config.extend(inject);
        Value::Object(config).to_string().into_bytes()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
