//! Whole-crate properties: arbitrary input never panics, and the work grows linearly with the
//! input (1 MB continuations, heredocs, lines and words).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use proptest::prelude::*;

use crate::{predefined_args, Dockerfile, Expander, Lexer, Platform};

/// Everything a builder would do with a Dockerfile, short of running it.
fn exercise(text: &str) {
    let Ok(dockerfile) = Dockerfile::parse("Dockerfile", text) else {
        return;
    };
    let env: BTreeMap<String, String> = [("A", "x y"), ("B", ""), ("C", "a*b?c")]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    if let Ok(instructions) = dockerfile.instructions() {
        for instruction in &instructions {
            let mut ex = Expander::new(dockerfile.lexer(), &env);
            if let Ok(expanded) = instruction.expand(&mut ex) {
                if let crate::InstructionKind::Run(run) = &expanded.kind {
                    run.mounts.iter().for_each(|m| drop(m.to_mount()));
                }
            }
            if let crate::InstructionKind::Onbuild(onbuild) = &instruction.kind {
                drop(onbuild.trigger());
            }
        }
    }
    if let Ok(stages) = dockerfile.stages() {
        let host = Platform::host();
        if let Ok(graph) = stages.resolve(&env, &predefined_args(&host, &host)) {
            drop(graph.needed(None));
            drop(graph.needed(Some("a")));
        }
    }
}

/// Lines that look like Dockerfile lines, with the characters the lexers care about.
fn dockerfile_text() -> impl Strategy<Value = String> {
    let keyword = prop_oneof![
        Just("FROM"),
        Just("RUN"),
        Just("CMD"),
        Just("ENTRYPOINT"),
        Just("COPY"),
        Just("ADD"),
        Just("ENV"),
        Just("ARG"),
        Just("LABEL"),
        Just("EXPOSE"),
        Just("VOLUME"),
        Just("USER"),
        Just("WORKDIR"),
        Just("ONBUILD"),
        Just("STOPSIGNAL"),
        Just("HEALTHCHECK"),
        Just("SHELL"),
        Just("MAINTAINER"),
        Just("#"),
        Just("# escape=`"),
        Just("EOF"),
        Just(""),
    ];
    let tail = "[ a-zA-Z0-9$@{}:?#%/\\\\\"'<>=\\-\\[\\],`\t\r*.\u{e9}]{0,40}";
    let line = prop_oneof![
        4 => (keyword, tail).prop_map(|(k, t)| format!("{k} {t}")),
        1 => "\\PC{0,40}",
        1 => Just("RUN <<EOF".to_string()),
        1 => Just("COPY --from=0 <<-'X' /d".to_string()),
        1 => Just("RUN --mount=type=cache,target=$A,from=x true".to_string()),
        1 => Just("FROM a AS x".to_string()),
    ];
    prop::collection::vec(line, 0..16).prop_map(|lines| lines.join("\n"))
}

proptest! {
    #[test]
    fn parsing_never_panics(text in dockerfile_text()) {
        exercise(&text);
    }

    #[test]
    fn parsing_any_text_never_panics(text in "\\PC{0,200}") {
        exercise(&text);
    }

    #[test]
    fn expanding_never_panics(word in "[ a-zA-Z0-9$@{}:?#%/\\\\\"'<=\\-+*`\u{e9}]{0,60}") {
        let env: BTreeMap<String, String> = [("a", "xa*b"), ("b", ""), ("ab", "a b")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        for escape in ['\\', '`'] {
            let lexer = Lexer::new(escape);
            drop(lexer.expand_word(&word, &env));
            drop(lexer.expand_words(&word, &env));
        }
        drop(Lexer::heredoc_content().expand_word(&word, &env));
    }
}

const MB: usize = 1 << 20;

/// Runs `f` on `text` and checks it took a time linear work would: a quadratic pass over
/// 1 MB is ~10^12 steps, far beyond this bound even in a release build.
fn linear(what: &str, text: &str, f: impl FnOnce(&str)) {
    assert!(text.len() >= MB, "{what}: {} bytes", text.len());
    let start = Instant::now();
    f(text);
    let took = start.elapsed();
    assert!(took < Duration::from_secs(20), "{what}: {took:?}");
}

fn parse_ok(text: &str) {
    let dockerfile = Dockerfile::parse("Dockerfile", text).unwrap();
    dockerfile.instructions().unwrap();
}

#[test]
fn huge_continuation_is_linear() {
    let mut text = String::from("FROM a\nRUN true \\\n");
    while text.len() < MB {
        text.push_str("  && echo $HOME 'x y' \"z\" \\\n# a comment inside\n\n");
    }
    text.push_str("  && true\n");
    linear("continuation", &text, parse_ok);
}

#[test]
fn huge_heredoc_is_linear() {
    let mut text = String::from("FROM a\nCOPY <<-EOF <<'RAW' /dst/\n");
    while text.len() < MB {
        text.push_str("\techo \"${HOME:-/root}\" $PATH <<EOF\n");
    }
    text.push_str("EOF\nraw\nRAW\n");
    linear("heredoc", &text, |text| {
        let dockerfile = Dockerfile::parse("Dockerfile", text).unwrap();
        let instructions = dockerfile.instructions().unwrap();
        let env = BTreeMap::from([("HOME".to_string(), "/home/me".to_string())]);
        let mut ex = Expander::new(dockerfile.lexer(), &env);
        instructions[1].expand(&mut ex).unwrap();
    });
}

#[test]
fn huge_line_is_linear() {
    let mut text = String::from("FROM a\nENV ");
    let mut i = 0;
    while text.len() < MB {
        text.push_str(&format!("k{i}=\"v a\\\"l\" "));
        i += 1;
    }
    text.push_str("\nRUN ");
    text.push_str(&"<<A ".repeat(MB / 16));
    text.push_str("\nA\n");
    linear("line", &text, |text| {
        drop(Dockerfile::parse("Dockerfile", text))
    });
    linear("env", &text, |text| {
        let end = text.find("\nRUN").unwrap();
        parse_ok(&text[..end]);
    });
}

#[test]
fn many_instructions_are_linear() {
    let mut text = String::from("ARG V=1\nFROM a:$V AS s0\n");
    let mut i = 1;
    while text.len() < MB {
        text.push_str(&format!(
            "FROM s{} AS s{i}\nCOPY --from=s0 /a /b\nRUN echo {i}\n",
            i - 1
        ));
        i += 1;
    }
    linear("stages", &text, |text| {
        let stages = Dockerfile::parse("Dockerfile", text)
            .unwrap()
            .stages()
            .unwrap();
        let graph = stages.resolve(&BTreeMap::new(), &BTreeMap::new()).unwrap();
        assert_eq!(graph.needed(None).unwrap().len(), i);
    });
}

#[test]
fn huge_words_expand_linearly() {
    let value = "ab".repeat(MB / 2);
    let env = BTreeMap::from([
        ("V".to_string(), value.clone()),
        ("H".to_string(), "/h".to_string()),
    ]);
    let lexer = Lexer::new('\\');
    for word in [
        "${V//a/x}",
        "${V%%*a}",
        "${V#*b}",
        "${V##*b}",
        "${V%b*}",
        "${V/*c/x}",
        "${V//b*c/x}",
    ] {
        linear(word, &value, |_| {
            drop(lexer.expand_word(word, &env).unwrap())
        });
    }
    let word = "$H/x ".repeat(MB / 5 + 1);
    linear("words", &word, |word| {
        assert_eq!(
            lexer.expand_words(word, &env).unwrap().value.len(),
            MB / 5 + 1
        );
    });
}
