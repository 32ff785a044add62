//! The network of Kubernetes pods, laid out as the kubelet expects: CNI configurations in one
//! directory (`/etc/cni/net.d`, the first by file name is the pods' network, as libcni's users
//! choose), plugins in another (`/opt/cni/bin`), and the pod CIDR the kubelet hands down. Apart
//! from the Docker side's networks (`networks/`), which berthd configures itself.

use std::path::{Path, PathBuf};

use berth_cni::NetworkConfigList;
use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use crate::containers::io_err;
use crate::{Engine, Error, Result};

/// Where the pods' CNI configuration and plugins are (`--cni-conf-dir`, `--cni-bin-dir`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct PodNetConfig {
    pub cni_conf_dir: PathBuf,
    pub cni_bin_dir: PathBuf,
}

impl Default for PodNetConfig {
    fn default() -> Self {
        Self {
            cni_conf_dir: "/etc/cni/net.d".into(),
            cni_bin_dir: "/opt/cni/bin".into(),
        }
    }
}

/// Whether pods can be given a network now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PodNetworkStatus {
    /// `network` (the first configuration of the directory) will be used.
    Ready { network: String },
    /// Why not: no configuration, or a directory or file that cannot be loaded.
    NotReady { message: String },
}

impl Engine {
    /// Loads the pods' CNI configuration directory again (an operator or a network add-on
    /// may write it at any time, so nothing is cached).
    pub async fn pod_network_status(&self) -> Result<PodNetworkStatus> {
        let dir = self.inner.config.pods.cni_conf_dir.clone();
        let status = tokio::task::spawn_blocking(move || status_of(&dir))
            .await
            .map_err(Error::from_join)?;
        Ok(status)
    }

    /// Records the pod CIDRs the kubelet assigned this node (kept for the pods' network), in
    /// a file too: the kubelet sends them again only when they change, not after a restart of
    /// berthd.
    pub async fn set_pod_cidrs(&self, cidrs: Vec<IpNet>) -> Result<()> {
        let file = self.pod_cidrs_file();
        let json = serde_json::to_vec(&cidrs).map_err(Error::Json)?;
        tokio::task::spawn_blocking(move || -> Result<()> {
            let dir = file.parent().unwrap_or(Path::new("/"));
            std::fs::create_dir_all(dir).map_err(io_err("create", dir))?;
            // Written beside and renamed: a crash leaves the old list or the new one.
            let tmp = file.with_extension("json.tmp");
            std::fs::write(&tmp, json).map_err(io_err("write", &tmp))?;
            std::fs::rename(&tmp, &file).map_err(io_err("rename", &file))
        })
        .await
        .map_err(Error::from_join)??;
        *self
            .inner
            .pod_cidrs
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = cidrs;
        Ok(())
    }

    pub fn pod_cidrs(&self) -> Vec<IpNet> {
        self.inner
            .pod_cidrs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The pod CIDRs an earlier run recorded; none when there is no file. An unreadable one
    /// is an error naming it, not a silent empty list.
    pub(crate) async fn load_pod_cidrs(&self) -> Result<()> {
        let file = self.pod_cidrs_file();
        let text = match tokio::fs::read(&file).await {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(io_err("read", &file)(e)),
        };
        let cidrs: Vec<IpNet> = serde_json::from_slice(&text)
            .map_err(|source| crate::pods::PodError::PodCidrsFile { path: file, source })?;
        *self
            .inner
            .pod_cidrs
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = cidrs;
        Ok(())
    }

    fn pod_cidrs_file(&self) -> PathBuf {
        self.inner
            .config
            .data_root
            .join("pods")
            .join("pod-cidrs.json")
    }
}

/// The status the configuration directory `dir` gives.
fn status_of(dir: &Path) -> PodNetworkStatus {
    match first_network(dir) {
        Ok(list) => PodNetworkStatus::Ready { network: list.name },
        Err(message) => PodNetworkStatus::NotReady { message },
    }
}

/// The pods' network: the first configuration of `dir` by file name (libcni's order), or why
/// there is none.
pub(crate) fn first_network(dir: &Path) -> std::result::Result<NetworkConfigList, String> {
    match berth_cni::load_dir(dir) {
        Ok(lists) => lists
            .into_iter()
            .next()
            .ok_or_else(|| format!("no network configuration found in {}", dir.display())),
        Err(berth_cni::ConfigError::Read { source, .. })
            if source.kind() == std::io::ErrorKind::NotFound =>
        {
            Err(format!(
                "no network configuration found in {} (no such directory)",
                dir.display()
            ))
        }
        Err(e) => Err(e.to_string()),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
