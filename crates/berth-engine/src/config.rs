use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Where the engine keeps things and which programs it runs. berthd fills it from its flags
/// (named as dockerd's) and its TOML config file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct EngineConfig {
    /// Persistent state: images, containers, volumes (`--data-root`).
    pub data_root: PathBuf,
    /// Runtime state that does not survive a reboot: bundles, shim sockets (`--exec-root`).
    pub exec_root: PathBuf,
    /// The OCI runtime binary (berth-runtime by default; runc or crun work too).
    pub runtime: PathBuf,
    /// The per-container monitor binary.
    pub shim: PathBuf,
    /// The static init bound into `--init` containers (dockerd's `--init-path`); `None`
    /// refuses `--init` with a clear error.
    pub init: Option<PathBuf>,
    /// Insecure registries, mirrors and the `certs.d` directory.
    pub registry: berth_registry::RegistryConfig,
}

impl EngineConfig {
    pub fn new(data_root: PathBuf, exec_root: PathBuf) -> Self {
        Self {
            data_root,
            exec_root,
            runtime: PathBuf::from("berth-runtime"),
            shim: PathBuf::from("berth-shim"),
            init: None,
            registry: Default::default(),
        }
    }
}
