//! `docker logs`: reads the json-file log the shim writes (rotated files included, oldest
//! first), filters by stream and time, `--tail`, and follows new lines until the container
//! stops.

use std::io::{BufRead, BufReader, Seek};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use tokio::sync::mpsc;

use crate::{Engine, Result};

/// How often `--follow` looks for new lines.
const FOLLOW_POLL: Duration = Duration::from_millis(100);

#[derive(Debug, Clone, Default)]
pub struct LogsOptions {
    pub stdout: bool,
    pub stderr: bool,
    pub follow: bool,
    /// Only the last N lines.
    pub tail: Option<usize>,
    /// Unix nanoseconds.
    pub since: Option<i64>,
    pub until: Option<i64>,
}

/// One line (or partial line) of output.
#[derive(Debug, Clone)]
pub struct LogLine {
    pub stderr: bool,
    pub time: chrono::DateTime<chrono::Utc>,
    pub bytes: Vec<u8>,
}

#[derive(Deserialize)]
struct Record {
    log: String,
    stream: String,
    time: String,
}

fn parse_line(line: &str) -> Option<LogLine> {
    let r: Record = serde_json::from_str(line).ok()?;
    Some(LogLine {
        stderr: r.stream == "stderr",
        time: chrono::DateTime::parse_from_rfc3339(&r.time)
            .ok()?
            .with_timezone(&chrono::Utc),
        bytes: r.log.into_bytes(),
    })
}

/// The log file and its rotated predecessors, oldest first.
fn log_files(path: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = (1..100)
        .map(|i| PathBuf::from(format!("{}.{i}", path.display())))
        .take_while(|p| p.exists())
        .collect();
    files.reverse();
    files.push(path.to_path_buf());
    files
}

fn wanted(opts: &LogsOptions, l: &LogLine) -> bool {
    let nanos = l.time.timestamp_nanos_opt().unwrap_or_default();
    (if l.stderr { opts.stderr } else { opts.stdout })
        && opts.since.is_none_or(|s| nanos >= s)
        && opts.until.is_none_or(|u| nanos <= u)
}

impl Engine {
    /// Streams log lines; the channel closes at the end (or, following, when the container has
    /// stopped and everything is read, or the receiver goes away).
    pub async fn container_logs(
        &self,
        name_or_id: &str,
        opts: LogsOptions,
    ) -> Result<mpsc::Receiver<LogLine>> {
        let c = self.container(name_or_id).await?;
        let (tx, rx) = mpsc::channel(256);
        let entry = self.inner.containers.entry(&c.id, &c.state);
        let state = entry.state.subscribe();
        tokio::task::spawn_blocking(move || {
            let mut lines = Vec::new();
            for file in log_files(&c.log_path) {
                let Ok(f) = std::fs::File::open(&file) else {
                    continue;
                };
                for line in BufReader::new(f).lines().map_while(|l| l.ok()) {
                    if let Some(l) = parse_line(&line).filter(|l| wanted(&opts, l)) {
                        lines.push(l);
                    }
                }
            }
            let skip = opts.tail.map_or(0, |n| lines.len().saturating_sub(n));
            for l in lines.into_iter().skip(skip) {
                if tx.blocking_send(l).is_err() {
                    return;
                }
            }
            if !opts.follow {
                return;
            }
            follow(&c.log_path, &opts, &tx, state);
        });
        Ok(rx)
    }
}

/// Reads what is appended to the current log file (reopening it after a rotation) until the
/// container is no longer running and the file is drained.
fn follow(
    path: &Path,
    opts: &LogsOptions,
    tx: &mpsc::Sender<LogLine>,
    state: tokio::sync::watch::Receiver<super::State>,
) {
    use std::os::unix::fs::MetadataExt;
    let open = || {
        std::fs::File::open(path).ok().map(|f| {
            let ino = f.metadata().map(|m| m.ino()).unwrap_or_default();
            (BufReader::new(f), ino)
        })
    };
    let Some((mut reader, mut ino)) = open() else {
        return;
    };
    // Start where the initial read ended: the end of the file.
    if reader.seek(std::io::SeekFrom::End(0)).is_err() {
        return;
    }
    let mut partial = String::new();
    loop {
        let mut line = String::new();
        match reader.read_line(&mut line) {
            Ok(0) => {
                if tx.is_closed() {
                    return;
                }
                let running = state.borrow().status.is_live();
                let rotated = std::fs::metadata(path)
                    .map(|m| m.ino() != ino)
                    .unwrap_or(false);
                if rotated {
                    match open() {
                        Some((r, i)) => {
                            reader = r;
                            ino = i;
                            continue;
                        }
                        None => return,
                    }
                }
                if !running {
                    return;
                }
                std::thread::sleep(FOLLOW_POLL);
            }
            Ok(_) => {
                partial.push_str(&line);
                if !partial.ends_with('\n') {
                    continue;
                }
                if let Some(l) = parse_line(partial.trim_end()).filter(|l| wanted(opts, l)) {
                    if tx.blocking_send(l).is_err() {
                        return;
                    }
                }
                partial.clear();
            }
            Err(_) => return,
        }
    }
}
