//! Small filesystem helpers shared by the stores.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};

use crate::error::{io, Error, Result};

/// Makes a rename or create inside `dir` durable: without this a crash right after the rename may
/// leave the old directory entry on disk.
pub(crate) fn fsync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io("fsync directory", dir))
}

/// Takes an exclusive `flock` on `path` (created if missing) without waiting. `Ok(None)` when
/// another open file description holds it. flock is released by the kernel when the holder dies,
/// so a crashed writer never leaves a stale lock behind (unlike an `O_EXCL` marker file).
///
/// The lock is only returned if `path` still names the locked inode afterwards: a holder that
/// deleted the file (abort, commit) between our open and our lock would otherwise hand us a lock
/// on an unlinked file.
pub(crate) fn try_lock(path: &Path) -> Result<Option<Flock<File>>> {
    loop {
        let file = match OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
        {
            Ok(f) => f,
            Err(e) => return Err(io("open lock file", path)(e)),
        };
        let locked = match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(l) => l,
            Err((_, Errno::EWOULDBLOCK)) => return Ok(None),
            Err((_, e)) => return Err(io("lock", path)(e.into())),
        };
        let held = locked.metadata().map_err(io("stat lock file", path))?;
        match std::fs::metadata(path) {
            Ok(now) if now.ino() == held.ino() && now.dev() == held.dev() => {
                return Ok(Some(locked))
            }
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(io("stat lock file", path)(e)),
        }
    }
}

/// Like [`try_lock`], but a held lock is an [`Error::Locked`].
pub(crate) fn lock_root(path: &Path) -> Result<Flock<File>> {
    try_lock(path)?.ok_or_else(|| Error::Locked {
        path: path.to_path_buf(),
    })
}

/// Milliseconds since the Unix epoch, the unit every timestamp column uses.
pub(crate) fn unix_millis(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Inverse of [`unix_millis`] into the chrono type the API exposes.
pub(crate) fn from_millis(ms: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

/// A name for a temporary sibling that no other live process or thread picks at the same time.
pub(crate) fn temp_name(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("{prefix}{}-{n}-{nanos}", std::process::id())
}
