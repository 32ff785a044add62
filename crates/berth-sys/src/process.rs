//! Another process, by pid without the pid-reuse race: its /proc/<pid>/stat (the start time
//! that tells one process under a pid from the next) and a pidfd, which keeps naming the
//! process it was opened on and becomes readable when that process exits — whether or not it
//! is the caller's child, so a daemon can watch a process some other process will reap.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

/// What /proc/<pid>/stat says of a process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcStat {
    /// The state letter: `R`, `S`, `D`, `Z` (exited, not yet reaped), ...
    pub state: char,
    /// Start time in clock ticks after boot (field 22): with the pid, it names one process.
    pub start_time: u64,
}

impl ProcStat {
    /// Running or stopped, not an exited process waiting for its parent.
    pub fn is_live(&self) -> bool {
        self.state != 'Z' && self.state != 'X'
    }
}

/// Reads /proc/<pid>/stat; `None` when there is no such process (or the line is malformed).
pub fn stat(pid: i32) -> Option<ProcStat> {
    parse_stat(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

fn parse_stat(line: &str) -> Option<ProcStat> {
    // comm may hold spaces and parentheses: the fields resume after the last ')'. `get`, not
    // indexing: a truncated line must not panic.
    let rest = line.get(line.rfind(')')? + 2..)?;
    let mut fields = rest.split(' ');
    let state = fields.next()?.chars().next()?;
    // `rest` starts at field 3 (state); the start time is field 22.
    let start_time = fields.nth(18)?.parse().ok()?;
    Some(ProcStat { state, start_time })
}

/// A pidfd (Linux 5.3).
#[derive(Debug)]
pub struct PidFd(OwnedFd);

impl PidFd {
    /// The process `pid` is now (ESRCH when there is none).
    fn open(pid: i32) -> io::Result<Self> {
        // SAFETY: pidfd_open takes a pid and flags; it returns a new fd or -1.
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: a successful pidfd_open returned this fd, owned by nobody else.
        Ok(Self(unsafe { OwnedFd::from_raw_fd(fd as RawFd) }))
    }

    /// The live process `pid` if it is still the one that started at `start_time`; `None`
    /// when it exited or the pid now names another process.
    pub fn open_started(pid: i32, start_time: u64) -> io::Result<Option<Self>> {
        if pid <= 0 {
            return Ok(None);
        }
        let fd = match Self::open(pid) {
            Ok(fd) => fd,
            Err(e) if e.raw_os_error() == Some(libc::ESRCH) => return Ok(None),
            Err(e) => return Err(e),
        };
        // Read after the open: if this is the process that started then, the fd names it;
        // if the pid was reused before the open, the start time differs.
        Ok(stat(pid)
            .filter(|s| s.is_live() && s.start_time == start_time)
            .map(|_| fd))
    }
}

impl AsFd for PidFd {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.0.as_fd()
    }
}

impl AsRawFd for PidFd {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_raw_fd()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
