use std::os::unix::fs::PermissionsExt;

use super::*;

/// Writes an executable shell script `name` into `dir`.
fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

fn invoker(dirs: Vec<PathBuf>, timeout: Duration) -> Invoker {
    Invoker { dirs, timeout }
}

#[test]
fn finds_the_first_executable_in_dir_order() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    std::fs::write(a.path().join("bridge"), "not executable").unwrap();
    std::fs::create_dir(a.path().join("tuning")).unwrap();
    let in_b = script(b.path(), "bridge", "true");
    script(b.path(), "tuning", "true");
    let inv = invoker(
        vec![a.path().to_owned(), b.path().to_owned()],
        Duration::from_secs(5),
    );
    assert_eq!(inv.find("bridge").unwrap(), in_b);
    assert_eq!(inv.find("tuning").unwrap(), b.path().join("tuning"));
    let err = inv.find("nope").unwrap_err().to_string();
    assert!(err.contains("\"nope\"") && err.contains(&a.path().display().to_string()));
}

#[test]
fn passes_the_environment_and_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let path = script(
        dir.path(),
        "echo",
        "env | grep '^CNI_' | sort; echo ---; cat",
    );
    let inv = invoker(
        vec![dir.path().to_owned(), "/other".into()],
        Duration::from_secs(5),
    );
    let env = AttachmentEnv {
        container_id: "ctr1",
        netns: None,
        ifname: "eth1",
        args: "A=1;B=2".into(),
    };
    let out = inv
        .exec(&path, Command::Del, Some(&env), b"{\"x\":1}".to_vec())
        .unwrap();
    let out = String::from_utf8(out).unwrap();
    let expected = format!(
        "CNI_ARGS=A=1;B=2\nCNI_COMMAND=DEL\nCNI_CONTAINERID=ctr1\nCNI_IFNAME=eth1\nCNI_NETNS=\n\
         CNI_PATH={}:/other\n---\n{{\"x\":1}}",
        dir.path().display()
    );
    assert_eq!(out, expected);

    // Commands that are not about an attachment get only CNI_COMMAND and CNI_PATH.
    let out = inv.exec(&path, Command::Version, None, Vec::new()).unwrap();
    let out = String::from_utf8(out).unwrap();
    assert!(out.starts_with("CNI_COMMAND=VERSION\nCNI_PATH="), "{out}");
}

#[test]
fn plugin_error_object_is_parsed() {
    let dir = tempfile::tempdir().unwrap();
    let path = script(
        dir.path(),
        "fail",
        r#"echo '{"code": 11, "msg": "busy", "details": "lock held"}'; echo noise >&2; exit 1"#,
    );
    let inv = invoker(vec![dir.path().to_owned()], Duration::from_secs(5));
    match inv.exec(&path, Command::Add, None, Vec::new()) {
        Err(InvokeError::Plugin { error, .. }) => {
            assert_eq!(error.code, 11);
            assert_eq!(error.msg, "busy");
            assert_eq!(error.details, "lock held");
        }
        other => panic!("expected a plugin error, got {other:?}"),
    }
}

#[test]
fn failure_without_error_object_reports_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let path = script(dir.path(), "crash", "echo 'panic: oops' >&2; exit 2");
    let inv = invoker(vec![dir.path().to_owned()], Duration::from_secs(5));
    let err = inv.exec(&path, Command::Add, None, Vec::new()).unwrap_err();
    assert!(matches!(err, InvokeError::Failed { .. }));
    let message = err.to_string();
    assert!(message.contains("exit status: 2"), "{message}");
    assert!(message.contains("panic: oops"), "{message}");
}

#[test]
fn large_stdin_and_stdout_do_not_deadlock() {
    let dir = tempfile::tempdir().unwrap();
    let path = script(dir.path(), "cat", "cat");
    let inv = invoker(vec![dir.path().to_owned()], Duration::from_secs(10));
    let big = vec![b'x'; 1 << 20];
    let out = inv.exec(&path, Command::Add, None, big.clone()).unwrap();
    assert_eq!(out, big);
}

#[test]
fn timeout_kills_the_plugin_and_its_children() {
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("child.pid");
    let path = script(
        dir.path(),
        "hang",
        &format!("sleep 60 & echo $! > {}; wait", pidfile.display()),
    );
    let inv = invoker(vec![dir.path().to_owned()], Duration::from_millis(300));
    let start = Instant::now();
    let err = inv.exec(&path, Command::Add, None, Vec::new()).unwrap_err();
    assert!(matches!(err, InvokeError::Timeout { .. }), "{err}");
    assert!(start.elapsed() < Duration::from_secs(5));

    let child = std::fs::read_to_string(&pidfile).unwrap();
    let proc_dir = PathBuf::from(format!("/proc/{}", child.trim()));
    let gone = (0..50).any(|_| {
        // Killed and reaped (by init), or at least dead (a zombie awaiting that).
        let alive =
            std::fs::read_to_string(proc_dir.join("stat")).is_ok_and(|stat| !stat.contains(") Z "));
        if alive {
            thread::sleep(Duration::from_millis(50));
        }
        !alive
    });
    assert!(gone, "the plugin's child survived the timeout");
}

#[test]
fn truncates_long_output_on_char_boundaries() {
    assert_eq!(truncate("short"), "short");
    let long = "é".repeat(MAX_ERROR_OUTPUT + 10);
    let cut = truncate(&long);
    assert!(cut.ends_with("..."));
    assert_eq!(cut.chars().count(), MAX_ERROR_OUTPUT + 3);
}
