//! Where the container's output goes.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Rotation settings of the file log drivers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct FileLogOptions {
    /// Bytes before rotating; `None`: never rotate.
    pub max_size: Option<u64>,
    /// Files kept, the current one included; `None`: one.
    pub max_files: Option<u32>,
    /// Options accepted for compatibility and shown by inspect, not acted on
    /// (`compress`, `labels`, `env`, `tag`, `mode`, `max-buffer-size`).
    pub other: BTreeMap<String, String>,
}

/// The log driver and its settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogSpec {
    /// Docker's `json-file` in the container's data directory.
    JsonFile(FileLogOptions),
    /// Docker's `local`; Berth writes it as json-file (same rotation).
    Local(FileLogOptions),
    /// No log: `docker logs` has nothing to show.
    None,
    /// The CRI's format (`<time> <stream> <F|P> <line>`) at a path the kubelet chose.
    Cri { path: PathBuf },
}

impl Default for LogSpec {
    /// The daemon's default driver, [`crate::system::DEFAULT_LOG_DRIVER`].
    fn default() -> Self {
        Self::JsonFile(FileLogOptions::default())
    }
}
