//! The pod sandboxes' lifecycle as events, for the CRI's GetContainerEvents (containerd sends
//! a sandbox's own CREATED, STARTED, STOPPED and DELETED there). A channel of their own, apart
//! from Docker's bus: `docker events` knows no pods.

use chrono::{DateTime, Utc};
use tokio::sync::broadcast;

use crate::Engine;

/// Subscribers this far behind lose the oldest events rather than stall a pod's verb.
pub(super) const CAPACITY: usize = 256;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PodEventKind {
    Created,
    Started,
    /// Pause exited: stopped, or died on its own.
    Stopped,
    Deleted,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodEvent {
    pub pod_id: String,
    pub kind: PodEventKind,
    pub time: DateTime<Utc>,
}

impl Engine {
    /// Every pod event from now on.
    pub fn pod_events(&self) -> broadcast::Receiver<PodEvent> {
        self.inner.pods.events.subscribe()
    }

    pub(super) fn publish_pod_event(&self, pod_id: &str, kind: PodEventKind) {
        // No subscriber is fine: nobody waits for pod events.
        let _ = self.inner.pods.events.send(PodEvent {
            pod_id: pod_id.to_string(),
            kind,
            time: Utc::now(),
        });
    }
}
