//! Docker's json-file log driver, byte for byte: one `{"log":..,"stream":..,"time":..}` object
//! per line, escaped like Docker's `jsonlog` package, rotated like its `loggerutils.LogFile`, so
//! `docker logs` tooling and log shippers read our files unchanged.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;

use berth_shim::protocol::Stream;

use crate::args::LogConfig;
use crate::error::{io_err, ShimError};
use crate::logfile::open_append;
use crate::timefmt::Timestamp;

/// An open json-file log.
pub struct JsonLog {
    path: PathBuf,
    file: File,
    /// Bytes in the current file, to decide rotation without a stat per line.
    size: u64,
    max_size: Option<u64>,
    max_files: u32,
    /// Reused encoding buffer; one entry is formatted here and written with one `write`.
    entry: Vec<u8>,
}

/// Encodings of one line can reach 6x the 16 KiB line limit; a buffer that grew past this is
/// freed after use so one burst of control characters does not pin memory for the shim's life.
const KEEP_ENTRY_CAPACITY: usize = 4096;

impl JsonLog {
    pub fn open(cfg: &LogConfig) -> Result<Self, ShimError> {
        let file = open_append(&cfg.path).map_err(io_err("open log", &cfg.path))?;
        let size = file
            .metadata()
            .map_err(io_err("stat log", &cfg.path))?
            .len();
        Ok(Self {
            path: cfg.path.clone(),
            file,
            size,
            max_size: cfg.max_size,
            max_files: cfg.max_files,
            entry: Vec::new(),
        })
    }

    /// Reopens the file by path (after an outside tool moved or truncated it).
    pub fn reopen(&mut self) -> Result<(), ShimError> {
        self.file = open_append(&self.path).map_err(io_err("reopen log", &self.path))?;
        self.size = self
            .file
            .metadata()
            .map_err(io_err("stat log", &self.path))?
            .len();
        Ok(())
    }

    /// Appends one entry. `newline` is false for a partial line (Docker's partial messages carry
    /// no trailing `\n` in `log`; the last piece and whole lines do).
    pub fn write(
        &mut self,
        stream: Stream,
        line: &[u8],
        newline: bool,
        time: Timestamp,
    ) -> Result<(), ShimError> {
        // Docker checks the size before writing, so a file may exceed max-size by one entry.
        if self.max_size.is_some_and(|max| self.size >= max) {
            self.rotate()?;
        }
        self.entry.clear();
        encode_entry(&mut self.entry, stream, line, newline, time);
        let result = self.file.write_all(&self.entry);
        if result.is_ok() {
            self.size += self.entry.len() as u64;
        }
        if self.entry.capacity() > KEEP_ENTRY_CAPACITY {
            self.entry = Vec::new();
        }
        result.map_err(io_err("write log", &self.path))
    }

    /// `file.(N-2)` → `file.(N-1)`, …, `file` → `file.1`, then a fresh `file`; with one file the
    /// current one is truncated.
    fn rotate(&mut self) -> Result<(), ShimError> {
        if self.max_files >= 2 {
            let numbered = |i: u32| {
                let mut p = self.path.clone().into_os_string();
                p.push(format!(".{i}"));
                PathBuf::from(p)
            };
            let last = numbered(self.max_files - 1);
            ignore_missing(fs::remove_file(&last)).map_err(io_err("remove old log", &last))?;
            for i in (2..self.max_files).rev() {
                let to = numbered(i);
                ignore_missing(fs::rename(numbered(i - 1), &to))
                    .map_err(io_err("rotate log to", &to))?;
            }
            let first = numbered(1);
            ignore_missing(fs::rename(&self.path, &first))
                .map_err(io_err("rotate log to", &first))?;
        }
        self.file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o640)
            .open(&self.path)
            .map_err(io_err("open log", &self.path))?;
        self.size = 0;
        Ok(())
    }
}

fn ignore_missing(r: io::Result<()>) -> io::Result<()> {
    match r {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

/// Appends `{"log":"<line>[\n]","stream":"stdout","time":"..."}\n`.
pub fn encode_entry(
    out: &mut Vec<u8>,
    stream: Stream,
    line: &[u8],
    newline: bool,
    time: Timestamp,
) {
    out.extend_from_slice(b"{\"log\":\"");
    escape_into(out, line);
    if newline {
        out.extend_from_slice(b"\\n");
    }
    out.extend_from_slice(b"\",\"stream\":\"");
    out.extend_from_slice(stream.name().as_bytes());
    out.extend_from_slice(b"\",\"time\":\"");
    time.write_rfc3339_nano(out);
    out.extend_from_slice(b"\"}\n");
}

/// Docker's `ffjsonWriteJSONBytesAsString`: `"` and `\` backslashed, `\n` `\r` `\t` short, other
/// control bytes and the HTML-sensitive `<` `>` `&` as `\u00XX`, U+2028/U+2029 escaped, and each
/// byte of invalid UTF-8 replaced by `\ufffd`.
fn escape_into(out: &mut Vec<u8>, bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '"' => out.extend_from_slice(b"\\\""),
                '\\' => out.extend_from_slice(b"\\\\"),
                '\n' => out.extend_from_slice(b"\\n"),
                '\r' => out.extend_from_slice(b"\\r"),
                '\t' => out.extend_from_slice(b"\\t"),
                '\u{2028}' => out.extend_from_slice(b"\\u2028"),
                '\u{2029}' => out.extend_from_slice(b"\\u2029"),
                c if (c as u32) < 0x20 || matches!(c, '<' | '>' | '&') => {
                    let b = c as u8;
                    out.extend_from_slice(b"\\u00");
                    out.push(HEX[usize::from(b >> 4)]);
                    out.push(HEX[usize::from(b & 0xf)]);
                }
                c => {
                    let mut tmp = [0u8; 4];
                    out.extend_from_slice(c.encode_utf8(&mut tmp).as_bytes());
                }
            }
        }
        for _ in chunk.invalid() {
            out.extend_from_slice(b"\\ufffd");
        }
    }
}

#[cfg(test)]
mod tests;
