//! The Kubernetes CRI log format, as containerd's CRI plugin writes it (`internal/cri/io/
//! logger.go`) and the kubelet and `crictl logs` read it (`k8s.io/cri-client/pkg/logs`): one
//! `TIME STREAM TAG CONTENT\n` line per entry, TIME in Go's `RFC3339Nano`, STREAM `stdout` or
//! `stderr`, TAG `F` for a whole line and `P` for a piece of a longer one. CONTENT is the raw
//! bytes without the line's `\n` or `\r\n`. The kubelet rotates the file itself (it renames it
//! and then asks for `reopen-log`), so there is no rotation here.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use berth_shim::protocol::Stream;

use crate::error::{io_err, ShimError};
use crate::logfile::open_append;
use crate::timefmt::Timestamp;

/// containerd's default `max_container_log_line_size`: the most content one entry carries.
pub const LINE_MAX: usize = 16 * 1024;
/// Read buffer for a CRI stream: room to see the `\r\n` that may follow `LINE_MAX` bytes of
/// content, which ends the line as `F` instead of cutting a `P`.
pub const BUF_LEN: usize = LINE_MAX + 2;

/// The entry's tag: the kubelet joins `P` pieces up to the next `F` of the same stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tag {
    Full,
    Partial,
}

/// Cuts `buf` into entries with containerd's rules and returns how many bytes were consumed;
/// the rest waits for more input. A line ends at `\n`, a `\r` right before it is dropped, and
/// content longer than `LINE_MAX` is cut into `P` entries of exactly `LINE_MAX` bytes. With
/// `eof`, what is left is written as `P` too (containerd: no newline, so not a full line).
pub fn cut(buf: &[u8], eof: bool, mut emit: impl FnMut(&[u8], Tag)) -> usize {
    let mut p = 0;
    loop {
        let rest = &buf[p..];
        if let Some(nl) = rest.iter().position(|&b| b == b'\n') {
            let end = if nl > 0 && rest[nl - 1] == b'\r' {
                nl - 1
            } else {
                nl
            };
            if end > LINE_MAX {
                emit(&rest[..LINE_MAX], Tag::Partial);
                p += LINE_MAX;
            } else {
                emit(&rest[..end], Tag::Full);
                p += nl + 1;
            }
            continue;
        }
        // Without a `\n`, the content is known to exceed LINE_MAX once the byte after it is
        // there and is not a `\r` that a `\n` may still follow.
        let longer = rest.len() > LINE_MAX + 1
            || (rest.len() == LINE_MAX + 1 && (eof || rest[LINE_MAX] != b'\r'));
        if longer {
            emit(&rest[..LINE_MAX], Tag::Partial);
            p += LINE_MAX;
        } else if eof && !rest.is_empty() {
            emit(rest, Tag::Partial);
            return buf.len();
        } else {
            return p;
        }
    }
}

/// An open CRI log file.
pub struct CriLog {
    path: PathBuf,
    file: File,
    /// Reused entry buffer: each entry goes out in one `write`, so the kubelet following the
    /// file never sees half an entry and stdout and stderr entries never mix.
    entry: Vec<u8>,
}

/// An entry's header is about 40 bytes; a buffer that grew past this for a long line is freed
/// after use so the shim does not keep 16 KiB per container for good.
const KEEP_ENTRY_CAPACITY: usize = 4096;

impl CriLog {
    pub fn open(path: &Path) -> Result<Self, ShimError> {
        Ok(Self {
            path: path.to_path_buf(),
            file: open_append(path).map_err(io_err("open log", path))?,
            entry: Vec::new(),
        })
    }

    /// Opens the path again, creating the file after the kubelet renamed the old one away. The
    /// old file is kept if that fails (the kubelet retries), and entries are whole in one file
    /// or the other, since each is one `write` between event-loop turns.
    pub fn reopen(&mut self) -> Result<(), ShimError> {
        self.file = open_append(&self.path).map_err(io_err("reopen log", &self.path))?;
        Ok(())
    }

    /// Appends one entry, timestamped now (containerd stamps each piece when it writes it).
    pub fn write(&mut self, stream: Stream, content: &[u8], tag: Tag) -> Result<(), ShimError> {
        self.entry.clear();
        encode_entry(&mut self.entry, Timestamp::now(), stream, tag, content);
        let result = self.file.write_all(&self.entry);
        if self.entry.capacity() > KEEP_ENTRY_CAPACITY {
            self.entry = Vec::new();
        }
        result.map_err(io_err("write log", &self.path))
    }
}

/// Appends `TIME STREAM F|P CONTENT\n`.
pub fn encode_entry(out: &mut Vec<u8>, time: Timestamp, stream: Stream, tag: Tag, content: &[u8]) {
    time.write_rfc3339_nano(out);
    out.push(b' ');
    out.extend_from_slice(stream.name().as_bytes());
    out.extend_from_slice(match tag {
        Tag::Full => b" F ",
        Tag::Partial => b" P ",
    });
    out.extend_from_slice(content);
    out.push(b'\n');
}

#[cfg(test)]
mod tests;
