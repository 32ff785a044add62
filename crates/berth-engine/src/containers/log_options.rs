//! A container's `--log-driver` and `--log-opt`, as the shim's log rotation.

use std::path::PathBuf;

use berth_shim::LogOptions;

use crate::spec::LogConfig;
use crate::{Error, Result};

/// Log rotation from `--log-opt max-size=10m --log-opt max-file=3`; also checks a create
/// request's log config (with any path).
pub(super) fn log_options(lc: &LogConfig, path: PathBuf) -> Result<Option<LogOptions>> {
    match lc.driver.as_str() {
        "" | "json-file" | "local" => {}
        "none" => return Ok(None),
        other => return Err(Error::UnsupportedLogDriver(other.to_string())),
    }
    let max_size = match lc.config.get("max-size") {
        Some(v) => parse_size(v).ok_or_else(|| Error::BadLogOption(format!("max-size={v}")))?,
        None => 0,
    };
    let max_files = match lc.config.get("max-file") {
        Some(v) => v
            .parse()
            .map_err(|_| Error::BadLogOption(format!("max-file={v}")))?,
        None => 1,
    };
    Ok(Some(LogOptions {
        path,
        max_size,
        max_files,
    }))
}

/// `10m`, `1g`, `512k`, `100` (bytes).
fn parse_size(v: &str) -> Option<u64> {
    let v = v.trim().to_ascii_lowercase();
    let (num, mult) = match v.char_indices().find(|(_, c)| c.is_ascii_alphabetic()) {
        Some((i, _)) => {
            let mult = match &v[i..] {
                "b" => 1,
                "k" | "kb" => 1 << 10,
                "m" | "mb" => 1 << 20,
                "g" | "gb" => 1 << 30,
                _ => return None,
            };
            (&v[..i], mult)
        }
        None => (v.as_str(), 1),
    };
    num.parse::<u64>().ok().map(|n| n * mult)
}

#[cfg(test)]
mod tests;
