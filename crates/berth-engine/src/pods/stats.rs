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
    /// `None` when the container does not run, as `cgroup`.
    pub processes: Option<ProcessCounts>,
    pub writable_layer: LayerUsage,
}

/// What a container's processes hold, counted in /proc (cAdvisor's process stats, which the
/// cgroup files do not give).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProcessCounts {
    pub processes: u64,
    pub threads: u64,
    pub file_descriptors: u64,
    pub sockets: u64,
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
    /// The filesystem's size and inodes (statfs); zero when it could not be read.
    pub capacity_bytes: u64,
    pub inodes_total: u64,
    pub inodes_free: u64,
}

/// One pod's sample.
#[derive(Debug, Clone)]
pub struct PodStats {
    pub pod: Pod,
    pub read: DateTime<Utc>,
    /// The pod's cgroup (its cgroup parent): pause and every container. Always read by
    /// [`Engine::pod_stats`], never by [`Engine::pod_stats_without_cgroup`].
    pub cgroup: Option<CgroupStats>,
    /// The interfaces of the pod's network namespace but loopback; `None` for a pod on the
    /// host's network (containerd reports no network then).
    pub interfaces: Option<Vec<InterfaceStats>>,
    pub containers: Vec<PodContainerStats>,
}

impl Engine {
    /// Samples of the pods' containers matching `filter`, stopped ones included (with no
    /// cgroup), oldest first; without process counts (the stats RPCs report none, and the
    /// kubelet asks every few seconds).
    pub async fn pod_container_stats(
        &self,
        filter: PodContainerFilter,
    ) -> Result<Vec<PodContainerStats>> {
        self.sample_containers(filter, false).await
    }

    /// `pod_container_stats`, with the processes counted in /proc when `processes`.
    async fn sample_containers(
        &self,
        filter: PodContainerFilter,
        processes: bool,
    ) -> Result<Vec<PodContainerStats>> {
        let containers = self.pod_containers(filter).await?;
        let engine = self.clone();
        tokio::task::spawn_blocking(move || {
            containers
                .into_iter()
                .map(|c| engine.sample_container(c, processes))
                .collect()
        })
        .await
        .map_err(Error::from_join)
    }

    /// A sample of a ready pod. A pod that is not ready, or has no cgroup parent to read, is
    /// Unavailable (containerd's code for a pod it cannot measure now).
    pub async fn pod_stats(&self, id: &str) -> Result<PodStats> {
        self.sample_pod(id, true).await
    }

    /// A sample of a ready pod for cAdvisor-style metrics: its containers (with their
    /// processes counted) and network, but not the pod's own cgroup, which a pod without a
    /// cgroup parent lacks and the metrics do not need.
    pub async fn pod_stats_without_cgroup(&self, id: &str) -> Result<PodStats> {
        self.sample_pod(id, false).await
    }

    /// `with_cgroup`: the stats RPCs' sample (the pod's cgroup); else the metrics' (the
    /// containers' processes).
    async fn sample_pod(&self, id: &str, with_cgroup: bool) -> Result<PodStats> {
        let pod = self.pod(id).await?;
        if pod.state.phase != PodPhase::Ready {
            return Err(PodError::NoStats {
                pod: pod.id,
                reason: "it is not ready",
            }
            .into());
        }
        if with_cgroup && pod.spec.cgroup_parent.is_empty() {
            return Err(PodError::NoStats {
                pod: pod.id,
                reason: "it has no cgroup parent",
            }
            .into());
        }
        let filter = PodContainerFilter {
            pod_id: Some(pod.id.clone()),
            ..Default::default()
        };
        let containers = self.sample_containers(filter, !with_cgroup).await?;
        tokio::task::spawn_blocking(move || {
            let cgroup = with_cgroup
                .then(|| {
                    let cg = berth_cgroups::Manager::new(
                        Path::new(crate::host::CGROUP_ROOT),
                        Some(&pod.spec.cgroup_parent),
                        &pod.id,
                    );
                    cg.and_then(|cg| cg.stats())
                        .map_err(|source| Error::Cgroup {
                            id: pod.id.clone(),
                            source,
                        })
                })
                .transpose()?;
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

    /// Blocking: reads the cgroup (and counts its processes when `processes`), and walks the
    /// writable layer.
    fn sample_container(&self, c: PodContainer, processes: bool) -> PodContainerStats {
        let id = c.container.id.clone();
        let sample = if c.container.state.status.is_live() {
            // It may exit meanwhile: then it is reported as stopped.
            match self.cgroup(&id).and_then(|cg| {
                let stats = cg.stats().and_then(|s| Ok((s, cg.pids()?)));
                stats.map_err(|source| Error::Cgroup {
                    id: id.clone(),
                    source,
                })
            }) {
                Ok((stats, pids)) => Some((stats, processes.then(|| count_processes(&pids)))),
                Err(e) => {
                    tracing::debug!(container = %id, error = %e, "no cgroup stats");
                    None
                }
            }
        } else {
            None
        };
        let (cgroup, processes) = sample.unzip();
        let processes = processes.flatten();
        PodContainerStats {
            read: Utc::now(),
            cgroup,
            processes,
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
        let root = store.snapshots.root();
        let fs = nix::sys::statvfs::statvfs(root)
            .inspect_err(|e| tracing::debug!(path = %root.display(), error = %e, "no statvfs"))
            .ok();
        let fs_value = |f: fn(&nix::sys::statvfs::Statvfs) -> u64| fs.as_ref().map_or(0, f);
        LayerUsage {
            read: Utc::now(),
            filesystem: store.snapshots.root().to_path_buf(),
            used_bytes: usage.size,
            inodes_used: usage.inodes,
            capacity_bytes: fs_value(|f| f.blocks().saturating_mul(f.fragment_size())),
            inodes_total: fs_value(|f| f.files()),
            inodes_free: fs_value(|f| f.files_free()),
        }
    }
}

/// Counts `pids`' threads, open files and sockets in /proc; a process that exits meanwhile
/// counts for what could be read of it.
fn count_processes(pids: &[i32]) -> ProcessCounts {
    let mut counts = ProcessCounts {
        processes: pids.len() as u64,
        ..ProcessCounts::default()
    };
    for pid in pids {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        counts.threads += status
            .lines()
            .find_map(|l| l.strip_prefix("Threads:"))
            .and_then(|n| n.trim().parse::<u64>().ok())
            .unwrap_or(0);
        let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
            continue;
        };
        for fd in fds.flatten() {
            counts.file_descriptors += 1;
            // A socket's link reads `socket:[inode]`.
            if std::fs::read_link(fd.path())
                .is_ok_and(|t| t.as_os_str().as_encoded_bytes().starts_with(b"socket:"))
            {
                counts.sockets += 1;
            }
        }
    }
    counts
}
