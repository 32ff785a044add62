//! The daemon's classic-builder stream, shown three ways: `plain` writes its text as the
//! docker CLI does (stdout, raw, pull progress as status lines); `-q` keeps it back and prints
//! the id (or, on failure, all of it on stderr); the live display (a terminal) draws each step
//! as `[N/M] INSTRUCTION  1.2s` on stderr with the running step's last output lines below it.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};
use serde::Deserialize;

use crate::output::human_size;

/// Output lines shown under the running step.
const TAIL_LINES: usize = 6;

/// One message of the build stream.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Line {
    stream: Option<String>,
    status: Option<String>,
    id: Option<String>,
    progress: Option<String>,
    aux: Option<Aux>,
    error_detail: Option<ErrorDetail>,
    error: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Aux {
    #[serde(rename = "ID")]
    id: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ErrorDetail {
    code: Option<i32>,
    message: Option<String>,
}

/// A build's failure: the message, and the exit status (a RUN's) when the daemon gave one.
#[derive(Debug, PartialEq, Eq)]
pub struct Failure {
    pub code: Option<i32>,
    pub message: String,
}

impl Line {
    pub fn error(&self) -> Option<Failure> {
        let detail = self.error_detail.as_ref();
        let message = detail
            .and_then(|d| d.message.clone())
            .or_else(|| self.error.clone())?;
        Some(Failure {
            code: detail.and_then(|d| d.code).filter(|c| *c != 0),
            message: message.trim_end().to_string(),
        })
    }

    /// A stage's image id (`aux`), the last of which is the build's.
    pub fn image_id(&self) -> Option<String> {
        self.aux.as_ref().and_then(|a| a.id.clone())
    }

    /// A pull's status as docker prints it without a terminal: `id: status`.
    fn status_text(&self) -> Option<String> {
        let status = self.status.as_deref()?;
        Some(match self.id.as_deref().filter(|id| !id.is_empty()) {
            Some(id) => format!("{id}: {status}"),
            None => status.to_string(),
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Quiet,
    Plain,
    Live,
}

pub struct Display {
    inner: Inner,
    /// Bytes of context sent, announced before the first line (the daemon has read it all by
    /// then: it unpacks the context before its first step).
    sent: Arc<AtomicU64>,
    announced: bool,
}

enum Inner {
    Quiet { log: String },
    Plain,
    Live(Box<Live>),
}

impl Display {
    pub fn new(mode: Mode, sent: Arc<AtomicU64>) -> Self {
        let inner = match mode {
            Mode::Quiet => Inner::Quiet { log: String::new() },
            Mode::Plain => Inner::Plain,
            Mode::Live => Inner::Live(Box::new(Live::new())),
        };
        Self {
            inner,
            sent,
            announced: false,
        }
    }

    pub fn show(&mut self, line: &Line) {
        if !self.announced {
            self.announced = true;
            let size = human_size(self.sent.load(Ordering::Relaxed) as f64);
            match &mut self.inner {
                Inner::Quiet { .. } => {}
                Inner::Plain => println!("Sending build context to Docker daemon  {size}"),
                Inner::Live(live) => live.note(&format!("sent build context: {size}")),
            }
        }
        match &mut self.inner {
            Inner::Quiet { log } => {
                if let Some(text) = &line.stream {
                    log.push_str(text);
                }
            }
            Inner::Plain => {
                if let Some(text) = &line.stream {
                    crate::output::print(text);
                }
                // Bars need a terminal; docker prints only the lines without one.
                if let Some(status) = line.status_text().filter(|_| line.progress.is_none()) {
                    println!("{status}");
                }
            }
            Inner::Live(live) => live.show(line),
        }
    }

    /// The build failed: what was held back is shown; the caller prints the error.
    pub fn fail(self) {
        match self.inner {
            Inner::Quiet { log } => eprint!("{log}"),
            Inner::Plain => {}
            Inner::Live(live) => live.fail(),
        }
    }

    /// The build succeeded; with `-q`, the id the daemon sent (printed here) is returned.
    pub fn finish(self) -> Option<String> {
        match self.inner {
            Inner::Quiet { log } => {
                let id = log.trim().to_string();
                if id.is_empty() {
                    return None;
                }
                println!("{id}");
                Some(id)
            }
            Inner::Plain => None,
            Inner::Live(live) => {
                live.finish();
                None
            }
        }
    }
}

/// What one `stream` text of the classic builder means for the step display.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Text<'a> {
    /// `Step N/M : INSTRUCTION`
    Step {
        number: u32,
        total: u32,
        instruction: &'a str,
    },
    /// ` ---> Using cache`
    Cached,
    /// ` ---> <id>`: the step's image.
    Done,
    /// `Successfully built/tagged`, warnings: shown after the steps.
    Summary(&'a str),
    /// The builder's own bookkeeping (`Running in`, `Removing intermediate container`).
    Noise,
    /// Anything else: a RUN's output, pull messages.
    Output(&'a str),
}

pub(super) fn classify(text: &str) -> Text<'_> {
    if let Some(rest) = text.strip_prefix("Step ") {
        let parsed = rest.split_once(" : ").and_then(|(count, instruction)| {
            let (n, m) = count.split_once('/')?;
            Some(Text::Step {
                number: n.parse().ok()?,
                total: m.parse().ok()?,
                instruction,
            })
        });
        if let Some(step) = parsed {
            return step;
        }
    }
    if let Some(rest) = text.strip_prefix(" ---> ") {
        let rest = rest.trim_end();
        if rest == "Using cache" {
            return Text::Cached;
        }
        if rest.starts_with("Running in ") {
            return Text::Noise;
        }
        if rest.len() == 12 && rest.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Text::Done;
        }
    }
    if text.starts_with("Removing intermediate container ") {
        return Text::Noise;
    }
    if ["Successfully built ", "Successfully tagged ", "[Warning] "]
        .iter()
        .any(|p| text.starts_with(p))
    {
        return Text::Summary(text.trim_end());
    }
    Text::Output(text)
}

/// The last lines of a step's output: RUN output arrives in raw chunks (not lines), stderr
/// wrapped in red; carriage returns rewrite the line, as on a terminal.
#[derive(Debug, Default)]
pub(super) struct Tail {
    lines: VecDeque<String>,
    partial: String,
}

impl Tail {
    pub(super) fn push(&mut self, text: &str) {
        let text = text.replace("\u{1b}[91m", "").replace("\u{1b}[0m", "");
        let mut pieces = text.split('\n').peekable();
        while let Some(piece) = pieces.next() {
            match piece.rfind('\r') {
                Some(at) => self.partial = piece[at + 1..].to_string(),
                None => self.partial.push_str(piece),
            }
            if pieces.peek().is_some() {
                let line = std::mem::take(&mut self.partial);
                self.lines.push_back(line);
                if self.lines.len() > TAIL_LINES {
                    self.lines.pop_front();
                }
            }
        }
    }

    /// The lines to show, oldest first: the complete ones, then the one being written.
    pub(super) fn shown(&self) -> Vec<&str> {
        let mut all: Vec<&str> = self.lines.iter().map(String::as_str).collect();
        if !self.partial.is_empty() {
            all.push(&self.partial);
        }
        let skip = all.len().saturating_sub(TAIL_LINES);
        all.split_off(skip)
    }

    fn clear(&mut self) {
        self.lines.clear();
        self.partial.clear();
    }
}

/// The running step.
struct Running {
    bar: ProgressBar,
    started: Instant,
    cached: bool,
}

struct Live {
    multi: MultiProgress,
    step: Option<Running>,
    tail: Tail,
    tail_bars: Vec<ProgressBar>,
    /// A `Step` line's text comes with a separate `"\n"` message, which is not output.
    after_step: bool,
}

fn seconds(d: Duration) -> String {
    format!("{:.1}s", d.as_secs_f64())
}

fn running_style() -> ProgressStyle {
    ProgressStyle::with_template("{spinner:.cyan} {prefix:.bold} {wide_msg} {secs:.cyan}")
        .unwrap_or_else(|_| ProgressStyle::default_spinner())
        .with_key("secs", |s: &ProgressState, w: &mut dyn std::fmt::Write| {
            let _ = w.write_str(&seconds(s.elapsed()));
        })
}

/// A finished step: `mark` before it and `time` (a duration, or CACHED) at the end.
fn finished_style(mark: &str, time: String) -> ProgressStyle {
    ProgressStyle::with_template(&format!("{mark} {{prefix:.bold}} {{wide_msg}} {{secs}}"))
        .unwrap_or_else(|_| ProgressStyle::default_spinner())
        .with_key(
            "secs",
            move |_: &ProgressState, w: &mut dyn std::fmt::Write| {
                let _ = w.write_str(&time);
            },
        )
}

fn text_style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_spinner())
}

impl Live {
    fn new() -> Self {
        Self {
            multi: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
            step: None,
            tail: Tail::default(),
            tail_bars: Vec::new(),
            after_step: false,
        }
    }

    /// A line of its own below what is shown so far.
    fn note(&self, text: &str) {
        let entry = self.multi.add(ProgressBar::new(0));
        entry.set_style(text_style("{msg}"));
        entry.finish_with_message(text.to_string());
    }

    fn show(&mut self, line: &Line) {
        if let Some(status) = line.status_text() {
            let progress = line.progress.as_deref().unwrap_or_default();
            self.output(&format!("{}\n", format!("{status} {progress}").trim_end()));
        }
        let Some(text) = line.stream.as_deref() else {
            return;
        };
        let after_step = std::mem::take(&mut self.after_step);
        match classify(text) {
            Text::Step {
                number,
                total,
                instruction,
            } => {
                self.end_step(false);
                let bar = self.multi.add(ProgressBar::new(0));
                bar.set_style(running_style());
                bar.set_prefix(format!("[{number}/{total}]"));
                bar.set_message(instruction.replace('\n', " "));
                bar.enable_steady_tick(Duration::from_millis(100));
                self.step = Some(Running {
                    bar,
                    started: Instant::now(),
                    cached: false,
                });
                self.after_step = true;
            }
            Text::Output("\n") if after_step => {}
            Text::Cached => {
                if let Some(step) = &mut self.step {
                    step.cached = true;
                }
            }
            Text::Done => self.end_step(false),
            Text::Noise => {}
            Text::Summary(s) => {
                self.end_step(false);
                self.note(s);
            }
            Text::Output(out) => self.output(out),
        }
    }

    fn output(&mut self, text: &str) {
        if self.step.is_none() {
            return;
        }
        self.tail.push(text);
        let shown = self.tail.shown();
        while self.tail_bars.len() < shown.len() {
            let bar = self.multi.add(ProgressBar::new(0));
            bar.set_style(text_style("  {wide_msg:.dim}"));
            self.tail_bars.push(bar);
        }
        for (bar, text) in self.tail_bars.iter().zip(shown) {
            bar.set_message(text.to_string());
        }
    }

    /// Freezes the running step's line with its time; a failed step keeps its output shown.
    fn end_step(&mut self, failed: bool) {
        let Some(step) = self.step.take() else {
            return;
        };
        let time = seconds(step.started.elapsed());
        let style = match (failed, step.cached) {
            (true, _) => finished_style("\u{2718}", format!("ERROR {time}")),
            (false, true) => finished_style("\u{2714}", "CACHED".into()),
            (false, false) => finished_style("\u{2714}", time),
        };
        step.bar.set_style(style);
        step.bar.finish();
        for bar in self.tail_bars.drain(..) {
            if failed {
                bar.finish();
            } else {
                bar.finish_and_clear();
                self.multi.remove(&bar);
            }
        }
        self.tail.clear();
    }

    fn fail(mut self) {
        self.end_step(true);
    }

    fn finish(mut self) {
        self.end_step(false);
    }
}
