//! Execs whose stdio the caller drives: the CRI's ExecSync and streaming Exec. Unlike a
//! Docker exec the record is not kept for inspect once the handle goes, and a handle dropped
//! before the exit is known kills the process, as containerd kills an exec whose request
//! context ends (the kubelet's timeout, a client gone).

use std::time::Duration;

use super::{AttachStream, ExecConfig, ExecStartOptions};
use crate::{Engine, Error, Result};

/// A started exec; see the module's documentation for its life.
#[derive(Debug)]
pub struct ExecHandle {
    engine: Engine,
    id: String,
    /// The exit is known: nothing to kill on drop.
    exited: bool,
}

/// What a bounded exec ended with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExecSyncExit {
    Exited(i32),
    /// Still running at the deadline: killed.
    TimedOut(Duration),
}

/// ExecSync's answer: each output up to the cap asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecSyncOutput {
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub exit: ExecSyncExit,
}

impl ExecHandle {
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Sets the exec's terminal size.
    pub async fn resize(&self, rows: u16, cols: u16) -> Result<()> {
        self.engine.resize_exec(&self.id, rows, cols).await
    }

    /// The exit code, once the output has ended (bounded, as [`Engine::wait_exec`]).
    pub async fn wait(mut self) -> Result<i32> {
        let state = self.engine.wait_exec(&self.id).await?;
        let code = state
            .exit_code
            .ok_or_else(|| Error::ExecExitUnknown(self.id.clone()))?;
        self.exited = true;
        Ok(code)
    }

    fn kill(&self) {
        let Ok(e) = self.engine.inner.containers.execs.get(&self.id) else {
            return;
        };
        let state = e.state.borrow().clone();
        // Only a process the shim still reports running: its pid cannot have been reused.
        if state.running && state.pid > 0 {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(state.pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }
}

impl Drop for ExecHandle {
    fn drop(&mut self) {
        if !self.exited {
            self.kill();
        }
        self.engine.inner.containers.execs.forget(&self.id);
    }
}

impl Engine {
    /// Starts `config` in a running container with its output (and stdin, when asked for)
    /// on the returned connection: the container's process spec (user, env, cwd) as a Docker
    /// exec's, overridden by `config`. `console_size` is (rows, cols).
    pub async fn exec_attached(
        &self,
        container_id: &str,
        config: ExecConfig,
        console_size: Option<(u16, u16)>,
    ) -> Result<(ExecHandle, AttachStream)> {
        let id = self.create_exec(container_id, config).await?;
        let handle = ExecHandle {
            engine: self.clone(),
            id,
            exited: false,
        };
        let opts = ExecStartOptions {
            detach: false,
            console_size,
        };
        match self.start_exec(&handle.id, opts).await? {
            Some(stream) => Ok((handle, stream)),
            // An attached start always has a connection; none means it never ran.
            None => Err(Error::ExecNotRunning(handle.id.clone())),
        }
    }

    /// Runs `cmd` to completion, as the CRI's ExecSync: stdout and stderr apart, each
    /// truncated at `cap` bytes (the process is never blocked by the cap); killed after
    /// `timeout` when one is given.
    pub async fn exec_sync(
        &self,
        container_id: &str,
        cmd: Vec<String>,
        timeout: Option<Duration>,
        cap: usize,
    ) -> Result<ExecSyncOutput> {
        let config = ExecConfig {
            cmd,
            attach_stdout: true,
            attach_stderr: true,
            ..ExecConfig::default()
        };
        let (handle, attached) = self.exec_attached(container_id, config, None).await?;
        let mut stdout = super::output::Capped::new(cap);
        let mut stderr = super::output::Capped::new(cap);
        let mut reader = super::output::OutputReader::new(attached.stream, attached.tty);
        let run = async {
            loop {
                match reader.next().await {
                    Ok(Some((super::OutputKind::Stdout, data))) => stdout.push(&data),
                    Ok(Some((super::OutputKind::Stderr, data))) => stderr.push(&data),
                    Ok(None) => break,
                    Err(e) => {
                        // The process goes on without an audience; its exit still counts.
                        tracing::debug!(exec = handle.id(), "exec output: {e}");
                        break;
                    }
                }
            }
            handle.wait().await
        };
        // Dropping `run` at the deadline drops the handle with it: that kills the process.
        let exit = match timeout {
            None => ExecSyncExit::Exited(run.await?),
            Some(limit) => match tokio::time::timeout(limit, run).await {
                Ok(code) => ExecSyncExit::Exited(code?),
                Err(_) => ExecSyncExit::TimedOut(limit),
            },
        };
        Ok(ExecSyncOutput {
            stdout: stdout.bytes,
            stderr: stderr.bytes,
            exit,
        })
    }
}
