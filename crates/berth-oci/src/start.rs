//! `start`: release a created container by opening its exec.fifo, then run poststart hooks.

use std::io::Read;
use std::os::fd::AsFd;

use berth_types::ContainerStatus;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

use crate::error::{io, sys, Error, Result};
use crate::state::StateRoot;

/// Starts the container; returns warnings (failed poststart hooks do not fail `start`, per the spec).
pub fn start(root: &StateRoot, id: &str) -> Result<Vec<String>> {
    let _span = tracing::debug_span!("start", container = id).entered();
    let t0 = std::time::Instant::now();
    let c = root.load(id)?;
    let status = c.status();
    if status != ContainerStatus::Created {
        return Err(Error::WrongStatus {
            id: id.to_string(),
            status,
            action: "start",
            expected: "created",
        });
    }
    let fifo_path = c.exec_fifo();
    // Non-blocking open: a blocking one would hang forever if init died meanwhile.
    let mut fifo = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(&fifo_path)
        .map_err(io("open exec fifo", &fifo_path))?;
    loop {
        let mut fds = [PollFd::new(fifo.as_fd(), PollFlags::POLLIN)];
        let n = match poll(&mut fds, PollTimeout::from(100u16)) {
            Err(nix::errno::Errno::EINTR) => continue,
            other => other.map_err(sys("wait for container init"))?,
        };
        if n > 0
            && fds[0]
                .revents()
                .is_some_and(|r| r.contains(PollFlags::POLLIN))
        {
            let mut byte = [0u8; 1];
            if fifo
                .read(&mut byte)
                .map_err(io("read exec fifo", &fifo_path))?
                == 1
            {
                break;
            }
        }
        if !c.init_alive() {
            return Err(Error::Init(format!(
                "container {id:?} exited before it could be started"
            )));
        }
    }
    std::fs::remove_file(&fifo_path).map_err(io("remove", &fifo_path))?;
    tracing::debug!(
        pid = c.pid,
        elapsed_us = t0.elapsed().as_micros(),
        "container released through exec.fifo"
    );
    let mut warnings = Vec::new();
    let spec = c.spec()?;
    if let Some(list) = spec
        .hooks()
        .as_ref()
        .and_then(|h| h.poststart().as_deref())
        .filter(|l| !l.is_empty())
    {
        if let Err(e) =
            crate::hooks::run_hooks(list, &c.state_json(ContainerStatus::Running), "poststart")
        {
            warnings.push(e.to_string());
        }
    }
    Ok(warnings)
}

use std::os::unix::fs::OpenOptionsExt;
