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
    /// The static `berth-pause` of pod sandboxes; `None` refuses RunPodSandbox.
    #[serde(default)]
    pub pause: Option<PathBuf>,
    /// Insecure registries, mirrors and the `certs.d` directory.
    pub registry: berth_registry::RegistryConfig,
    /// The default bridge, address pools, masquerading, CNI plugins.
    #[serde(default)]
    pub network: NetConfig,
    /// The Kubernetes pods' CNI directories.
    #[serde(default)]
    pub pods: crate::pod_network::PodNetConfig,
    /// The build cache's size limit; a build that ends above it drops the least recently
    /// used entries.
    #[serde(default = "default_build_cache_max")]
    pub build_cache_max_bytes: u64,
}

fn default_build_cache_max() -> u64 {
    crate::build::DEFAULT_CACHE_MAX_BYTES
}

/// Networking settings (dockerd's `--bridge`, `--bip`, `--default-address-pool`, `--ip-masq`,
/// `--ipv6`, `--fixed-cidr-v6`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct NetConfig {
    /// Host bridge of the default `bridge` network.
    pub bridge: String,
    /// Gateway address and prefix of the default bridge (`172.29.0.1/16`).
    pub bip: String,
    /// Where user networks without `--subnet` get theirs: `(base, prefix length)`, IPv4 or
    /// IPv6 (without an IPv6 one, a ULA /48 of the host is split into /64s).
    pub address_pools: Vec<(String, u8)>,
    /// IPv6 on the default bridge too, with the `fixed_cidr_v6` subnet.
    #[serde(default)]
    pub ipv6: bool,
    #[serde(default)]
    pub fixed_cidr_v6: Option<String>,
    /// Masquerade traffic leaving a (non-internal) network to the outside.
    pub ip_masq: bool,
    /// Directories searched for CNI plugins, in order.
    pub cni_plugin_dirs: Vec<PathBuf>,
}

impl Default for NetConfig {
    fn default() -> Self {
        Self {
            bridge: "berth0".into(),
            bip: "172.29.0.1/16".into(),
            address_pools: vec![("10.90.0.0/15".into(), 24)],
            ipv6: false,
            fixed_cidr_v6: None,
            ip_masq: true,
            cni_plugin_dirs: vec!["/usr/lib/cni".into(), "/opt/cni/bin".into()],
        }
    }
}

impl EngineConfig {
    pub fn new(data_root: PathBuf, exec_root: PathBuf) -> Self {
        Self {
            data_root,
            exec_root,
            runtime: PathBuf::from("berth-runtime"),
            shim: PathBuf::from("berth-shim"),
            init: None,
            pause: None,
            registry: Default::default(),
            network: NetConfig::default(),
            pods: Default::default(),
            build_cache_max_bytes: default_build_cache_max(),
        }
    }
}
