//! `delete`: stop what is left, remove the cgroup, run poststop hooks, forget the container.

use std::time::{Duration, Instant};

use berth_types::{ContainerId, ContainerStatus};
use nix::sys::signal::Signal;

use crate::error::{io, Error, Result};
use crate::kill::signal_all;
use crate::state::StateRoot;

/// Deletes the container; returns warnings from poststop hooks (which never fail a delete).
pub fn delete(root: &StateRoot, id: &str, force: bool) -> Result<Vec<String>> {
    let _span = tracing::debug_span!("delete", container = id).entered();
    let t0 = Instant::now();
    let c = match root.load(id) {
        Ok(c) => c,
        Err(Error::NotFound(_)) => {
            // A directory without state is what a crash mid-create leaves: remove it.
            let dir = root.container_dir(&ContainerId::new(id)?);
            if dir.exists() {
                std::fs::remove_dir_all(&dir).map_err(io("remove", &dir))?;
                return Ok(Vec::new());
            }
            return if force {
                Ok(Vec::new())
            } else {
                Err(Error::NotFound(id.to_string()))
            };
        }
        Err(e) => return Err(e),
    };
    let status = c.status();
    match status {
        ContainerStatus::Stopped => {}
        ContainerStatus::Created => signal_all(&c, Signal::SIGKILL)?,
        _ if force => signal_all(&c, Signal::SIGKILL)?,
        _ => {
            return Err(Error::WrongStatus {
                id: id.to_string(),
                status,
                action: "delete",
                expected: "stopped (or use --force)",
            })
        }
    }
    wait_gone(&c)?;
    tracing::debug!(
        pid = c.pid,
        was = %status,
        elapsed_us = t0.elapsed().as_micros(),
        "init gone"
    );
    if let Some(cg) = c.cgroup() {
        // Without its own pid namespace, children of init may outlive it.
        if !c.own_pid_ns {
            signal_all(&c, Signal::SIGKILL)?;
        }
        cg.remove().map_err(|source| Error::Cgroup {
            id: id.to_string(),
            source,
        })?;
    }
    let mut warnings = Vec::new();
    if let Ok(spec) = c.spec() {
        if let Some(list) = spec
            .hooks()
            .as_ref()
            .and_then(|h| h.poststop().as_deref())
            .filter(|l| !l.is_empty())
        {
            if let Err(e) =
                crate::hooks::run_hooks(list, &c.state_json(ContainerStatus::Stopped), "poststop")
            {
                warnings.push(e.to_string());
            }
        }
    }
    std::fs::remove_dir_all(&c.dir).map_err(io("remove", &c.dir))?;
    tracing::debug!(
        elapsed_us = t0.elapsed().as_micros(),
        "cgroup and state removed"
    );
    Ok(warnings)
}

fn wait_gone(c: &crate::state::Container) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut pause = Duration::from_micros(100);
    while c.init_alive() {
        if Instant::now() > deadline {
            return Err(Error::Init(format!(
                "container {} init (pid {}) did not exit after SIGKILL",
                c.id, c.pid
            )));
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(20));
    }
    Ok(())
}
