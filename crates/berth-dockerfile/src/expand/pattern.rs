//! The glob patterns of `${v#pat}`, `${v%pat}` and `${v/pat/repl}`: `?` is one character, `*`
//! any run of characters, and `\` makes `*`, `?` or `\` literal (`\}` and `\/` are the escaped
//! delimiters of `${}`, left by the lexer). BuildKit compiles these to regular expressions; a
//! direct automaton gives the same matches in time linear in the value for each start.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token {
    Any,
    Star,
    Char(char),
}

/// Compiles `pattern`, or says which escape is invalid.
fn compile(pattern: &str) -> Result<Vec<Token>, String> {
    let mut tokens = Vec::new();
    let mut chars = pattern.chars().peekable();
    while let Some(ch) = chars.next() {
        tokens.push(match ch {
            '*' => Token::Star,
            '?' => Token::Any,
            '\\' => match chars.peek() {
                // The escape of a `${}` delimiter is not part of the pattern.
                Some('}' | '/') => continue,
                Some(&next @ ('*' | '?' | '\\')) => {
                    chars.next();
                    Token::Char(next)
                }
                Some(next) => return Err(format!("invalid escape '\\{next}'")),
                None => return Err("invalid escape '\\'".to_string()),
            },
            other => Token::Char(other),
        });
    }
    Ok(tokens)
}

/// The set of pattern positions reached, each with the earliest start that reaches it (the
/// leftmost match wins). `None`: not reached.
struct States(Vec<Option<usize>>);

impl States {
    fn new(tokens: &[Token]) -> Self {
        States(vec![None; tokens.len() + 1])
    }

    fn clear(&mut self) {
        self.0.iter_mut().for_each(|s| *s = None);
    }

    fn reach(&mut self, state: usize, start: usize) {
        let slot = &mut self.0[state];
        if slot.is_none_or(|s| start < s) {
            *slot = Some(start);
        }
    }

    /// A `*` may match nothing: whoever reaches it also reaches the next position.
    fn close(&mut self, tokens: &[Token]) {
        for (i, token) in tokens.iter().enumerate() {
            if let (Token::Star, Some(start)) = (token, self.0[i]) {
                self.reach(i + 1, start);
            }
        }
    }

    fn step(&self, tokens: &[Token], ch: char, next: &mut States) {
        next.clear();
        for (i, token) in tokens.iter().enumerate() {
            let Some(start) = self.0[i] else { continue };
            match token {
                Token::Star => next.reach(i, start),
                Token::Any => next.reach(i + 1, start),
                Token::Char(c) if *c == ch => next.reach(i + 1, start),
                Token::Char(_) => {}
            }
        }
        next.close(tokens);
    }

    fn accepted(&self) -> Option<usize> {
        self.0.last().copied().flatten()
    }

    fn is_empty(&self) -> bool {
        self.0.iter().all(Option::is_none)
    }
}

/// Lengths (in bytes of `chars`) of the prefixes of `chars` that match `tokens` as a whole:
/// the shortest and the longest.
fn anchored_matches(tokens: &[Token], chars: impl Iterator<Item = char>) -> Option<(usize, usize)> {
    let mut cur = States::new(tokens);
    let mut next = States::new(tokens);
    cur.reach(0, 0);
    cur.close(tokens);
    let mut found = cur.accepted().map(|_| (0, 0));
    let mut len = 0;
    for ch in chars {
        cur.step(tokens, ch, &mut next);
        std::mem::swap(&mut cur, &mut next);
        if cur.is_empty() {
            break;
        }
        len += ch.len_utf8();
        if cur.accepted().is_some() {
            found = Some((found.map_or(len, |(shortest, _)| shortest), len));
        }
    }
    found
}

/// `${v#pattern}` (`longest`: `##`): `value` without the matching prefix.
pub(super) fn trim_prefix(value: &str, pattern: &str, longest: bool) -> Result<String, String> {
    let tokens = compile(pattern)?;
    Ok(match anchored_matches(&tokens, value.chars()) {
        Some((shortest, max)) => value[if longest { max } else { shortest }..].to_string(),
        None => value.to_string(),
    })
}

/// `${v%pattern}` (`longest`: `%%`): `value` without the matching suffix, found by matching the
/// reversed pattern against the reversed value.
pub(super) fn trim_suffix(value: &str, pattern: &str, longest: bool) -> Result<String, String> {
    let mut tokens = compile(pattern)?;
    tokens.reverse();
    Ok(match anchored_matches(&tokens, value.chars().rev()) {
        Some((shortest, max)) => {
            value[..value.len() - if longest { max } else { shortest }].to_string()
        }
        None => value.to_string(),
    })
}

/// The leftmost, then longest, match of `tokens` in `value` starting at byte `from` or later.
fn find(tokens: &[Token], value: &str, from: usize) -> Option<(usize, usize)> {
    let mut cur = States::new(tokens);
    let mut next = States::new(tokens);
    let mut best: Option<(usize, usize)> = None;
    let mut chars = value[from..].char_indices();
    let mut pos = from;
    loop {
        // A match that starts later can never beat one already found.
        if best.is_none() {
            cur.reach(0, pos);
            cur.close(tokens);
        }
        if let Some(start) = cur.accepted() {
            if best.is_none_or(|(s, _)| start <= s) {
                best = Some((start, pos));
            }
        }
        if let Some((best_start, _)) = best {
            cur.0.iter_mut().for_each(|slot| {
                if slot.is_some_and(|s| s > best_start) {
                    *slot = None;
                }
            });
            if cur.is_empty() {
                break;
            }
        }
        let Some((i, ch)) = chars.next() else { break };
        cur.step(tokens, ch, &mut next);
        std::mem::swap(&mut cur, &mut next);
        pos = from + i + ch.len_utf8();
    }
    best
}

/// `${v/pattern/replacement}` (`all`: `${v//pattern/replacement}`). Successive matches do not
/// overlap, and an empty match right after a match is not replaced (Go's `ReplaceAllString`).
pub(super) fn replace(
    value: &str,
    pattern: &str,
    replacement: &str,
    all: bool,
) -> Result<String, String> {
    let tokens = compile(pattern)?;
    if !all {
        return Ok(match find(&tokens, value, 0) {
            Some((start, end)) => format!("{}{replacement}{}", &value[..start], &value[end..]),
            None => value.to_string(),
        });
    }
    let mut out = String::with_capacity(value.len());
    let mut last_end = 0;
    let mut search = 0;
    while search <= value.len() {
        let Some((start, end)) = find(&tokens, value, search) else {
            break;
        };
        out.push_str(&value[last_end..start]);
        if end > last_end || start == 0 {
            out.push_str(replacement);
        }
        last_end = end;
        // Always move on by at least one character.
        let width = value[search..].chars().next().map_or(1, char::len_utf8);
        search = if search + width > end {
            search + width
        } else {
            end
        };
    }
    out.push_str(&value[last_end..]);
    Ok(out)
}
