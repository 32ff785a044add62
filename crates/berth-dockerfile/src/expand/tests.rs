use std::collections::BTreeMap;

use super::*;

fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn word(word: &str, pairs: &[(&str, &str)]) -> Result<String, ExpandError> {
    Lexer::new('\\')
        .expand_word(word, &env(pairs))
        .map(|e| e.value)
}

fn fixture(name: &str) -> String {
    let path = format!(
        "{}/tests/fixtures/buildkit/shell/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(path).unwrap()
}

/// BuildKit's `envVarTest`: `platform | word | expected` (`error` when it must fail).
#[test]
fn buildkit_env_var_test() {
    let vars = env(&[
        ("PWD", "/home"),
        ("SHELL", "bash"),
        ("KOREAN", "한국어"),
        ("NULL", ""),
    ]);
    let lexer = Lexer::new('\\');
    let mut checked = 0;
    for (n, line) in fixture("envVarTest").lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let parts: Vec<&str> = line.split('|').collect();
        let [platform, source, expected] = parts[..] else {
            panic!("line {}: {line}", n + 1)
        };
        if platform.trim() == "W" {
            continue;
        }
        let (source, expected) = (source.trim(), expected.trim());
        let result = lexer.expand_word(source, &vars);
        if expected == "error" {
            assert!(result.is_err(), "line {}: {source} gave {result:?}", n + 1);
        } else {
            let value = result.unwrap_or_else(|e| panic!("line {}: {source}: {e}", n + 1));
            assert_eq!(value.value, expected, "line {}: {source}", n + 1);
        }
        checked += 1;
    }
    assert!(checked > 200, "{checked}");
}

/// BuildKit's `wordsTest`: `word | expected,words` (`error` when it must fail); `ENV k=v`
/// lines add variables.
#[test]
fn buildkit_words_test() {
    let mut vars = BTreeMap::new();
    let lexer = Lexer::new('\\');
    for (n, line) in fixture("wordsTest").lines().enumerate() {
        if line.starts_with('#') {
            continue;
        }
        if let Some(assignment) = line.strip_prefix("ENV ") {
            let (k, v) = assignment.trim_start().split_once('=').unwrap();
            vars.insert(k.to_string(), v.to_string());
            continue;
        }
        let (source, expected) = line.split_once('|').unwrap();
        let expected: Vec<&str> = expected.trim_start_matches(' ').split(',').collect();
        let words = match lexer.expand_words(source.trim(), &vars) {
            Ok(e) => e.value,
            Err(_) => vec!["error".to_string()],
        };
        assert_eq!(words, expected, "line {}: {source}", n + 1);
    }
}

/// Input, variables, expected value, used names, unset names.
type Case = (
    &'static str,
    &'static [(&'static str, &'static str)],
    &'static str,
    &'static [&'static str],
    &'static [&'static str],
);

/// From BuildKit's `TestProcessWithMatches`: value, used and unset names.
#[test]
fn used_and_unset_names() {
    let cases: &[Case] = &[
        ("x", &[("DUMMY", "dummy")], "x", &[], &[]),
        ("x ${UNUSED}", &[("DUMMY", "dummy")], "x ", &[], &["UNUSED"]),
        ("x ${FOO}", &[("FOO", "y")], "x y", &["FOO"], &[]),
        (
            "${FOO-aaa} ${BAR-bbb} ${BAZ-ccc}",
            &[("FOO", "xxx"), ("BAR", "")],
            "xxx  ccc",
            &["BAR", "FOO"],
            &["BAZ"],
        ),
        (
            "${FOO:-aaa} ${BAR:-bbb} ${BAZ:-ccc}",
            &[("FOO", "xxx"), ("BAR", "")],
            "xxx bbb ccc",
            &["BAR", "FOO"],
            &["BAZ"],
        ),
        ("${FOO:-}", &[], "", &[], &["FOO"]),
        (
            "${FOO+aaa} ${BAR+bbb} ${BAZ+ccc}",
            &[("FOO", "xxx"), ("BAR", "")],
            "aaa bbb ",
            &["BAR", "FOO"],
            &["BAZ"],
        ),
        (
            "${FOO:+aaa} ${BAR:+bbb} ${BAZ:+ccc}",
            &[("FOO", "xxx"), ("BAR", "")],
            "aaa  ",
            &["BAR", "FOO"],
            &["BAZ"],
        ),
        ("${FOO?aaa}", &[("FOO", "xxx")], "xxx", &["FOO"], &[]),
        ("${BAR?bbb}", &[("BAR", "")], "", &["BAR"], &[]),
        ("${FOO:?aaa}", &[("FOO", "xxx")], "xxx", &["FOO"], &[]),
        (
            "${FOO#()[]{\\}^$.\\*\\?|\\\\}",
            &[("FOO", "()[]{}^$.*?|\\x")],
            "x",
            &["FOO"],
            &[],
        ),
        ("${FOO%%\\**}", &[("FOO", "xx**")], "xx", &["FOO"], &[]),
        ("${FOO#*x*y}", &[("FOO", "xxyy")], "y", &["FOO"], &[]),
        ("${FOO#*}", &[("FOO", "xxyy")], "xxyy", &["FOO"], &[]),
        (
            "${FOO#$BAR}",
            &[("FOO", "xxyy"), ("BAR", "x")],
            "xyy",
            &["BAR", "FOO"],
            &[],
        ),
        (
            "${FOO#$BAR}",
            &[("FOO", "xxyy"), ("BAR", "")],
            "xxyy",
            &["BAR", "FOO"],
            &[],
        ),
        ("${FOO#}", &[("FOO", "xxyy")], "xxyy", &["FOO"], &[]),
        ("${FOO##*x}", &[("FOO", "xxyy")], "yy", &["FOO"], &[]),
        ("${FOO##}", &[("FOO", "xxyy")], "xxyy", &["FOO"], &[]),
        ("${FOO#?\\?}", &[("FOO", "???y")], "?y", &["FOO"], &[]),
        (
            "${ABC:-.}${FOO%x}${ABC:-.}",
            &[("FOO", "xxyy")],
            ".xxyy.",
            &["FOO"],
            &["ABC"],
        ),
        ("${FOO%%\\**\\*}", &[("FOO", "a***yy*")], "a", &["FOO"], &[]),
        ("${FOO%}", &[("FOO", "xxyy")], "xxyy", &["FOO"], &[]),
        (
            "${FOO%%$BAR}",
            &[("FOO", "xxyy"), ("BAR", "")],
            "xxyy",
            &["BAR", "FOO"],
            &[],
        ),
        (
            "${FOO/$NEEDLE/.} - ${FOO//$NEEDLE/.}",
            &[("FOO", "/foo*/*/*.txt"), ("NEEDLE", "\\*/")],
            "/foo.*/*.txt - /foo..*.txt",
            &["FOO", "NEEDLE"],
            &[],
        ),
        (
            "${FOO/$NEEDLE/} - ${FOO//$NEEDLE/}",
            &[("FOO", "/tmp/tmp/bar.txt"), ("NEEDLE", "/tmp")],
            "/tmp/bar.txt - /bar.txt",
            &["FOO", "NEEDLE"],
            &[],
        ),
        (
            "${FOO/$NEEDLE/$REPLACEMENT} - ${FOO//$NEEDLE/$REPLACEMENT}",
            &[
                ("FOO", "/a/foo/b/c.txt"),
                ("NEEDLE", "/?/"),
                ("REPLACEMENT", "/"),
            ],
            "/foo/b/c.txt - /foo/c.txt",
            &["FOO", "NEEDLE", "REPLACEMENT"],
            &[],
        ),
        (
            "${FOO/$NEEDLE/$REPLACEMENT}",
            &[
                ("FOO", "http://google.de"),
                ("NEEDLE", "http://"),
                ("REPLACEMENT", "https://"),
            ],
            "https://google.de",
            &["FOO", "NEEDLE", "REPLACEMENT"],
            &[],
        ),
        (
            "${FOO//\\//\\/}",
            &[("FOO", "/tmp/foo.txt")],
            "\\/tmp\\/foo.txt",
            &["FOO"],
            &[],
        ),
        (
            "${FOO/$BAR/ww}",
            &[("FOO", "xxyy"), ("BAR", "")],
            "wwxxyy",
            &["BAR", "FOO"],
            &[],
        ),
        ("${FOO///}", &[("FOO", "xxyy")], "xxyy", &["FOO"], &[]),
        ("${FOO///}", &[], "", &[], &["FOO"]),
    ];
    for (input, vars, expected, used, unset) in cases {
        let e = Lexer::new('\\').expand_word(input, &env(vars)).unwrap();
        assert_eq!(e.value, *expected, "{input}");
        assert_eq!(e.used.iter().collect::<Vec<_>>(), *used, "{input}");
        assert_eq!(e.unset.iter().collect::<Vec<_>>(), *unset, "{input}");
    }
}

#[test]
fn invalid_modifiers_and_patterns_are_errors() {
    let vars = [("FOO", "xxyy"), ("BAR", "")];
    for input in [
        "${BAZ?ccc}",
        "${BAR:?bbb}",
        "${BAZ:?ccc}",
        "${BAZ:?}",
        "${FOO=aaa}",
        "${FOO=:aaa}",
        "${FOO=}",
        "${FOO:#}",
        "${FOO:##}",
        "${FOO:%}",
        "${FOO:%%}",
        "${FOO//ww}",
        "${FOO//}",
        "${FOO#\\x}",
        "${FOO#\\}",
    ] {
        assert!(word(input, &vars).is_err(), "{input}");
    }
}

/// BuildKit's `TestShellParserMandatoryEnvVars`: the message of `${v?msg}` is expanded too.
#[test]
fn required_variables() {
    let set = [("VAR", "plain"), ("ARG", "x")];
    let empty = [("VAR", ""), ("ARG", "x")];
    let unset = [("ARG", "x")];
    let no_empty = "${VAR:?message here$ARG}";
    let no_unset = "${VAR?message here$ARG}";

    assert_eq!(word(no_empty, &set).unwrap(), "plain");
    let err = word(no_empty, &empty).unwrap_err();
    assert_eq!(
        err.to_string(),
        "failed to process \"${VAR:?message here$ARG}\": VAR: message herex"
    );
    assert!(word(no_empty, &unset)
        .unwrap_err()
        .to_string()
        .contains("message herex"));

    assert_eq!(word(no_unset, &set).unwrap(), "plain");
    assert_eq!(word(no_unset, &empty).unwrap(), "");
    assert!(word(no_unset, &unset)
        .unwrap_err()
        .to_string()
        .contains("message herex"));

    let err = word("${X:?}", &[]).unwrap_err();
    assert_eq!(err.kind.to_string(), "X: is not allowed to be unset");
    let err = word("${X:?}", &[("X", "")]).unwrap_err();
    assert_eq!(err.kind.to_string(), "X: is not allowed to be empty");
}

/// The examples of the Dockerfile reference's "Environment replacement".
#[test]
fn reference_examples() {
    let vars = [("str", "foobarbaz")];
    assert_eq!(word("${str#f*b}", &vars).unwrap(), "arbaz");
    assert_eq!(word("${str##f*b}", &vars).unwrap(), "az");
    assert_eq!(word("${str%b*}", &vars).unwrap(), "foobar");
    assert_eq!(word("${str%%b*}", &vars).unwrap(), "foo");
    assert_eq!(word("${str/ba/fo}", &vars).unwrap(), "fooforbaz");
    assert_eq!(word("${str//ba/fo}", &vars).unwrap(), "fooforfoz");

    let foo = [("FOO", "/bar")];
    assert_eq!(word("${FOO}", &foo).unwrap(), "/bar");
    assert_eq!(word("$FOO", &foo).unwrap(), "/bar");
    assert_eq!(word("\\$FOO", &foo).unwrap(), "$FOO");
    assert_eq!(word("\\${FOO}", &foo).unwrap(), "${FOO}");
    assert_eq!(word("${FOO}_bar", &foo).unwrap(), "/bar_bar");
    assert_eq!(word("${variable:-word}", &[]).unwrap(), "word");
    assert_eq!(word("${variable-word}", &[("variable", "")]).unwrap(), "");
    assert_eq!(
        word("${variable:+word}", &[("variable", "x")]).unwrap(),
        "word"
    );
    assert_eq!(
        word("${variable+word}", &[("variable", "")]).unwrap(),
        "word"
    );
}

/// From BuildKit's `TestProcessWithMatchesPlatform`.
#[test]
fn platform_file_names() {
    let release =
        "something-${VERSION}.${TARGETOS}-${TARGETARCH}${TARGETVARIANT:+-${TARGETVARIANT}}.tar.gz";
    let base = [("VERSION", "v1.2.3"), ("TARGETOS", "linux")];
    let with = |extra: &[(&'static str, &'static str)]| {
        let mut vars = base.to_vec();
        vars.extend_from_slice(extra);
        word(release, &vars).unwrap()
    };
    assert_eq!(
        with(&[("TARGETARCH", "arm"), ("TARGETVARIANT", "v7")]),
        "something-v1.2.3.linux-arm-v7.tar.gz"
    );
    assert_eq!(
        with(&[("TARGETARCH", "arm64"), ("TARGETVARIANT", "")]),
        "something-v1.2.3.linux-arm64.tar.gz"
    );
    assert_eq!(
        with(&[("TARGETARCH", "arm64")]),
        "something-v1.2.3.linux-arm64.tar.gz"
    );
}

#[test]
fn replace_all_follows_go_for_empty_matches() {
    let vars = [("V", "abc")];
    assert_eq!(word("${V//*/x}", &vars).unwrap(), "x");
    assert_eq!(word("${V///-}", &vars).unwrap(), "-a-b-c-");
    assert_eq!(word("${V//b*/x}", &vars).unwrap(), "ax");
    assert_eq!(word("${V/?/x}", &vars).unwrap(), "xbc");
    assert_eq!(word("${U/*/x}", &vars).unwrap(), "x");
    assert_eq!(word("${V//[/x}", &[("V", "a[b[")]).unwrap(), "axbx");
}

#[test]
fn backtick_escape() {
    let lexer = Lexer::new('`');
    let vars = env(&[("X", "1")]);
    let expand = |w: &str| lexer.expand_word(w, &vars).unwrap().value;
    assert_eq!(expand("c:\\dir\\$X"), "c:\\dir\\1");
    assert_eq!(expand("`$X"), "$X");
    assert_eq!(expand("\"a`\"b\""), "a\"b");
    assert_eq!(lexer.escape(), '`');
    let words = lexer.expand_words("a` b c", &vars).unwrap().value;
    assert_eq!(words, ["a b", "c"]);
}

#[test]
fn words_split_variable_values_but_not_quotes() {
    let vars = env(&[("PORTS", "80/tcp  443"), ("A", "x")]);
    let lexer = Lexer::new('\\');
    let words = |w: &str| lexer.expand_words(w, &vars).unwrap().value;
    assert_eq!(words("$PORTS 8080"), ["80/tcp", "443", "8080"]);
    assert_eq!(words("\"$PORTS\""), ["80/tcp  443"]);
    // Text before and after a `${v:-...}` stays in its word.
    assert_eq!(words("pre${B:-mid}post"), ["premidpost"]);
    assert_eq!(words("pre${A:+y z}post"), ["prey", "zpost"]);
    assert_eq!(words("'' a \"\""), ["a"]);
    let e = lexer.expand_words("$A $B", &vars).unwrap();
    assert_eq!(e.used.iter().collect::<Vec<_>>(), ["A"]);
    assert_eq!(e.unset.iter().collect::<Vec<_>>(), ["B"]);
}

#[test]
fn heredoc_content_keeps_quotes() {
    let vars = env(&[("FOO", "bar")]);
    let e = Lexer::heredoc_content()
        .expand_word("echo \"hello ${FOO}\" 'x' \\$FOO\n", &vars)
        .unwrap();
    assert_eq!(e.value, "echo \"hello bar\" 'x' $FOO\n");
}

#[test]
fn env_from_closure_and_hash_map() {
    let lookup = |name: &str| (name == "A").then(|| "1".to_string());
    assert_eq!(
        Lexer::new('\\').expand_word("$A$B", &lookup).unwrap().value,
        "1"
    );
    let map: std::collections::HashMap<String, String> =
        [("B".to_string(), "2".to_string())].into();
    assert_eq!(
        Lexer::new('\\').expand_word("$A$B", &map).unwrap().value,
        "2"
    );
}

#[test]
fn expander_accumulates_names() {
    let vars = env(&[("A", "1"), ("B", "2")]);
    let mut ex = Expander::new(Lexer::new('\\'), &vars);
    assert_eq!(ex.word("$A").unwrap(), "1");
    assert_eq!(ex.words("$B ${C:-3}").unwrap(), ["2", "3"]);
    assert_eq!(ex.heredoc("$A \"$B\"").unwrap(), "1 \"2\"");
    assert_eq!(ex.used().iter().collect::<Vec<_>>(), ["A", "B"]);
    assert_eq!(ex.unset().iter().collect::<Vec<_>>(), ["C"]);
}

#[test]
fn error_messages() {
    let err = |w: &str| word(w, &[]).unwrap_err().kind.to_string();
    assert_eq!(err("${"), "syntax error: missing '}'");
    assert_eq!(err("${}"), "syntax error: bad substitution");
    assert_eq!(err("${a/b"), "syntax error: missing '/' in ${}");
    assert_eq!(err("${a:=b}"), "unsupported modifier (:=) in substitution");
    assert_eq!(
        err("'abc"),
        "unexpected end of statement while looking for matching single-quote"
    );
    assert_eq!(
        err("\"abc"),
        "unexpected end of statement while looking for matching double-quote"
    );
    assert_eq!(
        err("${a#\\x}"),
        "invalid pattern (\\x) in substitution: invalid escape '\\x'"
    );
    let long = format!("'{}", "x".repeat(1000));
    assert_eq!(word(&long, &[]).unwrap_err().word.chars().count(), 200);
}
