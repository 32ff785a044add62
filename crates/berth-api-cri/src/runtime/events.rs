//! GetContainerEvents, the kubelet's Evented PLEG: the engine's container events (create,
//! start, die, destroy) of pods' containers as CONTAINER_CREATED, _STARTED, _STOPPED and
//! _DELETED, each with its pod's status and the statuses of the pod's containers at the time,
//! as containerd's `generateAndSendContainerEvent` sends them.

use std::collections::HashMap;
use std::pin::Pin;

use berth_engine::events::{Event, EventType};
use berth_engine::pods::PodContainerFilter;
use berth_engine::Engine;
use futures_util::Stream;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::broadcast::Receiver;
use tokio::sync::mpsc;
use tonic::{Request, Response, Status};

use super::Runtime;
use crate::error;
use crate::proto::{ContainerEventResponse, ContainerEventType, GetEventsRequest};

/// Events converted but not yet read by a slow client; the engine's bus buffers beyond.
const QUEUE: usize = 64;

pub(super) type ContainerEvents =
    Pin<Box<dyn Stream<Item = Result<ContainerEventResponse, Status>> + Send>>;

/// The subscription, and the pod of each pod container known: a destroyed container's record
/// is gone when its event arrives, and Docker's containers share the bus.
struct Subscription {
    engine: Engine,
    events: Receiver<Event>,
    pods: HashMap<String, String>,
}

pub(super) async fn get_container_events(
    rt: &Runtime,
    _: Request<GetEventsRequest>,
) -> Result<Response<ContainerEvents>, Status> {
    // Subscribed before listing: a container created in between is seen by its event.
    let (_, events) = rt.engine.events().subscribe(None);
    let pods = rt
        .engine
        .pod_containers(PodContainerFilter::default())
        .await
        .map_err(error::engine)?
        .into_iter()
        .map(|c| (c.container.id, c.pod_id))
        .collect();
    let mut subscription = Subscription {
        engine: rt.engine.clone(),
        events,
        pods,
    };
    // Converted as they come, not as the client reads: a container's record (and its pod)
    // must still be there, as when containerd builds its events. Ends with the engine's bus
    // or the client.
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

impl Subscription {
    /// The next event of a pod's container; `None` once the bus is closed.
    async fn next(&mut self) -> Option<ContainerEventResponse> {
        loop {
            let event = match self.events.recv().await {
                Ok(event) => event,
                Err(RecvError::Lagged(missed)) => {
                    // The kubelet relists when events stop making sense: it recovers.
                    tracing::warn!(missed, "container events: a slow client lost events");
                    continue;
                }
                Err(RecvError::Closed) => return None,
            };
            if event.kind != EventType::Container {
                continue;
            }
            if let Some(response) = self.convert(&event).await {
                return Some(response);
            }
        }
    }

    async fn convert(&mut self, event: &Event) -> Option<ContainerEventResponse> {
        let kind = event_type(&event.action)?;
        let id = &event.actor.id;
        let pod_id = if kind == ContainerEventType::ContainerDeletedEvent {
            self.pods.remove(id)?
        } else {
            // NotFound: a Docker container (or one removed already; its destroy follows).
            let c = self.engine.pod_container(id).await.ok()?;
            self.pods.insert(c.container.id, c.pod_id.clone());
            c.pod_id
        };
        // As containerd: the event goes out with what could be read of its pod.
        let pod_sandbox_status = match self.engine.pod(&pod_id).await {
            Ok(pod) => Some(super::pods::status(&pod)),
            Err(e) => {
                tracing::debug!(pod = %pod_id, error = %e, "container event without pod status");
                None
            }
        };
        let containers_statuses = self
            .engine
            .pod_containers(PodContainerFilter {
                pod_id: Some(pod_id.clone()),
                ..PodContainerFilter::default()
            })
            .await
            .inspect_err(|e| tracing::warn!(pod = %pod_id, error = %e, "container statuses"))
            .unwrap_or_default()
            .iter()
            .map(super::containers::status_report)
            .collect();
        Some(ContainerEventResponse {
            container_id: id.clone(),
            container_event_type: kind.into(),
            created_at: event.time_nano,
            pod_sandbox_status,
            containers_statuses,
        })
    }
}

/// The CRI's event of an engine container action; others (exec, oom, kill …) have none.
fn event_type(action: &str) -> Option<ContainerEventType> {
    match action {
        "create" => Some(ContainerEventType::ContainerCreatedEvent),
        "start" => Some(ContainerEventType::ContainerStartedEvent),
        "die" => Some(ContainerEventType::ContainerStoppedEvent),
        "destroy" => Some(ContainerEventType::ContainerDeletedEvent),
        _ => None,
    }
}
