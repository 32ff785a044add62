//! The real docker CLI against berthd: exec, top, stats, rename, update, healthchecks, info
//! counts and port.
#![allow(clippy::unwrap_used)]

mod common;

use std::process::Command;
use std::time::Duration;

use berth_testkit::{eventually, process_cgroup_file};
use common::{unique, Daemon};

/// A detached `sleep` container; returns its name.
fn sleeper(d: &Daemon, extra: &[&str]) -> String {
    let image = d.busybox();
    let name = unique("c");
    let mut args = vec!["run", "-d", "--name", &name];
    args.extend_from_slice(extra);
    args.extend([image, "sleep", "1000"]);
    d.docker(&args).ok();
    name
}

#[test]
fn exec_output_exit_code_env_user_workdir() {
    if common::skip() {
        return;
    }
    let d = Daemon::start();
    let name = sleeper(&d, &[]);
    let out = d.docker(&["exec", &name, "echo", "hello"]).ok();
    assert_eq!(out.stdout, "hello\n");
    let out = d.docker(&["exec", &name, "sh", "-c", "echo oops >&2; exit 3"]);
    assert_eq!(out.code, 3, "{out:?}");
    assert_eq!(out.stderr, "oops\n");
    let out = d
        .docker(&["exec", "-e", "A=1", &name, "sh", "-c", "echo $A"])
        .ok();
    assert_eq!(out.stdout, "1\n");
    let out = d.docker(&["exec", "-u", "nobody", &name, "id", "-u"]).ok();
    assert_eq!(out.stdout, "65534\n");
    let out = d.docker(&["exec", "-w", "/tmp", &name, "pwd"]).ok();
    assert_eq!(out.stdout, "/tmp\n");
    // Privileged execs get every capability the daemon has, far more than the default set.
    let out = d
        .docker(&[
            "exec",
            "--privileged",
            &name,
            "grep",
            "CapEff",
            "/proc/self/status",
        ])
        .ok();
    let unprivileged = d
        .docker(&["exec", &name, "grep", "CapEff", "/proc/self/status"])
        .ok();
    let bits = |s: &str| {
        u64::from_str_radix(s.trim().trim_start_matches("CapEff:").trim(), 16)
            .unwrap()
            .count_ones()
    };
    assert!(bits(&out.stdout) > 30, "{out:?}");
    assert_eq!(bits(&unprivileged.stdout), 14, "{unprivileged:?}");
    // A command that does not exist: the runtime's error and 126, as dockerd.
    let out = d.docker(&["exec", &name, "no-such-command"]);
    assert_eq!(out.code, 126, "{out:?}");
    // Large output is not cut short.
    let out = d.docker(&["exec", &name, "sh", "-c", "seq 1 20000"]).ok();
    assert_eq!(out.stdout.lines().count(), 20000);
}

#[test]
fn exec_stdin_tty_and_detached() {
    if common::skip() {
        return;
    }
    let d = Daemon::start();
    let name = sleeper(&d, &[]);
    let out = d
        .docker_stdin(&["exec", "-i", &name, "cat"], b"via exec stdin\n")
        .ok();
    assert_eq!(out.stdout, "via exec stdin\n");
    // -t under a real pty, as a user's terminal.
    let cmdline = format!("docker exec -t {name} sh -c 'tty; stty size'");
    let mut cmd = Command::new("script");
    cmd.args(["-qec", &cmdline, "/dev/null"])
        .env("DOCKER_HOST", format!("unix://{}", d.socket.display()))
        .env("DOCKER_CONFIG", d.root.path().join("docker-config"))
        .env("COLUMNS", "100")
        .env("LINES", "40");
    let out = common::run(cmd, None);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("/dev/pts/"), "{out:?}");
    // -d returns at once and the process runs in the background.
    d.docker(&[
        "exec",
        "-d",
        &name,
        "sh",
        "-c",
        "sleep 1; touch /tmp/detached",
    ])
    .ok();
    assert!(eventually(Duration::from_secs(10), || {
        d.docker(&["exec", &name, "test", "-f", "/tmp/detached"])
            .code
            == 0
    }));
    let execs = d.docker(&["inspect", "-f", "{{len .ExecIDs}}", &name]).ok();
    assert_ne!(execs.stdout.trim(), "0");
}

#[test]
fn exec_in_a_stopped_container_is_a_conflict() {
    if common::skip() {
        return;
    }
    let d = Daemon::start();
    let image = d.busybox();
    let name = unique("stopped");
    d.docker(&["create", "--name", &name, image, "true"]).ok();
    let out = d.docker(&["exec", &name, "true"]).failed();
    assert!(out.stderr.contains("is not running"), "{out:?}");
    let out = d.docker(&["exec", "no-such-container", "true"]).failed();
    assert!(out.stderr.contains("No such container"), "{out:?}");
}

#[test]
fn top_and_stats_report_the_container() {
    if common::skip() {
        return;
    }
    let d = Daemon::start();
    let name = sleeper(&d, &["--memory", "64m", "--pids-limit", "50"]);
    let top = d.docker(&["top", &name]).ok();
    let mut lines = top.stdout.lines();
    let header = lines.next().unwrap_or_default();
    assert!(header.contains("PID") && header.contains("CMD"), "{top:?}");
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 1, "only the container's process: {top:?}");
    assert!(rows[0].contains("sleep 1000"), "{top:?}");
    let top = d.docker(&["top", &name, "-o", "pid,comm"]).ok();
    assert!(top.stdout.contains("sleep"), "{top:?}");

    let stats = d
        .docker(&[
            "stats",
            "--no-stream",
            "--format",
            "{{.Name}}|{{.CPUPerc}}|{{.MemUsage}}|{{.PIDs}}",
            &name,
        ])
        .ok();
    let line = stats.stdout.trim();
    let fields: Vec<&str> = line.split('|').collect();
    assert_eq!(fields.len(), 4, "{stats:?}");
    assert_eq!(fields[0], name);
    assert!(fields[1].ends_with('%') && fields[1] != "--", "{stats:?}");
    assert!(fields[2].ends_with("/ 64MiB"), "{stats:?}");
    assert!(!fields[2].starts_with("0B"), "{stats:?}");
    assert_eq!(fields[3], "1", "{stats:?}");

    // The raw API: one object, both samples, Docker's field names.
    let raw = common::run(
        {
            let mut c = Command::new("curl");
            c.args([
                "-s",
                "--unix-socket",
                &d.socket.display().to_string(),
                &format!("http://localhost/v1.44/containers/{name}/stats?stream=false"),
            ]);
            c
        },
        None,
    );
    if raw.code == 0 {
        let v: serde_json::Value = serde_json::from_str(&raw.stdout).unwrap();
        assert!(v["cpu_stats"]["cpu_usage"]["total_usage"].as_u64().unwrap() > 0);
        assert!(v["cpu_stats"]["system_cpu_usage"].as_u64().unwrap() > 0);
        assert!(v["precpu_stats"]["system_cpu_usage"].as_u64().unwrap() > 0);
        assert_eq!(v["memory_stats"]["limit"], 64 << 20);
        assert_eq!(v["pids_stats"]["limit"], 50);
        // On the default bridge: its eth0's counters, as dockerd's `networks`.
        assert!(v["networks"]["eth0"]["rx_packets"].is_u64(), "{v}");
        assert!(v["networks"].get("lo").is_none(), "{v}");
    }
}

#[test]
fn rename_and_update() {
    if common::skip() {
        return;
    }
    let d = Daemon::start();
    let name = sleeper(&d, &[]);
    let other = sleeper(&d, &[]);
    let renamed = unique("renamed");
    d.docker(&["rename", &name, &renamed]).ok();
    let got = d.docker(&["inspect", "-f", "{{.Name}}", &renamed]).ok();
    assert_eq!(got.stdout.trim(), format!("/{renamed}"));
    let out = d.docker(&["rename", &renamed, &other]).failed();
    assert!(out.stderr.contains("is already in use"), "{out:?}");

    let out = d
        .docker(&[
            "update",
            "--memory",
            "64m",
            "--memory-swap",
            "128m",
            "--pids-limit",
            "42",
            "--restart",
            "on-failure:3",
            &renamed,
        ])
        .ok();
    assert_eq!(out.stdout.trim(), renamed);
    let pid = d
        .docker(&["inspect", "-f", "{{.State.Pid}}", &renamed])
        .ok()
        .text();
    let memory_file = process_cgroup_file(&pid, "memory", "memory.limit_in_bytes", "memory.max");
    let limit = std::fs::read_to_string(&memory_file).unwrap();
    assert_eq!(
        limit.trim(),
        (64u64 << 20).to_string(),
        "{}",
        memory_file.display()
    );
    let inspect = d
        .docker(&[
            "inspect",
            "-f",
            "{{.HostConfig.Memory}} {{.HostConfig.PidsLimit}} {{.HostConfig.RestartPolicy.Name}}:{{.HostConfig.RestartPolicy.MaximumRetryCount}}",
            &renamed,
        ])
        .ok();
    assert_eq!(
        inspect.stdout.trim(),
        format!("{} 42 on-failure:3", 64u64 << 20)
    );
    let out = d.docker(&["update", "--memory", "1k", &renamed]).failed();
    assert!(out.stderr.contains("Minimum memory limit"), "{out:?}");
}

#[test]
fn healthcheck_goes_from_starting_to_healthy_and_survives_a_restart() {
    if common::skip() {
        return;
    }
    let mut d = Daemon::start();
    let name = sleeper(
        &d,
        &[
            "--health-cmd",
            "test -f /tmp/ok",
            "--health-interval",
            "1s",
            "--health-retries",
            "2",
            "--health-timeout",
            "5s",
        ],
    );
    let health = |d: &Daemon| {
        d.docker(&["inspect", "-f", "{{.State.Health.Status}}", &name])
            .ok()
            .text()
    };
    let ps = d.docker(&["ps", "--format", "{{.Status}}"]).ok();
    assert!(
        ps.stdout.contains("(health: starting)") || ps.stdout.contains("(unhealthy)"),
        "{ps:?}"
    );
    assert!(
        eventually(Duration::from_secs(15), || health(&d) == "unhealthy"),
        "never unhealthy: {}",
        health(&d)
    );
    let ps = d.docker(&["ps", "--format", "{{.Status}}"]).ok();
    assert!(ps.stdout.contains("(unhealthy)"), "{ps:?}");
    d.docker(&["exec", &name, "touch", "/tmp/ok"]).ok();
    assert!(eventually(Duration::from_secs(15), || health(&d) == "healthy"));
    let ps = d.docker(&["ps", "--format", "{{.Status}}"]).ok();
    assert!(ps.stdout.contains("(healthy)"), "{ps:?}");
    let log = d
        .docker(&[
            "inspect",
            "-f",
            "{{len .State.Health.Log}} {{.State.Health.FailingStreak}}",
            &name,
        ])
        .ok();
    let mut it = log.stdout.split_whitespace();
    let entries: usize = it.next().unwrap().parse().unwrap();
    assert!((1..=5).contains(&entries), "{log:?}");
    assert_eq!(it.next(), Some("0"));
    let filter = format!("container={name}");
    assert!(eventually(Duration::from_secs(5), || {
        d.docker(&[
            "events", "--since", "0", "--until", "0s", "--filter", &filter,
        ])
        .stdout
        .contains("health_status: healthy")
    }));

    // After a daemon crash the monitor runs again: a failing check turns it unhealthy.
    d.kill9();
    d.spawn();
    assert_eq!(health(&d), "healthy");
    d.docker(&["exec", &name, "rm", "/tmp/ok"]).ok();
    assert!(eventually(Duration::from_secs(15), || health(&d) == "unhealthy"));
    // Stopped: no more probes.
    d.docker(&["stop", "-t", "0", &name]).ok();
    let before = d
        .docker(&["inspect", "-f", "{{len .State.Health.Log}}", &name])
        .ok()
        .stdout;
    std::thread::sleep(Duration::from_secs(3));
    let after = d
        .docker(&["inspect", "-f", "{{len .State.Health.Log}}", &name])
        .ok()
        .stdout;
    assert_eq!(before, after);
}

#[test]
fn image_healthcheck_is_inherited_unless_disabled() {
    if common::skip() {
        return;
    }
    let d = Daemon::start();
    let tar = common::busybox_tar().display().to_string();
    d.docker(&[
        "import",
        "-c",
        "CMD [\"sh\"]",
        "-c",
        "HEALTHCHECK --interval=1s --retries=1 CMD true",
        &tar,
        "busybox:health",
    ])
    .ok();
    let name = unique("inherits");
    d.docker(&[
        "run",
        "-d",
        "--name",
        &name,
        "busybox:health",
        "sleep",
        "1000",
    ])
    .ok();
    assert!(eventually(Duration::from_secs(15), || {
        d.docker(&["inspect", "-f", "{{.State.Health.Status}}", &name])
            .ok()
            .stdout
            .trim()
            == "healthy"
    }));
    let off = unique("nocheck");
    d.docker(&[
        "run",
        "-d",
        "--name",
        &off,
        "--no-healthcheck",
        "busybox:health",
        "sleep",
        "1000",
    ])
    .ok();
    std::thread::sleep(Duration::from_secs(2));
    let h = d.docker(&["inspect", "-f", "{{.State.Health}}", &off]).ok();
    assert_eq!(h.stdout.trim(), "<nil>");
    let ps = d
        .docker(&[
            "ps",
            "--filter",
            &format!("name={off}"),
            "--format",
            "{{.Status}}",
        ])
        .ok();
    assert!(!ps.stdout.contains("health"), "{ps:?}");
}

#[test]
fn info_counts_states_and_port_prints_nothing() {
    if common::skip() {
        return;
    }
    let d = Daemon::start();
    let image = d.busybox();
    let running = sleeper(&d, &["--expose", "80"]);
    let paused = sleeper(&d, &[]);
    d.docker(&["pause", &paused]).ok();
    d.docker(&["create", image, "true"]).ok();
    let info = d
        .docker(&[
            "info",
            "--format",
            "{{.Containers}} {{.ContainersRunning}} {{.ContainersPaused}} {{.ContainersStopped}}",
        ])
        .ok();
    assert_eq!(info.stdout.trim(), "3 1 1 1");
    let port = d.docker(&["port", &running]).ok();
    assert_eq!(port.stdout, "");
    let ports = d
        .docker(&["inspect", "-f", "{{json .NetworkSettings.Ports}}", &running])
        .ok();
    assert_eq!(ports.stdout.trim(), r#"{"80/tcp":null}"#);
    d.docker(&["unpause", &paused]).ok();
}

/// The probe runs on the engine's captured exec, the CRI ExecSync's path: its stdout and
/// stderr are both in the log, and a probe past its timeout is killed, not left running.
#[test]
fn healthcheck_output_is_kept_and_a_timed_out_probe_is_killed() {
    if common::skip() {
        return;
    }
    let d = Daemon::start();
    let name = sleeper(
        &d,
        &[
            "--health-cmd",
            "echo out; echo err >&2; test -f /tmp/slow && sleep 37; exit 1",
            "--health-interval",
            "1s",
            "--health-timeout",
            "1s",
        ],
    );
    let last_output = |d: &Daemon| {
        d.docker(&[
            "inspect",
            "-f",
            "{{with .State.Health}}{{range .Log}}{{.ExitCode}} {{.Output}}|{{end}}{{end}}",
            &name,
        ])
        .ok()
        .stdout
    };
    assert!(
        eventually(Duration::from_secs(15), || last_output(&d)
            .contains("1 out\nerr\n|")),
        "{}",
        last_output(&d)
    );
    d.docker(&["exec", &name, "touch", "/tmp/slow"]).ok();
    assert!(
        eventually(Duration::from_secs(15), || last_output(&d)
            .contains("-1 Health check exceeded timeout (1s)")),
        "{}",
        last_output(&d)
    );
    // The probe's shell was killed; its sleep, orphaned, may live on (as with dockerd), but no
    // probe shell piles up.
    let ps = d.docker(&["exec", &name, "ps", "-o", "args"]).ok().stdout;
    let shells = ps
        .lines()
        .filter(|l| l.starts_with("/bin/sh -c echo out"))
        .count();
    assert!(shells <= 1, "{ps}");
}

/// An exec's output is never cut, however far its client falls behind: the exec's shim reads
/// the output only as fast as the client takes it.
#[test]
fn a_large_exec_output_arrives_whole() {
    if common::skip() {
        return;
    }
    let d = Daemon::start();
    let name = sleeper(&d, &[]);
    let out = d
        .docker(&[
            "exec",
            &name,
            "sh",
            "-c",
            "head -c 6000000 /dev/zero | tr '\\0' a; echo done >&2",
        ])
        .ok();
    assert_eq!(out.stdout.len(), 6_000_000);
    assert!(out.stdout.bytes().all(|b| b == b'a'));
    assert_eq!(out.stderr, "done\n");
}
