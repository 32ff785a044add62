//! What `docker info` and `docker version` report about this engine and host.

use std::path::Path;

use serde::Serialize;

use crate::{Engine, Result};

/// Host and engine facts for `docker info`.
#[derive(Debug, Clone, Serialize)]
pub struct SystemInfo {
    pub id: String,
    pub name: String,
    pub containers: u64,
    pub containers_running: u64,
    pub containers_paused: u64,
    pub containers_stopped: u64,
    pub images: u64,
    pub kernel_version: String,
    pub operating_system: String,
    pub os_type: &'static str,
    pub architecture: String,
    pub ncpu: u64,
    pub mem_total: u64,
    pub data_root: String,
    pub exec_root: String,
    pub cgroup_version: &'static str,
    pub cgroup_support: crate::host::CgroupSupport,
    pub runtime: String,
    pub server_version: &'static str,
    pub started: chrono::DateTime<chrono::Utc>,
}

/// The engine's own version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// The name containers' `HostConfig.Runtime` and `/info` give berth-runtime. `runc` is taken as
/// another name of it: it is runc-compatible, and compose files and scripts name runc.
pub const DEFAULT_RUNTIME: &str = "berth";
/// The daemon's log driver, filled into `HostConfig.LogConfig.Type` at create as dockerd does.
pub const DEFAULT_LOG_DRIVER: &str = "json-file";

/// `PRETTY_NAME` from os-release, as dockerd reports the operating system.
fn operating_system() -> String {
    std::fs::read_to_string("/etc/os-release")
        .ok()
        .and_then(|text| {
            text.lines()
                .find_map(|l| l.strip_prefix("PRETTY_NAME="))
                .map(|v| v.trim_matches('"').to_string())
        })
        .unwrap_or_else(|| "Linux".into())
}

/// Docker and Go name x86_64 `amd64`; clients compare platform strings in that form.
pub fn go_arch(machine: &str) -> &str {
    match machine {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}

impl Engine {
    pub async fn info(&self) -> Result<SystemInfo> {
        let images = self
            .with_store(|store| Ok(store.metadata.list_images()?.len() as u64))
            .await?;
        // Counted from live states, as dockerd: running (restarting included), paused, and
        // everything else stopped.
        let all = self
            .list_containers(crate::containers::ListOptions {
                all: true,
                ..Default::default()
            })
            .await?;
        let count = |f: fn(crate::containers::Status) -> bool| {
            all.iter().filter(|c| f(c.state.status)).count() as u64
        };
        let containers = all.len() as u64;
        let containers_running = count(|s| {
            matches!(
                s,
                crate::containers::Status::Running | crate::containers::Status::Restarting
            )
        });
        let containers_paused = count(|s| s == crate::containers::Status::Paused);
        let uname = crate::host::uname();
        let config = self.config();
        Ok(SystemInfo {
            id: self
                .inner
                .started
                .timestamp_nanos_opt()
                .unwrap_or_default()
                .to_string(),
            name: uname.nodename,
            containers,
            containers_running,
            containers_paused,
            containers_stopped: containers - containers_running - containers_paused,
            images,
            kernel_version: uname.release,
            operating_system: operating_system(),
            os_type: "linux",
            architecture: uname.machine,
            ncpu: std::thread::available_parallelism().map_or(1, |n| n.get() as u64),
            mem_total: crate::host::mem_total(),
            data_root: config.data_root.display().to_string(),
            exec_root: config.exec_root.display().to_string(),
            cgroup_version: if crate::host::cgroup_v2(Path::new(crate::host::CGROUP_ROOT)) {
                "2"
            } else {
                "1"
            },
            cgroup_support: crate::host::cgroup_support(),
            runtime: config.runtime.display().to_string(),
            server_version: VERSION,
            started: self.inner.started,
        })
    }
}
