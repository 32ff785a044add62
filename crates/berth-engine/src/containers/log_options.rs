//! A container's log driver, as the shim's log rotation.

use std::path::PathBuf;

use berth_shim::{LogFormat, LogOptions};

use crate::model::LogSpec;
use crate::Result;

/// What the shim writes for `log` and in which format: Docker's drivers at `path`, the CRI's at
/// the kubelet's path; `None`: no log.
pub(super) fn shim_log(log: &LogSpec, path: PathBuf) -> Result<Option<(LogOptions, LogFormat)>> {
    let file = match log {
        LogSpec::JsonFile(file) | LogSpec::Local(file) => file,
        LogSpec::None => return Ok(None),
        // The kubelet's path; it rotates the file itself (ReopenContainerLog). Its directory
        // is made as CRI-O does: a kubelet makes it, other clients may not.
        LogSpec::Cri { path } => {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).map_err(super::io_err("create", dir))?;
            }
            let options = LogOptions {
                path: path.clone(),
                max_size: 0,
                max_files: 1,
            };
            return Ok(Some((options, LogFormat::Cri)));
        }
    };
    let options = LogOptions {
        path,
        // 0: never rotate.
        max_size: file.max_size.unwrap_or(0),
        max_files: file.max_files.unwrap_or(1),
    };
    Ok(Some((options, LogFormat::JsonFile)))
}

#[cfg(test)]
mod tests;
