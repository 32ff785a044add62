//! runc-style logging: errors go to stderr and, with `--log`, to a file as text or JSON lines
//! (containerd and podman read the last error from that file). With `--debug`, the library's
//! `tracing` debug events go to the same place (stderr without `--log`), in the same format.

use std::fmt::Write as _;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde_json::Value;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};

use crate::cli::LogFormat;

pub struct Logger {
    file: Option<PathBuf>,
    format: LogFormat,
}

impl Logger {
    pub fn new(file: Option<&Path>, format: LogFormat) -> Self {
        Self {
            file: file.map(Path::to_path_buf),
            format,
        }
    }

    pub fn error(&self, msg: &str) {
        eprintln!("berth-runtime: {msg}");
        let Some(path) = &self.file else { return };
        let line = format_line(self.format, "error", msg, &[]);
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
        {
            let _ = f.write_all(line.as_bytes());
        }
    }
}

/// Prints a warning on stderr (poststart/poststop hook failures do not fail the command).
pub fn warn(msg: &str) {
    eprintln!("berth-runtime: warning: {msg}");
}

/// One log line as runc (logrus) writes it: JSON `{"level","msg","time",...}` with the fields as
/// top-level keys, or text `time="..." level=... msg="..." key=value`.
fn format_line(format: LogFormat, level: &str, msg: &str, fields: &[(String, Value)]) -> String {
    let time = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
    match format {
        LogFormat::Json => {
            let mut obj = serde_json::Map::new();
            for (k, v) in fields {
                obj.insert(k.clone(), v.clone());
            }
            obj.insert("level".into(), level.into());
            obj.insert("msg".into(), msg.into());
            obj.insert("time".into(), time.into());
            let mut line = serde_json::Value::Object(obj).to_string();
            line.push('\n');
            line
        }
        LogFormat::Text => {
            let mut line = format!("time={time:?} level={level} msg={msg:?}");
            for (k, v) in fields {
                let _ = match v {
                    Value::String(v)
                        if v.is_empty()
                            || v.chars().any(|c| c.is_whitespace() || c == '"' || c == '=') =>
                    {
                        write!(line, " {k}={v:?}")
                    }
                    Value::String(v) => write!(line, " {k}={v}"),
                    other => write!(line, " {k}={other}"),
                };
            }
            line.push('\n');
            line
        }
    }
}

/// Collects an event's or span's fields, numbers and booleans kept as such for JSON;
/// `message` is the event's text.
#[derive(Default)]
struct Fields {
    message: String,
    fields: Vec<(String, Value)>,
}

impl Fields {
    fn push(&mut self, field: &Field, value: Value) {
        self.fields.push((field.name().to_string(), value));
    }
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.push(field, value.into());
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.push(field, value.into());
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.push(field, value.into());
    }

    fn record_u128(&mut self, field: &Field, value: u128) {
        // JSON numbers beyond u64 are not portable; such values are not expected anyway.
        self.push(
            field,
            u64::try_from(value).map_or_else(|_| value.to_string().into(), Value::from),
        );
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.push(field, value.into());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.message = format!("{value:?}");
        } else {
            self.push(field, format!("{value:?}").into());
        }
    }
}

struct DebugState {
    out: Box<dyn Write + Send>,
    /// Fields of every span opened so far (span id = index + 1); the runtime is short-lived and
    /// opens a handful, so none is ever freed.
    spans: Vec<Vec<(String, Value)>>,
    /// Spans entered, innermost last: their fields (the container id) go on every event.
    stack: Vec<u64>,
}

/// The `--debug` subscriber: debug and above, runc-compatible lines. Installed only with
/// `--debug`, so without it the library's events stop at tracing's global level check.
///
/// One mutex around everything: the runtime is single-threaded; the forked container process
/// inherits the state (and the open log file, close-on-exec) and keeps logging its own steps.
pub struct DebugLog {
    format: LogFormat,
    state: Mutex<DebugState>,
}

impl DebugLog {
    /// Appends to `file` (opened now, so the container process can still write after it has
    /// switched to its own root), or writes to stderr without one.
    pub fn new(file: Option<&Path>, format: LogFormat) -> std::io::Result<Self> {
        let out: Box<dyn Write + Send> = match file {
            Some(path) => Box::new(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)?,
            ),
            None => Box::new(std::io::stderr()),
        };
        Ok(Self {
            format,
            state: Mutex::new(DebugState {
                out,
                spans: Vec::new(),
                stack: Vec::new(),
            }),
        })
    }

    fn with_state<T>(&self, f: impl FnOnce(&mut DebugState) -> T) -> T {
        // A panic while logging must not silence the rest: take the state even if poisoned.
        let mut guard = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut guard)
    }
}

impl Subscriber for DebugLog {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        *metadata.level() <= Level::DEBUG
    }

    fn max_level_hint(&self) -> Option<tracing::level_filters::LevelFilter> {
        Some(tracing::level_filters::LevelFilter::DEBUG)
    }

    fn new_span(&self, span: &Attributes<'_>) -> Id {
        let mut fields = Fields::default();
        span.record(&mut fields);
        self.with_state(|s| {
            s.spans.push(fields.fields);
            Id::from_u64(s.spans.len() as u64)
        })
    }

    fn record(&self, span: &Id, values: &Record<'_>) {
        let mut fields = Fields::default();
        values.record(&mut fields);
        self.with_state(|s| {
            let index = span.into_u64().saturating_sub(1);
            if let Some(known) = usize::try_from(index).ok().and_then(|i| s.spans.get_mut(i)) {
                known.extend(fields.fields);
            }
        });
    }

    fn record_follows_from(&self, _span: &Id, _follows: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let mut fields = Fields::default();
        event.record(&mut fields);
        let level = event.metadata().level().as_str().to_ascii_lowercase();
        self.with_state(|s| {
            let mut all: Vec<(String, Value)> = s
                .stack
                .iter()
                .filter_map(|id| usize::try_from(id.saturating_sub(1)).ok())
                .filter_map(|i| s.spans.get(i))
                .flatten()
                .cloned()
                .collect();
            all.extend(fields.fields);
            let line = format_line(self.format, &level, &fields.message, &all);
            // Nowhere to report a failed log write; the command itself goes on.
            let _ = s.out.write_all(line.as_bytes());
            let _ = s.out.flush();
        });
    }

    fn enter(&self, span: &Id) {
        self.with_state(|s| s.stack.push(span.into_u64()));
    }

    fn exit(&self, span: &Id) {
        self.with_state(|s| {
            if let Some(at) = s.stack.iter().rposition(|id| *id == span.into_u64()) {
                s.stack.remove(at);
            }
        });
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
