use std::path::Path;

use serde_json::json;

use super::*;

const STATE: &[u8] =
    br#"{"ociVersion":"1.2.0","id":"c1","status":"creating","pid":42,"bundle":"/b"}"#;

fn hook(path: &str, args: &[&str], env: Option<&[&str]>, timeout: Option<i64>) -> Hook {
    serde_json::from_value(json!({"path": path, "args": args, "env": env, "timeout": timeout}))
        .unwrap()
}

/// A `/bin/sh -c script` hook; `$0` in the script is `arg`.
fn sh(script: &str, arg: &Path) -> Hook {
    hook(
        "/bin/sh",
        &["sh", "-c", script, arg.to_str().unwrap()],
        None,
        None,
    )
}

#[test]
fn hook_reads_the_state_on_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("state.json");
    run_hooks(&[sh(r#"cat > "$0""#, &out)], STATE, "createRuntime").unwrap();
    assert_eq!(std::fs::read(&out).unwrap(), STATE);
}

#[test]
fn large_state_is_written_in_full() {
    // Larger than a pipe buffer, so the write has to wait for the hook to read.
    let state = vec![b'x'; 1 << 20];
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("state");
    run_hooks(&[sh(r#"sleep 0.1; cat > "$0""#, &out)], &state, "prestart").unwrap();
    assert_eq!(std::fs::read(&out).unwrap().len(), state.len());
}

#[test]
fn hook_that_ignores_stdin_still_succeeds() {
    let state = vec![b'x'; 1 << 20];
    run_hooks(
        &[hook("/bin/true", &["true"], None, None)],
        &state,
        "poststart",
    )
    .unwrap();
}

#[test]
fn env_is_exactly_the_given_one() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("env");
    // /proc/$$/environ is what execve received, before the shell adds anything.
    let script = r#"tr '\0' '\n' < /proc/$$/environ > "$0""#;
    let args = ["sh", "-c", script, out.to_str().unwrap()];
    let env = ["A=1", "B=two words", "C=x=y", "EMPTY="];
    run_hooks(
        &[hook("/bin/sh", &args, Some(&env), None)],
        STATE,
        "createRuntime",
    )
    .unwrap();
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        "A=1\nB=two words\nC=x=y\nEMPTY=\n"
    );

    run_hooks(
        &[hook("/bin/sh", &args, None, None)],
        STATE,
        "createRuntime",
    )
    .unwrap();
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "");
}

#[test]
fn args_are_argv_including_argv0() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("argv");
    let script = r#"tr '\0' '\n' < /proc/$$/cmdline > "$0""#;
    let args = ["my-hook", "-c", script, out.to_str().unwrap()];
    run_hooks(
        &[hook("/bin/sh", &args, None, None)],
        STATE,
        "createRuntime",
    )
    .unwrap();
    let argv = std::fs::read_to_string(&out).unwrap();
    assert_eq!(argv.lines().collect::<Vec<_>>(), args);
}

#[test]
fn no_fds_beyond_stdio_reach_the_hook() {
    // A descriptor without close-on-exec, as a careless caller might leave open.
    // SAFETY: dup of stderr; closed below.
    let leaked = unsafe { libc::dup(2) };
    assert!(leaked > 2);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("fds");
    let result = run_hooks(
        &[sh(r#"exec > "$0"; ls /proc/$$/fd"#, &out)],
        STATE,
        "createRuntime",
    );
    // SAFETY: closes the fd dup'ed above.
    unsafe { libc::close(leaked) };
    result.unwrap();
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "0\n1\n2\n");
}

#[test]
fn hooks_run_in_order_and_the_first_failure_stops_them() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    let hooks = [
        sh(r#"echo first >> "$0""#, &log),
        sh(
            r#"echo second >> "$0"; echo to stdout; echo 'boom: bad config' >&2; exit 3"#,
            &log,
        ),
        sh(r#"echo third >> "$0""#, &log),
    ];
    let err = run_hooks(&hooks, STATE, "createContainer").unwrap_err();
    assert_eq!(std::fs::read_to_string(&log).unwrap(), "first\nsecond\n");
    assert!(matches!(err, HookError::Failed { .. }), "{err:?}");
    let message = err.to_string();
    for expected in [
        "createContainer",
        "/bin/sh",
        "exit status: 3",
        "to stdout",
        "boom: bad config",
    ] {
        assert!(message.contains(expected), "{message:?} lacks {expected:?}");
    }
}

#[test]
fn long_output_keeps_its_end() {
    let script = r#"seq 2000; echo the-end >&2; exit 1"#;
    let err = run_hooks(
        &[hook("/bin/sh", &["sh", "-c", script], None, None)],
        STATE,
        "poststop",
    )
    .unwrap_err();
    let HookError::Failed { output, .. } = err else {
        panic!("{err:?}")
    };
    assert!(output.len() <= OUTPUT_LIMIT + 3, "{} bytes", output.len());
    assert!(
        output.starts_with("...") && output.ends_with("the-end"),
        "{output:?}"
    );
}

#[test]
fn signal_death_is_reported() {
    let err = run_hooks(
        &[hook("/bin/sh", &["sh", "-c", "kill -TERM $$"], None, None)],
        STATE,
        "poststop",
    )
    .unwrap_err();
    assert!(err.to_string().contains("signal: 15"), "{err}");
}

#[test]
fn timeout_kills_the_hook() {
    let started = Instant::now();
    let err = run_hooks(
        &[hook("/bin/sleep", &["sleep", "10"], None, Some(1))],
        STATE,
        "prestart",
    )
    .unwrap_err();
    let elapsed = started.elapsed();
    assert!(
        matches!(err, HookError::TimedOut { timeout: 1, .. }),
        "{err:?}"
    );
    assert!(
        elapsed >= Duration::from_secs(1) && elapsed < Duration::from_secs(2),
        "{elapsed:?}"
    );
    assert!(err.to_string().contains("/bin/sleep"), "{err}");
}

#[test]
fn timeout_fires_even_while_the_hook_floods_its_output() {
    let started = Instant::now();
    let flood = hook("/bin/sh", &["sh", "-c", "yes"], None, Some(1));
    let err = run_hooks(&[flood], STATE, "prestart").unwrap_err();
    assert!(matches!(err, HookError::TimedOut { .. }), "{err:?}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn hook_that_finishes_in_time_passes_and_leftover_children_do_not_block() {
    // The background sleep keeps the output pipe open after the hook exits.
    let started = Instant::now();
    let script = "sleep 5 & echo started";
    run_hooks(
        &[hook("/bin/sh", &["sh", "-c", script], None, Some(3))],
        STATE,
        "poststart",
    )
    .unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn invalid_hooks_are_rejected_with_their_path() {
    let cases = [
        (
            hook("/nonexistent/hook", &["hook"], None, None),
            "/nonexistent/hook: cannot start",
        ),
        (
            hook("relative/hook", &[], None, None),
            "relative/hook: path must be absolute",
        ),
        (
            hook("/bin/true", &[], None, Some(0)),
            "/bin/true: timeout must be greater than zero, got 0",
        ),
        (
            hook("/bin/true", &[], Some(&["NOEQUALS"]), None),
            "/bin/true: env entry \"NOEQUALS\"",
        ),
    ];
    for (hook, expected) in cases {
        let err = run_hooks(&[hook], STATE, "createRuntime")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("createRuntime hook "), "{err}");
        assert!(err.contains(expected), "{err:?} lacks {expected:?}");
    }
}

#[test]
fn no_args_means_argv0_is_the_path() {
    run_hooks(&[hook("/bin/true", &[], None, None)], STATE, "poststop").unwrap();
    run_hooks(&[], STATE, "poststop").unwrap();
}
