//! `.dockerignore`: which files of a build context the client leaves out, decided exactly as
//! Docker decides it (`moby/patternmatcher` and its `ignorefile` reader, used by the docker CLI,
//! BuildKit's file sync and dockerd alike).
//!
//! Reading a file ([`IgnorePatterns::parse`]): a line starting with `#` is a comment (only in
//! the first column: `  # x` is a pattern); whitespace around a pattern and after a leading `!`
//! is dropped; each pattern is cleaned like Go's `filepath.Clean` (`./a/../b/` is `b`) and a
//! leading `/` removed, so patterns are always relative to the context root.
//!
//! Matching ([`IgnorePatterns::matches`]): patterns are tried in order and the last one that
//! matches wins; `!pattern` is an exception that re-includes. A pattern matches a path if it
//! matches the path itself or any of its parent directories (`docs` excludes `docs/a/b`).
//! Syntax is Go's `filepath.Match` (`*` and `?` never match `/`, `[a-z]`, `[^a-z]`, `\` escapes)
//! plus `**`, any number of directories. `[!a]` is *not* a negation: Go's syntax has only `^`.
//!
//! Docker translates each pattern to a Go regular expression; this module implements the same
//! language without one. It follows the translation's corners too: `**` only counts as a
//! directory wildcard before `/` or at the ends (a leading `**` without `/`, `**foo`, matches
//! any path ending in `foo`), `.*` inside `**` stops at a newline, a `^` outside brackets
//! anchors (so `*^a` matches nothing). Where the translation yields something Go's regexp reads
//! as its own syntax, this module keeps to `filepath.Match`: `*`, `?` or `\d`-style escapes
//! inside brackets, and `\` before a letter or digit, mean the character itself.
//!
//! Walking a context: a directory walker asks [`IgnorePatterns::matches_in_walk`] top-down,
//! passing each directory's [`ParentMatches`] to its children, as Docker's tar writer does, and
//! skips an excluded directory unless [`IgnorePatterns::descend_into_excluded`] says an
//! exception may re-include something below it.

use std::fmt;

/// The ignore file at the root of a build context.
pub const DOCKERIGNORE: &str = ".dockerignore";

/// Suffix of a Dockerfile's own ignore file (`Dockerfile.dev.dockerignore`).
const DOCKERFILE_IGNORE_SUFFIX: &str = ".dockerignore";

/// Go's `bufio.Scanner` gives up on a line of this many bytes (its `MaxScanTokenSize`), and
/// Docker with it.
const MAX_LINE: usize = 64 * 1024;

/// Why an ignore file was refused. Lines are numbered from 1; the caller names the file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IgnoreError {
    #[error("line {line}: illegal exclusion pattern: \"!\"")]
    LoneExclamation { line: usize },
    #[error("line {line}: syntax error in pattern {pattern:?}: {reason}")]
    BadPattern {
        line: usize,
        pattern: String,
        reason: &'static str,
    },
    #[error("line {line}: longer than {} bytes", MAX_LINE - 1)]
    LineTooLong { line: usize },
}

/// The patterns of one ignore file, in order.
#[derive(Debug, Clone, Default)]
pub struct IgnorePatterns {
    patterns: Vec<Pattern>,
}

/// Per-pattern results for a directory, which its children reuse (patternmatcher's
/// `MatchInfo`). [`ParentMatches::default`] is "nothing known", for entries at the top.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParentMatches(Vec<bool>);

/// Which ignore file applies to a build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IgnoreFile {
    /// `<Dockerfile>.dockerignore` beside the Dockerfile: the path given, with the suffix.
    BesideDockerfile(String),
    /// [`DOCKERIGNORE`] at the root of the build context (no patterns if it does not exist).
    ContextRoot,
}

/// Picks the ignore file as BuildKit does: `<dockerfile>.dockerignore`, named after the
/// Dockerfile path as given (`-f build/Dockerfile.dev` reads `build/Dockerfile.dev.dockerignore`),
/// wins over `.dockerignore` at the context root when `exists` says it is there.
pub fn ignore_file(dockerfile: &str, exists: impl FnOnce(&str) -> bool) -> IgnoreFile {
    let beside = format!("{dockerfile}{DOCKERFILE_IGNORE_SUFFIX}");
    if exists(&beside) {
        IgnoreFile::BesideDockerfile(beside)
    } else {
        IgnoreFile::ContextRoot
    }
}

impl IgnorePatterns {
    /// Reads an ignore file as Docker's `ignorefile.ReadAll` and `patternmatcher.New` do,
    /// refusing what Docker refuses (a lone `!`, a malformed `[` class, a trailing `\`).
    pub fn parse(text: &str) -> Result<Self, IgnoreError> {
        let mut patterns = Vec::new();
        for (index, raw) in text.split('\n').enumerate() {
            let line = index + 1;
            if raw.len() >= MAX_LINE {
                return Err(IgnoreError::LineTooLong { line });
            }
            let raw = raw.strip_suffix('\r').unwrap_or(raw);
            let raw = if index == 0 {
                raw.strip_prefix('\u{feff}').unwrap_or(raw)
            } else {
                raw
            };
            if raw.starts_with('#') {
                continue;
            }
            if let Some(pattern) = Pattern::from_line(raw, line)? {
                patterns.push(pattern);
            }
        }
        Ok(Self { patterns })
    }

    /// Whether `path` (relative to the context root, `/`-separated) is left out: the last
    /// pattern matching it or one of its parent directories decides (patternmatcher's
    /// `MatchesOrParentMatches`, which dockerd uses on the files it reads). The context root
    /// itself is never excluded.
    pub fn matches(&self, path: &str) -> bool {
        let path = clean(path);
        if path == "." {
            return false;
        }
        let mut matched = false;
        for p in &self.patterns {
            // An exception only matters once something matched, a pattern only until then.
            if p.exception != matched {
                continue;
            }
            if p.matches_or_parent(&path) {
                matched = !p.exception;
            }
        }
        matched
    }

    /// [`Self::matches`] for a walker going top-down, the way Docker's tar writer and BuildKit's
    /// file sync decide (patternmatcher's `MatchesUsingParentResults`): `parent` is what this
    /// returned for the directory holding `path`. The second value is for `path`'s children.
    ///
    /// It can differ from [`Self::matches`], and then it is what Docker sends: with `a/b`
    /// then `!a`, the walk leaves `a/b/c` out because `!a` was not tried on `a` (nothing had
    /// matched it yet) and is not tried on `a/b` again.
    pub fn matches_in_walk(&self, path: &str, parent: &ParentMatches) -> (bool, ParentMatches) {
        let path = clean(path);
        let known = parent.0.len() == self.patterns.len() && !parent.0.is_empty();
        let mut results = vec![false; self.patterns.len()];
        if path == "." {
            return (false, ParentMatches(results));
        }
        let mut matched = false;
        for (i, p) in self.patterns.iter().enumerate() {
            let hit = if known && parent.0[i] {
                true
            } else if p.exception != matched {
                continue;
            } else if known {
                p.matcher.is_match(&path)
            } else {
                p.matches_or_parent(&path)
            };
            results[i] = hit;
            if hit {
                matched = !p.exception;
            }
        }
        (matched, ParentMatches(results))
    }

    /// Whether a walker must still look inside the excluded directory `dir`: Docker descends
    /// only when an exception pattern's text starts with `dir/` (or is `dir`). An exception
    /// that begins with a wildcard (`!**/keep`) does not count, so Docker never re-includes
    /// anything below an excluded directory through it, and neither does Berth.
    pub fn descend_into_excluded(&self, dir: &str) -> bool {
        let dir = clean(dir);
        self.patterns.iter().any(|p| {
            p.exception
                && p.text.starts_with(dir.as_str())
                && matches!(p.text.as_bytes().get(dir.len()), None | Some(b'/'))
        })
    }

    /// The docker CLI's rule that the ignore file and the Dockerfile (`None` when it does not
    /// come from the context) are always sent, even if a pattern excludes them: an exception
    /// naming each excluded one literally is added. The daemon reads both, then drops from the
    /// build context those that [`Self::matches`] (tried before this call) excludes.
    pub fn keep_build_files(&mut self, dockerfile: Option<&str>) {
        for file in std::iter::once(DOCKERIGNORE).chain(dockerfile) {
            let file = clean(file);
            if self.matches(&file) {
                self.patterns.push(Pattern {
                    matcher: Matcher::Exact(file.clone()),
                    text: file,
                    exception: true,
                });
            }
        }
    }
}

/// One cleaned pattern.
#[derive(Debug, Clone)]
struct Pattern {
    /// The cleaned text without its `!`.
    text: String,
    /// `!pattern`: re-includes what earlier patterns excluded.
    exception: bool,
    matcher: Matcher,
}

impl Pattern {
    /// The pattern of one line, `None` for a blank one; the steps (and their odd corners, such
    /// as `!/` cleaning to a lone `!`) are `ignorefile.ReadAll`'s, then `patternmatcher.New`'s.
    fn from_line(raw: &str, line: usize) -> Result<Option<Self>, IgnoreError> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Ok(None);
        }
        let (invert, rest) = match trimmed.strip_prefix('!') {
            Some(rest) => (true, rest.trim()),
            None => (false, trimmed),
        };
        let mut rest = rest.to_string();
        if !rest.is_empty() {
            rest = clean(&rest);
            if rest.len() > 1 && rest.starts_with('/') {
                rest.remove(0);
            }
        }
        let full = clean(&if invert { format!("!{rest}") } else { rest });
        let (exception, text) = match full.strip_prefix('!') {
            Some("") => return Err(IgnoreError::LoneExclamation { line }),
            Some(text) => (true, text),
            None => (false, full.as_str()),
        };
        let bad = |reason| IgnoreError::BadPattern {
            line,
            pattern: text.to_string(),
            reason,
        };
        validate(text).map_err(bad)?;
        let matcher = Matcher::compile(text).map_err(bad)?;
        Ok(Some(Self {
            text: text.to_string(),
            exception,
            matcher,
        }))
    }

    /// The pattern matches `path` or one of its parent directories.
    fn matches_or_parent(&self, path: &str) -> bool {
        self.matcher.is_match(path)
            || path
                .match_indices('/')
                .any(|(end, _)| self.matcher.is_match(&path[..end]))
    }
}

/// How a pattern is compared, as patternmatcher picks it: plain text comparisons when the
/// pattern allows, otherwise a glob.
#[derive(Debug, Clone)]
enum Matcher {
    /// No wildcard at all: the path must be the text.
    Exact(String),
    /// Literal text, then `**` at the end: the path must start with the text.
    Prefix(String),
    /// `**` at the start, then literal text: the path must end with the text; `**/foo` also
    /// matches `foo` itself.
    Suffix(String),
    Glob(Vec<Token>),
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Char(char),
    /// `?`: one character other than `/`.
    One,
    /// `*`: any run of characters without `/`.
    Star,
    /// `**` with more pattern after it: nothing, or anything but a newline up to a `/`.
    AnyDirs,
    /// `**` at the end: anything but a newline.
    AnyRest,
    /// `^` outside brackets, which the regexp reads as "start of text".
    TextStart,
    Class(Class),
}

#[derive(Debug, Clone, PartialEq)]
struct Class {
    negated: bool,
    ranges: Vec<(char, char)>,
}

impl Class {
    fn contains(&self, c: char) -> bool {
        self.ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi) != self.negated
    }
}

/// What the three plain-text kinds are chosen from, in patternmatcher's order of discovery.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Exact,
    Prefix,
    Suffix,
    Glob,
}

impl Matcher {
    /// Compiles a validated pattern, following patternmatcher's `compile` step by step.
    fn compile(text: &str) -> Result<Self, &'static str> {
        let chars: Vec<char> = text.chars().collect();
        let mut tokens = Vec::new();
        let mut kind = Kind::Exact;
        let mut pos = 0;
        while pos < chars.len() {
            let first = pos == 0;
            let c = chars[pos];
            pos += 1;
            match c {
                '*' if chars.get(pos) == Some(&'*') => {
                    pos += 1;
                    // `**/` is `**`: the slash is part of the wildcard.
                    if chars.get(pos) == Some(&'/') {
                        pos += 1;
                    }
                    if pos == chars.len() {
                        if kind == Kind::Exact {
                            kind = Kind::Prefix;
                        } else {
                            tokens.push(Token::AnyRest);
                            kind = Kind::Glob;
                        }
                    } else {
                        tokens.push(Token::AnyDirs);
                        kind = Kind::Glob;
                    }
                    if first {
                        kind = Kind::Suffix;
                    }
                }
                '*' => {
                    tokens.push(Token::Star);
                    kind = Kind::Glob;
                }
                '?' => {
                    tokens.push(Token::One);
                    kind = Kind::Glob;
                }
                '\\' => match chars.get(pos) {
                    Some(&escaped) => {
                        pos += 1;
                        tokens.push(Token::Char(escaped));
                        kind = Kind::Glob;
                    }
                    // Refused by `validate`; kept literal as patternmatcher does.
                    None => tokens.push(Token::Char('\\')),
                },
                '[' => {
                    let (class, end) = parse_class(&chars, pos)?;
                    if class.ranges.iter().any(|(lo, hi)| lo > hi) {
                        // Go's filepath.Match accepts `[z-a]`; the regexp Docker builds from it
                        // does not, and every match then fails the build.
                        return Err("character class range is out of order");
                    }
                    tokens.push(Token::Class(class));
                    pos = end;
                    kind = Kind::Glob;
                }
                ']' => {
                    tokens.push(Token::Char(']'));
                    kind = Kind::Glob;
                }
                '^' => tokens.push(Token::TextStart),
                c => tokens.push(Token::Char(c)),
            }
        }
        Ok(match kind {
            Kind::Exact => Self::Exact(text.to_string()),
            Kind::Prefix => Self::Prefix(text[..text.len() - 2].to_string()),
            Kind::Suffix => Self::Suffix(text[2..].to_string()),
            Kind::Glob => Self::Glob(tokens),
        })
    }

    fn is_match(&self, path: &str) -> bool {
        match self {
            Self::Exact(text) => path == text,
            Self::Prefix(prefix) => path.starts_with(prefix.as_str()),
            Self::Suffix(suffix) => {
                path.ends_with(suffix.as_str())
                    || suffix.strip_prefix('/').is_some_and(|bare| path == bare)
            }
            Self::Glob(tokens) => glob_match(tokens, path),
        }
    }
}

/// Runs the glob as a nondeterministic automaton over the path's characters: linear in the
/// path for any pattern, where backtracking could be exponential. State `2 * i` is "before token
/// `i`", `2 * i + 1` is "inside the directories of the `**` at `i`".
fn glob_match(tokens: &[Token], path: &str) -> bool {
    let states = 2 * (tokens.len() + 1);
    let mut current = vec![false; states];
    let mut next = vec![false; states];
    add(tokens, &mut current, 0, true);
    for c in path.chars() {
        next.fill(false);
        for state in (0..states).filter(|&s| current[s]) {
            let i = state / 2;
            if state % 2 == 1 {
                if c != '\n' {
                    add(tokens, &mut next, state, false);
                    if c == '/' {
                        add(tokens, &mut next, 2 * (i + 1), false);
                    }
                }
                continue;
            }
            let stay = match tokens.get(i) {
                Some(Token::Char(x)) if *x == c => Some(false),
                Some(Token::One) if c != '/' => Some(false),
                Some(Token::Class(class)) if class.contains(c) => Some(false),
                Some(Token::Star) if c != '/' => Some(true),
                Some(Token::AnyRest) if c != '\n' => Some(true),
                _ => None,
            };
            match stay {
                Some(true) => add(tokens, &mut next, state, false),
                Some(false) => add(tokens, &mut next, 2 * (i + 1), false),
                None => {}
            }
        }
        std::mem::swap(&mut current, &mut next);
        if !current.contains(&true) {
            return false;
        }
    }
    current[2 * tokens.len()]
}

/// Marks `state` and everything reachable from it without reading a character. `at_start`:
/// no character was read yet (for `^`).
fn add(tokens: &[Token], set: &mut [bool], state: usize, at_start: bool) {
    if set[state] {
        return;
    }
    set[state] = true;
    if state % 2 == 1 {
        return;
    }
    let i = state / 2;
    match tokens.get(i) {
        Some(Token::Star | Token::AnyRest) => add(tokens, set, 2 * (i + 1), at_start),
        Some(Token::AnyDirs) => {
            add(tokens, set, 2 * i + 1, at_start);
            add(tokens, set, 2 * (i + 1), at_start);
        }
        Some(Token::TextStart) if at_start => add(tokens, set, 2 * (i + 1), at_start),
        _ => {}
    }
}

/// Refuses what Go's `filepath.Match` refuses, which `patternmatcher.New` checks first: a
/// trailing `\` and a malformed `[...]` class. A `]` on its own is an ordinary character.
fn validate(text: &str) -> Result<(), &'static str> {
    let chars: Vec<char> = text.chars().collect();
    let mut pos = 0;
    while pos < chars.len() {
        match chars[pos] {
            '\\' if pos + 1 == chars.len() => return Err("trailing backslash"),
            '\\' => pos += 2,
            '[' => pos = parse_class(&chars, pos + 1)?.1,
            _ => pos += 1,
        }
    }
    Ok(())
}

/// Parses a `filepath.Match` class whose `[` is just before `pos`: an optional `^`, then
/// characters or `lo-hi` ranges (`\` escapes one), at least one, up to `]`. Returns the class
/// and the position after its `]`.
fn parse_class(chars: &[char], mut pos: usize) -> Result<(Class, usize), &'static str> {
    let negated = chars.get(pos) == Some(&'^');
    if negated {
        pos += 1;
    }
    let mut ranges = Vec::new();
    loop {
        if chars.get(pos) == Some(&']') && !ranges.is_empty() {
            return Ok((Class { negated, ranges }, pos + 1));
        }
        let lo = class_char(chars, &mut pos)?;
        let mut hi = lo;
        if chars.get(pos) == Some(&'-') {
            pos += 1;
            hi = class_char(chars, &mut pos)?;
        }
        ranges.push((lo, hi));
    }
}

/// One character of a class (Go's `getEsc`): not `-` or `]` unescaped, and not the end.
fn class_char(chars: &[char], pos: &mut usize) -> Result<char, &'static str> {
    let mut c = match chars.get(*pos) {
        None => return Err("unterminated character class"),
        Some('-' | ']') => return Err("`-` or `]` where a class character is expected"),
        Some(&c) => c,
    };
    if c == '\\' {
        *pos += 1;
        c = *chars
            .get(*pos)
            .ok_or("unterminated character class after `\\`")?;
    }
    *pos += 1;
    if *pos == chars.len() {
        return Err("unterminated character class");
    }
    Ok(c)
}

/// Go's `path.Clean`: the shortest lexically equal path (`a//./b/../c/` is `a/c`, `` is `.`).
fn clean(path: &str) -> String {
    let rooted = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|last| *last != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            part => parts.push(part),
        }
    }
    let joined = parts.join("/");
    if rooted {
        format!("/{joined}")
    } else if joined.is_empty() {
        ".".to_string()
    } else {
        joined
    }
}

impl fmt::Display for IgnorePatterns {
    /// The cleaned patterns, one a line, as Docker would read them back.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for p in &self.patterns {
            writeln!(f, "{}{}", if p.exception { "!" } else { "" }, p.text)?;
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
