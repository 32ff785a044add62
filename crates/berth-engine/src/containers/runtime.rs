//! The OCI runtime, driven through berth-runtime-client with berthd's runtime root. Which
//! verbs berthd runs and which the shim runs: docs/ARCHITECTURE.md.

use std::path::Path;

use berth_runtime_client::{Runtime, RuntimeCommand};
use berth_shim::{ClientError, ShimCommand, Started};

use crate::{Engine, Error, Result};

impl Engine {
    /// The configured runtime, keeping its state under berthd's runtime root.
    pub(crate) fn runtime(&self) -> Runtime {
        Runtime {
            path: self.config().runtime.clone(),
            root: Some(self.runtime_root()),
        }
    }

    /// The shim command for container `id` with berthd's runtime and runtime root.
    pub(crate) fn shim_command(&self, id: &str, bundle: &Path, state_dir: &Path) -> ShimCommand {
        let mut cmd = ShimCommand::new(
            &self.config().shim,
            id,
            bundle,
            state_dir,
            &self.config().runtime,
        );
        cmd.runtime_root = Some(self.runtime_root());
        cmd
    }

    /// Starts the shim (which runs `runtime create`) from the blocking pool and waits for its
    /// report.
    pub(crate) async fn spawn_shim(&self, cmd: ShimCommand) -> Result<Started> {
        let id = cmd.id.clone();
        tokio::task::spawn_blocking(move || cmd.spawn())
            .await
            .map_err(Error::from_join)?
            .map_err(|source| Error::Shim { id, source })
    }

    /// `runtime update` of a running container with `resources` (OCI `linux.resources`
    /// JSON), through a file in its shim directory.
    pub(crate) async fn runtime_update(
        &self,
        id: &str,
        resources: &impl serde::Serialize,
    ) -> Result<()> {
        let file = self.shim_dir(id).join("update.json");
        let json = serde_json::to_vec(resources).map_err(Error::Json)?;
        tokio::fs::write(&file, json)
            .await
            .map_err(|source| Error::Io {
                action: "write",
                path: file.clone(),
                source,
            })?;
        let applied = run(self.runtime().update(id, &file)).await;
        let _ = tokio::fs::remove_file(&file).await;
        applied
    }

    /// One request on the control socket of the shim of running container `id`.
    pub(crate) async fn shim_request(
        &self,
        id: &str,
        request: impl FnOnce(&mut berth_shim::Control) -> std::result::Result<(), ClientError>
            + Send
            + 'static,
    ) -> Result<()> {
        let dir = self.shim_dir(id);
        let id = id.to_string();
        tokio::task::spawn_blocking(move || {
            berth_shim::Control::connect(&dir).and_then(|mut ctl| request(&mut ctl))
        })
        .await
        .map_err(Error::from_join)?
        .map_err(|source| Error::Shim { id, source })
    }

    /// `runtime delete --force`, skipped when the runtime keeps no state for `id` (runc, crun
    /// and berth-runtime all keep `<root>/<id>`): the exit path already deleted it, and every
    /// runtime invocation spared is a process less on the `docker run --rm` path.
    pub(crate) async fn delete_runtime_state(&self, id: &str) {
        if self.runtime_root().join(id).exists() {
            let _ = run(self.runtime().delete(id, true)).await;
        }
    }
}

/// Runs `cmd` through tokio's process driver, so no worker or blocking thread waits on it; a
/// failure carries the runtime's stderr.
pub(crate) async fn run(cmd: RuntimeCommand) -> Result<()> {
    let (command, checker) = cmd.into_parts();
    let output = tokio::process::Command::from(command).output().await;
    checker.check(output)?;
    Ok(())
}

/// Runs `cmd` (`create` or `run --detach`), whose container outlives it with its stdio: stdin
/// and stdout are /dev/null and stderr is `stderr`, a file, read back for a failure's message
/// (a pipe would stay open for as long as the container runs).
pub(crate) async fn run_leaving_container(
    mut cmd: RuntimeCommand,
    stderr: std::fs::File,
    stderr_path: &Path,
) -> Result<()> {
    use std::process::Stdio;
    cmd.command_mut()
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr);
    let (command, checker) = cmd.into_parts();
    let mut command = tokio::process::Command::from(command);
    let output = match command.status().await {
        Ok(status) => Ok(std::process::Output {
            status,
            stdout: Vec::new(),
            stderr: if status.success() {
                Vec::new()
            } else {
                tokio::fs::read(stderr_path).await.unwrap_or_default()
            },
        }),
        Err(e) => Err(e),
    };
    checker.check(output)?;
    Ok(())
}
