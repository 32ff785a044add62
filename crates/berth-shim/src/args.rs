//! Command-line parsing. Hand-rolled rather than clap: a dozen flags do not justify the code
//! size a long-lived per-container process would carry (see docs/shim.md, "Memory").

use std::ffi::OsString;
use std::os::fd::RawFd;
use std::path::{Path, PathBuf};

use berth_shim::protocol::LogFormat;

pub const USAGE: &str = "usage: berth-shim --id ID --bundle DIR --state-dir DIR --runtime PATH \
[--runtime-root DIR] [--log-path FILE [--log-format json-file|cri] [--log-max-size BYTES] \
[--log-max-files N]] [--terminal] [--stdin] [--exec-process FILE [--wait-attach]] [--start] [--sync-fd N]";

#[derive(Debug, thiserror::Error)]
pub enum ArgsError {
    #[error("unknown argument {0:?}")]
    Unknown(OsString),
    #[error("{0} needs a value")]
    MissingValue(&'static str),
    #[error("{0} is required")]
    Missing(&'static str),
    #[error("{flag}: {value:?} is not a valid number")]
    BadNumber { flag: &'static str, value: OsString },
    #[error("{flag}: {value:?} is not valid here")]
    BadValue { flag: &'static str, value: OsString },
    #[error("{flag} needs {needs}")]
    Requires {
        flag: &'static str,
        needs: &'static str,
    },
    #[error("{flag} cannot be used with {with}")]
    Conflicts {
        flag: &'static str,
        with: &'static str,
    },
    #[error("cannot resolve relative paths: {0}")]
    CurrentDir(std::io::Error),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogConfig {
    pub path: PathBuf,
    pub format: LogFormat,
    /// `None`: never rotate.
    pub max_size: Option<u64>,
    pub max_files: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Args {
    pub id: String,
    pub bundle: PathBuf,
    pub state_dir: PathBuf,
    pub runtime: PathBuf,
    pub runtime_root: Option<PathBuf>,
    pub log: Option<LogConfig>,
    pub terminal: bool,
    pub stdin: bool,
    pub exec_process: Option<PathBuf>,
    /// Exec mode: run the process only once the first attach client connected, so none of its
    /// output is lost (the monitor may otherwise read output before it accepts the client).
    pub wait_attach: bool,
    /// Container mode: `runtime run --detach` instead of `create`, so the process runs when
    /// the shim reports (no `runtime start` to follow).
    pub start: bool,
    pub sync_fd: Option<RawFd>,
}

/// What the command line asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum Invocation {
    Run(Box<Args>),
    Help,
    Version,
}

/// Parses `--flag value` and `--flag=value` forms. Relative paths are made absolute against the
/// current directory, because the shim changes to `/` when it detaches.
pub fn parse(argv: impl IntoIterator<Item = OsString>) -> Result<Invocation, ArgsError> {
    let cwd = std::env::current_dir().map_err(ArgsError::CurrentDir)?;
    let abs = |p: OsString| -> PathBuf { cwd.join(p) };
    let mut id = None;
    let mut bundle = None;
    let mut state_dir = None;
    let mut runtime = None;
    let mut runtime_root = None;
    let mut log_path = None;
    let mut log_format = None;
    let mut max_size = None;
    let mut max_files = None;
    let mut terminal = false;
    let mut stdin = false;
    let mut exec_process = None;
    let mut wait_attach = false;
    let mut start = false;
    let mut sync_fd = None;

    let mut it = argv.into_iter();
    while let Some(arg) = it.next() {
        let text = arg.to_string_lossy();
        let (name, inline) = match text.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n.to_owned(), Some(OsString::from(v))),
            _ => (text.into_owned(), None),
        };
        // Flags with values take the inline `=value` or the next argument.
        let mut value = |flag: &'static str| -> Result<OsString, ArgsError> {
            inline
                .clone()
                .or_else(|| it.next())
                .ok_or(ArgsError::MissingValue(flag))
        };
        match name.as_str() {
            "--id" => {
                let v = value("--id")?;
                match v.to_str() {
                    Some(s) if !s.is_empty() && !s.starts_with('-') => id = Some(s.to_owned()),
                    _ => {
                        return Err(ArgsError::BadValue {
                            flag: "--id",
                            value: v,
                        })
                    }
                }
            }
            "--bundle" => bundle = Some(abs(value("--bundle")?)),
            "--state-dir" => state_dir = Some(abs(value("--state-dir")?)),
            "--runtime" => {
                // A bare name is looked up in PATH; anything with a slash is a path.
                let v = value("--runtime")?;
                let is_name = !Path::new(&v).as_os_str().as_encoded_bytes().contains(&b'/');
                runtime = Some(if is_name { PathBuf::from(v) } else { abs(v) });
            }
            "--runtime-root" => runtime_root = Some(abs(value("--runtime-root")?)),
            "--log-path" => log_path = Some(abs(value("--log-path")?)),
            "--log-format" => {
                let v = value("--log-format")?;
                match v.to_str().and_then(LogFormat::from_name) {
                    Some(f) => log_format = Some(f),
                    None => {
                        return Err(ArgsError::BadValue {
                            flag: "--log-format",
                            value: v,
                        })
                    }
                }
            }
            "--log-max-size" => {
                max_size = Some(number("--log-max-size", value("--log-max-size")?)?)
            }
            "--log-max-files" => {
                max_files = Some(number("--log-max-files", value("--log-max-files")?)?)
            }
            "--exec-process" => exec_process = Some(abs(value("--exec-process")?)),
            "--sync-fd" => sync_fd = Some(number("--sync-fd", value("--sync-fd")?)?),
            "--terminal" | "-t" if inline.is_none() => terminal = true,
            "--stdin" | "-i" if inline.is_none() => stdin = true,
            "--wait-attach" if inline.is_none() => wait_attach = true,
            "--start" if inline.is_none() => start = true,
            "--help" | "-h" => return Ok(Invocation::Help),
            "--version" | "-V" => return Ok(Invocation::Version),
            _ => return Err(ArgsError::Unknown(arg)),
        }
    }

    let format = log_format.unwrap_or_default();
    // The kubelet rotates CRI logs itself (rename, then reopen-log); a second rotator would
    // rename files under it.
    if format == LogFormat::Cri {
        if max_size.is_some_and(|s: u64| s > 0) {
            return Err(ArgsError::Conflicts {
                flag: "--log-max-size",
                with: "--log-format cri",
            });
        }
        if max_files.is_some_and(|n: u32| n > 1) {
            return Err(ArgsError::Conflicts {
                flag: "--log-max-files",
                with: "--log-format cri",
            });
        }
    }
    let log = match log_path {
        Some(path) => Some(LogConfig {
            path,
            format,
            max_size: max_size.filter(|&s: &u64| s > 0),
            max_files: match max_files {
                Some(0) => {
                    return Err(ArgsError::BadValue {
                        flag: "--log-max-files",
                        value: "0".into(),
                    })
                }
                Some(n) => n,
                None => 1,
            },
        }),
        None if max_size.is_some() || max_files.is_some() || log_format.is_some() => {
            return Err(ArgsError::Requires {
                flag: if max_size.is_some() {
                    "--log-max-size"
                } else if max_files.is_some() {
                    "--log-max-files"
                } else {
                    "--log-format"
                },
                needs: "--log-path",
            })
        }
        None => None,
    };
    if wait_attach && exec_process.is_none() {
        // A container's init waits for `runtime start`, which the daemon runs after attaching.
        return Err(ArgsError::Requires {
            flag: "--wait-attach",
            needs: "--exec-process",
        });
    }
    if start && exec_process.is_some() {
        return Err(ArgsError::Conflicts {
            flag: "--start",
            with: "--exec-process",
        });
    }
    Ok(Invocation::Run(Box::new(Args {
        id: id.ok_or(ArgsError::Missing("--id"))?,
        bundle: bundle.ok_or(ArgsError::Missing("--bundle"))?,
        state_dir: state_dir.ok_or(ArgsError::Missing("--state-dir"))?,
        runtime: runtime.ok_or(ArgsError::Missing("--runtime"))?,
        runtime_root,
        log,
        terminal,
        stdin,
        exec_process,
        wait_attach,
        start,
        sync_fd,
    })))
}

fn number<T: std::str::FromStr>(flag: &'static str, value: OsString) -> Result<T, ArgsError> {
    value
        .to_str()
        .and_then(|s| s.parse().ok())
        .ok_or(ArgsError::BadNumber { flag, value })
}

#[cfg(test)]
mod tests;
