//! `exec` into a running container: overrides from flags and from a process.json file, exit code
//! propagation, detached execs, and joining the container's namespaces.
#![allow(clippy::unwrap_used)]

mod common;

use common::{cmdline, eventually, Container};
use serde_json::json;

fn ns_link(pid: i32, ns: &str) -> std::path::PathBuf {
    std::fs::read_link(format!("/proc/{pid}/ns/{ns}")).unwrap()
}

#[test]
fn exec_with_env_cwd_user_and_exit_code() {
    let Some(c) = Container::new("exec", &["sleep", "1000"]) else {
        return;
    };
    c.start_sleeping();
    let out = c.exec(
        // PATH too: crun 1.8 replaces the config's env with --env where runc appends to it.
        &[
            "--env",
            "PATH=/bin",
            "--env",
            "FOO=bar baz",
            "--cwd",
            "/etc",
            "--user",
            "65534:65534",
        ],
        &[
            "sh",
            "-c",
            "echo \"$FOO\"; pwd; id -u; id -g; hostname; tr '\\0' ' ' < /proc/1/cmdline; exit 7",
        ],
    );
    assert_eq!(out.code, 7, "{out:?}");
    assert_eq!(
        out.stdout, "bar baz\n/etc\n65534\n65534\nberth\nsleep 1000 ",
        "{out:?}"
    );
    // The container keeps running after the exec'd process exits.
    assert_eq!(c.status(), "running");
}

#[test]
fn exec_process_file() {
    let Some(c) = Container::new("execproc", &["sleep", "1000"]) else {
        return;
    };
    c.start_sleeping();
    let process = json!({
        "terminal": false,
        "user": {"uid": 65534, "gid": 65534, "additionalGids": [10]},
        "args": ["sh", "-c", "echo \"$FROM_FILE\"; pwd; id -G; grep ^NoNewPrivs /proc/self/status"],
        "env": ["PATH=/bin", "FROM_FILE=yes"],
        "cwd": "/tmp",
        "noNewPrivileges": true
    });
    let path = c.bundle().join("process.json");
    std::fs::write(&path, process.to_string()).unwrap();
    let out = c.exec(&["--process", path.to_str().unwrap()], &[]).ok();
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines[..2], ["yes", "/tmp"], "{out:?}");
    let mut groups: Vec<&str> = lines[2].split_whitespace().collect();
    groups.sort_unstable();
    assert_eq!(groups, ["10", "65534"], "{out:?}");
    assert_eq!(lines[3], "NoNewPrivs:\t1", "{out:?}");
}

#[test]
fn exec_detach_writes_pid_file() {
    let Some(c) = Container::new("execdetach", &["sleep", "1000"]) else {
        return;
    };
    c.start_sleeping();
    let pid_file = c.bundle().join("exec.pid");
    c.exec(
        &["--detach", "--pid-file", pid_file.to_str().unwrap()],
        &["sleep", "999"],
    )
    .ok();
    let pid: i32 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    eventually("the exec to run sleep", || cmdline(pid) == ["sleep", "999"]);
    // It joined the container, not just ran a host process.
    let init = c.pid();
    for ns in ["pid", "net", "mnt", "ipc", "uts"] {
        assert_eq!(
            ns_link(pid, ns),
            ns_link(init, ns),
            "{ns} namespace differs"
        );
    }
    let ps = c.rt(&["ps", "--format", "json", &c.id]).ok();
    let pids: Vec<i32> = serde_json::from_str(&ps.stdout).unwrap();
    assert!(
        pids.contains(&pid),
        "exec'd pid {pid} not in the container cgroup: {pids:?}"
    );
}

#[test]
fn exec_into_stopped_container_fails() {
    let Some(c) = Container::new("execstopped", &["sleep", "1000"]) else {
        return;
    };
    c.start_sleeping();
    c.kill("KILL").ok();
    assert!(c.wait_status("stopped"));
    c.exec(&[], &["true"]).failed();
}

#[test]
fn exec_with_additional_gids_cap_and_no_new_privs() {
    let Some(mut c) = Container::new("execflags", &["sleep", "1000"]) else {
        return;
    };
    c.set("/process/noNewPrivileges", json!(false));
    c.start_sleeping();
    let script = "id -G; grep -E '^(CapBnd|CapEff|NoNewPrivs):' /proc/self/status";
    let sys_admin = common::cap_mask(&["CAP_SYS_ADMIN"]);
    let has_sys_admin = |status: &str, field: &str| {
        let hex = common::status_field(status, field).unwrap();
        u64::from_str_radix(&hex, 16).unwrap() & sys_admin != 0
    };

    let plain = c.exec(&[], &["sh", "-c", script]).ok().stdout;
    assert_eq!(plain.lines().next(), Some("0"), "{plain}");
    assert!(!has_sys_admin(&plain, "CapBnd"), "{plain}");
    assert_eq!(
        common::status_field(&plain, "NoNewPrivs").as_deref(),
        Some("0")
    );

    let flagged = c
        .exec(
            &[
                "--additional-gids",
                "10",
                "--cap",
                "CAP_SYS_ADMIN",
                "--no-new-privs",
            ],
            &["sh", "-c", script],
        )
        .ok()
        .stdout;
    assert_eq!(flagged.lines().next(), Some("0 10"), "{flagged}");
    assert!(has_sys_admin(&flagged, "CapBnd"), "{flagged}");
    assert!(has_sys_admin(&flagged, "CapEff"), "{flagged}");
    assert_eq!(
        common::status_field(&flagged, "NoNewPrivs").as_deref(),
        Some("1"),
        "{flagged}"
    );
}
