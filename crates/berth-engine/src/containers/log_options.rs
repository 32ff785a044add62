//! A container's log driver, as the shim's log rotation.

use std::path::PathBuf;

use berth_shim::LogOptions;

use crate::model::LogSpec;
use crate::spec::SpecError;
use crate::Result;

/// What the shim writes for `log`, at `path`; `None`: no log.
pub(super) fn shim_log(log: &LogSpec, path: PathBuf) -> Result<Option<LogOptions>> {
    let file = match log {
        LogSpec::JsonFile(file) | LogSpec::Local(file) => file,
        LogSpec::None => return Ok(None),
        // The shim can write it (`LogFormat::Cri`), but the kubelet's path and `logs` reading
        // that format come with the CRI adapter's create.
        LogSpec::Cri { .. } => return Err(SpecError::UnsupportedLogDriver("cri".into()).into()),
    };
    Ok(Some(LogOptions {
        path,
        // 0: never rotate.
        max_size: file.max_size.unwrap_or(0),
        max_files: file.max_files.unwrap_or(1),
    }))
}

#[cfg(test)]
mod tests;
