//! Resource usage of pods and their containers (the CRI's ContainerStats and PodSandboxStats):
//! cgroup counters, writable layers, the pod's interface counters. Samples only: rates over
//! consecutive samples are the adapter's (containerd keeps them in its CRI service too).

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use super::{Pod, PodContainer, PodContainerFilter, PodError, PodPhase};
use crate::containers::CgroupStats;
use crate::networks::InterfaceStats;
use crate::{Engine, Error, Result};

/// One container's sample.
#[derive(Debug, Clone)]
pub struct PodContainerStats {
    pub container: PodContainer,
    /// When the cgroup was read.
    pub read: DateTime<Utc>,
    /// `None` when the container does not run: containerd then reports no cpu or memory.
    pub cgroup: Option<CgroupStats>,
    pub writable_layer: LayerUsage,
}

/// What a container's writable snapshot holds, on the image store's filesystem.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LayerUsage {
    pub read: DateTime<Utc>,
    /// The snapshot store's directory (containerd reports its snapshotter's root).
    pub filesystem: PathBuf,
    /// Zero when the snapshot could not be measured, as containerd reports it.
    pub used_bytes: u64,
    pub inodes_used: u64,
}

/// One pod's sample.
#[derive(Debug, Clone)]
pub struct PodStats {
    pub pod: Pod,
    pub read: DateTime<Utc>,
    /// The pod's cgroup (its cgroup parent): pause and every container.
    pub cgroup: CgroupStats,
    /// The interfaces of the pod's network namespace but loopback; `None` for a pod on the
    /// host's network (containerd reports no network then).
    pub interfaces: Option<Vec<InterfaceStats>>,
    pub containers: Vec<PodContainerStats>,
}

impl Engine {
    /// Samples of the pods' containers matching `filter`, stopped ones included (with no
    /// cgroup), oldest first.
    pub async fn pod_container_stats(
        &self,
        filter: PodContainerFilter,
    ) -> Result<Vec<PodContainerStats>> {
        let containers = self.pod_containers(filter).await?;
        let engine = self.clone();
        tokio::task::spawn_blocking(move || {
            containers
                .into_iter()
                .map(|c| engine.sample_container(c))
                .collect()
        })
        .await
        .map_err(Error::from_join)
    }

    /// A sample of a ready pod. A pod that is not ready, or has no cgroup parent to read, is
    /// Unavailable (containerd's code for a pod it cannot measure now).
    pub async fn pod_stats(&self, id: &str) -> Result<PodStats> {
        let pod = self.pod(id).await?;
        if pod.state.phase != PodPhase::Ready {
            return Err(PodError::NoStats {
                pod: pod.id,
                reason: "it is not ready",
            }
            .into());
        }
        if pod.spec.cgroup_parent.is_empty() {
            return Err(PodError::NoStats {
                pod: pod.id,
                reason: "it has no cgroup parent",
            }
            .into());
        }
        let containers = self
            .pod_container_stats(PodContainerFilter {
                pod_id: Some(pod.id.clone()),
                ..Default::default()
            })
            .await?;
        tokio::task::spawn_blocking(move || {
            let cg = berth_cgroups::Manager::new(
                Path::new(crate::host::CGROUP_ROOT),
                Some(&pod.spec.cgroup_parent),
                &pod.id,
            );
            let cgroup = cg
                .and_then(|cg| cg.stats())
                .map_err(|source| Error::Cgroup {
                    id: pod.id.clone(),
                    source,
                })?;
            // /proc/<pause>/net/dev shows pause's namespace without entering it.
            let interfaces = pod.state.netns.is_some().then(|| {
                let text = std::fs::read_to_string(format!("/proc/{}/net/dev", pod.state.pid));
                let mut all = crate::networks::parse_net_dev(&text.unwrap_or_default());
                all.retain(|i| i.name != "lo");
                all
            });
            Ok(PodStats {
                read: Utc::now(),
                pod,
                cgroup,
                interfaces,
                containers,
            })
        })
        .await
        .map_err(Error::from_join)?
    }

    /// Blocking: reads the cgroup and walks the writable layer.
    fn sample_container(&self, c: PodContainer) -> PodContainerStats {
        let id = c.container.id.clone();
        let cgroup = if c.container.state.status.is_live() {
            // It may exit meanwhile: then it is reported as stopped.
            match self.cgroup(&id).and_then(|cg| {
                cg.stats().map_err(|source| Error::Cgroup {
                    id: id.clone(),
                    source,
                })
            }) {
                Ok(stats) => Some(stats),
                Err(e) => {
                    tracing::debug!(container = %id, error = %e, "no cgroup stats");
                    None
                }
            }
        } else {
            None
        };
        PodContainerStats {
            read: Utc::now(),
            cgroup,
            writable_layer: self.writable_layer(&id),
            container: c,
        }
    }

    /// Blocking: walks the container's snapshot.
    fn writable_layer(&self, id: &str) -> LayerUsage {
        let store = &self.inner.store;
        let usage = store
            .metadata
            .get_container(id)
            .and_then(|r| store.snapshots.usage(&r.snapshot_key))
            .inspect_err(|e| tracing::debug!(container = id, error = %e, "no layer usage"))
            .unwrap_or_default();
        LayerUsage {
            read: Utc::now(),
            filesystem: store.snapshots.root().to_path_buf(),
            used_bytes: usage.size,
            inodes_used: usage.inodes,
        }
    }
}
