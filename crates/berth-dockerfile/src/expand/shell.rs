//! The lexer proper: one pass over a word, expanding `$` forms and quotes as it goes, and
//! optionally splitting the result into words.

use std::collections::BTreeSet;

use super::{pattern, Env, ExpandErrorKind, Expansion, Lexer};

/// Words being split out of an expansion.
#[derive(Default)]
pub(super) struct Words {
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

    pub(super) fn finish(mut self) -> Vec<String> {
        if !self.buf.is_empty() {
            self.words.push(self.buf);
        }
        self.words
    }
}

/// One word being expanded.
pub(super) struct Shell<'a> {
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
    pub(super) fn new(lexer: &'a Lexer, src: &'a str, env: &'a dyn Env) -> Self {
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

    pub(super) fn finish<T>(self, value: T) -> Expansion<T> {
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
    pub(super) fn until(
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
