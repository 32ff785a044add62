//! Startup, exit status, exec mode, failures, and surviving the daemon.

mod common;

use std::fs;
use std::os::unix::process::CommandExt;
use std::process::Command;

use berth_shim::ClientError;
use common::{poll_until, shim, Fixture};

#[test]
fn exit_file_has_the_code() {
    let Some(f) = Fixture::new("code", &["sh", "-c", "exit 3"]) else {
        return;
    };
    let started = f.command().spawn().expect("spawn shim");
    assert!(started.pid > 0 && started.shim_pid > 0);
    f.start();
    let exit = f.wait_exit();
    assert_eq!((exit.code, exit.signal, exit.oom_killed), (3, None, false));
    assert!(exit.finished_at.ends_with('Z'));
    // The shim cleans up its sockets and pid file, and leaves the exit file.
    assert!(poll_until(|| !f.state_dir().join("shim.pid").exists()));
    assert!(!f.state_dir().join("attach").exists());
}

#[test]
fn sigkill_is_reported_as_137() {
    let Some(f) = Fixture::new("kill", &["sleep", "100"]) else {
        return;
    };
    f.command().spawn().expect("spawn shim");
    f.start();
    let out = f.rt(&["kill", &f.id, "KILL"]);
    assert!(out.status.success(), "kill failed: {out:?}");
    let exit = f.wait_exit();
    assert_eq!((exit.code, exit.signal), (137, Some(9)));
}

/// Field 6 (session id) of /proc/<pid>/stat.
fn session_of(pid: i32) -> i32 {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).expect("stat");
    let after = &stat[stat.rfind(')').expect("comm") + 2..];
    after
        .split(' ')
        .nth(3)
        .and_then(|s| s.parse().ok())
        .expect("sid")
}

fn vm_rss_kib(pid: i32) -> u64 {
    fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

#[test]
fn container_outlives_a_killed_spawner() {
    let Some(f) = Fixture::new(
        "daemon",
        &[
            "sh",
            "-c",
            "i=0; while true; do echo tick-$i; i=$((i+1)); sleep 0.05; done",
        ],
    ) else {
        return;
    };
    // A stand-in daemon in its own process group: it starts the shim and then idles.
    let sync = f.path("sync");
    let mut args = vec![
        "-c".into(),
        "\"$0\" \"$@\" --sync-fd 3 3>\"$SYNC\"; exec sleep 1000".into(),
    ];
    args.push(shim().into_os_string());
    args.extend(f.command().args());
    let mut daemon = Command::new("sh")
        .args(args)
        .env("SYNC", &sync)
        .process_group(0)
        .spawn()
        .expect("spawn stand-in daemon");
    let daemon_pid = i32::try_from(daemon.id()).expect("pid");
    assert!(poll_until(
        || fs::read_to_string(&sync).is_ok_and(|s| s.starts_with("ok "))
    ));
    // The daemon crashes, taking its whole process group.
    nix::sys::signal::killpg(
        nix::unistd::Pid::from_raw(daemon_pid),
        nix::sys::signal::Signal::SIGKILL,
    )
    .expect("kill daemon group");
    daemon.wait().expect("reap daemon");

    let shim_pid: i32 = fs::read_to_string(f.state_dir().join("shim.pid"))
        .expect("shim.pid")
        .trim()
        .parse()
        .expect("pid");
    // Its own session: neither ours (which the daemon shared) nor the daemon's process group.
    let sid = session_of(shim_pid);
    assert!(
        sid != session_of(i32::try_from(std::process::id()).expect("pid")) && sid != daemon_pid
    );
    assert!(
        fs::metadata(format!("/proc/{shim_pid}")).is_ok(),
        "shim died with the daemon"
    );

    f.start();
    assert!(
        poll_until(|| f.logged().iter().any(|(_, l)| l == "tick-5\n")),
        "no output logged after the daemon died"
    );
    let state = f.rt(&["state", &f.id]);
    assert!(String::from_utf8_lossy(&state.stdout).contains("running"));
    eprintln!(
        "shim VmRSS with a running container: {} KiB",
        vm_rss_kib(shim_pid)
    );

    // SIGKILL: the shell is pid 1 of its namespace and so ignores SIGTERM.
    assert!(f.rt(&["kill", &f.id, "KILL"]).status.success());
    assert_eq!(f.wait_exit().code, 137);
}

#[test]
fn exec_mode_monitors_the_exec_process() {
    let Some(f) = Fixture::new("exec", &["sleep", "100"]) else {
        return;
    };
    f.command().spawn().expect("spawn shim");
    f.start();

    let process = f.path("process.json");
    let spec = serde_json::json!({
        "terminal": false,
        "user": {"uid": 0, "gid": 0},
        "args": ["sh", "-c", "echo from-exec; echo oops >&2; exit 5"],
        "env": ["PATH=/bin"],
        "cwd": "/"
    });
    fs::write(&process, spec.to_string()).expect("process.json");
    let mut cmd = f.command();
    cmd.exec_process = Some(process);
    cmd.state_dir = f.path("exec-state");
    let exec_log = f.path("exec.log");
    if let Some(log) = cmd.log.as_mut() {
        log.path = exec_log.clone();
    }
    let started = cmd.spawn().expect("spawn exec shim");
    assert!(started.pid > 0);
    let exit = Fixture::wait_exit_in(&f.path("exec-state"));
    assert_eq!(exit.code, 5);
    let logged: Vec<(String, String)> = Fixture::log_entries_of(&exec_log)
        .iter()
        .map(|e| (e["stream"].to_string(), e["log"].to_string()))
        .collect();
    assert!(
        logged.contains(&("\"stdout\"".into(), "\"from-exec\\n\"".into())),
        "{logged:?}"
    );
    assert!(
        logged.contains(&("\"stderr\"".into(), "\"oops\\n\"".into())),
        "{logged:?}"
    );
    // The container itself is untouched.
    let state = f.rt(&["state", &f.id]);
    assert!(String::from_utf8_lossy(&state.stdout).contains("running"));
}

#[test]
fn wait_attach_exec_output_reaches_the_first_client_whole() {
    let Some(f) = Fixture::new("execwait", &["sleep", "100"]) else {
        return;
    };
    f.command().spawn().expect("spawn shim");
    f.start();
    let process = f.path("process.json");
    // Prints at once and exits: without --wait-attach this races the client's connect.
    let spec = serde_json::json!({
        "terminal": false,
        "user": {"uid": 0, "gid": 0},
        "args": ["sh", "-c", "echo first; echo second >&2; exit 4"],
        "env": ["PATH=/bin"],
        "cwd": "/"
    });
    fs::write(&process, spec.to_string()).expect("process.json");
    let mut cmd = f.command();
    cmd.exec_process = Some(process);
    cmd.state_dir = f.path("exec-wait");
    cmd.log = None;
    cmd.wait_attach = true;
    let (started, mut sock) = cmd
        .spawn_attached(berth_shim::AttachMode::Output)
        .expect("spawn exec shim");
    assert!(started.pid > 0);
    let mut frames = Vec::new();
    while let Some(frame) = berth_shim::read_frame(&mut sock).expect("read frame") {
        frames.push((
            frame.stream,
            String::from_utf8_lossy(&frame.data).into_owned(),
        ));
    }
    let stdout: String = frames
        .iter()
        .filter(|(s, _)| *s == berth_shim::Stream::Stdout)
        .map(|(_, d)| d.as_str())
        .collect();
    let stderr: String = frames
        .iter()
        .filter(|(s, _)| *s == berth_shim::Stream::Stderr)
        .map(|(_, d)| d.as_str())
        .collect();
    assert_eq!((stdout.as_str(), stderr.as_str()), ("first\n", "second\n"));
    assert_eq!(Fixture::wait_exit_in(&f.path("exec-wait")).code, 4);
}

#[test]
fn runtime_create_failure_is_reported_and_leaves_nothing() {
    let Some(f) = Fixture::new("fail", &["true"]) else {
        return;
    };
    let mut cmd = f.command();
    // A bundle without config.json.
    cmd.bundle = f.path("empty-bundle");
    fs::create_dir(&cmd.bundle).expect("bundle dir");
    match cmd.spawn() {
        Err(ClientError::Create(msg)) => assert!(msg.contains("config.json"), "{msg}"),
        other => panic!("expected a create error, got {other:?}"),
    }
    assert!(!f.state_dir().exists(), "state dir left behind");
    assert!(!f.log_path().exists(), "log file left behind");

    // A state dir that existed before is kept, but emptied of everything the shim made.
    fs::create_dir(f.state_dir()).expect("state dir");
    assert!(matches!(cmd.spawn(), Err(ClientError::Create(_))));
    let left: Vec<_> = fs::read_dir(f.state_dir()).expect("read").collect();
    assert!(left.is_empty(), "left in state dir: {left:?}");
}

#[test]
fn bad_arguments_fail_before_detaching() {
    let out = Command::new(shim())
        .arg("--bogus")
        .output()
        .expect("run shim");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown argument \"--bogus\""));

    let out = Command::new(shim())
        .args(["--id", "x", "--bundle", "/b", "--state-dir", "/s"])
        .output()
        .expect("run shim");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--runtime is required"));

    let Some(f) = Fixture::new("args", &["true"]) else {
        return;
    };
    let mut cmd = f.command();
    cmd.id = "-rf".into();
    assert!(matches!(cmd.spawn(), Err(ClientError::ShimFailed { .. })));
}

#[test]
fn oom_kill_sets_the_hint() {
    // The shell builds a 64 MB string under a 16 MiB limit (no swap allowance).
    let Some(mut f) = Fixture::new(
        "oom",
        &[
            "sh",
            "-c",
            "x=$(head -c 64000000 /dev/zero | tr '\\0' a); echo survived",
        ],
    ) else {
        return;
    };
    f.config["linux"]["resources"] =
        serde_json::json!({"memory": {"limit": 16 << 20, "swap": 16 << 20}});
    f.command().spawn().expect("spawn shim");
    f.start();
    let exit = f.wait_exit();
    // The victim is whichever process the kernel picks (the shell, normally: 137); the hint
    // is about the container, as in Docker.
    assert!(exit.oom_killed, "no OOM recorded: {exit:?}");
}
