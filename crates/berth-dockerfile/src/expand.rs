//! Word expansion as BuildKit's shell lexer does it: `$v`, `${v}` and the `${v...}` modifiers,
//! single and double quotes, the escape character (`\` or, with `# escape=`, a backtick), and
//! splitting into words on unquoted whitespace. Variables come from a caller-given [`Env`]
//! (the builder's ENV, then ARG, values at the instruction being run); the result records which
//! names were looked up, for the build cache key.

mod pattern;
mod shell;

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hash::BuildHasher;

use self::shell::{Shell, Words};

/// Where variable values come from.
pub trait Env {
    /// The value of `name`, or `None` when it is not set (set but empty is `Some("")`).
    fn get(&self, name: &str) -> Option<Cow<'_, str>>;
}

impl<S: BuildHasher> Env for HashMap<String, String, S> {
    fn get(&self, name: &str) -> Option<Cow<'_, str>> {
        HashMap::get(self, name).map(|v| Cow::Borrowed(v.as_str()))
    }
}

impl Env for BTreeMap<String, String> {
    fn get(&self, name: &str) -> Option<Cow<'_, str>> {
        BTreeMap::get(self, name).map(|v| Cow::Borrowed(v.as_str()))
    }
}

impl<F: Fn(&str) -> Option<String>> Env for F {
    fn get(&self, name: &str) -> Option<Cow<'_, str>> {
        self(name).map(Cow::Owned)
    }
}

/// A word that could not be expanded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("failed to process {word:?}: {kind}")]
pub struct ExpandError {
    /// The word (its first 200 characters).
    pub word: String,
    /// What is wrong with it.
    pub kind: ExpandErrorKind,
}

/// What is wrong with a word.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ExpandErrorKind {
    #[error("syntax error: missing '}}'")]
    MissingBrace,
    #[error("syntax error: bad substitution")]
    BadSubstitution,
    #[error("syntax error: missing '/' in ${{}}")]
    MissingSlash,
    #[error("unsupported modifier ({0}) in substitution")]
    UnsupportedModifier(String),
    /// An unclosed quote (`single-quote`, `double-quote`) or `${...` delimiter.
    #[error("unexpected end of statement while looking for matching {0}")]
    Unterminated(String),
    /// `${v?message}` with `v` unset, or `${v:?message}` with `v` unset or empty.
    #[error("{name}: {message}")]
    Required { name: String, message: String },
    #[error("invalid pattern ({pattern}) in substitution: {reason}")]
    InvalidPattern { pattern: String, reason: String },
}

/// An expanded word (or words) and the variables it looked up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expansion<T> {
    /// The result.
    pub value: T,
    /// Names that were looked up and set: what the result depends on.
    pub used: BTreeSet<String>,
    /// Names that were looked up and not set (they expanded to their default, or nothing).
    pub unset: BTreeSet<String>,
}

/// The lexer's rules for one Dockerfile: its escape character, and how much of the source
/// survives (BuildKit's heredoc detection keeps quotes and escapes as written).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lexer {
    escape: char,
    raw_quotes: bool,
    raw_escapes: bool,
    keep_unset: bool,
    literal_quotes: bool,
}

impl Lexer {
    /// The lexer for instruction words, with the Dockerfile's escape character.
    pub fn new(escape: char) -> Self {
        Lexer {
            escape,
            raw_quotes: false,
            raw_escapes: false,
            keep_unset: false,
            literal_quotes: false,
        }
    }

    /// The lexer for the content of a heredoc whose delimiter is unquoted (`COPY <<EOF`):
    /// `$` expansions and backslash escapes only, quotes are ordinary text.
    pub fn heredoc_content() -> Self {
        Lexer {
            literal_quotes: true,
            ..Lexer::new('\\')
        }
    }

    /// BuildKit's lexer for finding heredoc words in a line: everything kept as written.
    pub(crate) fn heredoc_line() -> Self {
        Lexer {
            raw_quotes: true,
            raw_escapes: true,
            keep_unset: true,
            ..Lexer::new('\\')
        }
    }

    /// BuildKit's lexer for a heredoc delimiter, with or without its quotes.
    pub(crate) fn heredoc_word(raw_quotes: bool) -> Self {
        Lexer {
            raw_quotes,
            keep_unset: true,
            ..Lexer::new('\\')
        }
    }

    /// The escape character.
    pub fn escape(&self) -> char {
        self.escape
    }

    /// Expands `word` into one string: quotes removed, whitespace kept (BuildKit's
    /// `ProcessWord`, used by `ENV`, `COPY`, `WORKDIR`, ...).
    pub fn expand_word(&self, word: &str, env: &dyn Env) -> Result<Expansion<String>, ExpandError> {
        let mut shell = Shell::new(self, word, env);
        let value = shell
            .until(None, self.raw_escapes, None)
            .map_err(|kind| error(word, kind))?;
        Ok(shell.finish(value))
    }

    /// Expands `word` and splits it into words on whitespace that is neither quoted nor
    /// escaped, whitespace from variable values included (BuildKit's `ProcessWords`, used by
    /// `EXPOSE`). Empty quoted words are dropped, as BuildKit does.
    pub fn expand_words(
        &self,
        word: &str,
        env: &dyn Env,
    ) -> Result<Expansion<Vec<String>>, ExpandError> {
        let mut shell = Shell::new(self, word, env);
        let mut words = Words::default();
        shell
            .until(None, self.raw_escapes, Some(&mut words))
            .map_err(|kind| error(word, kind))?;
        Ok(shell.finish(words.finish()))
    }
}

fn error(word: &str, kind: ExpandErrorKind) -> ExpandError {
    ExpandError {
        word: word.chars().take(200).collect(),
        kind,
    }
}

/// Expands words one after the other against one environment, collecting the variables they
/// use: what the builder needs for one instruction.
pub struct Expander<'e> {
    lexer: Lexer,
    env: &'e dyn Env,
    used: BTreeSet<String>,
    unset: BTreeSet<String>,
}

impl<'e> Expander<'e> {
    /// An expander for `lexer`'s rules over `env`.
    pub fn new(lexer: Lexer, env: &'e dyn Env) -> Self {
        Expander {
            lexer,
            env,
            used: BTreeSet::new(),
            unset: BTreeSet::new(),
        }
    }

    /// [`Lexer::expand_word`], recording the names used.
    pub fn word(&mut self, word: &str) -> Result<String, ExpandError> {
        let expansion = self.lexer.expand_word(word, self.env)?;
        Ok(self.record(expansion))
    }

    /// [`Lexer::expand_words`], recording the names used.
    pub fn words(&mut self, word: &str) -> Result<Vec<String>, ExpandError> {
        let expansion = self.lexer.expand_words(word, self.env)?;
        Ok(self.record(expansion))
    }

    /// Expands the content of a heredoc with unquoted delimiter ([`Lexer::heredoc_content`]).
    pub fn heredoc(&mut self, content: &str) -> Result<String, ExpandError> {
        let expansion = Lexer::heredoc_content().expand_word(content, self.env)?;
        Ok(self.record(expansion))
    }

    /// Names looked up so far that were set.
    pub fn used(&self) -> &BTreeSet<String> {
        &self.used
    }

    /// Names looked up so far that were not set.
    pub fn unset(&self) -> &BTreeSet<String> {
        &self.unset
    }

    fn record<T>(&mut self, expansion: Expansion<T>) -> T {
        self.used.extend(expansion.used);
        self.unset.extend(expansion.unset);
        expansion.value
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
