//! The container's log file in the format the shim was started with (`--log-format`).

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use berth_shim::protocol::LogFormat;

use crate::args::LogConfig;
use crate::crilog::CriLog;
use crate::error::ShimError;
use crate::jsonlog::JsonLog;
use crate::output::{Cut, Output};

pub enum LogFile {
    Json(JsonLog),
    Cri(CriLog),
}

impl LogFile {
    pub fn open(cfg: &LogConfig) -> Result<Self, ShimError> {
        Ok(match cfg.format {
            LogFormat::JsonFile => LogFile::Json(JsonLog::open(cfg)?),
            LogFormat::Cri => LogFile::Cri(CriLog::open(&cfg.path)?),
        })
    }

    /// Reopens the file by path (`reopen-log`).
    pub fn reopen(&mut self) -> Result<(), ShimError> {
        match self {
            LogFile::Json(log) => log.reopen(),
            LogFile::Cri(log) => log.reopen(),
        }
    }

    /// The line rules the container's outputs must be read with.
    pub fn cut(&self) -> Cut {
        match self {
            LogFile::Json(_) => Cut::Docker,
            LogFile::Cri(_) => Cut::Cri,
        }
    }

    /// Logs every complete line buffered in `out`; `eof` flushes an incomplete one.
    pub fn write_lines(&mut self, out: &mut Output, eof: bool) {
        let stream = out.stream;
        // A full disk must not stop the container or the shim; like Docker's json-file driver
        // and containerd's CRI logger we lose the line and keep going.
        match self {
            LogFile::Json(log) => out.split(eof, |line, newline, time| {
                let _ = log.write(stream, line, newline, time);
            }),
            LogFile::Cri(log) => out.split_cri(eof, |content, tag| {
                let _ = log.write(stream, content, tag);
            }),
        }
    }
}

/// Both formats append to a 0640 file created on demand, as Docker and containerd open theirs;
/// a reopened file gets the same mode as the first.
pub fn open_append(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o640)
        .open(path)
}
