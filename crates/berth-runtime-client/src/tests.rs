use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{ExitStatus, Output};

use super::*;

fn runtime() -> Runtime {
    Runtime {
        path: "/usr/bin/berth-runtime".into(),
        root: Some("/run/berth/runtime".into()),
    }
}

/// The argv after `<path> --root <root>`.
fn argv(cmd: &RuntimeCommand) -> Vec<String> {
    assert_eq!(cmd.command.get_program(), "/usr/bin/berth-runtime");
    let all: Vec<String> = cmd
        .command
        .get_args()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    assert_eq!(all[..2], ["--root", "/run/berth/runtime"]);
    all[2..].to_vec()
}

#[test]
fn create_run_and_exec_put_their_options_before_the_id() {
    let rt = runtime();
    let create = rt.create(&CreateArgs {
        id: "c1",
        bundle: Path::new("/b"),
        pid_file: Path::new("/s/pid"),
        console_socket: None,
    });
    assert_eq!(create.verb(), "create");
    assert_eq!(
        argv(&create),
        ["create", "--bundle", "/b", "--pid-file", "/s/pid", "c1"]
    );
    let run = rt.run_detached(&CreateArgs {
        id: "c1",
        bundle: Path::new("/b"),
        pid_file: Path::new("/s/pid"),
        console_socket: None,
    });
    assert_eq!(
        argv(&run),
        [
            "run",
            "--bundle",
            "/b",
            "--pid-file",
            "/s/pid",
            "--detach",
            "c1"
        ]
    );
    let exec = rt.exec(&ExecArgs {
        id: "c1",
        process: Path::new("/s/process.json"),
        pid_file: Path::new("/s/pid"),
        console_socket: Some(Path::new("/s/console.sock")),
    });
    assert_eq!(
        argv(&exec),
        [
            "exec",
            "--process",
            "/s/process.json",
            "--detach",
            "--pid-file",
            "/s/pid",
            "--console-socket",
            "/s/console.sock",
            "c1"
        ]
    );
}

#[test]
fn lifecycle_verbs() {
    let rt = runtime();
    assert_eq!(argv(&rt.start("c1")), ["start", "c1"]);
    assert_eq!(
        argv(&rt.kill("c1", "SIGTERM", false)),
        ["kill", "c1", "SIGTERM"]
    );
    assert_eq!(
        argv(&rt.kill("c1", "9", true)),
        ["kill", "--all", "c1", "9"]
    );
    assert_eq!(argv(&rt.delete("c1", true)), ["delete", "--force", "c1"]);
    assert_eq!(argv(&rt.delete("c1", false)), ["delete", "c1"]);
    assert_eq!(argv(&rt.pause("c1")), ["pause", "c1"]);
    assert_eq!(argv(&rt.resume("c1")), ["resume", "c1"]);
    assert_eq!(
        argv(&rt.update("c1", Path::new("/s/update.json"))),
        ["update", "--resources", "/s/update.json", "c1"]
    );
}

#[test]
fn without_a_root_the_verb_comes_first() {
    let rt = Runtime {
        path: "runc".into(),
        root: None,
    };
    let args: Vec<_> = rt
        .start("c1")
        .command
        .get_args()
        .map(ToOwned::to_owned)
        .collect();
    assert_eq!(args, ["start", "c1"]);
}

#[test]
fn failures_name_verb_container_and_message() {
    let (_, checker) = runtime().kill("c1", "SIGKILL", false).into_parts();
    let failed = checker.check(Ok(Output {
        status: ExitStatus::from_raw(1 << 8),
        stdout: Vec::new(),
        stderr: b"container not running\n".to_vec(),
    }));
    let Err(e @ RuntimeError::Failed { .. }) = failed else {
        panic!("{failed:?}");
    };
    assert_eq!(
        e.to_string(),
        "container c1: runtime kill failed: container not running"
    );
    let (_, checker) = runtime().start("c1").into_parts();
    let missing = checker.check(Err(io::Error::from(io::ErrorKind::NotFound)));
    let Err(e @ RuntimeError::Spawn { .. }) = missing else {
        panic!("{missing:?}");
    };
    assert!(
        e.to_string()
            .starts_with("container c1: run /usr/bin/berth-runtime start: "),
        "{e}"
    );
}

#[test]
fn run_reports_the_exit_of_a_real_program() {
    let ok = Runtime {
        path: "true".into(),
        root: None,
    };
    assert!(ok.pause("c1").run().is_ok());
    let fails = Runtime {
        path: "false".into(),
        root: None,
    };
    assert!(matches!(
        fails.resume("c1").run(),
        Err(RuntimeError::Failed { verb: "resume", .. })
    ));
}
