//! `docker attach` and the attach half of `docker run`: a connection to the shim's attach
//! socket. Requests that come before start (the CLI attaches, then starts) wait until the shim
//! listens, and start lets the process run only once they are connected, so no output is lost.

use std::time::Duration;

use berth_shim::AttachMode;
use tokio::net::UnixStream;

use super::Status;
use crate::{Engine, Error, Result};

/// How long start waits for early attachers to connect before running the process anyway
/// (generous: on a loaded host a client's connect can take seconds, and output it misses is
/// lost to it).
const ATTACH_CONNECT_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Copy, Default)]
pub struct AttachOptions {
    pub stdin: bool,
}

/// A live attach connection: output arrives framed (8-byte headers) unless the container has a
/// tty; bytes written go to the container's stdin when asked for.
#[derive(Debug)]
pub struct AttachStream {
    pub stream: UnixStream,
    pub tty: bool,
    /// Shutting down the write side closes the container's stdin (`StdinOnce`).
    pub stdin_once: bool,
}

/// An attach that is registered but not yet connected. Registering first matters: the CLI
/// starts the container as soon as the attach request is answered, and start must already know
/// to wait for this client.
#[derive(Debug)]
pub struct PendingAttach {
    engine: Engine,
    id: String,
    mode: AttachMode,
    tty: bool,
    /// Set when the container was not running yet: start sends the ack channel through it.
    wait: Option<tokio::sync::oneshot::Receiver<tokio::sync::oneshot::Sender<()>>>,
}

impl PendingAttach {
    /// Waits for the container to start if needed, then connects to its shim.
    pub async fn connect(self) -> Result<AttachStream> {
        let ack = match self.wait {
            Some(rx) => Some(rx.await.map_err(|_| Error::NotRunning(self.id.clone()))?),
            None => None,
        };
        let dir = self.engine.shim_dir(&self.id);
        let mode = self.mode;
        let std_stream = tokio::task::spawn_blocking(move || berth_shim::attach(&dir, mode))
            .await
            .map_err(Error::from_join)?
            .map_err(|source| Error::Shim {
                id: self.id.clone(),
                source,
            });
        if let Some(ack) = ack {
            // Connected or not, let start go on.
            let _ = ack.send(());
        }
        let io_err = |source| Error::Io {
            action: "attach to",
            path: self.engine.shim_dir(&self.id),
            source,
        };
        let std_stream = std_stream?;
        std_stream.set_nonblocking(true).map_err(io_err)?;
        let stream = UnixStream::from_std(std_stream).map_err(io_err)?;
        Ok(AttachStream {
            stream,
            tty: self.tty,
            stdin_once: mode == AttachMode::StdinOnce,
        })
    }
}

impl Engine {
    /// Registers an attach to a container; [`PendingAttach::connect`] completes it. A stopped
    /// container is refused here, before any stream is promised.
    pub async fn attach_container(
        &self,
        name_or_id: &str,
        opts: AttachOptions,
    ) -> Result<PendingAttach> {
        let c = self.container(name_or_id).await?;
        let entry = self.inner.containers.entry(&c.id, &c.state);
        let mode = match (
            opts.stdin && c.config.spec.process.stdin,
            c.config.spec.process.stdin_once,
        ) {
            (false, _) => AttachMode::Output,
            (true, true) => AttachMode::StdinOnce,
            (true, false) => AttachMode::Stdin,
        };
        let status = entry.state.borrow().status;
        // Not running yet (created, or exited and about to be started by `start -a`): wait for
        // the start, as dockerd does.
        let wait = match status {
            Status::Running | Status::Paused => None,
            Status::Created | Status::Restarting | Status::Exited => {
                let (tx, rx) = tokio::sync::oneshot::channel();
                entry
                    .attach_waiters
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(tx);
                Some(rx)
            }
            _ => return Err(Error::AttachStopped(c.id.clone())),
        };
        Ok(PendingAttach {
            engine: self.clone(),
            id: c.id.clone(),
            mode,
            tty: c.config.spec.process.tty,
            wait,
        })
    }

    /// Called by start once the shim listens: lets early attachers connect and waits for them.
    pub(crate) async fn connect_waiting_attachers(&self, id: &str) {
        let entry = self.inner.containers.entry(id, &Default::default());
        let waiters: Vec<_> = std::mem::take(
            &mut *entry
                .attach_waiters
                .lock()
                .unwrap_or_else(|p| p.into_inner()),
        );
        let mut acks = Vec::new();
        for waiter in waiters {
            let (tx, rx) = tokio::sync::oneshot::channel();
            if waiter.send(tx).is_ok() {
                acks.push(rx);
            }
        }
        for ack in acks {
            if tokio::time::timeout(ATTACH_CONNECT_TIMEOUT, ack)
                .await
                .is_err()
            {
                tracing::warn!(
                    container = id,
                    "an attach client did not connect in time; starting anyway"
                );
            }
        }
    }
}

impl Engine {
    /// Sets the pty size of a tty container (`docker attach`/`run -t` send it on every resize).
    pub async fn resize_container(&self, name_or_id: &str, rows: u16, cols: u16) -> Result<()> {
        let c = self.container(name_or_id).await?;
        if !c.state.status.is_live() {
            return Err(Error::NotRunning(c.id.clone()));
        }
        self.shim_request(&c.id, move |ctl| ctl.resize(rows, cols))
            .await
    }
}
