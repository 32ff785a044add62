//! One container output stream (stdout, stderr or the pty): reading it without blocking, and
//! cutting it into log lines. For json-file, with the rules of Docker's `logger.Copier`: a line
//! ends at `\n`; a line that fills the 16 KiB buffer without one is logged as a partial message;
//! the last piece of a partial sequence ends with the `\n`; all pieces share the first piece's
//! timestamp; a partial line left at EOF is logged as a partial message. For CRI, with
//! containerd's rules (see `crilog`).

use std::os::fd::OwnedFd;

use berth_shim::protocol::Stream;
use nix::errno::Errno;

use crate::crilog;
use crate::timefmt::Timestamp;

/// Docker's `defaultBufSize`: the longest log message.
pub const LINE_MAX: usize = 16 * 1024;

/// Which rules cut the stream into log lines. They need different buffers: Docker cuts when 16 KiB
/// fill it, containerd only once it saw that the line goes on past 16 KiB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cut {
    Docker,
    Cri,
}

/// What one non-blocking read gave.
pub enum Fill {
    /// New bytes, at `buffered()[start..]`.
    Data { start: usize },
    /// Nothing to read now.
    Empty,
    /// The writer side is closed (EOF, or EIO on a pty whose slave is gone).
    Closed,
}

pub struct Output {
    pub stream: Stream,
    fd: OwnedFd,
    /// Bytes not yet logged; every split leaves room in it, so it never grows.
    buf: Box<[u8]>,
    len: usize,
    /// Timestamp of the first piece of the partial line in progress.
    partial_time: Option<Timestamp>,
}

impl Output {
    pub fn new(stream: Stream, fd: OwnedFd, cut: Cut) -> Self {
        let size = match cut {
            Cut::Docker => LINE_MAX,
            Cut::Cri => crilog::BUF_LEN,
        };
        Self {
            stream,
            fd,
            // Zeroed allocation: pages are only touched (and counted in RSS) as output arrives.
            buf: vec![0u8; size].into_boxed_slice(),
            len: 0,
            partial_time: None,
        }
    }

    pub fn fd(&self) -> &OwnedFd {
        &self.fd
    }

    /// Reads once into the free part of the buffer.
    pub fn fill(&mut self) -> Fill {
        loop {
            return match nix::unistd::read(&self.fd, &mut self.buf[self.len..]) {
                Ok(0) => Fill::Closed,
                Ok(n) => {
                    let start = self.len;
                    self.len += n;
                    Fill::Data { start }
                }
                Err(Errno::EINTR) => continue,
                Err(Errno::EAGAIN) => Fill::Empty,
                Err(_) => Fill::Closed,
            };
        }
    }

    pub fn buffered(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    /// Forgets buffered bytes (no log configured: output only goes to attach clients).
    pub fn discard(&mut self) {
        self.len = 0;
    }

    /// Hands every complete log message to `emit(line, ends_with_newline, time)` and keeps the
    /// rest. `eof` flushes an incomplete line as a partial message.
    pub fn split(&mut self, eof: bool, mut emit: impl FnMut(&[u8], bool, Timestamp)) {
        let mut p = 0;
        while let Some(q) = self.buf[p..self.len].iter().position(|&b| b == b'\n') {
            let time = self.partial_time.take().unwrap_or_else(Timestamp::now);
            emit(&self.buf[p..p + q], true, time);
            p += q + 1;
        }
        if (eof || (p == 0 && self.len == LINE_MAX)) && p < self.len {
            let time = *self.partial_time.get_or_insert_with(Timestamp::now);
            emit(&self.buf[p..self.len], false, time);
            p = self.len;
        }
        self.consume(p);
    }

    /// Hands every complete CRI entry to `emit(content, tag)` and keeps the rest; `eof` flushes
    /// what is left as partial entries. Needs an `Output` made with `Cut::Cri`.
    pub fn split_cri(&mut self, eof: bool, emit: impl FnMut(&[u8], crilog::Tag)) {
        let used = crilog::cut(&self.buf[..self.len], eof, emit);
        self.consume(used);
    }

    fn consume(&mut self, n: usize) {
        self.buf.copy_within(n..self.len, 0);
        self.len -= n;
    }
}

#[cfg(test)]
mod tests;
