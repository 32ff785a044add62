//! Starting writeback of a file range early (`sync_file_range`, which nix does not wrap), so a
//! later fsync of a large file written in one go waits for its tail only.

use std::io;
use std::os::fd::{AsFd, AsRawFd};

/// Asks the kernel to start writing `len` bytes at `offset` of `file` to disk, without waiting.
pub fn start(file: impl AsFd, offset: u64, len: u64) -> io::Result<()> {
    let (Ok(offset), Ok(len)) = (i64::try_from(offset), i64::try_from(len)) else {
        return Err(io::Error::from(io::ErrorKind::InvalidInput));
    };
    // SAFETY: plain syscall on a borrowed, open fd; no memory is passed.
    let rc = unsafe {
        libc::sync_file_range(
            file.as_fd().as_raw_fd(),
            offset,
            len,
            libc::SYNC_FILE_RANGE_WRITE,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}
