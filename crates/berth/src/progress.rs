//! Progress display: Docker's JSON progress messages (`{"status","id","progressDetail":
//! {"current","total"}}`, as pull/push/load/import stream them) as one bar per id, and byte
//! counters for uploads (load, import) and downloads (save, export). Bars go to stderr and only
//! when it is a terminal; otherwise status lines are printed plainly, as docker does.

use std::collections::HashMap;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// One message of Docker's JSON progress stream, whatever the endpoint's model type.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Message {
    pub id: Option<String>,
    pub status: Option<String>,
    pub current: Option<i64>,
    pub total: Option<i64>,
    pub error: Option<String>,
    /// `stream` text (load prints "Loaded image: ..." this way).
    pub stream: Option<String>,
}

impl From<bollard::models::CreateImageInfo> for Message {
    fn from(m: bollard::models::CreateImageInfo) -> Self {
        let detail = m.progress_detail.unwrap_or_default();
        Self {
            id: m.id,
            status: m.status,
            current: detail.current,
            total: detail.total,
            error: m.error_detail.and_then(|d| d.message),
            stream: None,
        }
    }
}

impl From<bollard::models::BuildInfo> for Message {
    fn from(m: bollard::models::BuildInfo) -> Self {
        let detail = m.progress_detail.unwrap_or_default();
        Self {
            id: m.id,
            status: m.status,
            current: detail.current,
            total: detail.total,
            error: m.error_detail.and_then(|d| d.message),
            stream: m.stream,
        }
    }
}

/// One line of the stream as berthd sends it, for streams read without bollard.
#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Line {
    id: Option<String>,
    status: Option<String>,
    progress_detail: Option<Detail>,
    error_detail: Option<ErrorDetail>,
    error: Option<String>,
    stream: Option<String>,
}

#[derive(Debug, serde::Deserialize)]
struct Detail {
    current: Option<i64>,
    total: Option<i64>,
}

#[derive(Debug, serde::Deserialize)]
struct ErrorDetail {
    message: Option<String>,
}

impl Message {
    /// Parses one line of a JSON progress stream.
    pub fn from_json(line: &[u8]) -> serde_json::Result<Self> {
        let l: Line = serde_json::from_slice(line)?;
        let (current, total) = l
            .progress_detail
            .map_or((None, None), |d| (d.current, d.total));
        Ok(Self {
            id: l.id,
            status: l.status,
            current,
            total,
            error: l.error_detail.and_then(|d| d.message).or(l.error),
            stream: l.stream,
        })
    }
}

fn bar_style() -> ProgressStyle {
    ProgressStyle::with_template("{prefix}: {msg} [{bar:30}] {bytes}/{total_bytes}")
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ")
}

fn line_style() -> ProgressStyle {
    ProgressStyle::with_template("{msg}").unwrap_or_else(|_| ProgressStyle::default_spinner())
}

fn spinner_style() -> ProgressStyle {
    ProgressStyle::with_template("{prefix}: {msg}")
        .unwrap_or_else(|_| ProgressStyle::default_spinner())
}

/// Renders a JSON progress stream: one line (bar) per layer id, plain lines for the rest.
#[derive(Debug)]
pub struct JsonProgress {
    multi: MultiProgress,
    bars: HashMap<String, ProgressBar>,
    tty: bool,
    /// Plain lines printed, for tests and `-q`.
    quiet: bool,
}

impl JsonProgress {
    pub fn new(quiet: bool) -> Self {
        let tty = crate::tty::is_terminal(libc::STDERR_FILENO);
        let target = if tty && !quiet {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        Self {
            multi: MultiProgress::with_draw_target(target),
            bars: HashMap::new(),
            tty,
            quiet,
        }
    }

    /// Shows one message. An `error` message is returned as `Err` (the stream failed).
    pub fn update(&mut self, m: &Message) -> Result<(), String> {
        if let Some(e) = &m.error {
            return Err(e.clone());
        }
        if let Some(text) = m
            .stream
            .as_deref()
            .map(str::trim_end)
            .filter(|t| !t.is_empty())
        {
            self.line(text);
        }
        let Some(status) = m.status.as_deref() else {
            return Ok(());
        };
        match m.id.as_deref().filter(|id| !id.is_empty()) {
            None => self.line(status),
            Some(id) if self.tty && !self.quiet => {
                let bar = self.bars.entry(id.to_string()).or_insert_with(|| {
                    let b = self.multi.add(ProgressBar::new(0));
                    b.set_style(spinner_style());
                    b.set_prefix(id.to_string());
                    b
                });
                match (m.current, m.total) {
                    (Some(current), Some(total)) if total > 0 => {
                        bar.set_style(bar_style());
                        bar.set_length(total as u64);
                        bar.set_position(current as u64);
                    }
                    _ => bar.set_style(spinner_style()),
                }
                bar.set_message(status.to_string());
            }
            // Not a terminal: docker prints only the lines without a progress bar.
            Some(id) if m.total.is_none() => self.line(&format!("{id}: {status}")),
            Some(_) => {}
        }
        Ok(())
    }

    fn line(&self, text: &str) {
        if self.quiet {
            return;
        }
        if self.tty {
            // A finished entry of its own keeps its place below the bars so far, as docker shows
            // `Digest:` and `Status:` under the layers (println would put it above every bar).
            let entry = self.multi.add(ProgressBar::new(0));
            entry.set_style(line_style());
            entry.finish_with_message(text.to_string());
        } else {
            eprintln!("{text}");
        }
    }

    pub fn finish(self) {
        for bar in self.bars.values() {
            bar.finish();
        }
    }
}

/// A byte counter for a transfer: a bar when `total` is known, a running count otherwise.
/// Hidden unless stderr is a terminal.
pub fn bytes(label: &str, total: Option<u64>) -> ProgressBar {
    let target = if crate::tty::is_terminal(libc::STDERR_FILENO) {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    };
    let bar = match total {
        Some(total) => {
            let b = ProgressBar::with_draw_target(Some(total), target);
            b.set_style(
                ProgressStyle::with_template(
                    "{prefix} [{bar:30}] {bytes}/{total_bytes} ({bytes_per_sec}, {eta})",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
            b
        }
        None => {
            let b = ProgressBar::with_draw_target(None, target);
            b.set_style(
                ProgressStyle::with_template("{prefix} {spinner} {bytes} ({bytes_per_sec})")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            b.enable_steady_tick(Duration::from_millis(120));
            b
        }
    };
    bar.set_prefix(label.to_string());
    bar
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
