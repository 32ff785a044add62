//! `docker stop`, `docker kill` and `docker restart`, and cancelling a pending restart.

use std::sync::atomic::Ordering;
use std::time::Duration;

use super::{runtime, Container, State, Status};
use crate::events::EventType;
use crate::{Engine, Error, Result};

/// Seconds `stop` waits for the stop signal to work before SIGKILL, as dockerd.
const DEFAULT_STOP_TIMEOUT: i64 = 10;
/// How long SIGKILL may take to be reaped before `stop` reports failure.
const KILL_GRACE: Duration = Duration::from_secs(30);
/// How long a kill that found the process gone waits for its exit to be recorded.
const EXIT_GRACE: Duration = Duration::from_secs(10);

impl Engine {
    /// `docker stop`: the stop signal, then SIGKILL after `timeout` seconds (None: the
    /// container's StopTimeout, else 10). Returns false when it was not running (304).
    pub async fn stop_container(&self, name_or_id: &str, timeout: Option<i64>) -> Result<bool> {
        let c = self.container(name_or_id).await?;
        let entry = self.inner.containers.entry(&c.id, &c.state);
        let _op = entry.op.lock().await;
        let c = self.container(&c.id).await?;
        let status = self.stop_by_user(&c.id).await?;
        if status == Status::Restarting {
            self.events().publish(
                EventType::Container,
                "stop",
                &c.id,
                self.container_event_attrs(&c),
            );
            return Ok(true);
        }
        if !status.is_live() {
            return Ok(false);
        }
        let signal = match &c.config.spec.process.stop_signal {
            Some(signal) => signal.clone(),
            None => self
                .image_stop_signal(&c)
                .await
                .unwrap_or_else(|| "SIGTERM".to_string()),
        };
        let timeout = timeout
            .or(c.config.spec.process.stop_timeout)
            .unwrap_or(DEFAULT_STOP_TIMEOUT);
        if status == Status::Paused {
            // A frozen process cannot handle its stop signal.
            let _ = runtime::run(self.runtime().resume(&c.id)).await;
        }
        let _ = runtime::run(self.runtime().kill(&c.id, &signal, false)).await;
        let mut rx = entry.state.subscribe();
        let exited = |s: &State| !s.status.is_live();
        let wait = Duration::from_secs(timeout.max(0) as u64);
        if timeout < 0
            || tokio::time::timeout(wait, rx.wait_for(exited))
                .await
                .is_err()
        {
            let _ = runtime::run(self.runtime().kill(&c.id, "SIGKILL", false)).await;
            tokio::time::timeout(KILL_GRACE, rx.wait_for(exited))
                .await
                .map_err(|_| Error::StopTimedOut(c.id.clone()))?
                .map_err(|_| Error::StopTimedOut(c.id.clone()))?;
        }
        self.events().publish(
            EventType::Container,
            "stop",
            &c.id,
            self.container_event_attrs(&c),
        );
        Ok(true)
    }

    async fn image_stop_signal(&self, c: &Container) -> Option<String> {
        let image = c.image_id.to_string();
        self.with_store(move |store| {
            let img = store.metadata.get_image(
                &image
                    .parse()
                    .map_err(|_| Error::NoSuchImage(image.clone()))?,
            )?;
            Ok(super::create::image_config(&img.config)?.stop_signal)
        })
        .await
        .ok()
        .filter(|s| !s.is_empty())
    }

    /// `docker kill -s SIGNAL`.
    /// SIGKILL returns once the container has exited (dockerd waits up to 10 s), so a remove
    /// right after it does not meet a running container.
    pub async fn kill_container(&self, name_or_id: &str, signal: Option<&str>) -> Result<()> {
        let c = self.container(name_or_id).await?;
        let entry = self.inner.containers.entry(&c.id, &c.state);
        // Only a pending restart needs the op lock (the restart holds it while it starts); a
        // kill must not wait for a stop in progress.
        let op = match c.state.status {
            Status::Restarting => Some(entry.op.lock().await),
            _ => None,
        };
        let status = self.stop_by_user(&c.id).await?;
        drop(op);
        if status == Status::Restarting {
            // dockerd: the kill only cancels the pending restart; no signal, no event.
            return Ok(());
        }
        if !status.is_live() {
            return Err(Error::NotRunning(c.id.clone()));
        }
        let signal = signal.filter(|s| !s.is_empty()).unwrap_or("SIGKILL");
        let mut rx = entry.state.subscribe();
        if let Err(e) = runtime::run(self.runtime().kill(&c.id, signal, false)).await {
            // It may have exited since the check: the runtime then finds no process, and the
            // exit is on its way to the state. Not running, as dockerd answers, not a failure.
            let exited = rx.wait_for(|s| !s.status.is_live());
            return match tokio::time::timeout(EXIT_GRACE, exited).await {
                Ok(Ok(_)) => Err(Error::NotRunning(c.id.clone())),
                _ => Err(e),
            };
        }
        if matches!(signal, "SIGKILL" | "KILL" | "9") {
            tokio::time::timeout(KILL_GRACE, rx.wait_for(|s| !s.status.is_live()))
                .await
                .map_err(|_| Error::StopTimedOut(c.id.clone()))?
                .map_err(|_| Error::StopTimedOut(c.id.clone()))?;
        }
        let mut attrs = self.container_event_attrs(&c);
        attrs.insert(
            "signal".into(),
            signal.trim_start_matches("SIG").to_string(),
        );
        self.events()
            .publish(EventType::Container, "kill", &c.id, attrs);
        Ok(())
    }

    /// Records that the user stops, kills or removes the container, on its current state (an
    /// exit recorded since the caller read it stays recorded): a live one is not restarted when
    /// it exits, and a pending restart is cancelled (it stays exited). Returns the status the
    /// change was made on, which tells the caller whether there is a process to signal.
    pub(super) async fn stop_by_user(&self, id: &str) -> Result<Status> {
        self.update_state(id, |state| {
            let status = state.status;
            if status == Status::Restarting {
                state.status = Status::Exited;
            }
            if status == Status::Restarting || status.is_live() {
                state.stopped_by_user = true;
            }
            status
        })
        .await
    }

    /// `docker restart`.
    pub async fn restart_container(&self, name_or_id: &str, timeout: Option<i64>) -> Result<()> {
        let c = self.container(name_or_id).await?;
        let entry = self.inner.containers.entry(&c.id, &c.state);
        entry.restarting.store(true, Ordering::SeqCst);
        let restarted = async {
            self.stop_container(&c.id, timeout).await?;
            self.start_container(&c.id).await
        }
        .await;
        entry.restarting.store(false, Ordering::SeqCst);
        restarted?;
        let c = self.container(&c.id).await?;
        self.events().publish(
            EventType::Container,
            "restart",
            &c.id,
            self.container_event_attrs(&c),
        );
        Ok(())
    }
}
