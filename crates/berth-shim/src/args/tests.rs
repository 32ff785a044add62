#![allow(clippy::unwrap_used)]
use super::*;

fn run(args: &[&str]) -> Result<Args, ArgsError> {
    match parse(args.iter().map(OsString::from))? {
        Invocation::Run(a) => Ok(*a),
        other => panic!("unexpected {other:?}"),
    }
}

const BASE: [&str; 8] = [
    "--id",
    "c1",
    "--bundle",
    "/b",
    "--state-dir",
    "/s",
    "--runtime",
    "runc",
];

#[test]
fn parses_every_flag() {
    let mut argv = BASE.to_vec();
    argv.extend([
        "--runtime-root=/r",
        "--log-path",
        "/l/c.log",
        "--log-max-size",
        "1000",
        "--log-max-files=3",
        "--terminal",
        "--stdin",
        "--exec-process",
        "/p.json",
        "--wait-attach",
        "--sync-fd",
        "3",
    ]);
    let a = run(&argv).unwrap();
    assert_eq!(a.id, "c1");
    assert_eq!(a.runtime, PathBuf::from("runc"));
    assert_eq!(a.runtime_root, Some(PathBuf::from("/r")));
    assert_eq!(
        a.log,
        Some(LogConfig {
            path: "/l/c.log".into(),
            format: LogFormat::JsonFile,
            max_size: Some(1000),
            max_files: 3
        })
    );
    assert!(a.terminal && a.stdin);
    assert_eq!(a.exec_process, Some(PathBuf::from("/p.json")));
    assert!(a.wait_attach);
    assert_eq!(a.sync_fd, Some(3));
}

#[test]
fn relative_paths_become_absolute() {
    let mut argv = BASE.to_vec();
    argv[3] = "bundle";
    argv[7] = "./bin/runc";
    let a = run(&argv).unwrap();
    assert!(a.bundle.is_absolute() && a.runtime.is_absolute());
}

#[test]
fn rejects_bad_input() {
    assert!(matches!(run(&["--bogus"]), Err(ArgsError::Unknown(_))));
    assert!(matches!(
        run(&BASE[..6]),
        Err(ArgsError::Missing("--runtime"))
    ));
    assert!(matches!(
        run(&["--id"]),
        Err(ArgsError::MissingValue("--id"))
    ));
    let mut argv = BASE.to_vec();
    argv.extend(["--log-max-size", "10k"]);
    assert!(matches!(run(&argv), Err(ArgsError::BadNumber { .. })));
    argv.truncate(8);
    argv.extend(["--log-max-files", "2"]);
    assert!(matches!(run(&argv), Err(ArgsError::Requires { .. })));
    argv[1] = "-rf";
    assert!(matches!(run(&argv), Err(ArgsError::BadValue { .. })));
    let with_inline: Vec<&str> = BASE.iter().copied().chain(["--terminal=yes"]).collect();
    assert!(matches!(run(&with_inline), Err(ArgsError::Unknown(_))));
    let wait_without_exec: Vec<&str> = BASE.iter().copied().chain(["--wait-attach"]).collect();
    assert!(matches!(
        run(&wait_without_exec),
        Err(ArgsError::Requires { .. })
    ));
}

#[test]
fn cri_log_format_takes_no_rotation() {
    let with = |extra: &[&'static str]| {
        let mut argv = BASE.to_vec();
        argv.extend(["--log-path", "/l/0.log", "--log-format", "cri"]);
        argv.extend(extra);
        run(&argv)
    };
    let a = with(&[]).unwrap();
    assert_eq!(
        a.log,
        Some(LogConfig {
            path: "/l/0.log".into(),
            format: LogFormat::Cri,
            max_size: None,
            max_files: 1
        })
    );
    // What the client passes for "no rotation" is accepted.
    assert!(with(&["--log-max-size", "0", "--log-max-files", "1"]).is_ok());
    assert!(matches!(
        with(&["--log-max-size", "1000"]),
        Err(ArgsError::Conflicts {
            flag: "--log-max-size",
            ..
        })
    ));
    assert!(matches!(
        with(&["--log-max-files=2"]),
        Err(ArgsError::Conflicts {
            flag: "--log-max-files",
            ..
        })
    ));
    let mut argv = BASE.to_vec();
    argv.extend(["--log-path", "/l/0.log", "--log-format", "journald"]);
    assert!(matches!(run(&argv), Err(ArgsError::BadValue { .. })));
    argv.truncate(8);
    argv.extend(["--log-format=cri"]);
    assert!(matches!(
        run(&argv),
        Err(ArgsError::Requires {
            flag: "--log-format",
            ..
        })
    ));
}

#[test]
fn start_runs_a_container_and_conflicts_with_an_exec() {
    let mut argv = BASE.to_vec();
    assert!(!run(&argv).unwrap().start);
    argv.push("--start");
    assert!(run(&argv).unwrap().start);
    argv.extend(["--exec-process", "/p.json"]);
    assert!(matches!(
        run(&argv),
        Err(ArgsError::Conflicts {
            flag: "--start",
            with: "--exec-process"
        })
    ));
}
