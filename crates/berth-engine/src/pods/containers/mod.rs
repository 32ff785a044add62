//! The app containers of pod sandboxes (the CRI's CreateContainer and what follows it). They are
//! containers of the engine like Docker's, with [`Owner::Pod`]: listed under the `k8s.io`
//! namespace, joining their pod's namespaces, cgroup parent and /etc files, logging in the CRI
//! format at the path the kubelet gave.

mod context;
mod create;
mod image_mounts;
mod lifecycle;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::containers::{Container, Extension, Status};
use crate::model::ContainerSpec;
use crate::{Engine, Error, Result};

pub use image_mounts::ImageMount;
pub(crate) use image_mounts::{remove_snapshots, unmount_image_mounts};

/// The CRI's ContainerMetadata, kept with the container record: the kubelet finds its
/// containers again by (name, attempt) after a restart of its own.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PodContainerMetadata {
    pub name: String,
    pub attempt: u32,
}

/// A CreateContainer request, typed: `spec.owner` is [`crate::model::Owner::Pod`] of
/// `pod_id`, `spec.log` [`crate::model::LogSpec::Cri`] (or `None` without a log path).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodContainerRequest {
    pub pod_id: String,
    pub metadata: PodContainerMetadata,
    pub spec: ContainerSpec,
}

/// A pod's container as the engine reports it.
#[derive(Debug, Clone)]
pub struct PodContainer {
    pub pod_id: String,
    pub metadata: PodContainerMetadata,
    /// The engine's container: spec, state (status, pid, exit code, OOM kill, times),
    /// image id.
    pub container: Container,
}

/// ListContainers' filter: every condition must hold; empty ones hold for all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PodContainerFilter {
    /// An id or unique id prefix.
    pub id: Option<String>,
    pub pod_id: Option<String>,
    pub status: Option<Status>,
    pub labels: BTreeMap<String, String>,
}

impl PodContainerFilter {
    fn matches(&self, c: &PodContainer) -> bool {
        self.id.as_ref().is_none_or(|id| c.container.id == *id)
            && self.pod_id.as_ref().is_none_or(|p| c.pod_id == *p)
            && self.status.is_none_or(|s| c.container.state.status == s)
            && self
                .labels
                .iter()
                .all(|(k, v)| c.container.config.spec.labels.get(k) == Some(v))
    }
}

/// The pod container a record is, or `None` for a container of another owner.
fn pod_container(container: Container) -> Option<PodContainer> {
    let pod_id = container.config.spec.owner.pod()?.to_string();
    let metadata = match &container.config.extension {
        Some(Extension::Cri(m)) => m.clone(),
        _ => PodContainerMetadata::default(),
    };
    Some(PodContainer {
        pod_id,
        metadata,
        container,
    })
}

impl Engine {
    /// The pods' containers matching `filter`, oldest first. An id prefix that names no
    /// container, or more than one, matches none (containerd's rule).
    pub async fn pod_containers(&self, filter: PodContainerFilter) -> Result<Vec<PodContainer>> {
        let all: Vec<PodContainer> = self
            .all_containers()
            .await?
            .into_iter()
            .filter_map(pod_container)
            .collect();
        let id = filter.id.as_deref().map(|wanted| {
            let mut hits = all.iter().filter(|c| c.container.id.starts_with(wanted));
            match (hits.next(), hits.next()) {
                (Some(only), None) => only.container.id.clone(),
                _ => wanted.to_string(),
            }
        });
        let filter = PodContainerFilter { id, ..filter };
        let mut out: Vec<PodContainer> = all.into_iter().filter(|c| filter.matches(c)).collect();
        out.sort_by_key(|c| c.container.created);
        Ok(out)
    }

    /// A pod's container by id or unique id prefix (one record read, as Docker's lookups);
    /// NotFound for Docker's containers.
    pub async fn pod_container(&self, id: &str) -> Result<PodContainer> {
        pod_container(self.container(id).await?)
            .ok_or_else(|| Error::NoSuchContainer(id.to_string()))
    }
}
