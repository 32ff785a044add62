//! The per-container state directory: `<root>/<id>/{state.json,config.json,exec.fifo}`.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use berth_types::{ContainerId, ContainerStatus};
use chrono::{DateTime, Utc};
use oci_spec::runtime::Spec;
use serde::{Deserialize, Serialize};

use crate::error::{io, Error, Result};

pub const OCI_VERSION: &str = "1.2.0";
const STATE_FILE: &str = "state.json";
const CONFIG_FILE: &str = "config.json";
pub(crate) const EXEC_FIFO: &str = "exec.fifo";

/// What berth-runtime remembers about a container between invocations.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Container {
    pub id: ContainerId,
    pub pid: i32,
    /// Start time of `pid` in clock ticks (/proc/<pid>/stat field 22): guards against pid reuse.
    pub pid_start_time: u64,
    pub bundle: PathBuf,
    pub rootfs: PathBuf,
    pub created: DateTime<Utc>,
    #[serde(default)]
    pub annotations: HashMap<String, String>,
    pub cgroups_path: Option<String>,
    /// Whether the container has its own pid namespace (if not, `kill --all` and delete must kill via the cgroup).
    pub own_pid_ns: bool,
    #[serde(skip)]
    pub dir: PathBuf,
}

/// The JSON `state` prints, in the runtime spec's shape (plus runc's `owner`).
#[derive(Debug, Serialize)]
pub struct OciState<'a> {
    #[serde(rename = "ociVersion")]
    pub oci_version: &'static str,
    pub id: &'a str,
    pub pid: i32,
    pub status: ContainerStatus,
    pub bundle: &'a Path,
    pub rootfs: &'a Path,
    pub created: String,
    pub owner: &'static str,
    #[serde(skip_serializing_if = "HashMap::is_empty")]
    pub annotations: &'a HashMap<String, String>,
}

/// The state directory root (`--root`).
#[derive(Debug, Clone)]
pub struct StateRoot(pub PathBuf);

impl StateRoot {
    pub fn container_dir(&self, id: &ContainerId) -> PathBuf {
        self.0.join(id.as_str())
    }

    /// Reserves the id by creating its directory; fails if the id is taken.
    pub(crate) fn reserve(&self, id: &ContainerId) -> Result<PathBuf> {
        std::fs::create_dir_all(&self.0).map_err(io("create state root", &self.0))?;
        let dir = self.container_dir(id);
        match std::fs::create_dir(&dir) {
            Ok(()) => Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                Err(Error::Exists(id.to_string()))
            }
            Err(e) => Err(io("create state dir", dir)(e)),
        }
    }

    pub fn load(&self, id: &str) -> Result<Container> {
        let id = ContainerId::new(id)?;
        let dir = self.container_dir(&id);
        let path = dir.join(STATE_FILE);
        let data = match std::fs::read(&path) {
            Ok(d) => d,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::NotFound(id.to_string()))
            }
            Err(e) => return Err(io("read", path)(e)),
        };
        let mut c: Container =
            serde_json::from_slice(&data).map_err(|source| Error::CorruptState {
                id: id.to_string(),
                path,
                source,
            })?;
        c.dir = dir;
        Ok(c)
    }

    /// All containers with a readable state, sorted by id; unreadable ones are skipped.
    /// Where compiled seccomp programs are kept (`seccomp::compile_cached`). '@' cannot appear in
    /// a container id, so the directory never collides with one and `list` skips it.
    pub fn seccomp_cache(&self) -> std::path::PathBuf {
        self.0.join("@seccomp")
    }

    pub fn list(&self) -> Result<Vec<Container>> {
        let entries = match std::fs::read_dir(&self.0) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io("list", &self.0)(e)),
        };
        let mut out: Vec<Container> = entries
            .filter_map(|e| e.ok())
            .filter_map(|e| self.load(&e.file_name().to_string_lossy()).ok())
            .collect();
        out.sort_by(|a, b| a.id.as_str().cmp(b.id.as_str()));
        Ok(out)
    }
}

impl Container {
    pub(crate) fn save(&self) -> Result<()> {
        let path = self.dir.join(STATE_FILE);
        let tmp = self.dir.join(".state.json.tmp");
        let data = serde_json::to_vec(self).map_err(|source| Error::CorruptState {
            id: self.id.to_string(),
            path: path.clone(),
            source,
        })?;
        let mut f = std::fs::File::create(&tmp).map_err(io("create", &tmp))?;
        f.write_all(&data).map_err(io("write", &tmp))?;
        std::fs::rename(&tmp, &path).map_err(io("rename", &path))
    }

    pub(crate) fn save_config(dir: &Path, raw: &[u8]) -> Result<()> {
        let path = dir.join(CONFIG_FILE);
        std::fs::write(&path, raw).map_err(io("write", path))
    }

    /// The spec the container was created with (a copy taken at create time).
    pub fn spec(&self) -> Result<Spec> {
        let path = self.dir.join(CONFIG_FILE);
        let raw = std::fs::read(&path).map_err(io("read", &path))?;
        serde_json::from_slice(&raw).map_err(|source| Error::ParseConfig { path, source })
    }

    pub fn exec_fifo(&self) -> PathBuf {
        self.dir.join(EXEC_FIFO)
    }

    /// Whether the init process is alive (not a zombie, not a recycled pid).
    pub fn init_alive(&self) -> bool {
        self.pid > 0
            && berth_sys::process::stat(self.pid)
                .is_some_and(|s| s.is_live() && s.start_time == self.pid_start_time)
    }

    pub fn status(&self) -> ContainerStatus {
        if !self.init_alive() {
            return ContainerStatus::Stopped;
        }
        if self.exec_fifo().exists() {
            return ContainerStatus::Created;
        }
        match self.cgroup().and_then(|cg| cg.is_frozen().ok()) {
            Some(true) => ContainerStatus::Paused,
            _ => ContainerStatus::Running,
        }
    }

    pub fn cgroup(&self) -> Option<berth_cgroups::Manager> {
        crate::cgroup_manager(self.cgroups_path.as_deref(), self.id.as_str()).ok()
    }

    pub fn oci_state(&self) -> OciState<'_> {
        let status = self.status();
        OciState {
            oci_version: OCI_VERSION,
            id: self.id.as_str(),
            pid: if status == ContainerStatus::Stopped {
                0
            } else {
                self.pid
            },
            status,
            bundle: &self.bundle,
            rootfs: &self.rootfs,
            created: self
                .created
                .to_rfc3339_opts(chrono::SecondsFormat::Nanos, true),
            owner: "",
            annotations: &self.annotations,
        }
    }

    /// The state JSON with an explicit status, as hooks receive it.
    pub(crate) fn state_json(&self, status: ContainerStatus) -> Vec<u8> {
        let mut st = self.oci_state();
        st.status = status;
        st.pid = self.pid;
        serde_json::to_vec(&st).unwrap_or_default()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
