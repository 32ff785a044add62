use proptest::prelude::*;

use super::*;

fn patterns(lines: &[&str]) -> IgnorePatterns {
    IgnorePatterns::parse(&lines.join("\n")).unwrap()
}

fn parse_err(text: &str) -> IgnoreError {
    IgnorePatterns::parse(text).unwrap_err()
}

// ---- reading the file: ignorefile's TestReadAll and its corners ----

#[test]
fn reading_cleans_trims_and_skips_comments() {
    let text = "\u{feff}test1\n/test2\n/a/file/here\n\nlastfile\n# this is a comment\n\
                ! /inverted/abs/path\r\n  # not a comment\n./a/../b/\n!!bang\n\t\n";
    assert_eq!(
        IgnorePatterns::parse(text).unwrap().to_string(),
        "test1\ntest2\na/file/here\nlastfile\n!inverted/abs/path\n# not a comment\nb\n!!bang\n"
    );
    assert_eq!(IgnorePatterns::parse("").unwrap().to_string(), "");
}

#[test]
fn lone_exclamation_is_refused_like_docker() {
    for text in ["!", "! ", "a\n!/", "!/.."] {
        let line = text.lines().count();
        assert_eq!(
            parse_err(text),
            IgnoreError::LoneExclamation { line },
            "{text:?}"
        );
    }
}

#[test]
fn malformed_patterns_are_refused() {
    // Go's filepath.Match errors (patternmatcher's TestMatch), plus a reversed range, which
    // Go's regexp refuses at the first match (moby/moby#52203).
    for bad in [
        "[]a]",
        "[-]",
        "[x-]",
        "[-x]",
        "\\",
        "a\\",
        "[a-b-c]",
        "[",
        "[^",
        "[^bc",
        "a[",
        "[z-a]",
        "[Local-Only]/",
    ] {
        match parse_err(&format!("ok\n{bad}")) {
            IgnoreError::BadPattern { line: 2, .. } => {}
            other => panic!("{bad:?}: {other:?}"),
        }
    }
    let long = "a".repeat(MAX_LINE);
    assert_eq!(
        parse_err(&format!("x\n{long}")),
        IgnoreError::LineTooLong { line: 2 }
    );
    IgnorePatterns::parse(&"a".repeat(MAX_LINE - 1)).unwrap();
    assert_eq!(
        parse_err("[").to_string(),
        "line 1: syntax error in pattern \"[\": unterminated character class"
    );
}

// ---- matching: patternmatcher's TestMatches and TestMatch fixtures ----

const SINGLE: &[(&str, &str, bool)] = &[
    ("**", "file", true),
    ("**", "file/", true),
    ("**/", "file", true),
    ("**/", "file/", true),
    ("**", "/", true),
    ("**/", "/", true),
    ("**", "dir/file", true),
    ("**/", "dir/file", true),
    ("**", "dir/file/", true),
    ("**/", "dir/file/", true),
    ("**/**", "dir/file", true),
    ("**/**", "dir/file/", true),
    ("dir/**", "dir/file", true),
    ("dir/**", "dir/file/", true),
    ("dir/**", "dir/dir2/file", true),
    ("dir/**", "dir/dir2/file/", true),
    ("**/dir", "dir", true),
    ("**/dir", "dir/file", true),
    ("**/dir2/*", "dir/dir2/file", true),
    ("**/dir2/*", "dir/dir2/file/", true),
    ("**/dir2/**", "dir/dir2/dir3/file", true),
    ("**/dir2/**", "dir/dir2/dir3/file/", true),
    ("**file", "file", true),
    ("**file", "dir/file", true),
    ("**/file", "dir/file", true),
    ("**file", "dir/dir/file", true),
    ("**/file", "dir/dir/file", true),
    ("**/file*", "dir/dir/file", true),
    ("**/file*", "dir/dir/file.txt", true),
    ("**/file*txt", "dir/dir/file.txt", true),
    ("**/file*.txt", "dir/dir/file.txt", true),
    ("**/file*.txt*", "dir/dir/file.txt", true),
    ("**/**/*.txt", "dir/dir/file.txt", true),
    ("**/**/*.txt2", "dir/dir/file.txt", false),
    ("**/*.txt", "file.txt", true),
    ("**/**/*.txt", "file.txt", true),
    ("a**/*.txt", "a/file.txt", true),
    ("a**/*.txt", "a/dir/file.txt", true),
    ("a**/*.txt", "a/dir/dir/file.txt", true),
    ("a/*.txt", "a/dir/file.txt", false),
    ("a/*.txt", "a/file.txt", true),
    ("a/*.txt**", "a/file.txt", true),
    ("a[b-d]e", "ae", false),
    ("a[b-d]e", "ace", true),
    ("a[b-d]e", "aae", false),
    ("a[^b-d]e", "aze", true),
    (".*", ".foo", true),
    (".*", "foo", false),
    ("abc.def", "abcdef", false),
    ("abc.def", "abc.def", true),
    ("abc.def", "abcZdef", false),
    ("abc?def", "abcZdef", true),
    ("abc?def", "abcdef", false),
    ("a\\\\", "a\\", true),
    ("**/foo/bar", "foo/bar", true),
    ("**/foo/bar", "dir/foo/bar", true),
    ("**/foo/bar", "dir/dir2/foo/bar", true),
    ("abc/**", "abc", false),
    ("abc/**", "abc/def", true),
    ("abc/**", "abc/def/ghi", true),
    ("**/.foo", ".foo", true),
    ("**/.foo", "bar.foo", false),
    ("a(b)c/def", "a(b)c/def", true),
    ("a(b)c/def", "a(b)c/xyz", false),
    ("a.|)$(}+{bc", "a.|)$(}+{bc", true),
    (
        "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
        "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
        true,
    ),
    (
        "dist/*.whl",
        "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
        true,
    ),
    ("a\\*b", "a*b", true),
    // Go's filepath.Match tests, as patternmatcher runs them.
    ("abc", "abc", true),
    ("*", "abc", true),
    ("*c", "abc", true),
    ("a*", "a", true),
    ("a*", "abc", true),
    ("a*", "ab/c", true),
    ("a*/b", "abc/b", true),
    ("a*/b", "a/c/b", false),
    ("a*b*c*d*e*/f", "axbxcxdxe/f", true),
    ("a*b*c*d*e*/f", "axbxcxdxexxx/f", true),
    ("a*b*c*d*e*/f", "axbxcxdxe/xxx/f", false),
    ("a*b*c*d*e*/f", "axbxcxdxexxx/fff", false),
    ("a*b?c*x", "abxbbxdbxebxczzx", true),
    ("a*b?c*x", "abxbbxdbxebxczzy", false),
    ("ab[c]", "abc", true),
    ("ab[b-d]", "abc", true),
    ("ab[e-g]", "abc", false),
    ("ab[^c]", "abc", false),
    ("ab[^b-d]", "abc", false),
    ("ab[^e-g]", "abc", true),
    ("a\\*b", "ab", false),
    ("a?b", "a☺b", true),
    ("a[^a]b", "a☺b", true),
    ("a???b", "a☺b", false),
    ("a[^a][^a][^a]b", "a☺b", false),
    ("[a-ζ]*", "α", true),
    ("*[a-ζ]", "A", false),
    ("a?b", "a/b", false),
    ("a*b", "a/b", false),
    ("[\\]a]", "]", true),
    ("[\\-]", "-", true),
    ("[x\\-]", "x", true),
    ("[x\\-]", "-", true),
    ("[x\\-]", "z", false),
    ("[\\-x]", "x", true),
    ("[\\-x]", "-", true),
    ("[\\-x]", "a", false),
    ("*x", "xxx", true),
    // The regexp translation's corners, kept.
    ("[!a]", "!", true),
    ("[!a]", "b", false),
    ("a[^x]b", "a/b", true),
    ("**foo", "afoo", true),
    ("*^a", "^a", false),
    ("a^b", "a^b", true),
    ("a]", "a]", true),
    ("x/**/y", "x/a\nb/y", false),
    ("x*y", "x\ny", true),
    ("a**", "abc/d", true),
];

#[test]
fn patternmatcher_fixtures() {
    for &(pattern, path, want) in SINGLE {
        let p = patterns(&[pattern]);
        assert_eq!(p.matches(path), want, "matches({pattern:?}, {path:?})");
        assert_eq!(walk(&p, path), want, "walk({pattern:?}, {path:?})");
    }
}

#[test]
fn exceptions_and_order() {
    let cases: &[(&[&str], &str, bool)] = &[
        (&["**", "!util/docker/web"], "util/docker/web/foo", false),
        (
            &["**", "!util/docker/web", "util/docker/web/foo"],
            "util/docker/web/foo",
            true,
        ),
        (&["**", "!dist/*.whl"], "dist/proxy.py-2.4.0-any.whl", false),
        (&["!fileutils.go", "*.go"], "fileutils.go", true),
        (&["*.go", "!fileutils.go"], "fileutils.go", false),
        (&["docs", "!docs/README.md"], "docs/README.md", false),
        (&["docs/", "!docs/README.md"], "docs/README.md", false),
        (&["docs/*", "!docs/README.md"], "docs/README.md", false),
        (&["docs", "!docs/README.md"], "docs/other.md", true),
        (&["*.go"], ".", false),
        (&[], "/any/path/there", false),
    ];
    for &(lines, path, want) in cases {
        let p = patterns(lines);
        assert_eq!(p.matches(path), want, "{lines:?} {path:?}");
        assert_eq!(walk(&p, path), want, "walk {lines:?} {path:?}");
    }
    // Where the walk and the direct question differ, both follow Docker.
    let p = patterns(&["a/b", "!a"]);
    assert!(!p.matches("a/b/c"));
    assert!(walk(&p, "a/b/c"));
}

/// The answer for `path` when every parent directory was asked first, as a walker does.
fn walk(p: &IgnorePatterns, path: &str) -> bool {
    let mut parent = ParentMatches::default();
    let mut prefix = String::new();
    let comps: Vec<&str> = path.split('/').filter(|c| !c.is_empty()).collect();
    let Some((_, dirs)) = comps.split_last() else {
        return p.matches_in_walk(path, &parent).0;
    };
    for dir in dirs {
        if !prefix.is_empty() {
            prefix.push('/');
        }
        prefix.push_str(dir);
        parent = p.matches_in_walk(&prefix, &parent).1;
    }
    p.matches_in_walk(path, &parent).0
}

#[test]
fn descending_into_excluded_directories() {
    let p = patterns(&[
        "node_modules",
        "build",
        "!build/keep/me",
        "!**/logs",
        "!vendor",
    ]);
    assert!(p.descend_into_excluded("build"));
    assert!(p.descend_into_excluded("build/keep"));
    assert!(!p.descend_into_excluded("build/other"));
    assert!(!p.descend_into_excluded("bui"));
    assert!(!p.descend_into_excluded("node_modules"));
    // Docker does not look for `**/logs` inside an excluded directory.
    assert!(!p.descend_into_excluded("node_modules/x"));
    assert!(p.descend_into_excluded("vendor"));
    assert!(!patterns(&["a"]).descend_into_excluded("a"));
}

#[test]
fn build_files_are_always_sent() {
    let mut p = patterns(&["*", "!src"]);
    assert!(p.matches(".dockerignore") && p.matches("Dockerfile.dev"));
    p.keep_build_files(Some("./Dockerfile.dev"));
    assert!(!p.matches(".dockerignore"));
    assert!(!p.matches("Dockerfile.dev"));
    assert!(p.matches("Dockerfile"));
    assert!(!p.matches("src/main.rs"));

    // Below an excluded directory the walker must go in to find it, and a Dockerfile name
    // with pattern characters is taken literally.
    let mut p = patterns(&["ci"]);
    p.keep_build_files(Some("ci/Docker[file]"));
    assert!(p.descend_into_excluded("ci"));
    assert!(!walk(&p, "ci/Docker[file]"));
    assert!(walk(&p, "ci/Dockerf"));
    // Nothing excluded them: nothing added.
    let mut p = patterns(&["tmp"]);
    p.keep_build_files(None);
    assert_eq!(p.to_string(), "tmp\n");
}

#[test]
fn dockerfile_specific_ignore_file_wins() {
    assert_eq!(
        ignore_file("build/Dockerfile.dev", |p| p
            == "build/Dockerfile.dev.dockerignore"),
        IgnoreFile::BesideDockerfile("build/Dockerfile.dev.dockerignore".into())
    );
    assert_eq!(
        ignore_file("Dockerfile", |_| false),
        IgnoreFile::ContextRoot
    );
}

#[test]
fn go_clean() {
    for (input, want) in [
        ("", "."),
        (".", "."),
        ("./", "."),
        ("a//b/./c/", "a/b/c"),
        ("a/../..", ".."),
        ("../../a", "../../a"),
        ("/..", "/"),
        ("/a/../b", "/b"),
        ("a/b/../../c", "c"),
    ] {
        assert_eq!(clean(input), want, "{input:?}");
    }
}

// ---- property test: against patternmatcher's own algorithm, run with a regexp engine ----

/// One compiled reference pattern.
type RefMatcher = Box<dyn Fn(&str) -> bool>;

/// patternmatcher's `compile`, transcribed for the subset the strategy below generates
/// (literals, `*`, `**`, `?`, `/`), with its match types.
fn reference_matcher(pattern: &str) -> RefMatcher {
    let chars: Vec<char> = pattern.chars().collect();
    let mut re = String::from("^");
    let mut kind = "exact";
    let mut i = 0;
    let mut first = true;
    while i < chars.len() {
        let c = chars[i];
        i += 1;
        if c == '*' && chars.get(i) == Some(&'*') {
            i += 1;
            if chars.get(i) == Some(&'/') {
                i += 1;
            }
            if i == chars.len() {
                if kind == "exact" {
                    kind = "prefix";
                } else {
                    re.push_str(".*");
                    kind = "regexp";
                }
            } else {
                re.push_str("(.*/)?");
                kind = "regexp";
            }
            if first {
                kind = "suffix";
            }
        } else if c == '*' {
            re.push_str("[^/]*");
            kind = "regexp";
        } else if c == '?' {
            re.push_str("[^/]");
            kind = "regexp";
        } else {
            re.push_str(&regex::escape(&c.to_string()));
        }
        first = false;
    }
    let text = pattern.to_string();
    match kind {
        "exact" => Box::new(move |p| p == text),
        "prefix" => Box::new(move |p| p.starts_with(&text[..text.len() - 2])),
        "suffix" => Box::new(move |p| {
            let suffix = &text[2..];
            p.ends_with(suffix) || (suffix.starts_with('/') && p == &suffix[1..])
        }),
        _ => {
            let re = regex::Regex::new(&format!("{re}$")).unwrap();
            Box::new(move |p| re.is_match(p))
        }
    }
}

/// patternmatcher's `MatchesOrParentMatches` over the reference matchers.
fn reference_matches(lines: &[(bool, String)], path: &str) -> bool {
    let compiled: Vec<(bool, RefMatcher)> = lines
        .iter()
        .map(|(exception, text)| (*exception, reference_matcher(text)))
        .collect();
    let mut matched = false;
    for (exception, m) in &compiled {
        if *exception != matched {
            continue;
        }
        let mut hit = m(path);
        if !hit {
            if let Some((parent, _)) = path.rsplit_once('/') {
                let dirs: Vec<&str> = parent.split('/').collect();
                hit = (1..=dirs.len()).any(|n| m(&dirs[..n].join("/")));
            }
        }
        if hit {
            matched = !exception;
        }
    }
    matched
}

/// Patterns of the `*`/`**` subset; with `newlines`, also `\n` (which `**` does not cross).
fn pattern_strategy(newlines: bool) -> impl Strategy<Value = String> {
    let mut parts = vec!["a", "b", ".", "/", "*", "**", "?"];
    if newlines {
        parts.push("\n");
    }
    proptest::collection::vec(proptest::sample::select(parts), 1..7).prop_map(|p| p.concat())
}

/// Clean relative paths, as a walker gives them (no `.` or `..` component).
fn path_strategy(newlines: bool) -> impl Strategy<Value = String> {
    let mut chars = vec!['a', 'b', '.'];
    if newlines {
        chars.push('\n');
    }
    let component = proptest::collection::vec(proptest::sample::select(chars), 1..4)
        .prop_map(|c| c.into_iter().collect::<String>())
        .prop_map(|c| {
            if c == "." || c == ".." {
                format!("{c}a")
            } else {
                c
            }
        });
    proptest::collection::vec(component, 1..5).prop_map(|comps| comps.join("/"))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn glob_agrees_with_patternmatcher(
        lines in proptest::collection::vec((any::<bool>(), pattern_strategy(false)), 1..4),
        path in path_strategy(false),
    ) {
        let text: Vec<String> = lines
            .iter()
            .map(|(exception, p)| format!("{}{p}", if *exception { "!" } else { "" }))
            .collect();
        let Ok(ours) = IgnorePatterns::parse(&text.join("\n")) else {
            // Only `!/` (cleaning to a lone `!`) is refused in this subset.
            prop_assert!(lines.iter().any(|(e, p)| *e && clean(p) == "/"));
            return Ok(());
        };
        let cleaned: Vec<(bool, String)> = ours
            .patterns
            .iter()
            .map(|p| (p.exception, p.text.clone()))
            .collect();
        prop_assert_eq!(ours.matches(&path), reference_matches(&cleaned, &path));
    }

    #[test]
    fn single_glob_agrees_with_its_regexp(
        pattern in pattern_strategy(true),
        path in path_strategy(true),
    ) {
        // Compiled directly: newlines and unclean text included.
        let ours = Matcher::compile(&pattern).unwrap();
        prop_assert_eq!(ours.is_match(&path), reference_matcher(&pattern)(&path));
    }
}
