//! The OCI runtime, driven through berth-runtime-client with berthd's runtime root. Which
//! verbs berthd runs and which the shim runs: docs/ARCHITECTURE.md.

use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use berth_runtime_client::{Runtime, RuntimeCommand};
use berth_shim::{ClientError, ShimCommand, Started};

use crate::{Engine, Error, Result};

/// The runtime binary seen through a read-only view of its directory that berthd holds for
/// its whole life (berth-sys `exe_view`), run as `/proc/<berthd>/fd/<view>/<name>`: the
/// processes it starts in containers then have an `/proc/self/exe` no container can open for
/// writing (CVE-2019-5736), so the runtime skips the re-exec that would make one per start.
/// The path holds while berthd lives: a shim runs the runtime only while berthd waits for it.
pub(crate) struct RuntimeView {
    _mount: OwnedFd,
    path: PathBuf,
}

impl RuntimeView {
    /// `None` (the runtime then runs as configured, and protects itself) when `runtime` is
    /// not an absolute path or the view cannot be made (no overlayfs, no CAP_SYS_ADMIN).
    pub(crate) fn new(runtime: &Path, scratch: &Path) -> Option<Self> {
        let (Some(dir), Some(name)) = (runtime.parent(), runtime.file_name()) else {
            return None;
        };
        if !runtime.is_absolute() {
            return None;
        }
        let made = std::fs::create_dir_all(scratch)
            .and_then(|()| berth_sys::exe_view::read_only_view(dir, scratch));
        let mount = match made {
            Ok(mount) => mount,
            Err(e) => {
                tracing::warn!(runtime = %runtime.display(), error = %e, "no read-only view of the runtime: it protects itself at each start");
                return None;
            }
        };
        let path = Path::new("/proc")
            .join(std::process::id().to_string())
            .join("fd")
            .join(mount.as_raw_fd().to_string())
            .join(name);
        path.is_file().then_some(Self {
            _mount: mount,
            path,
        })
    }
}

impl Engine {
    /// The runtime berthd and the shims run: its read-only view when there is one.
    fn runtime_path(&self) -> &Path {
        self.inner
            .runtime_view
            .as_ref()
            .map_or(self.config().runtime.as_path(), |v| v.path.as_path())
    }

    /// The configured runtime, keeping its state under berthd's runtime root.
    pub(crate) fn runtime(&self) -> Runtime {
        Runtime {
            path: self.runtime_path().to_path_buf(),
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
            self.runtime_path(),
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
/// (a pipe would stay open for as long as the container runs). `nice`: the runtime's (and so
/// the container's) nice value, for a start that runs beside more urgent work.
pub(crate) async fn run_leaving_container(
    mut cmd: RuntimeCommand,
    stderr: std::fs::File,
    stderr_path: &Path,
    nice: i32,
) -> Result<()> {
    use std::process::Stdio;
    cmd.command_mut()
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr);
    let (command, checker) = cmd.into_parts();
    let mut command = tokio::process::Command::from(command);
    let status = match command.spawn() {
        Ok(mut child) => {
            // Set from here, not in the child before its exec: a pre-exec hook would make std
            // fork berthd instead of posix_spawn it. The runtime has only just started.
            if let Some(pid) = child.id().filter(|_| nice != 0) {
                // SAFETY: setpriority changes only the nice value of that process.
                unsafe { libc::setpriority(libc::PRIO_PROCESS, pid, nice) };
            }
            child.wait().await
        }
        Err(e) => Err(e),
    };
    let output = match status {
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
