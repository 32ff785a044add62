//! GetContainerEvents, the kubelet's Evented PLEG: the engine's container events (create,
//! start, die, destroy) of pods' containers as CONTAINER_CREATED, _STARTED, _STOPPED and
//! _DELETED, and the pod sandboxes' own under the sandbox's id, as containerd sends both;
//! each with its pod's status and the statuses of the pod's containers at the time
//! (containerd's `generateAndSendContainerEvent`).

use std::collections::HashMap;
use std::pin::Pin;

use berth_engine::events::{Event, EventType};
use berth_engine::pods::{PodContainerFilter, PodEvent, PodEventKind};
use berth_engine::Engine;
use futures_util::Stream;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::broadcast::Receiver;
use tokio::sync::mpsc;
use tonic::{Request, Response, Status};

use super::Runtime;
use crate::error;
use crate::proto::{ContainerEventResponse, ContainerEventType, GetEventsRequest};

/// Events converted but not yet read by a slow client; the engine's channels buffer beyond.
const QUEUE: usize = 64;

pub(super) type ContainerEvents =
    Pin<Box<dyn Stream<Item = Result<ContainerEventResponse, Status>> + Send>>;

/// The subscriptions, and the pod of each pod container known: a destroyed container's
/// record is gone when its event arrives, and Docker's containers share the engine's bus.
struct Subscription {
    engine: Engine,
    containers: Receiver<Event>,
    pods: Receiver<PodEvent>,
    pod_of: HashMap<String, String>,
}

/// One event of either channel.
enum Next {
    Container(Event),
    Pod(PodEvent),
}

pub(super) async fn get_container_events(
    rt: &Runtime,
    _: Request<GetEventsRequest>,
) -> Result<Response<ContainerEvents>, Status> {
    // Subscribed before listing: a container created in between is seen by its event.
    let (_, containers) = rt.engine.events().subscribe(None);
    let pods = rt.engine.pod_events();
    let pod_of = rt
        .engine
        .pod_containers(PodContainerFilter::default())
        .await
        .map_err(error::engine)?
        .into_iter()
        .map(|c| (c.container.id, c.pod_id))
        .collect();
    let mut subscription = Subscription {
        engine: rt.engine.clone(),
        containers,
        pods,
        pod_of,
    };
    // Converted as they come, not as the client reads: a container's record (and its pod)
    // must still be there, as when containerd builds its events. Ends with the engine or the
    // client.
    let (tx, rx) = mpsc::channel(QUEUE);
    tokio::spawn(async move {
        loop {
            let event = tokio::select! {
                event = subscription.next() => event,
                () = tx.closed() => None,
            };
            let Some(event) = event else { break };
            if tx.send(Ok(event)).await.is_err() {
                break;
            }
        }
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        let event = rx.recv().await?;
        Some((event, rx))
    });
    Ok(Response::new(Box::pin(stream)))
}

/// The next value of `r`, skipping what a slow client lost; `None` once closed.
async fn receive<T: Clone>(r: &mut Receiver<T>) -> Option<T> {
    loop {
        match r.recv().await {
            Ok(value) => return Some(value),
            Err(RecvError::Lagged(missed)) => {
                // The kubelet relists when events stop making sense: it recovers.
                tracing::warn!(missed, "container events: a slow client lost events");
            }
            Err(RecvError::Closed) => return None,
        }
    }
}

impl Subscription {
    /// The next CRI event; `None` once the engine's channels are closed.
    async fn next(&mut self) -> Option<ContainerEventResponse> {
        loop {
            let next = tokio::select! {
                event = receive(&mut self.containers) => Next::Container(event?),
                event = receive(&mut self.pods) => Next::Pod(event?),
            };
            let response = match next {
                Next::Container(event) => self.container_event(&event).await,
                Next::Pod(event) => Some(self.pod_event(&event).await),
            };
            if let Some(response) = response {
                return Some(response);
            }
        }
    }

    async fn container_event(&mut self, event: &Event) -> Option<ContainerEventResponse> {
        if event.kind != EventType::Container {
            return None;
        }
        let kind = container_event_type(&event.action)?;
        let id = &event.actor.id;
        let pod_id = if kind == ContainerEventType::ContainerDeletedEvent {
            self.pod_of.remove(id)?
        } else {
            // NotFound: a Docker container (or one removed already; its destroy follows).
            let c = self.engine.pod_container(id).await.ok()?;
            self.pod_of.insert(c.container.id, c.pod_id.clone());
            c.pod_id
        };
        Some(self.response(id, kind, event.time_nano, &pod_id).await)
    }

    async fn pod_event(&self, event: &PodEvent) -> ContainerEventResponse {
        let kind = match event.kind {
            PodEventKind::Created => ContainerEventType::ContainerCreatedEvent,
            PodEventKind::Started => ContainerEventType::ContainerStartedEvent,
            PodEventKind::Stopped => ContainerEventType::ContainerStoppedEvent,
            PodEventKind::Deleted => ContainerEventType::ContainerDeletedEvent,
        };
        let time = event.time.timestamp_nanos_opt().unwrap_or_default();
        self.response(&event.pod_id, kind, time, &event.pod_id)
            .await
    }

    /// The event of `id` with what can be read of its pod now; a pod gone has no status, as
    /// containerd sends it.
    async fn response(
        &self,
        id: &str,
        kind: ContainerEventType,
        time_nano: i64,
        pod_id: &str,
    ) -> ContainerEventResponse {
        let pod_sandbox_status = match self.engine.pod(pod_id).await {
            Ok(pod) => Some(super::pods::status(&pod)),
            Err(e) => {
                tracing::debug!(pod = %pod_id, error = %e, "container event without pod status");
                None
            }
        };
        let containers_statuses = self
            .engine
            .pod_containers(PodContainerFilter {
                pod_id: Some(pod_id.to_string()),
                ..PodContainerFilter::default()
            })
            .await
            .inspect_err(|e| tracing::warn!(pod = %pod_id, error = %e, "container statuses"))
            .unwrap_or_default()
            .iter()
            .map(super::containers::status_report)
            .collect();
        ContainerEventResponse {
            container_id: id.to_string(),
            container_event_type: kind.into(),
            created_at: time_nano,
            pod_sandbox_status,
            containers_statuses,
        }
    }
}

/// The CRI's event of an engine container action; others (exec, oom, kill …) have none.
fn container_event_type(action: &str) -> Option<ContainerEventType> {
    match action {
        "create" => Some(ContainerEventType::ContainerCreatedEvent),
        "start" => Some(ContainerEventType::ContainerStartedEvent),
        "die" => Some(ContainerEventType::ContainerStoppedEvent),
        "destroy" => Some(ContainerEventType::ContainerDeletedEvent),
        _ => None,
    }
}
