//! The OCI runtime, run as a program with berthd's runtime root.

use tokio::process::Command;

use super::io_err;
use crate::{Engine, Error, Result};

impl Engine {
    /// Runs `<runtime> --root <runtime root> args...`; a failure carries the runtime's stderr.
    pub(crate) async fn runtime(&self, id: &str, args: &[&str]) -> Result<()> {
        let out = Command::new(&self.config().runtime)
            .arg("--root")
            .arg(self.runtime_root())
            .args(args)
            .output()
            .await
            .map_err(io_err("run", &self.config().runtime))?;
        if out.status.success() {
            return Ok(());
        }
        Err(Error::Runtime {
            id: id.to_string(),
            action: args.first().copied().unwrap_or_default().to_string(),
            message: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        })
    }

    /// `runtime delete --force`, skipped when the runtime keeps no state for `id` (runc, crun
    /// and berth-runtime all keep `<root>/<id>`): the exit path already deleted it, and every
    /// runtime invocation spared is a process less on the `docker run --rm` path.
    pub(crate) async fn delete_runtime_state(&self, id: &str) {
        if self.runtime_root().join(id).exists() {
            let _ = self.runtime(id, &["delete", "--force", id]).await;
        }
    }
}
