//! The event stream behind `docker events`: every state change is published here, kept in a
//! short history for `since` queries, and fanned out to live subscribers.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;

use serde::Serialize;
use tokio::sync::broadcast;

/// How many past events `since` can reach back to, as dockerd keeps.
const HISTORY: usize = 256;
/// Subscribers that fall this far behind lose the oldest events rather than stall the engine.
const CHANNEL_CAPACITY: usize = 1024;

/// One event, serialized exactly as the Docker Engine API sends it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Event {
    #[serde(rename = "Type")]
    pub kind: EventType,
    #[serde(rename = "Action")]
    pub action: String,
    #[serde(rename = "Actor")]
    pub actor: Actor,
    pub scope: &'static str,
    pub time: i64,
    #[serde(rename = "timeNano")]
    pub time_nano: i64,
}

#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum EventType {
    Container,
    Image,
    Network,
    Volume,
    Daemon,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Container => "container",
            Self::Image => "image",
            Self::Network => "network",
            Self::Volume => "volume",
            Self::Daemon => "daemon",
        }
    }
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Actor {
    #[serde(rename = "ID")]
    pub id: String,
    #[serde(rename = "Attributes")]
    pub attributes: BTreeMap<String, String>,
}

/// Publishes events and hands out subscriptions.
pub struct EventBus {
    sender: broadcast::Sender<Event>,
    history: Mutex<VecDeque<Event>>,
}

impl EventBus {
    pub(crate) fn new() -> Self {
        Self {
            sender: broadcast::channel(CHANNEL_CAPACITY).0,
            history: Mutex::new(VecDeque::with_capacity(HISTORY)),
        }
    }

    pub(crate) fn publish(
        &self,
        kind: EventType,
        action: &str,
        id: &str,
        attributes: BTreeMap<String, String>,
    ) {
        let now = chrono::Utc::now();
        let event = Event {
            kind,
            action: action.to_string(),
            actor: Actor {
                id: id.to_string(),
                attributes,
            },
            scope: "local",
            time: now.timestamp(),
            time_nano: now.timestamp_nanos_opt().unwrap_or_default(),
        };
        {
            let mut history = self.history.lock().unwrap_or_else(|p| p.into_inner());
            if history.len() == HISTORY {
                history.pop_front();
            }
            history.push_back(event.clone());
        }
        // No subscribers is fine: the event is still in the history.
        let _ = self.sender.send(event);
    }

    /// Past events at or after `since_nano`, then every new one. Subscribing before copying the
    /// history means no event falls between the two (a duplicate is filtered by time).
    pub fn subscribe(&self, since_nano: Option<i64>) -> (Vec<Event>, broadcast::Receiver<Event>) {
        let receiver = self.sender.subscribe();
        let past = match since_nano {
            Some(since) => self
                .history
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .iter()
                .filter(|e| e.time_nano >= since)
                .cloned()
                .collect(),
            None => Vec::new(),
        };
        (past, receiver)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
