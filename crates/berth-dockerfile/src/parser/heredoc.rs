//! Heredoc words (`<<EOF`, `<<-EOF`, `3<<'EOF'`) in a `RUN`, `COPY` or `ADD` line. BuildKit
//! finds them by lexing the whole line with quotes and escapes kept, then reads each candidate
//! word with and without quotes: a delimiter with any quoted part disables expansion of the
//! content.

use super::Heredoc;
use crate::error::ErrorKind;
use crate::expand::Lexer;

/// Heredocs read nothing from the environment while they are being found.
fn no_env(_: &str) -> Option<String> {
    None
}

/// The heredocs announced in `line`, in order, with empty content.
pub(super) fn in_line(line: &str) -> Result<Vec<Heredoc>, ErrorKind> {
    // A line that does not lex (an open quote) announces nothing, as in BuildKit.
    let words = Lexer::heredoc_line()
        .expand_words(line, &no_env)
        .map(|expansion| expansion.value)
        .unwrap_or_default();
    words
        .iter()
        .filter_map(|word| parse(word).transpose())
        .collect()
}

/// The heredoc a word announces (`[n]<<[-]delimiter`), if it is one.
pub(crate) fn parse(word: &str) -> Result<Option<Heredoc>, ErrorKind> {
    let digits = word.len() - word.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    let Some(rest) = word[digits..].strip_prefix("<<") else {
        return Ok(None);
    };
    let (chomp, rest) = match rest.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, rest),
    };
    let rest = rest.trim_start_matches([' ', '\t', '\n', '\x0c', '\r']);
    if rest.is_empty() || rest.contains('<') {
        return Ok(None);
    }
    let unquoted = Lexer::heredoc_word(false)
        .expand_words(rest, &no_env)?
        .value;
    let [name] = unquoted.as_slice() else {
        return Ok(None);
    };
    let raw = Lexer::heredoc_word(true).expand_words(rest, &no_env)?.value;
    let [raw] = raw.as_slice() else {
        return Err(ErrorKind::InconsistentHeredoc(rest.to_string()));
    };
    let quotes = |s: &str| s.matches(['\'', '"']).count();
    Ok(Some(Heredoc {
        name: name.clone(),
        fd: word[..digits].parse().unwrap_or(0),
        expand: quotes(name) == quotes(raw),
        chomp,
        content: String::new(),
    }))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
