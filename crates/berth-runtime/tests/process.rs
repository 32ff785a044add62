//! The container process as it sees itself: args, env, cwd, user and groups, umask, rlimits,
//! capabilities, no_new_privs, oom_score_adj, and no file descriptors leaked from the runtime.
#![allow(clippy::unwrap_used)]

mod common;

use common::{
    cap_mask, check_except_known_gaps, inherit_fd, run_to_files, status_field, Container, Out,
};
use serde_json::json;

/// Host fd number the runtime inherits in the leak tests (not close-on-exec).
const LEAKED_FD: i32 = 7;

/// Runs the container with a host directory open at `LEAKED_FD` in the runtime process, the way
/// a careless caller (or CVE-2024-21626's leaked cgroup fd) hands one over.
fn run_with_inherited_dir(c: &Container, dir: &std::path::Path) -> Out {
    let host_dir = std::fs::File::open(dir).unwrap();
    let mut cmd = c.run_command();
    inherit_fd(&mut cmd, &host_dir, LEAKED_FD);
    run_to_files(cmd, c.bundle(), "run")
}

#[test]
fn args_env_and_cwd() {
    let Some(mut c) = Container::new(
        "args",
        &[
            "sh",
            "-c",
            "echo \"[$1] [$FOO] [$EMPTY]\"; pwd",
            "sh",
            "a b",
        ],
    ) else {
        return;
    };
    c.push("/process/env", json!("FOO=bar baz"));
    c.push("/process/env", json!("EMPTY="));
    c.set("/process/cwd", json!("/etc"));
    assert_eq!(c.run_capture().ok().stdout, "[a b] [bar baz] []\n/etc\n");
}

#[test]
fn user_group_and_additional_gids() {
    let Some(mut c) = Container::new(
        "user",
        &[
            "sh",
            "-c",
            "id -u; id -g; id -G; grep -E '^(Uid|Gid|Groups):' /proc/self/status",
        ],
    ) else {
        return;
    };
    c.set(
        "/process/user",
        json!({"uid": 65534, "gid": 65534, "additionalGids": [10, 20]}),
    );
    let out = c.run_capture().ok();
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines[..2], ["65534", "65534"], "{out:?}");
    let mut groups: Vec<&str> = lines[2].split_whitespace().collect();
    groups.sort_unstable();
    assert_eq!(groups, ["10", "20", "65534"], "{out:?}");
    // Real, effective, saved and fs ids all switched, not just the effective one.
    assert_eq!(
        status_field(&out.stdout, "Uid")
            .unwrap()
            .split_whitespace()
            .collect::<Vec<_>>(),
        ["65534"; 4]
    );
    assert_eq!(
        status_field(&out.stdout, "Gid")
            .unwrap()
            .split_whitespace()
            .collect::<Vec<_>>(),
        ["65534"; 4]
    );
    assert_eq!(status_field(&out.stdout, "Groups").unwrap(), "10 20");
}

#[test]
fn umask_is_applied() {
    let Some(mut c) = Container::new("umask", &["sh", "-c", "umask"]) else {
        return;
    };
    c.set("/process/user/umask", json!(0o027));
    assert_eq!(c.run_capture().ok().stdout, "0027\n");
}

#[test]
fn rlimits_are_applied() {
    let Some(mut c) = Container::new("rlimit", &["sh", "-c", "ulimit -n; ulimit -Hn"]) else {
        return;
    };
    // Without CAP_SYS_RESOURCE a runtime cannot raise a hard limit above ours; stay below it.
    let (_, hard) =
        nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE).unwrap();
    let hard = hard.min(1000);
    let soft = hard / 2;
    c.set(
        "/process/rlimits",
        json!([{"type": "RLIMIT_NOFILE", "soft": soft, "hard": hard}]),
    );
    assert_eq!(c.run_capture().ok().stdout, format!("{soft}\n{hard}\n"));
}

#[test]
fn capability_sets_match_config() {
    let Some(mut c) = Container::new("caps", &["grep", "^Cap", "/proc/self/status"]) else {
        return;
    };
    let bounding = [
        "CAP_CHOWN",
        "CAP_KILL",
        "CAP_NET_BIND_SERVICE",
        "CAP_NET_RAW",
    ];
    let permitted = ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"];
    let inheritable = ["CAP_KILL"];
    // With noNewPrivileges (the default config) root's exec cannot gain beyond `permitted`, so
    // every set the kernel reports is exactly what the config says.
    c.set(
        "/process/capabilities",
        json!({"bounding": bounding, "effective": permitted, "permitted": permitted,
               "inheritable": inheritable, "ambient": inheritable}),
    );
    let out = c.run_capture().ok();
    let mask = |field| u64::from_str_radix(&status_field(&out.stdout, field).unwrap(), 16).unwrap();
    assert_eq!(mask("CapBnd"), cap_mask(&bounding), "{out:?}");
    assert_eq!(mask("CapPrm"), cap_mask(&permitted), "{out:?}");
    assert_eq!(mask("CapEff"), cap_mask(&permitted), "{out:?}");
    assert_eq!(mask("CapInh"), cap_mask(&inheritable), "{out:?}");
    assert_eq!(mask("CapAmb"), cap_mask(&inheritable), "{out:?}");
}

#[test]
fn dropped_capability_is_enforced() {
    // CAP_CHOWN is not in the default set: chown must fail even for root.
    let script = "touch /tmp/f; chown 1 /tmp/f 2>&1; echo rc=$?";
    let Some(mut c) = Container::new("nochown", &["sh", "-c", script]) else {
        return;
    };
    c.tmpfs("/tmp", &["size=1m"]);
    let out = c.run_capture().ok();
    assert!(
        out.stdout.contains("Operation not permitted") && out.stdout.contains("rc=1"),
        "{out:?}"
    );
}

#[test]
fn no_new_privileges_flag() {
    for (nnp, expected) in [(true, "1"), (false, "0")] {
        let Some(mut c) = Container::new("nnp", &["grep", "^NoNewPrivs", "/proc/self/status"])
        else {
            return;
        };
        c.set("/process/noNewPrivileges", json!(nnp));
        let out = c.run_capture().ok();
        assert_eq!(
            status_field(&out.stdout, "NoNewPrivs").unwrap(),
            expected,
            "nnp={nnp}"
        );
    }
}

#[test]
fn oom_score_adj_is_applied() {
    // Only a positive value: lowering it needs CAP_SYS_RESOURCE, which this host lacks.
    let Some(mut c) = Container::new("oom", &["cat", "/proc/self/oom_score_adj"]) else {
        return;
    };
    c.set("/process/oomScoreAdj", json!(500));
    assert_eq!(c.run_capture().ok().stdout, "500\n");
}

#[test]
fn no_runtime_fds_leak_into_container() {
    let Some(c) = Container::new("fds", &["sh", "-c", "cd /proc/self/fd && echo *"]) else {
        return;
    };
    let host_dir = tempfile::tempdir().unwrap();
    let out = run_with_inherited_dir(&c, host_dir.path()).ok();
    // The shell's glob opens the directory itself; anything beyond 0-2 and that is a leak.
    let fds: Vec<u32> = out
        .stdout
        .split_whitespace()
        .map(|f| f.parse().unwrap())
        .collect();
    assert!(
        fds.len() <= 4 && fds[..3] == [0, 1, 2],
        "leaked fds: {out:?}"
    );
    assert!(
        !fds.contains(&7),
        "inherited fd {LEAKED_FD} reached the container: {out:?}"
    );
}

#[test]
fn cwd_cannot_point_outside_rootfs() {
    // `..` past the root is clamped to the root inside the container.
    let Some(mut c) = Container::new(
        "cwd-dots",
        &["sh", "-c", "pwd; ls /proc/self/cwd/bin/busybox"],
    ) else {
        return;
    };
    c.set("/process/cwd", json!("/../../../.."));
    assert_eq!(
        c.run_capture().ok().stdout,
        "/\n/proc/self/cwd/bin/busybox\n"
    );

    // CVE-2024-21626: a cwd through a leaked host fd would start the process in a host
    // directory. The runtime must fail, or at least not land there.
    let Some(mut c) = Container::new("cwd-fd", &["sh", "-c", "ls -A; pwd"]) else {
        return;
    };
    c.set("/process/cwd", json!(format!("/proc/self/fd/{LEAKED_FD}")));
    let host_dir = tempfile::tempdir().unwrap();
    std::fs::write(host_dir.path().join("host-secret"), "x").unwrap();
    let out = run_with_inherited_dir(&c, host_dir.path());
    check_except_known_gaps(
        if out.stdout.contains("host-secret") {
            Err(format!("process started in a host dir: {out:?}"))
        } else {
            Ok(())
        },
        // Seen on Debian's crun 1.8.1: it chdirs before closing inherited fds, so the process
        // starts in the caller's directory (only exploitable when the caller leaks an fd).
        &[(
            "crun",
            "crun 1.8 resolves cwd through fds inherited from its caller",
        )],
    );
}

#[test]
fn memory_policy_binds_the_process_to_its_nodes() {
    let Some(mut c) = Container::new("mempolicy", &["sh", "-c", "cat /proc/self/numa_maps"]) else {
        return;
    };
    c.set(
        "/linux/memoryPolicy",
        json!({"mode": "MPOL_INTERLEAVE", "nodes": "0"}),
    );
    let out = c.run_capture();
    check_except_known_gaps(
        if out.code == 0 && out.stdout.contains(" interleave:0 ") {
            Ok(())
        } else {
            Err(format!("no interleave policy in numa_maps: {out:?}"))
        },
        &[
            ("runc", "runc 1.1 predates memoryPolicy and ignores it"),
            ("crun", "crun 1.8 predates memoryPolicy and ignores it"),
        ],
    );
}
