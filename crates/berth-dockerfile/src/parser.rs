//! Dockerfile text to raw instruction nodes, as BuildKit's parser reads it: parser directives,
//! comments, line continuations with the escape character (comment and blank lines inside a
//! continuation are skipped), heredocs after `RUN`/`COPY`/`ADD`, and the per-instruction split
//! of arguments. Nothing is validated or expanded here beyond what BuildKit's parser does:
//! [`Instruction`](crate::Instruction) gives nodes their meaning.

mod directives;
pub(crate) mod heredoc;
mod line;

use std::borrow::Cow;

pub use directives::Directives;

use crate::error::{DockerfileError, ErrorKind};
use crate::expand::Lexer;

/// Where an instruction is: its first and last line (1-based), continuations and heredocs
/// included.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Location {
    pub start_line: usize,
    pub end_line: usize,
}

/// A parsed Dockerfile: its directives and one node per instruction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dockerfile {
    /// The file name errors are reported against.
    pub file: String,
    pub directives: Directives,
    pub nodes: Vec<Node>,
    /// What BuildKit warns about while parsing (empty continuation lines).
    pub warnings: Vec<Warning>,
}

/// A parse warning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    pub line: usize,
    pub message: String,
}

/// One instruction as written: keyword, flags, arguments, heredocs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// The keyword as written (`RUN`, `run`, ...).
    pub keyword: String,
    /// The `--name=value` words before the arguments, quotes and escapes removed.
    pub flags: Vec<String>,
    pub args: Args,
    /// The heredocs the line announces, in order, with their content.
    pub heredocs: Vec<Heredoc>,
    /// The logical line: continuation lines joined without the escape character, comment
    /// lines dropped. Trimmed, it is what Docker prints as `Step N/M : <original>`.
    pub original: String,
    pub location: Location,
    /// The comment lines right above the instruction (`#` removed), for doc comments.
    pub comments: Vec<String>,
}

/// The arguments of a node, split the way its instruction reads them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Args {
    /// Plain arguments, unexpanded: whitespace-separated words (`FROM`, `EXPOSE`, non-JSON
    /// `COPY`/`ADD`/`VOLUME`), quoted words (`ARG`), the whole text (shell-form `RUN`, `CMD`,
    /// `ENTRYPOINT`, `SHELL`; `USER`, `WORKDIR`, ...). For `HEALTHCHECK` the first word is the
    /// type (`CMD`, `NONE`) and the second the shell-form command.
    Words(Vec<String>),
    /// A JSON array (exec form). For `HEALTHCHECK` the first element is the type.
    Json(Vec<String>),
    /// `ENV` and `LABEL` pairs.
    Pairs(Vec<NameValue>),
    /// The instruction an `ONBUILD` registers.
    Trigger(Box<Node>),
}

/// A `name=value` pair of `ENV` or `LABEL`, as written (quotes kept).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameValue {
    pub name: String,
    pub value: String,
    /// Written in the legacy `ENV name value` form.
    pub legacy: bool,
}

/// A here-document: a word `<<NAME` and the lines up to `NAME`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heredoc {
    /// The delimiter, quotes removed.
    pub name: String,
    /// The file descriptor written before `<<` (`3<<EOF`), 0 if none.
    pub fd: u32,
    /// Whether variables in the content are expanded: no part of the delimiter was quoted.
    pub expand: bool,
    /// `<<-`: leading tabs are stripped from the content's lines.
    pub chomp: bool,
    /// The lines between the instruction and the delimiter, newlines included, not chomped.
    pub content: String,
}

impl Heredoc {
    /// The content, with leading tabs removed from each line for `<<-`.
    pub fn chomped(&self) -> Cow<'_, str> {
        if !self.chomp {
            return Cow::Borrowed(&self.content);
        }
        Cow::Owned(
            self.content
                .split_inclusive('\n')
                .map(|line| line.trim_start_matches('\t'))
                .collect(),
        )
    }
}

impl Node {
    /// Whether heredocs are read after this line: `RUN`, `COPY` and `ADD` in shell form, also
    /// as `ONBUILD` triggers.
    fn can_contain_heredoc(&self) -> bool {
        let node = match &self.args {
            Args::Trigger(trigger) if self.keyword.eq_ignore_ascii_case("onbuild") => trigger,
            _ => self,
        };
        let keyword = node.keyword.to_ascii_lowercase();
        matches!(keyword.as_str(), "run" | "copy" | "add") && !matches!(node.args, Args::Json(_))
    }
}

/// The physical lines of the text, newlines kept, counted from 1.
struct Lines<'a> {
    inner: std::str::SplitInclusive<'a, char>,
    number: usize,
}

impl<'a> Lines<'a> {
    fn next(&mut self) -> Option<&'a str> {
        let line = self.inner.next()?;
        self.number += 1;
        Some(line)
    }
}

fn trim_newline(line: &str) -> &str {
    line.trim_end_matches(['\r', '\n'])
}

fn is_comment(line: &str) -> bool {
    line.trim_start().starts_with('#')
}

/// Removes a trailing line continuation (the escape character, then only blanks); true when
/// the line ends the instruction. An escaped escape character (`\\`) is not a continuation.
fn trim_continuation(line: &str, escape: char) -> (&str, bool) {
    let Some(before) = line.trim_end_matches([' ', '\t']).strip_suffix(escape) else {
        return (line, true);
    };
    if before.ends_with(escape) {
        (line, true)
    } else {
        (before, false)
    }
}

impl Dockerfile {
    /// Parses `text`; `file` names the file in error messages (`Dockerfile`, `Dockerfile.dev`).
    pub fn parse(file: &str, text: &str) -> Result<Dockerfile, DockerfileError> {
        parse(text)
            .map_err(|err| err.with_file(file))
            .map(|(directives, nodes, warnings)| Dockerfile {
                file: file.to_string(),
                directives,
                nodes,
                warnings,
            })
    }

    /// The lexer for this file's words (its escape character).
    pub fn lexer(&self) -> Lexer {
        Lexer::new(self.directives.escape)
    }
}

type Parsed = (Directives, Vec<Node>, Vec<Warning>);

fn parse(text: &str) -> Result<Parsed, DockerfileError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = Lines {
        inner: text.split_inclusive('\n'),
        number: 0,
    };
    let mut directives = directives::DirectiveParser::default();
    let mut nodes = Vec::new();
    let mut warnings = Vec::new();
    let mut comments: Vec<String> = Vec::new();
    while let Some(raw) = lines.next() {
        let start = lines.number;
        let line = trim_newline(raw).trim_start();
        if let Some(comment) = line.strip_prefix('#') {
            // A bare `#` separates doc comments from what is above it.
            match comment.trim() {
                "" => comments.clear(),
                comment => comments.push(comment.to_string()),
            }
        }
        let is_directive = directives
            .line(line)
            .map_err(|kind| DockerfileError::new(kind).at_line(start))?;
        if is_directive {
            comments.pop();
        }
        let escape = directives.directives.escape;
        let line = if is_comment(line) { "" } else { line };
        let (first, mut ended) = trim_continuation(line, escape);
        if ended && first.is_empty() {
            continue;
        }
        let mut joined = first.to_string();
        let mut empty_continuation = false;
        while !ended {
            let Some(raw) = lines.next() else { break };
            if is_comment(raw) {
                continue;
            }
            let line = trim_newline(raw);
            if line.trim_start().is_empty() {
                empty_continuation = true;
                continue;
            }
            let (part, end) = trim_continuation(line, escape);
            joined.push_str(part);
            ended = end;
        }
        if empty_continuation {
            warnings.push(Warning {
                line: lines.number,
                message: format!("Empty continuation line found in: {joined}"),
            });
        }
        let at = |kind: ErrorKind, keyword: &str| {
            DockerfileError::new(kind)
                .at_line(start)
                .in_instruction(keyword)
        };
        let keyword = joined
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_string();
        let mut node = line::node(&joined, escape, std::mem::take(&mut comments))
            .map_err(|kind| at(kind, &keyword))?;
        if node.can_contain_heredoc() && joined.contains("<<") {
            for mut heredoc in heredoc::in_line(&joined).map_err(|kind| at(kind, &keyword))? {
                heredoc.content = read_heredoc(&mut lines, &heredoc).ok_or_else(|| {
                    at(
                        ErrorKind::UnterminatedHeredoc(heredoc.name.clone()),
                        &keyword,
                    )
                })?;
                node.heredocs.push(heredoc);
            }
        }
        node.location = Location {
            start_line: start,
            end_line: lines.number,
        };
        nodes.push(node);
    }
    if nodes.is_empty() {
        return Err(ErrorKind::NoInstructions.into());
    }
    Ok((directives.directives, nodes, warnings))
}

/// The lines up to the heredoc's delimiter (consumed), or `None` if the text ends first.
fn read_heredoc(lines: &mut Lines<'_>, heredoc: &Heredoc) -> Option<String> {
    let mut content = String::new();
    loop {
        let raw = lines.next()?;
        let mut candidate = trim_newline(raw);
        if heredoc.chomp {
            candidate = candidate.trim_start_matches('\t');
        }
        if candidate == heredoc.name {
            return Some(content);
        }
        content.push_str(raw);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
