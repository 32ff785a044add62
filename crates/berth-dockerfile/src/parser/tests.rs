use std::path::{Path, PathBuf};

use super::*;

fn parse(text: &str) -> Dockerfile {
    Dockerfile::parse("Dockerfile", text).unwrap()
}

fn fixtures(dir: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/buildkit")
        .join(dir)
}

/// Go's `strconv.Quote`.
fn quote(s: &str) -> String {
    let mut out = String::from('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\x07' => out.push_str("\\a"),
            '\x08' => out.push_str("\\b"),
            '\x0c' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\x0b' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c == '\x7f' => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// BuildKit's `Node.Dump`: `(keyword ["flags"] "arg" ...)`, pairs as `"name" "value" "="`.
fn dump(node: &Node) -> String {
    let mut out = node.keyword.to_lowercase();
    if !node.flags.is_empty() {
        let flags: Vec<String> = node.flags.iter().map(|f| quote(f)).collect();
        out += &format!(" [{}]", flags.join(" "));
    }
    match &node.args {
        Args::Words(args) | Args::Json(args) => {
            for arg in args {
                out += &format!(" {}", quote(arg));
            }
        }
        Args::Pairs(pairs) => {
            for pair in pairs {
                let sep = if pair.legacy { "" } else { "=" };
                out += &format!(
                    " {} {} {}",
                    quote(&pair.name),
                    quote(&pair.value),
                    quote(sep)
                );
            }
        }
        Args::Trigger(trigger) => out += &format!(" ({})", dump(trigger)),
    }
    out
}

/// Every input/result pair of BuildKit's `parser/testfiles`.
#[test]
fn buildkit_testfiles() {
    let mut count = 0;
    for entry in std::fs::read_dir(fixtures("parser")).unwrap() {
        let dir = entry.unwrap().path();
        let text = std::fs::read_to_string(dir.join("Dockerfile")).unwrap();
        let expected = std::fs::read_to_string(dir.join("result")).unwrap();
        let parsed = Dockerfile::parse("Dockerfile", &text)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        let dumped: String = parsed
            .nodes
            .iter()
            .map(|n| format!("({})\n", dump(n)))
            .collect();
        assert_eq!(dumped, expected, "{}", dir.display());
        count += 1;
    }
    assert_eq!(count, 33);
}

/// BuildKit's `parser/testfiles-negative`.
#[test]
fn buildkit_negative_testfiles() {
    for entry in std::fs::read_dir(fixtures("parser-negative")).unwrap() {
        let dir = entry.unwrap().path();
        let text = std::fs::read_to_string(dir.join("Dockerfile")).unwrap();
        assert!(
            Dockerfile::parse("Dockerfile", &text).is_err(),
            "{}",
            dir.display()
        );
    }
}

/// BuildKit's `TestParseIncludesLineNumbers`: continuations with blank lines, comment lines.
#[test]
fn buildkit_line_numbers() {
    let text = std::fs::read_to_string(fixtures("parser-line/Dockerfile")).unwrap();
    let lines: Vec<(usize, usize)> = parse(&text)
        .nodes
        .iter()
        .map(|n| (n.location.start_line, n.location.end_line))
        .collect();
    assert_eq!(lines, [(5, 5), (11, 12), (17, 31)]);
}

#[test]
fn negative_messages() {
    let err = |text: &str| {
        Dockerfile::parse("Dockerfile", text)
            .unwrap_err()
            .to_string()
    };
    assert_eq!(err(""), "Dockerfile: file with no instructions");
    assert_eq!(
        err("# only\n\n# comments\n"),
        "Dockerfile: file with no instructions"
    );
    assert_eq!(
        err("FROM busybox\n\nENV PATH\n"),
        "Dockerfile line 3: ENV: ENV must have two arguments"
    );
    assert_eq!(
        err("CMD [ \"echo\", [ \"nested json\" ] ]"),
        "Dockerfile line 1: CMD: when using JSON array syntax, arrays must be comprised of \
         strings only"
    );
    assert_eq!(
        err("FROM a\nENV a=b c\n"),
        "Dockerfile line 2: ENV: Syntax error - can't find = in \"c\". Must be of the form: \
         name=value"
    );
}

/// BuildKit's `TestParseExtractsHeredoc`.
#[test]
fn buildkit_heredocs() {
    let text = "
FROM alpine:3.6

ENV NAME=me

RUN ls

USER <<INVALID
INVALID

RUN <<EMPTY
EMPTY

RUN 3<<EMPTY2
EMPTY2

RUN \"<<NOHEREDOC\"

RUN <<INDENT
\tfoo
\tbar
INDENT

RUN <<-UNINDENT
\tbaz
\tquux
UNINDENT

RUN <<-UNINDENT2
\tbaz
\tquux
\tUNINDENT2

RUN <<-EXPAND
\texpand $NAME
EXPAND

RUN <<-'NOEXPAND'
\tdon't expand $NAME
NOEXPAND

RUN <<COPY
echo hello world
echo foo bar
COPY

RUN <<COMMENT
# internal comment
echo hello world
echo foo bar # trailing comment
COMMENT

RUN --mount=type=cache,target=/foo <<MOUNT
echo hello
MOUNT

COPY <<FILE1 <<FILE2 /dest
content 1
FILE1
content 2
FILE2

COPY <<EOF /quotes
\"foo\"
'bar'
EOF

COPY <<X <<Y /dest
Y
X
X
Y

RUN <<COMPLEX python3
print('hello world')
COMPLEX

COPY <<file.txt /dest
hello world
file.txt

RUN <<eo'f'
echo foo
eof

RUN <<eo\\'f
echo foo
eo'f

RUN <<'e'o\\'f
echo foo
eo'f

RUN <<'one two'
echo bar
one two

RUN <<$EOF
$EOF

RUN <<  EOF
EOF

RUN <<  EOF  > foo
EOF
\t";
    // (name, content, expand, chomp, fd) per node after FROM.
    type Doc = (&'static str, &'static str, bool, bool, u32);
    let expected: &[&[Doc]] = &[
        &[],
        &[],
        &[],
        &[],
        &[("EMPTY", "", true, false, 0)],
        &[("EMPTY2", "", true, false, 3)],
        &[],
        &[("INDENT", "\tfoo\n\tbar\n", true, false, 0)],
        &[("UNINDENT", "\tbaz\n\tquux\n", true, true, 0)],
        &[("UNINDENT2", "\tbaz\n\tquux\n", true, true, 0)],
        &[("EXPAND", "\texpand $NAME\n", true, true, 0)],
        &[("NOEXPAND", "\tdon't expand $NAME\n", false, true, 0)],
        &[("COPY", "echo hello world\necho foo bar\n", true, false, 0)],
        &[(
            "COMMENT",
            "# internal comment\necho hello world\necho foo bar # trailing comment\n",
            true,
            false,
            0,
        )],
        &[("MOUNT", "echo hello\n", true, false, 0)],
        &[
            ("FILE1", "content 1\n", true, false, 0),
            ("FILE2", "content 2\n", true, false, 0),
        ],
        &[("EOF", "\"foo\"\n'bar'\n", true, false, 0)],
        &[("X", "Y\n", true, false, 0), ("Y", "X\n", true, false, 0)],
        &[("COMPLEX", "print('hello world')\n", true, false, 0)],
        &[("file.txt", "hello world\n", true, false, 0)],
        &[("eof", "echo foo\n", false, false, 0)],
        &[("eo'f", "echo foo\n", true, false, 0)],
        &[("eo'f", "echo foo\n", false, false, 0)],
        &[("one two", "echo bar\n", false, false, 0)],
        &[("$EOF", "", true, false, 0)],
        &[("EOF", "", true, false, 0)],
        &[("EOF", "", true, false, 0)],
    ];
    let parsed = parse(text);
    // `USER <<INVALID` has no heredoc, so `INVALID` is an instruction of its own.
    assert_eq!(parsed.nodes.len(), expected.len() + 1);
    for (node, docs) in parsed.nodes[1..].iter().zip(expected) {
        let got: Vec<Doc> = node
            .heredocs
            .iter()
            .map(|h| {
                let leak = |s: &str| &*Box::leak(s.to_string().into_boxed_str());
                (leak(&h.name), leak(&h.content), h.expand, h.chomp, h.fd)
            })
            .collect();
        assert_eq!(got, *docs, "{}", node.original);
    }
}

/// BuildKit's `TestParseJSONHeredoc`: no heredocs in exec form.
#[test]
fn json_form_has_no_heredocs() {
    let parsed = parse("FROM alpine:3.6\nRUN [\"whoami\"]\nRUN [\"<<EOF\"]\nRUN [\"<<'EOF'\"]\n");
    assert!(parsed.nodes.iter().all(|n| n.heredocs.is_empty()));
    assert_eq!(parsed.nodes.len(), 4);
}

/// BuildKit's `TestParseWords`.
#[test]
fn quoted_words() {
    let cases: &[(&str, &[&str])] = &[
        ("foo", &["foo"]),
        ("foo bar", &["foo", "bar"]),
        ("foo\\ bar", &["foo\\ bar"]),
        ("foo=bar", &["foo=bar"]),
        ("foo bar 'abc xyz'", &["foo", "bar", "'abc xyz'"]),
        ("foo bar \"abc xyz\"", &["foo", "bar", "\"abc xyz\""]),
        ("àöû", &["àöû"]),
        ("föo bàr \"âbc xÿz\"", &["föo", "bàr", "\"âbc xÿz\""]),
        ("a=\"\" b=''", &["a=\"\"", "b=''"]),
        ("'' x", &["''", "x"]),
    ];
    for (input, expected) in cases {
        assert_eq!(line::quoted_words(input, '\\'), *expected, "{input}");
    }
}

/// BuildKit's `TestParseWarnsOnEmptyContinutationLine`.
#[test]
fn empty_continuation_lines_warn() {
    let text = "
FROM alpine:3.6

RUN valid \\
    continuation

RUN something \\

    following \\

    more

RUN another \\

    thing

RUN non-indented \\
# this is a comment
   after-comment

RUN indented \\
    # this is an indented comment
    comment
\t";
    let parsed = parse(text);
    let messages: Vec<&str> = parsed.warnings.iter().map(|w| w.message.as_str()).collect();
    assert_eq!(
        messages,
        [
            "Empty continuation line found in: RUN something     following     more",
            "Empty continuation line found in: RUN another     thing",
        ]
    );
    assert_eq!(parsed.warnings[0].line, 11);
    let originals: Vec<&str> = parsed.nodes.iter().map(|n| n.original.as_str()).collect();
    assert_eq!(originals[4], "RUN non-indented    after-comment");
    assert_eq!(originals[5], "RUN indented     comment");
}

#[test]
fn original_text_is_the_joined_line() {
    // The reference's `escape` example: a Windows path ending in `\` continues the line.
    // (Its `c:\\` variant no longer does: BuildKit reads an escaped escape character.)
    let parsed = parse("FROM microsoft/nanoserver\nCOPY testfile.txt c:\\\nRUN dir c:\\\n");
    assert_eq!(parsed.nodes.len(), 2);
    assert_eq!(parsed.nodes[1].original, "COPY testfile.txt c:RUN dir c:");
    let parsed =
        parse("# escape=`\n\nFROM microsoft/nanoserver\nCOPY testfile.txt c:\\\nRUN dir c:\\\n");
    assert_eq!(parsed.directives.escape, '`');
    let originals: Vec<&str> = parsed.nodes.iter().map(|n| n.original.as_str()).collect();
    assert_eq!(
        originals,
        [
            "FROM microsoft/nanoserver",
            "COPY testfile.txt c:\\",
            "RUN dir c:\\"
        ]
    );
    let parsed = parse("  RUN apt-get update && \\\n    apt-get install -y x   \n");
    assert_eq!(
        parsed.nodes[0].original,
        "RUN apt-get update &&     apt-get install -y x   "
    );
    assert_eq!(
        parsed.nodes[0].location,
        Location {
            start_line: 1,
            end_line: 2
        }
    );
}

#[test]
fn directives() {
    let parsed =
        parse("# syntax = docker/dockerfile:1\n#  ESCAPE=`\n#check=skip=all;error=true\nFROM a\n");
    assert_eq!(
        parsed.directives.syntax.as_deref(),
        Some("docker/dockerfile:1")
    );
    assert_eq!(parsed.directives.escape, '`');
    assert_eq!(
        parsed.directives.check.as_deref(),
        Some("skip=all;error=true")
    );
    assert!(parsed.nodes[0].comments.is_empty());

    // Reference: all of these are the same directive.
    for line in [
        "#escape=`",
        "# escape =`",
        "#\tescape= `",
        "# escape = `",
        "#\t  eScApE=`",
    ] {
        assert_eq!(
            parse(&format!("{line}\nFROM a\n")).directives.escape,
            '`',
            "{line}"
        );
    }
    // After a comment, an empty line or an instruction, directives are plain comments.
    for text in [
        "# About my dockerfile\n# escape=`\nFROM a\n",
        "\n# escape=`\nFROM a\n",
        "FROM a\n# escape=`\n",
        "# unknowndirective=value\n# escape=`\nFROM a\n",
        "# direc \\\ntive=value\n# escape=`\nFROM a\n",
    ] {
        assert_eq!(parse(text).directives, Directives::default(), "{text}");
    }
    let err = Dockerfile::parse("Dockerfile", "# escape=`\n# Escape=\\\nFROM a\n").unwrap_err();
    assert_eq!(
        err.to_string(),
        "Dockerfile line 2: only one escape parser directive can be used"
    );
    let err = Dockerfile::parse("x", "# escape=x\nFROM a\n").unwrap_err();
    assert_eq!(
        err.to_string(),
        "x line 1: invalid escape token 'x' does not match ` or \\"
    );
    // A byte-order mark does not hide the first directive.
    assert_eq!(parse("\u{feff}# escape=`\nFROM a\n").directives.escape, '`');
}

#[test]
fn comments_are_kept_for_doc_comments() {
    let parsed =
        parse("# syntax=x\n# foo sets foo\nARG foo=bar\n\n#\n# base stage\nFROM busybox AS base\n");
    assert_eq!(parsed.nodes[0].comments, ["foo sets foo"]);
    assert_eq!(parsed.nodes[1].comments, ["base stage"]);
}

#[test]
fn flags_before_arguments() {
    let node = &parse("COPY --chown=\"a b\" --from='x' --link -- --not-a-flag /d\n").nodes[0];
    assert_eq!(node.flags, ["--chown=a b", "--from=x", "--link"]);
    assert_eq!(
        node.args,
        Args::Words(vec!["--not-a-flag".into(), "/d".into()])
    );
    let node = &parse("RUN --mount=type=secret,id=a\\ b echo --x\n").nodes[0];
    assert_eq!(node.flags, ["--mount=type=secret,id=a b"]);
    assert_eq!(node.args, Args::Words(vec!["echo --x".into()]));
    let node = &parse("FROM --platform=$BUILDPLATFORM golang:1 AS build\n").nodes[0];
    assert_eq!(node.flags, ["--platform=$BUILDPLATFORM"]);
    assert_eq!(
        node.args,
        Args::Words(vec!["golang:1".into(), "AS".into(), "build".into()])
    );
}

#[test]
fn instruction_keywords_are_case_insensitive() {
    let parsed = parse("from a\nrUn echo hi\nenv A=1\ncopy [\"a\", \"b\"]\n");
    assert_eq!(parsed.nodes[1].args, Args::Words(vec!["echo hi".into()]));
    assert!(matches!(&parsed.nodes[2].args, Args::Pairs(p) if p[0].name == "A"));
    assert_eq!(
        parsed.nodes[3].args,
        Args::Json(vec!["a".into(), "b".into()])
    );
}

#[test]
fn invalid_json_is_shell_form() {
    let parsed = parse("CMD [\"a\", 'b']\nCMD [\"a\"] x\nENTRYPOINT []\n");
    assert_eq!(
        parsed.nodes[0].args,
        Args::Words(vec!["[\"a\", 'b']".into()])
    );
    assert_eq!(parsed.nodes[1].args, Args::Words(vec!["[\"a\"] x".into()]));
    assert_eq!(parsed.nodes[2].args, Args::Json(vec![]));
}

#[test]
fn onbuild_triggers_and_their_heredocs() {
    let parsed = parse("ONBUILD RUN --network=none <<EOF\necho hi\nEOF\nONBUILD\n");
    let node = &parsed.nodes[0];
    let Args::Trigger(trigger) = &node.args else {
        panic!("{node:?}")
    };
    assert_eq!(trigger.keyword, "RUN");
    assert_eq!(trigger.flags, ["--network=none"]);
    assert_eq!(node.heredocs[0].content, "echo hi\n");
    assert_eq!(
        node.location,
        Location {
            start_line: 1,
            end_line: 3
        }
    );
    assert_eq!(parsed.nodes[1].args, Args::Words(vec![]));
}

#[test]
fn heredocs_only_after_run_copy_add() {
    let parsed = parse("RUN cat <<EOF\nx\nEOF\nENV A=<<EOF\nLABEL B=c\n");
    assert_eq!(parsed.nodes.len(), 3);
    assert!(parsed.nodes[1].heredocs.is_empty());
    let parsed = parse("ADD <<-EOF /x\n\t\tone\n\ttwo\n\tEOF\n");
    let doc = &parsed.nodes[0].heredocs[0];
    assert_eq!(doc.content, "\t\tone\n\ttwo\n");
    assert_eq!(doc.chomped(), "one\ntwo\n");
}

#[test]
fn unterminated_heredoc() {
    let err = Dockerfile::parse("Dockerfile.dev", "FROM a\n\nRUN <<EOF\necho\n").unwrap_err();
    assert_eq!(
        err.to_string(),
        "Dockerfile.dev line 3: RUN: unterminated heredoc \"EOF\""
    );
    assert_eq!(
        format!("{err:#}"),
        "Dockerfile.dev:3: RUN: unterminated heredoc \"EOF\""
    );
    assert_eq!(
        (err.file(), err.line(), err.instruction()),
        (Some("Dockerfile.dev"), Some(3), Some("RUN"))
    );
    assert_eq!(err.kind(), &ErrorKind::UnterminatedHeredoc("EOF".into()));
}

#[test]
fn crlf_line_endings() {
    let parsed = parse("FROM a\r\nRUN echo a \\\r\n  b\r\nRUN <<EOF\r\nx\r\nEOF\r\n");
    assert_eq!(parsed.nodes[1].original, "RUN echo a   b");
    assert_eq!(parsed.nodes[2].heredocs[0].content, "x\r\n");
}

#[test]
fn escaped_escape_is_not_a_continuation() {
    let parsed = parse("RUN echo \\\\\nRUN x\\\n\nRUN y\n");
    assert_eq!(parsed.nodes[0].original, "RUN echo \\\\");
    assert_eq!(parsed.nodes[1].original, "RUN xRUN y");
}
