//! Parser directives (`# syntax=`, `# escape=`, `# check=`): comments of the form
//! `# key=value` at the very top of the file, each at most once. The first line that is not one
//! (an instruction, another comment, an empty line) ends them.

use crate::error::ErrorKind;

/// The parser directives of a Dockerfile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directives {
    /// `# syntax=`: the frontend image the file asks for, as written.
    pub syntax: Option<String>,
    /// `# escape=`: `\` (the default) or a backtick.
    pub escape: char,
    /// `# check=`: build-check settings, as written (`skip=...;error=true`).
    pub check: Option<String>,
}

impl Default for Directives {
    fn default() -> Self {
        Directives {
            syntax: None,
            escape: '\\',
            check: None,
        }
    }
}

/// Reads directives line by line until the first line that is not one.
#[derive(Debug, Default)]
pub(super) struct DirectiveParser {
    done: bool,
    seen: Vec<String>,
    pub(super) directives: Directives,
}

/// The blanks of Go's `\s`, which the directive syntax allows around `=`.
const BLANKS: [char; 5] = [' ', '\t', '\n', '\x0c', '\r'];

impl DirectiveParser {
    /// Looks at the next line (newline and leading whitespace already removed); true if it was
    /// a directive.
    pub(super) fn line(&mut self, line: &str) -> Result<bool, ErrorKind> {
        if self.done {
            return Ok(false);
        }
        let Some((key, value)) = split_directive(line) else {
            self.done = true;
            return Ok(false);
        };
        let key = key.to_ascii_lowercase();
        if !matches!(key.as_str(), "syntax" | "escape" | "check") {
            // An unknown directive is a plain comment, and comments end the directives.
            self.done = true;
            return Ok(false);
        }
        if self.seen.contains(&key) {
            return Err(ErrorKind::DuplicateDirective(key));
        }
        match key.as_str() {
            "syntax" => self.directives.syntax = Some(value.to_string()),
            "check" => self.directives.check = Some(value.to_string()),
            _ => {
                self.directives.escape = match value {
                    "\\" => '\\',
                    "`" => '`',
                    other => return Err(ErrorKind::InvalidEscapeToken(other.to_string())),
                }
            }
        }
        self.seen.push(key);
        Ok(true)
    }
}

/// `#key=value` with blanks allowed after `#`, around `=` and at the end; the key is a letter
/// then letters or digits, the value not empty.
fn split_directive(line: &str) -> Option<(&str, &str)> {
    let line = line.strip_prefix('#')?.trim_start();
    let key_end = line
        .find(|c: char| !c.is_ascii_alphanumeric())
        .unwrap_or(line.len());
    let key = &line[..key_end];
    if !key.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return None;
    }
    let value = line[key_end..]
        .trim_start_matches(BLANKS)
        .strip_prefix('=')?
        .trim_matches(BLANKS);
    (!value.is_empty()).then_some((key, value))
}
