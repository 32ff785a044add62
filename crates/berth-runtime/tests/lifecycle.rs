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
    let text = common::debug_log(&c, "json");
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

#[test]
fn kill_all_signals_every_process_of_the_container() {
    // Without a pid namespace the init's death leaves its children alive: only --all gets them.
    let Some(mut c) = Container::new("killall", &["sh", "-c", "sleep 1000 & exec sleep 1001"])
    else {
        return;
    };
    c.remove_namespace("pid");
    c.start_sleeping();
    let mut pids: Vec<i32> = Vec::new();
    eventually("both sleeps in the cgroup", || {
        let ps = c.rt(&["ps", "--format", "json", &c.id]).ok();
        pids = serde_json::from_str(&ps.stdout).unwrap();
        pids.len() == 2
    });
    c.rt(&["kill", "--all", &c.id, "KILL"]).ok();
    for pid in pids {
        assert!(process_gone(pid), "{pid} survived kill --all");
    }
    assert!(c.wait_status("stopped"), "status {}", c.status());
}

#[test]
fn run_detach_returns_while_the_container_runs() {
    let Some(c) = Container::new("rundetach", &["sleep", "1000"]) else {
        return;
    };
    let out = common::run_to_files(c.run_command_with(&[], &["--detach"]), c.bundle(), "run");
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(c.status(), "running");
    let pid = c.pid();
    eventually("the init to exec sleep", || {
        cmdline(pid) == ["sleep", "1000"]
    });
}

#[test]
fn run_keep_leaves_the_stopped_container() {
    let Some(c) = Container::new("runkeep", &["sh", "-c", "exit 3"]) else {
        return;
    };
    let out = common::run_to_files(c.run_command_with(&[], &["--keep"]), c.bundle(), "run");
    assert_eq!(out.code, 3, "{out:?}");
    assert_eq!(c.status(), "stopped");
    c.delete().ok();
    assert!(c.state().is_none());
    // Without --keep, run deletes it.
    assert_eq!(c.run_capture().code, 3);
    assert!(c.state().is_none(), "run without --keep left a state");
}

/// Whether the host sees a keyring named after `id` (runc calls it `_ses.<id>`).
fn has_session_keyring(id: &str) -> bool {
    std::fs::read_to_string("/proc/keys")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_once(" keyring ").map(|(_, rest)| rest.trim_start()))
        .filter_map(|rest| rest.split_once(':').map(|(name, _)| name))
        .any(|name| name.trim_start_matches("_ses.") == id)
}

#[test]
fn each_container_gets_a_session_keyring_unless_no_new_keyring() {
    for (flags, expected) in [(&[][..], true), (&["--no-new-keyring"][..], false)] {
        let Some(c) = Container::new("keyring", &["sleep", "1000"]) else {
            return;
        };
        c.create_with(flags).ok();
        assert_eq!(has_session_keyring(&c.id), expected, "create {flags:?}");
    }
}

#[test]
fn no_pivot_runs_in_the_rootfs() {
    let Some(c) = Container::new(
        "nopivot",
        &[
            "sh",
            "-c",
            "head -1 /etc/passwd; ls /proc/1/root/bin/busybox; exit 5",
        ],
    ) else {
        return;
    };
    let out = common::run_to_files(c.run_command_with(&[], &["--no-pivot"]), c.bundle(), "run");
    assert_eq!(out.code, 5, "{out:?}");
    assert_eq!(
        out.stdout, "root:x:0:0:root:/root:/bin/sh\n/proc/1/root/bin/busybox\n",
        "{out:?}"
    );
}

#[test]
fn preserve_fds_passes_that_many_extra_fds() {
    let Some(c) = Container::new(
        "preserve",
        &["sh", "-c", "cat <&3; cat <&4 || echo no-fd-4"],
    ) else {
        return;
    };
    let passed = c.bundle().join("passed.txt");
    std::fs::write(&passed, "passed\n").unwrap();
    let file = std::fs::File::open(&passed).unwrap();
    let mut cmd = c.run_command_with(&[], &["--preserve-fds", "1"]);
    common::inherit_fd(&mut cmd, &file, 3);
    common::inherit_fd(&mut cmd, &file, 4);
    let out = common::run_to_files(cmd, c.bundle(), "run").ok();
    assert_eq!(out.stdout, "passed\nno-fd-4\n", "{out:?}");
}

#[test]
fn created_container_of_an_unprivileged_user_starts_under_a_strict_umask() {
    // The container process reopens exec.fifo after switching to its user: the state dir the
    // runtime made under umask 077 must still let it through.
    let Some(mut c) = Container::new("nobody-start", &["id", "-u"]) else {
        return;
    };
    c.set(
        "/process/user",
        serde_json::json!({"uid": 65534, "gid": 65534}),
    );
    c.write_config();
    let mut cmd = std::process::Command::new("sh");
    cmd.args(["-c", "umask 077 && exec \"$@\"", "sh"])
        .arg(common::runtime())
        .args(c.command().get_args())
        .args(["create", "--bundle"])
        .arg(c.bundle())
        .arg(&c.id);
    common::run_to_files(cmd, c.bundle(), "create").ok();
    c.start().ok();
    assert!(c.wait_status("stopped"), "status {}", c.status());
    assert_eq!(c.container_output().0, "65534\n");
}
