use super::*;

/// BuildKit's `TestParseHeredocHelpers`.
#[test]
fn heredoc_words() {
    for word in [
        "<<EOF",
        "<<'EOF'",
        "<<\"EOF\"",
        "<<-EOF",
        "<<-'EOF'",
        "<<-\"EOF\"",
        "<<EO\"F\"",
        "<< EOF",
        "<<- EOF",
    ] {
        assert_eq!(parse(word).unwrap().unwrap().name, "EOF", "{word}");
    }
    for word in ["<<'EOF", "<<\"EOF", "<<EOF'", "<<EOF\""] {
        assert!(parse(word).is_err(), "{word}");
    }
    for word in ["", "EOF", "<<", "<<-", "<EOF", "<<<EOF", "<<EOF sh"] {
        assert_eq!(parse(word).unwrap(), None, "{word}");
    }
}

/// BuildKit's `TestHeredocsFromLine`.
#[test]
fn heredocs_in_a_line() {
    let names = |line: &str| -> Vec<String> {
        in_line(line).unwrap().into_iter().map(|h| h.name).collect()
    };
    assert_eq!(names("RUN <<EOF"), ["EOF"]);
    assert_eq!(names("RUN <<-EOF"), ["EOF"]);
    assert_eq!(names("RUN << -EOF"), ["-EOF"]);
    assert_eq!(names("RUN <<'EOF'"), ["EOF"]);
    assert_eq!(names("RUN 4<<EOF"), ["EOF"]);
    assert_eq!(names("RUN <<EOF <<EOF2"), ["EOF", "EOF2"]);
    assert!(names("RUN '<<EOF'").is_empty());
    assert!(names("RUN \"<<EOF\"").is_empty());
    assert!(names("RUN echo 'unterminated <<EOF").is_empty());
}
