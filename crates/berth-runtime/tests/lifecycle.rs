//! Container lifecycle through the runc command line: create, start, state, kill, delete, run,
//! list, and the refusals that must leave existing containers untouched.
#![allow(clippy::unwrap_used)]

mod common;

use common::{cmdline, eventually, poll_until, Container};
use std::path::Path;

fn process_gone(pid: i32) -> bool {
    poll_until(|| {
        // A zombie still has a /proc entry but is no longer running anything (this VM's pid 1
        // reaps orphans only every few seconds).
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        stat.is_empty() || stat.contains(") Z ")
    })
}

#[test]
fn create_start_kill_delete() {
    let Some(c) = Container::new("life", &["sleep", "1000"]) else {
        return;
    };
    c.create().ok();

    let state = c.state().unwrap();
    assert_eq!(state["status"], "created", "{state}");
    assert_eq!(state["id"], c.id.as_str());
    assert_eq!(Path::new(state["bundle"].as_str().unwrap()), c.bundle());
    let pid = c.pid();
    assert!(
        pid > 0 && Path::new(&format!("/proc/{pid}")).exists(),
        "init pid {pid} not alive"
    );
    // Before start the user process must not have run yet.
    assert_ne!(cmdline(pid), ["sleep", "1000"], "process ran before start");

    c.start().ok();
    assert!(c.wait_status("running"), "status {}", c.status());
    assert_eq!(c.pid(), pid, "start must exec in the created init process");
    eventually("the init to exec sleep", || {
        cmdline(pid) == ["sleep", "1000"]
    });

    c.kill("KILL").ok();
    assert!(c.wait_status("stopped"), "status {}", c.status());

    c.delete().ok();
    assert!(c.state().is_none(), "state still answers after delete");
    assert!(
        c.cgroup_dirs().is_empty(),
        "cgroups left: {:?}",
        c.cgroup_dirs()
    );
}

#[test]
fn run_propagates_exit_code_and_output() {
    let Some(c) = Container::new("run-exit", &["sh", "-c", "echo out; echo err >&2; exit 42"])
    else {
        return;
    };
    let out = c.run_capture();
    assert_eq!(out.code, 42, "{out:?}");
    assert_eq!(out.stdout, "out\n");
    assert!(out.stderr.contains("err\n"), "{out:?}");
}

#[test]
fn run_reports_signal_death_like_a_shell() {
    // The process kills itself; runc reports 128+signal as its own exit status. No PID
    // namespace, because the kernel ignores SIGKILL sent by a namespace's init to itself.
    let Some(mut c) = Container::new("run-sig", &["sh", "-c", "kill -9 $$"]) else {
        return;
    };
    c.remove_namespace("pid");
    assert_eq!(c.run_capture().code, 137);
}

#[test]
fn pid_file_holds_init_pid() {
    let Some(c) = Container::new("pidfile", &["sleep", "1000"]) else {
        return;
    };
    let pid_file = c.bundle().join("init.pid");
    c.create_with(&["--pid-file", pid_file.to_str().unwrap()])
        .ok();
    let written: i32 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(written, c.pid());
    c.start().ok();
    // The pid file must name the process that becomes the container process.
    eventually("the init to exec sleep", || {
        cmdline(written) == ["sleep", "1000"]
    });
}

#[test]
fn duplicate_id_is_refused_and_changes_nothing() {
    let Some(c) = Container::new("dup", &["sleep", "1000"]) else {
        return;
    };
    c.create().ok();
    let before = c.state().unwrap();

    let again = c.create().failed();
    assert!(
        again.all().contains(&c.id) || again.all().contains("exist"),
        "{again:?}"
    );

    let after = c.state().unwrap();
    assert_eq!(after["status"], "created");
    assert_eq!(
        after["pid"], before["pid"],
        "the original container was replaced"
    );
    c.start().ok();
    assert!(c.wait_status("running"));
}

#[test]
fn delete_of_running_container_needs_force() {
    let Some(c) = Container::new("delrun", &["sleep", "1000"]) else {
        return;
    };
    c.start_sleeping();
    let pid = c.pid();

    c.delete().failed();
    assert_eq!(
        c.status(),
        "running",
        "refused delete must leave it running"
    );
    assert!(
        Path::new(&format!("/proc/{pid}")).exists(),
        "refused delete killed the process"
    );

    c.delete_force().ok();
    assert!(c.state().is_none());
    assert!(process_gone(pid), "delete --force must kill the process");
    assert!(
        c.cgroup_dirs().is_empty(),
        "cgroups left: {:?}",
        c.cgroup_dirs()
    );
}

#[test]
fn list_json_shows_containers() {
    let Some(c) = Container::new("list", &["sleep", "1000"]) else {
        return;
    };
    // An empty root lists nothing; runc prints `null`, others `[]`.
    let empty: serde_json::Value =
        serde_json::from_str(&c.rt(&["list", "--format", "json"]).ok().stdout).unwrap();
    assert!(
        empty.is_null() || empty.as_array().is_some_and(Vec::is_empty),
        "{empty}"
    );

    c.create().ok();
    let list: serde_json::Value =
        serde_json::from_str(&c.rt(&["list", "--format", "json"]).ok().stdout).unwrap();
    let entries = list.as_array().unwrap();
    assert_eq!(entries.len(), 1, "{list}");
    assert_eq!(entries[0]["id"], c.id.as_str());
    assert_eq!(entries[0]["status"], "created");
    assert_eq!(entries[0]["pid"], c.pid());

    // The plain table names the id too.
    assert!(c.rt(&["list"]).ok().stdout.contains(&c.id));
}

#[test]
fn state_of_unknown_id_fails() {
    let Some(c) = Container::new("unknown", &["true"]) else {
        return;
    };
    let out = c.rt(&["state", "no-such-container"]).failed();
    assert!(
        out.stdout.trim().is_empty(),
        "no state JSON for an unknown id: {out:?}"
    );
}

#[test]
fn debug_logs_the_steps_as_runc_json_lines() {
    let Some(c) = Container::new("debuglog", &["true"]) else {
        return;
    };
    let log = c.bundle().join("debug.log");
    let mut cmd = c.command();
    cmd.arg("--debug")
        .arg("--log")
        .arg(&log)
        .arg("--log-format")
        .arg("json");
    c.write_config();
    cmd.arg("run").arg("--bundle").arg(c.bundle()).arg(&c.id);
    common::run_to_files(cmd, c.bundle(), "run").ok();
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let debug_about_us: Vec<&serde_json::Value> = lines
        .iter()
        .filter(|l| l["level"] == "debug" && l.to_string().contains(&c.id))
        .collect();
    // Every line has what containerd and podman parse.
    assert!(
        lines
            .iter()
            .all(|l| l["msg"].is_string() && l["time"].is_string() && l["level"].is_string()),
        "{text}"
    );
    assert!(lines.iter().any(|l| l["level"] == "debug"), "{text}");
    // Only ours promise to name the container: runc 1.1's nsexec lines, for one, do not
    // (whether a later line does depends on timing).
    if common::runtime_name() == "berth-runtime" {
        assert!(
            !debug_about_us.is_empty(),
            "no debug line names {}: {text}",
            c.id
        );
        // Our own steps, including one from inside the container process.
        for msg in ["container process cloned", "mounted", "container created"] {
            assert!(
                debug_about_us.iter().any(|l| l["msg"] == msg),
                "no {msg:?} line: {text}"
            );
        }
    }
}
