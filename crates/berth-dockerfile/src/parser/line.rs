//! One logical line (continuations joined) to a [`Node`]: the keyword, the `--flags` before the
//! arguments, then the arguments split the way each instruction reads them in BuildKit (JSON or
//! shell form, whitespace-separated words, quoted words, `name=value` pairs, ...).

use super::{Args, Location, NameValue, Node};
use crate::error::ErrorKind;

/// Go's `[\t\v\f\r ]`, the separator between a keyword and its arguments.
fn is_separator(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\x0b' | '\x0c' | '\r')
}

/// Splits `s` at its first run of separators.
fn split_first_word(s: &str) -> (&str, &str) {
    match s.find(is_separator) {
        Some(i) => (&s[..i], s[i..].trim_start_matches(is_separator)),
        None => (s, ""),
    }
}

/// Builds the node for `line`; `escape` is the escape character.
pub(super) fn node(line: &str, escape: char, comments: Vec<String>) -> Result<Node, ErrorKind> {
    let (keyword, rest) = split_first_word(line.trim());
    let (flags, rest) = extract_flags(rest, escape);
    let rest = rest.trim();
    let args = match keyword.to_ascii_lowercase().as_str() {
        "add" | "copy" | "volume" => maybe_json_or_words(rest)?,
        "arg" => Args::Words(quoted_words(rest, escape)),
        "cmd" | "entrypoint" | "run" | "shell" => maybe_json(rest)?,
        "env" => name_values(rest, "ENV", escape)?,
        "label" => name_values(rest, "LABEL", escape)?,
        "expose" | "from" => Args::Words(words(rest)),
        "healthcheck" => healthcheck(rest)?,
        "maintainer" | "stopsignal" | "user" | "workdir" => Args::Words(if rest.is_empty() {
            vec![]
        } else {
            vec![rest.to_string()]
        }),
        "onbuild" if !rest.is_empty() => Args::Trigger(Box::new(node(rest, escape, Vec::new())?)),
        // Unknown instructions are reported when nodes become instructions.
        _ => Args::Words(Vec::new()),
    };
    Ok(Node {
        keyword: keyword.to_string(),
        flags,
        args,
        heredocs: Vec::new(),
        original: line.to_string(),
        location: Location::default(),
        comments,
    })
}

/// The `--name[=value]` words at the start of `line`, with quotes and escapes removed, and the
/// rest. A bare `--` ends the flags and is dropped.
fn extract_flags(line: &str, escape: char) -> (Vec<String>, &str) {
    let mut flags = Vec::new();
    let mut chars = line.char_indices().peekable();
    loop {
        while chars.next_if(|(_, c)| c.is_whitespace()).is_some() {}
        let Some(&(start, _)) = chars.peek() else {
            return (flags, "");
        };
        if !line[start..].starts_with("--") {
            return (flags, &line[start..]);
        }
        let mut word = String::new();
        let mut quote = None;
        loop {
            let Some((pos, c)) = chars.next() else {
                if word != "--" {
                    flags.push(word);
                }
                return (flags, "");
            };
            match quote {
                None if c.is_whitespace() => {
                    if word == "--" {
                        return (flags, &line[pos..]);
                    }
                    flags.push(word);
                    break;
                }
                None if c == '\'' || c == '"' => quote = Some(c),
                Some(q) if c == q => quote = None,
                _ if c == escape => match chars.next() {
                    Some((_, escaped)) => word.push(escaped),
                    // An escape at the end is dropped, closing any quote.
                    None => quote = None,
                },
                _ => word.push(c),
            }
        }
    }
}

/// Whitespace-separated words, as written (`FROM`, `EXPOSE`, and `COPY`/`ADD`/`VOLUME` when not
/// JSON).
fn words(rest: &str) -> Vec<String> {
    rest.split(is_separator)
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

/// Words that may be quoted (`ARG`, and `ENV`/`LABEL` pairs), with their quotes and escapes kept
/// for expansion to remove later. Whitespace between quotes, or escaped, does not split.
pub(super) fn quoted_words(rest: &str, escape: char) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    // A word made only of quotes (`""`) is still a word.
    let mut quoted = false;
    let mut quote = None;
    let mut chars = rest.chars();
    while let Some(c) = chars.next() {
        if !in_word {
            if c.is_whitespace() {
                continue;
            }
            in_word = true;
        }
        match quote {
            None if c.is_whitespace() => {
                in_word = false;
                if quoted || !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
                quoted = false;
                continue;
            }
            None if c == '\'' || c == '"' => {
                quote = Some(c);
                quoted = true;
            }
            Some(q) if c == q => quote = None,
            _ => {}
        }
        // Single quotes take the escape character literally.
        if c == escape && quote != Some('\'') {
            match chars.next() {
                Some(escaped) => {
                    word.push(c);
                    word.push(escaped);
                }
                None => quote = None,
            }
            continue;
        }
        word.push(c);
    }
    if in_word && (quoted || !word.is_empty()) {
        words.push(word);
    }
    words
}

/// `rest` as a JSON array of strings; `None` if it is not JSON at all. JSON with anything but
/// strings is an error rather than shell form, as in Docker.
fn json(rest: &str) -> Result<Option<Vec<String>>, ErrorKind> {
    let rest = rest.trim_start();
    if !rest.starts_with('[') {
        return Ok(None);
    }
    let Ok(values) = serde_json::from_str::<Vec<serde_json::Value>>(rest) else {
        return Ok(None);
    };
    values
        .into_iter()
        .map(|value| match value {
            serde_json::Value::String(s) => Ok(s),
            _ => Err(ErrorKind::JsonNotStrings),
        })
        .collect::<Result<_, _>>()
        .map(Some)
}

/// Exec form (JSON) or shell form (the whole text as one argument).
fn maybe_json(rest: &str) -> Result<Args, ErrorKind> {
    if rest.is_empty() {
        return Ok(Args::Words(Vec::new()));
    }
    Ok(match json(rest)? {
        Some(values) => Args::Json(values),
        None => Args::Words(vec![rest.to_string()]),
    })
}

/// JSON, or whitespace-separated words.
fn maybe_json_or_words(rest: &str) -> Result<Args, ErrorKind> {
    Ok(match json(rest)? {
        Some(values) => Args::Json(values),
        None => Args::Words(words(rest)),
    })
}

/// `ENV`/`LABEL`: `name=value ...`, or the legacy `name value with spaces` when the first word
/// has no `=`.
fn name_values(rest: &str, instruction: &'static str, escape: char) -> Result<Args, ErrorKind> {
    let words = quoted_words(rest, escape);
    let Some(first) = words.first() else {
        return Ok(Args::Pairs(Vec::new()));
    };
    if !first.contains('=') {
        let (name, value) = split_first_word(rest);
        if value.is_empty() {
            return Err(ErrorKind::MissingValue(instruction));
        }
        return Ok(Args::Pairs(vec![NameValue {
            name: name.to_string(),
            value: value.to_string(),
            legacy: true,
        }]));
    }
    words
        .into_iter()
        .map(|word| match word.split_once('=') {
            Some((name, value)) => Ok(NameValue {
                name: name.to_string(),
                value: value.to_string(),
                legacy: false,
            }),
            None => Err(ErrorKind::MissingEquals(word)),
        })
        .collect::<Result<_, _>>()
        .map(Args::Pairs)
}

/// `HEALTHCHECK`: the type (`CMD`, `NONE`), then a command in exec or shell form.
fn healthcheck(rest: &str) -> Result<Args, ErrorKind> {
    let sep = rest.find(char::is_whitespace).unwrap_or(rest.len());
    if sep == 0 {
        return Ok(Args::Words(Vec::new()));
    }
    let kind = rest[..sep].to_string();
    Ok(match maybe_json(rest[sep..].trim_start())? {
        Args::Json(command) => Args::Json(std::iter::once(kind).chain(command).collect()),
        Args::Words(command) => Args::Words(std::iter::once(kind).chain(command).collect()),
        other => other,
    })
}
