//! Kubernetes pod sandboxes: what the CRI's RunPodSandbox makes. A sandbox is not a container:
//! no image, no snapshot, no Docker record (`docker ps` never lists one). It is a pinned
//! network namespace with the pod's CNI attachment, and `berth-pause` run through berth-shim
//! and the OCI runtime, holding the pod's IPC, UTS and (per the pod's option) PID namespaces,
//! in the pod's cgroup parent; plus the pod's hostname, hosts and resolv.conf files.
//!
//! Crash safety: the record is written first (`creating`), naming every resource before it
//! is made (namespace path, CNI list; the runtime state and shim directory are named by the
//! pod id), so a restart tears down a half-made pod from its record (restore.rs).
//!
//! Layout: `<data-root>/pods/<id>/` the /etc files (the pod's containers will bind them),
//! `<data-root>/pods/cni/` the pods' CNI result cache (apart from the Docker networks', whose
//! start-up GC must not see pods), `<data-root>/pause/rootfs/` the read-only root holding only
//! `/pause`, `<exec-root>/pods/<id>/` the bundle (`config.json`) and pinned `netns`,
//! `<exec-root>/ps/<id prefix>/` the shim's sockets.

mod containers;
mod error;
mod events;
mod exit;
mod list;
mod network;
mod port_forward;
mod remove;
mod restore;
mod run;
mod sandbox_spec;
mod stats;
mod status;
mod stop;

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use berth_types::ErrorKind;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::sync::OwnedMutexGuard;

pub use berth_cni::Protocol;
pub(crate) use containers::{remove_snapshots, unmount_image_mounts};
pub use containers::{
    ImageMount, PodContainer, PodContainerFilter, PodContainerMetadata, PodContainerRequest,
};
pub use error::PodError;
pub use events::{PodEvent, PodEventKind};
pub use list::PodFilter;
pub use stats::{LayerUsage, PodContainerStats, PodStats, ProcessCounts};

use crate::{Engine, Error, Result};

/// What the engine is asked to run: CRI's PodSandboxConfig, typed (the adapter parses the
/// protobuf; the engine never sees it).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PodSpec {
    pub name: String,
    pub namespace: String,
    pub uid: String,
    pub attempt: u32,
    pub hostname: String,
    pub log_directory: String,
    /// `None`: the host's resolv.conf.
    pub dns: Option<DnsConfig>,
    pub port_mappings: Vec<PortMapping>,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub runtime_handler: String,
    /// cgroupfs form (`/kubepods/burstable/pod<uid>`); empty: the runtime's default.
    pub cgroup_parent: String,
    pub namespaces: PodNamespaces,
    pub sysctls: BTreeMap<String, String>,
    pub security: PodSecurity,
    /// Pod overhead and the pod's resources; the sandbox's cgroup gets their sum.
    pub overhead: Option<PodResources>,
    pub resources: Option<PodResources>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DnsConfig {
    pub servers: Vec<String>,
    pub searches: Vec<String>,
    pub options: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortMapping {
    pub protocol: Protocol,
    pub container_port: u16,
    /// 0: not published on the host (the kubelet passes such ports for information).
    pub host_port: u16,
    pub host_ip: Option<IpAddr>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PodNamespaces {
    pub host_network: bool,
    pub host_ipc: bool,
    pub pid: PidMode,
    /// The pod's own user namespace (CRI mode POD), which pause creates and every container
    /// joins; `None`: the host's.
    #[serde(default)]
    pub user: Option<crate::model::UserNamespace>,
}

/// CRI's NamespaceMode for the pod's PID namespace (TARGET applies to containers only).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PidMode {
    /// One namespace for the pod: pause is its PID 1 and reaps.
    #[default]
    Pod,
    /// Each container its own; pause too.
    Container,
    /// The host's.
    Node,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PodSecurity {
    pub privileged: bool,
    pub run_as_user: Option<u32>,
    pub run_as_group: Option<u32>,
    pub supplemental_groups: Vec<u32>,
    pub readonly_rootfs: bool,
    pub seccomp: Seccomp,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Seccomp {
    #[default]
    Unconfined,
    RuntimeDefault,
    /// A Docker-format profile on the host.
    Localhost(PathBuf),
}

/// Zero means unset, as in CRI's LinuxContainerResources.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PodResources {
    pub cpu_period: u64,
    pub cpu_quota: i64,
    pub cpu_shares: u64,
    pub memory_limit: i64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PodPhase {
    /// RunPodSandbox under way (or cut short by a crash: restore tears it down).
    #[default]
    Creating,
    Ready,
    /// Stopped, or pause exited.
    NotReady,
}

/// What exists for a pod, each resource recorded before it is made.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PodState {
    pub phase: PodPhase,
    /// The pinned network namespace (none for hostNetwork, or once released).
    pub netns: Option<PathBuf>,
    /// The CNI list the pod was attached with, kept so its DEL never depends on what the
    /// configuration directory holds by then.
    pub network: Option<berth_cni::NetworkConfigList>,
    /// IPv4 first (CRI's `ip`), then the others (`additional_ips`).
    pub ips: Vec<IpAddr>,
    /// Pause's pid, and its start time (clock ticks, /proc/<pid>/stat): the two name one
    /// process, never one that took the pid after pause exited.
    pub pid: i32,
    #[serde(default)]
    pub pid_start: u64,
}

/// A pod sandbox as the engine reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct Pod {
    pub id: String,
    pub spec: PodSpec,
    pub state: PodState,
    pub created: DateTime<Utc>,
}

/// Per-pod operation locks: RunPodSandbox, Stop, Remove and the pause watcher of one pod
/// never interleave. And the pods' events.
pub(crate) struct Registry {
    ops: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    events: tokio::sync::broadcast::Sender<PodEvent>,
    /// Set once this daemon has put its pause binary in the pods' root (1 MB read and
    /// compared twice, otherwise, at every RunPodSandbox).
    pause_installed: tokio::sync::OnceCell<()>,
}

impl Default for Registry {
    fn default() -> Self {
        Self {
            ops: Mutex::default(),
            events: tokio::sync::broadcast::channel(events::CAPACITY).0,
            pause_installed: tokio::sync::OnceCell::new(),
        }
    }
}

impl Registry {
    fn op(&self, id: &str) -> Arc<tokio::sync::Mutex<()>> {
        self.ops
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(id.to_string())
            .or_default()
            .clone()
    }

    fn forget(&self, id: &str) {
        self.ops
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(id);
    }
}

fn parse_record(r: berth_store::metadata::PodRecord) -> Result<Pod> {
    let corrupt = |source| PodError::Corrupt {
        id: r.id.clone(),
        source,
    };
    Ok(Pod {
        spec: serde_json::from_str(&r.config).map_err(corrupt)?,
        state: serde_json::from_str(&r.state).map_err(corrupt)?,
        created: r.created,
        id: r.id,
    })
}

impl Engine {
    /// Runs `op` on a task of its own and waits for it: the kubelet cancels a call at its
    /// deadline, which drops only this wait, never a run, stop or remove half done (the undo
    /// of a failed run included).
    async fn to_completion<T, F>(&self, op: impl FnOnce(Engine) -> F) -> Result<T>
    where
        F: std::future::Future<Output = Result<T>> + Send + 'static,
        T: Send + 'static,
    {
        tokio::spawn(op(self.clone()))
            .await
            .map_err(Error::from_join)?
    }

    /// Persistent files of a pod: hostname, hosts, resolv.conf.
    pub(crate) fn pod_dir(&self, id: &str) -> PathBuf {
        self.config().data_root.join("pods").join(id)
    }

    /// The pod's bundle and pinned network namespace.
    pub(crate) fn pod_run_dir(&self, id: &str) -> PathBuf {
        self.config().exec_root.join("pods").join(id)
    }

    /// The pod's /dev/shm tmpfs (none with the host's IPC namespace).
    pub(crate) fn pod_shm(&self, id: &str) -> PathBuf {
        self.pod_run_dir(id).join("shm")
    }

    fn pause_rootfs(&self) -> PathBuf {
        self.config().data_root.join("pause").join("rootfs")
    }

    /// The pods' CNI client: plugins from `--cni-bin-dir`, results cached apart from the
    /// Docker networks'.
    fn pod_cni(&self) -> berth_cni::Cni {
        berth_cni::Cni::new(
            vec![self.config().pods.cni_bin_dir.clone()],
            &self.config().data_root.join("pods").join("cni"),
        )
    }

    /// Pod `id` (an id or unique prefix) under its operation lock, reread under it (a stop or
    /// remove may have got there first); `None` when there is no such pod.
    async fn lock_pod(&self, id: &str) -> Result<Option<(Pod, OwnedMutexGuard<()>)>> {
        let full = match self.pod(id).await {
            Ok(pod) => pod.id,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let guard = self.inner.pods.op(&full).lock_owned().await;
        match self.load_pod(&full).await {
            Ok(pod) => Ok(Some((pod, guard))),
            Err(e) if e.kind() == ErrorKind::NotFound => {
                self.inner.pods.forget(&full);
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    async fn load_pod(&self, id: &str) -> Result<Pod> {
        let id = id.to_string();
        let record = self
            .with_store(move |store| Ok(store.metadata.get_pod(&id)?))
            .await?;
        parse_record(record)
    }

    async fn save_pod_state(&self, id: &str, state: &PodState) -> Result<()> {
        let json = serde_json::to_string(state).map_err(Error::Json)?;
        let id = id.to_string();
        self.with_store(move |store| Ok(store.metadata.set_pod_state(&id, &json)?))
            .await
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
