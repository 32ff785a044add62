//! runc-style logging: errors go to stderr and, with `--log`, to a file as text or JSON lines
//! (containerd and podman read the last error from that file).

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::cli::LogFormat;

pub struct Logger {
    file: Option<PathBuf>,
    format: LogFormat,
}

impl Logger {
    pub fn new(file: Option<&Path>, format: LogFormat, _debug: bool) -> Self {
        Self {
            file: file.map(Path::to_path_buf),
            format,
        }
    }

    pub fn error(&self, msg: &str) {
        eprintln!("berth-runtime: {msg}");
        let Some(path) = &self.file else { return };
        let time = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
        let line = match self.format {
            LogFormat::Json => {
                serde_json::json!({"level": "error", "msg": msg, "time": time}).to_string()
            }
            LogFormat::Text => format!("time={time:?} level=error msg={msg:?}"),
        };
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
        {
            let _ = writeln!(f, "{line}");
        }
    }
}

/// Prints a warning on stderr (poststart/poststop hook failures do not fail the command).
pub fn warn(msg: &str) {
    eprintln!("berth-runtime: warning: {msg}");
}
