//! `kill`: signal the container's init, or every process in its cgroup.

use std::str::FromStr;

use berth_types::ContainerStatus;
use nix::sys::signal::{kill as send, Signal};
use nix::unistd::Pid;

use crate::error::{Error, Result};
use crate::state::{Container, StateRoot};

/// Parses "TERM", "SIGTERM", "sigterm" or "15".
pub fn parse_signal(s: &str) -> Result<Signal> {
    if let Ok(n) = s.parse::<i32>() {
        return Signal::try_from(n).map_err(|_| Error::BadSignal(s.to_string()));
    }
    let upper = s.to_ascii_uppercase();
    let name = if upper.starts_with("SIG") {
        upper
    } else {
        format!("SIG{upper}")
    };
    Signal::from_str(&name).map_err(|_| Error::BadSignal(s.to_string()))
}

pub fn kill(root: &StateRoot, id: &str, signal: Signal, all: bool) -> Result<()> {
    let c = root.load(id)?;
    if c.status() == ContainerStatus::Stopped {
        return Err(Error::NotRunning(id.to_string()));
    }
    if all || !c.own_pid_ns {
        signal_all(&c, signal)
    } else {
        send(Pid::from_raw(c.pid), signal).map_err(|_| Error::NotRunning(id.to_string()))
    }
}

/// Signals every process in the container cgroup; a frozen cgroup is thawed so SIGKILL lands.
pub(crate) fn signal_all(c: &Container, signal: Signal) -> Result<()> {
    let Some(cg) = c.cgroup() else {
        return send(Pid::from_raw(c.pid), signal).map_err(|_| Error::NotRunning(c.id.to_string()));
    };
    let pids = cg.pids().map_err(|source| Error::Cgroup {
        id: c.id.to_string(),
        source,
    })?;
    for pid in pids {
        // A process may exit between listing and signalling.
        let _ = send(Pid::from_raw(pid), signal);
    }
    if signal == Signal::SIGKILL && cg.is_frozen().unwrap_or(false) {
        cg.thaw().map_err(|source| Error::Cgroup {
            id: c.id.to_string(),
            source,
        })?;
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
