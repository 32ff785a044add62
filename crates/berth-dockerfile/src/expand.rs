//! Word expansion as BuildKit's shell lexer does it: `$v`, `${v}` and the `${v...}` modifiers,
//! single and double quotes, the escape character (`\` or, with `# escape=`, a backtick), and
//! splitting into words on unquoted whitespace. Variables come from a caller-given [`Env`]
//! (the builder's ENV, then ARG, values at the instruction being run); the result records which
//! names were looked up, for the build cache key.

mod pattern;

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hash::BuildHasher;

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

/// Words being split out of an expansion.
#[derive(Default)]
struct Words {
    words: Vec<String>,
    buf: String,
    in_word: bool,
}

impl Words {
    /// A character that splits on whitespace.
    fn add_char(&mut self, ch: char) {
        if ch.is_whitespace() {
            if self.in_word && !self.buf.is_empty() {
                self.words.push(std::mem::take(&mut self.buf));
                self.in_word = false;
            }
        } else {
            self.add_raw_char(ch);
        }
    }

    fn add_raw_char(&mut self, ch: char) {
        self.buf.push(ch);
        self.in_word = true;
    }

    fn add_str(&mut self, s: &str) {
        s.chars().for_each(|ch| self.add_char(ch));
    }

    fn add_raw_str(&mut self, s: &str) {
        self.buf.push_str(s);
        self.in_word = true;
    }

    fn finish(mut self) -> Vec<String> {
        if !self.buf.is_empty() {
            self.words.push(self.buf);
        }
        self.words
    }
}

/// One word being expanded.
struct Shell<'a> {
    lexer: &'a Lexer,
    src: &'a str,
    pos: usize,
    env: &'a dyn Env,
    raw_escapes: bool,
    used: BTreeSet<String>,
    unset: BTreeSet<String>,
}

type Step<T> = Result<T, ExpandErrorKind>;

impl<'a> Shell<'a> {
    fn new(lexer: &'a Lexer, src: &'a str, env: &'a dyn Env) -> Self {
        Shell {
            lexer,
            src,
            pos: 0,
            env,
            raw_escapes: lexer.raw_escapes,
            used: BTreeSet::new(),
            unset: BTreeSet::new(),
        }
    }

    fn finish<T>(self, value: T) -> Expansion<T> {
        Expansion {
            value,
            used: self.used,
            unset: self.unset,
        }
    }

    fn peek(&self) -> Option<char> {
        self.src[self.pos..].chars().next()
    }

    fn next(&mut self) -> Option<char> {
        let ch = self.peek()?;
        self.pos += ch.len_utf8();
        Some(ch)
    }

    fn lookup(&mut self, name: &str) -> Option<String> {
        match self.env.get(name) {
            Some(value) => {
                self.used.insert(name.to_string());
                Some(value.into_owned())
            }
            None => {
                self.unset.insert(name.to_string());
                None
            }
        }
    }

    /// Expands up to `stop` (consumed) or the end. Inside `${v#...}`, `${v%...}` and
    /// `${v/.../...}` escapes are kept (`raw_escapes`) for the pattern to interpret.
    fn until(
        &mut self,
        stop: Option<char>,
        raw_escapes: bool,
        words: Option<&mut Words>,
    ) -> Step<String> {
        let saved = std::mem::replace(&mut self.raw_escapes, raw_escapes);
        let result = self.until_inner(stop, words);
        self.raw_escapes = saved;
        result
    }

    fn until_inner(&mut self, stop: Option<char>, mut words: Option<&mut Words>) -> Step<String> {
        let mut result = String::new();
        while let Some(ch) = self.peek() {
            if Some(ch) == stop {
                self.next();
                return Ok(result);
            }
            let quotes = !self.lexer.literal_quotes;
            let special = match ch {
                '$' => Some(self.dollar()?),
                '<' => Some(self.possible_heredoc()),
                '\'' if quotes => Some(self.single_quote()?),
                '"' if quotes => Some(self.double_quote()?),
                _ => None,
            };
            if let Some(text) = special {
                if let Some(words) = words.as_deref_mut() {
                    // Variable values split into words; quoted text does not.
                    if ch == '$' {
                        words.add_str(&text);
                    } else {
                        words.add_raw_str(&text);
                    }
                }
                result.push_str(&text);
                continue;
            }
            self.next();
            if ch == self.lexer.escape {
                if self.raw_escapes {
                    if let Some(words) = words.as_deref_mut() {
                        words.add_raw_char(ch);
                    }
                    result.push(ch);
                }
                // An escape at the very end is dropped.
                let Some(escaped) = self.next() else { break };
                if let Some(words) = words.as_deref_mut() {
                    words.add_raw_char(escaped);
                }
                result.push(escaped);
            } else {
                if let Some(words) = words.as_deref_mut() {
                    words.add_char(ch);
                }
                result.push(ch);
            }
        }
        match stop {
            Some(stop) => Err(ExpandErrorKind::Unterminated(stop.to_string())),
            None => Ok(result),
        }
    }

    fn single_quote(&mut self) -> Step<String> {
        let mut result = String::new();
        self.next();
        if self.lexer.raw_quotes {
            result.push('\'');
        }
        // Nothing is special between single quotes, not even the escape character.
        loop {
            match self.next() {
                None => return Err(ExpandErrorKind::Unterminated("single-quote".into())),
                Some('\'') => {
                    if self.lexer.raw_quotes {
                        result.push('\'');
                    }
                    return Ok(result);
                }
                Some(ch) => result.push(ch),
            }
        }
    }

    fn double_quote(&mut self) -> Step<String> {
        let mut result = String::new();
        self.next();
        if self.lexer.raw_quotes {
            result.push('"');
        }
        loop {
            match self.peek() {
                None => return Err(ExpandErrorKind::Unterminated("double-quote".into())),
                Some('"') => {
                    self.next();
                    if self.lexer.raw_quotes {
                        result.push('"');
                    }
                    return Ok(result);
                }
                Some('$') => {
                    let value = self.dollar()?;
                    result.push_str(&value);
                }
                Some(_) => {
                    let mut ch = self.next().unwrap_or_default();
                    if ch == self.lexer.escape {
                        if self.raw_escapes {
                            result.push(ch);
                        }
                        // Only `"`, `$` and the escape itself are escaped between double
                        // quotes; before anything else the escape character is literal.
                        match self.peek() {
                            None => continue,
                            Some(next)
                                if next == '"' || next == '$' || next == self.lexer.escape =>
                            {
                                self.next();
                                ch = next;
                            }
                            Some(_) => {}
                        }
                    }
                    result.push(ch);
                }
            }
        }
    }

    /// `<<` and the blanks after it stay together, so a heredoc word `<< EOF` is one word.
    fn possible_heredoc(&mut self) -> String {
        self.next();
        if self.peek() != Some('<') {
            return "<".to_string();
        }
        self.next();
        let mut result = "<<".to_string();
        while let Some(ch @ (' ' | '\t' | '\r')) = self.peek() {
            self.next();
            result.push(ch);
        }
        result
    }

    /// A variable name: letters, digits and `_`; or all the digits of a positional parameter;
    /// or one special parameter character (`$@`, `$#`, ...). These are never set in a
    /// Dockerfile, but they are consumed as a shell would.
    fn name(&mut self) -> String {
        let mut name = String::new();
        while let Some(ch) = self.peek() {
            if name.is_empty() && ch.is_numeric() {
                while let Some(digit) = self.peek().filter(|c| c.is_numeric()) {
                    self.next();
                    name.push(digit);
                }
                return name;
            }
            if name.is_empty() && matches!(ch, '@' | '*' | '#' | '?' | '-' | '$' | '!' | '0') {
                self.next();
                name.push(ch);
                return name;
            }
            if !ch.is_alphanumeric() && ch != '_' {
                break;
            }
            self.next();
            name.push(ch);
        }
        name
    }

    fn dollar(&mut self) -> Step<String> {
        self.next();
        if self.peek() != Some('{') {
            let name = self.name();
            if name.is_empty() {
                return Ok("$".to_string());
            }
            return Ok(match self.lookup(&name) {
                Some(value) => value,
                None if self.lexer.keep_unset => format!("${name}"),
                None => String::new(),
            });
        }
        self.next();
        match self.peek() {
            None => return Err(ExpandErrorKind::MissingBrace),
            Some('{' | '}' | ':') => return Err(ExpandErrorKind::BadSubstitution),
            Some(_) => {}
        }
        let name = self.name();
        match self.next() {
            None => Err(ExpandErrorKind::MissingBrace),
            Some('}') => Ok(match self.lookup(&name) {
                Some(value) => value,
                None if self.lexer.keep_unset => format!("${{{name}}}"),
                None => String::new(),
            }),
            Some(ch @ (':' | '+' | '-' | '?' | '#' | '%')) => self.modifier(&name, ch),
            Some('/') => self.substitution(&name),
            Some(ch) => Err(ExpandErrorKind::UnsupportedModifier(ch.to_string())),
        }
    }

    /// Reads up to the `stop` that closes a `${}` part, saying which delimiter is missing when
    /// the word ends first.
    fn part(&mut self, stop: char, raw_escapes: bool) -> Step<String> {
        self.until(Some(stop), raw_escapes, None)
            .map_err(|err| match (self.peek(), stop) {
                (None, '/') => ExpandErrorKind::MissingSlash,
                (None, _) => ExpandErrorKind::MissingBrace,
                _ => err,
            })
    }

    /// `${name:-word}` and the other modifiers; `first` is the character after the name.
    fn modifier(&mut self, name: &str, first: char) -> Step<String> {
        let null_is_unset = first == ':';
        let op = if null_is_unset {
            self.next()
        } else {
            Some(first)
        };
        let mut modifier = first.to_string();
        if null_is_unset {
            modifier.extend(op);
        }
        let is_pattern = matches!(op, Some('#' | '%'));
        if null_is_unset && is_pattern {
            return Err(ExpandErrorKind::UnsupportedModifier(modifier));
        }
        let word = self.part('}', is_pattern)?;
        let value = self.lookup(name);
        if value.is_none() && self.lexer.keep_unset {
            return Ok(format!("${{{name}{modifier}{word}}}"));
        }
        let unset = value.is_none() || (null_is_unset && value.as_deref() == Some(""));
        match op {
            Some('-') => Ok(if unset {
                word
            } else {
                value.unwrap_or_default()
            }),
            Some('+') => Ok(if unset { String::new() } else { word }),
            Some('?') => {
                let default = match value {
                    None => "is not allowed to be unset",
                    Some(_) if unset => "is not allowed to be empty",
                    Some(value) => return Ok(value),
                };
                let message = if word.is_empty() {
                    default.to_string()
                } else {
                    word
                };
                Err(ExpandErrorKind::Required {
                    name: name.to_string(),
                    message,
                })
            }
            Some(op @ ('#' | '%')) => {
                // A doubled operator (`##`, `%%`) removes the longest match.
                let (pattern, longest) = match word.strip_prefix(op) {
                    Some(rest) => (rest, true),
                    None => (word.as_str(), false),
                };
                let value = value.unwrap_or_default();
                let trimmed = if op == '%' {
                    pattern::trim_suffix(&value, pattern, longest)
                } else {
                    pattern::trim_prefix(&value, pattern, longest)
                };
                trimmed.map_err(|reason| ExpandErrorKind::InvalidPattern {
                    pattern: pattern.to_string(),
                    reason,
                })
            }
            _ => Err(ExpandErrorKind::UnsupportedModifier(modifier)),
        }
    }

    /// `${name/pattern/replacement}` and `${name//pattern/replacement}`.
    fn substitution(&mut self, name: &str) -> Step<String> {
        let all = self.peek() == Some('/');
        if all {
            self.next();
        }
        let pattern = self.part('/', true)?;
        let replacement = self.part('}', true)?;
        let value = self.lookup(name);
        if value.is_none() && self.lexer.keep_unset {
            let slashes = if all { "//" } else { "/" };
            return Ok(format!("${{{name}{slashes}{pattern}/{replacement}}}"));
        }
        // An unset variable is an empty value, which a pattern like `*` still matches.
        let value = value.unwrap_or_default();
        pattern::replace(&value, &pattern, &replacement, all).map_err(|reason| {
            ExpandErrorKind::InvalidPattern {
                pattern: pattern.clone(),
                reason,
            }
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
