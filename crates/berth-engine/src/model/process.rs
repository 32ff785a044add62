//! The container's main process, as requested: what the image provides fills the gaps when the
//! spec is built.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// The command a health check runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HealthTest {
    /// The image's check (Docker's empty `Test`).
    Inherit,
    /// No check, even if the image has one (`["NONE"]`).
    Disabled,
    /// Run these arguments directly (`["CMD", ...]`).
    Exec(Vec<String>),
    /// Run this line with the image's shell (`["CMD-SHELL", line]`).
    Shell(String),
}

/// A health check. Durations are nanoseconds; 0 takes the image's value, else the default.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthCheck {
    pub test: HealthTest,
    pub interval_ns: u64,
    pub timeout_ns: u64,
    pub start_period_ns: u64,
    pub start_interval_ns: u64,
    /// 0 takes the image's value, else the default.
    pub retries: u32,
}

/// Terminal size at start, before any resize request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsoleSize {
    pub height: u32,
    pub width: u32,
}

/// The main process.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ProcessSpec {
    /// `None`: the image's entrypoint. `Some([])`: none. A given entrypoint drops the image's
    /// command unless `cmd` is given too (Docker's and the CRI's rule alike).
    pub entrypoint: Option<Vec<String>>,
    /// `None` (or empty): the image's command, unless an entrypoint is given.
    pub cmd: Option<Vec<String>>,
    /// `KEY=value` over the image's; a bare `KEY` removes a default variable.
    pub env: Vec<String>,
    /// `None`: the image's, else `/`.
    pub working_dir: Option<PathBuf>,
    /// `user[:group]` by name or number, resolved in the image; `None`: the image's.
    pub user: Option<String>,
    pub tty: bool,
    /// Keep stdin open for attaching clients.
    pub stdin: bool,
    /// Close stdin after the first attached client detaches.
    pub stdin_once: bool,
    pub console_size: Option<ConsoleSize>,
    /// A signal name (`SIGTERM`, `TERM`) or number; `None`: the image's, else SIGTERM.
    pub stop_signal: Option<String>,
    /// Seconds between the stop signal and SIGKILL; `None`: the daemon's default. Negative
    /// waits forever, as in Docker.
    pub stop_timeout: Option<i64>,
    /// Run a minimal init as PID 1 that reaps zombies; `None`: the daemon's default.
    pub init: Option<bool>,
    /// `None`: no check of the request's own (the image's may still apply).
    pub health: Option<HealthCheck>,
}
