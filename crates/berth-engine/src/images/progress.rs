//! Progress of pulls and pushes, one message per step and layer, in the vocabulary of Docker's
//! JSON progress stream (the API adapter serialises them as they come).

use berth_types::Digest;
use tokio::sync::mpsc::UnboundedSender;

/// One progress message: `id` is a layer's short digest (or a tag), `status` Docker's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    pub id: Option<String>,
    pub status: String,
    pub current: Option<u64>,
    pub total: Option<u64>,
    /// The result of a push (`aux` in Docker's stream).
    pub pushed: Option<Pushed>,
}

/// What a push stored in the registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pushed {
    pub tag: String,
    pub digest: Digest,
    pub size: u64,
}

/// Where an operation reports progress. Sending never fails the operation: a client that went
/// away does not stop a pull.
#[derive(Debug, Clone)]
pub struct Reporter(Option<UnboundedSender<Progress>>);

impl Reporter {
    pub fn new(tx: UnboundedSender<Progress>) -> Self {
        Self(Some(tx))
    }

    /// Reports nothing.
    pub fn none() -> Self {
        Self(None)
    }

    pub(crate) fn status(&self, status: impl Into<String>) {
        self.send(Progress {
            id: None,
            status: status.into(),
            current: None,
            total: None,
            pushed: None,
        });
    }

    pub(crate) fn item(&self, id: &str, status: impl Into<String>) {
        self.send(Progress {
            id: Some(id.to_string()),
            status: status.into(),
            current: None,
            total: None,
            pushed: None,
        });
    }

    pub(crate) fn bytes(&self, id: &str, status: &str, current: u64, total: u64) {
        self.send(Progress {
            id: Some(id.to_string()),
            status: status.to_string(),
            current: Some(current),
            total: Some(total),
            pushed: None,
        });
    }

    pub(crate) fn pushed(&self, pushed: Pushed) {
        self.send(Progress {
            id: None,
            status: format!(
                "{}: digest: {} size: {}",
                pushed.tag, pushed.digest, pushed.size
            ),
            current: None,
            total: None,
            pushed: Some(pushed),
        });
    }

    fn send(&self, p: Progress) {
        if let Some(tx) = &self.0 {
            let _ = tx.send(p);
        }
    }
}

/// Docker's layer id in progress output: the first 12 hex digits.
pub(crate) fn short(d: &Digest) -> String {
    d.hex().chars().take(12).collect()
}

/// Counts bytes of a transfer and reports them at most every 512 KiB, plus the last.
#[derive(Debug)]
pub(crate) struct Meter {
    reporter: Reporter,
    id: String,
    status: &'static str,
    done: u64,
    total: u64,
    reported: u64,
}

impl Meter {
    pub(crate) fn new(
        reporter: Reporter,
        id: String,
        status: &'static str,
        start: u64,
        total: u64,
    ) -> Self {
        Self {
            reporter,
            id,
            status,
            done: start,
            total,
            reported: start,
        }
    }

    pub(crate) fn add(&mut self, n: usize) {
        self.done += n as u64;
        if self.done - self.reported >= 512 * 1024 || self.done >= self.total {
            self.reported = self.done;
            self.reporter
                .bytes(&self.id, self.status, self.done, self.total);
        }
    }
}
