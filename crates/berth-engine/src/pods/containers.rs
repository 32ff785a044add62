//! The app containers of pod sandboxes (the CRI's CreateContainer and what follows it). They are
//! containers of the engine like Docker's, with [`Owner::Pod`]: listed under the `k8s.io`
//! namespace, joining their pod's namespaces, cgroup parent and /etc files, logging in the CRI
//! format at the path the kubelet gave.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::containers::{Container, Status};
use crate::model::ContainerSpec;

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
