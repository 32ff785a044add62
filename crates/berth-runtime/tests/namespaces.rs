//! Namespaces as the container sees them: its own pid 1, hostname, network, user mappings, time
//! offsets and cgroup root, and joining an existing network namespace by path.
#![allow(clippy::unwrap_used)]

mod common;

use common::{check_except_known_gaps, unique_name, Container};
use serde_json::json;
use std::os::unix::fs::MetadataExt;
use std::process::Command;

/// A named network namespace (`ip netns add`), deleted on drop.
struct NetNs {
    name: String,
}

impl NetNs {
    fn new() -> Self {
        let name = unique_name("berth-netns");
        let status = Command::new("ip")
            .args(["netns", "add", &name])
            .status()
            .unwrap();
        assert!(status.success(), "ip netns add {name}");
        Self { name }
    }

    fn path(&self) -> String {
        format!("/run/netns/{}", self.name)
    }
}

impl Drop for NetNs {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "delete", &self.name])
            .status();
    }
}

#[test]
fn container_process_is_pid_one() {
    let Some(c) = Container::new(
        "pid1",
        &["sh", "-c", "echo $$; ls /proc | grep -c '^[0-9]'"],
    ) else {
        return;
    };
    let out = c.run_capture().ok();
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines[0], "1", "{out:?}");
    // Only sh and its ls/grep children exist in a fresh PID namespace.
    assert!(
        lines[1].parse::<u32>().unwrap() <= 4,
        "host processes visible: {out:?}"
    );
}

#[test]
fn hostname_is_set() {
    let Some(mut c) = Container::new("uts", &["hostname"]) else {
        return;
    };
    c.set("/hostname", json!("berth-uts-test"));
    assert_eq!(c.run_capture().ok().stdout, "berth-uts-test\n");
}

#[test]
fn new_network_namespace_has_only_loopback() {
    let Some(c) = Container::new("netns", &["ls", "/sys/class/net"]) else {
        return;
    };
    assert_eq!(c.run_capture().ok().stdout, "lo\n");
}

#[test]
fn joins_existing_network_namespace_by_path() {
    let Some(mut c) = Container::new("netjoin", &["readlink", "/proc/self/ns/net"]) else {
        return;
    };
    let netns = NetNs::new();
    c.namespace("network", Some(&netns.path()));
    let inode = std::fs::metadata(netns.path()).unwrap().ino();
    assert_eq!(c.run_capture().ok().stdout, format!("net:[{inode}]\n"));
}

#[test]
fn user_namespace_mappings_are_applied() {
    let Some(mut c) = Container::new(
        "userns",
        &[
            "sh",
            "-c",
            "cat /proc/self/uid_map /proc/self/gid_map; id -u",
        ],
    ) else {
        return;
    };
    c.namespace("user", None);
    c.set(
        "/linux/uidMappings",
        json!([{"containerID": 0, "hostID": 100000, "size": 65536}]),
    );
    c.set(
        "/linux/gidMappings",
        json!([{"containerID": 0, "hostID": 200000, "size": 65536}]),
    );
    let out = c.run_capture().ok();
    let fields: Vec<Vec<&str>> = out
        .stdout
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(fields[0], ["0", "100000", "65536"], "{out:?}");
    assert_eq!(fields[1], ["0", "200000", "65536"], "{out:?}");
    assert_eq!(fields[2], ["0"], "mapped root inside");
}

#[test]
fn time_namespace_offsets_are_visible() {
    if !std::path::Path::new("/proc/self/ns/time").exists() {
        eprintln!("skipping: kernel has no time namespaces");
        return;
    }
    let Some(mut c) = Container::new("timens", &["cat", "/proc/self/timens_offsets"]) else {
        return;
    };
    c.namespace("time", None);
    c.set(
        "/linux/timeOffsets",
        json!({"monotonic": {"secs": 1000, "nanosecs": 0}, "boottime": {"secs": 2000, "nanosecs": 5}}),
    );
    let out = c.run_capture();
    let offsets: Vec<Vec<&str>> = out
        .stdout
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    let seen = out.code == 0
        && offsets.contains(&vec!["monotonic", "1000", "0"])
        && offsets.contains(&vec!["boottime", "2000", "5"]);
    check_except_known_gaps(
        if seen {
            Ok(())
        } else {
            Err(format!("offsets not applied: {out:?}"))
        },
        &[
            (
                "runc",
                "runc 1.1 predates time namespace support (added in 1.2)",
            ),
            (
                "crun",
                "crun 1.8 fails with a PID namespace and ignores timeOffsets without one",
            ),
        ],
    );
}

#[test]
fn cgroup_namespace_hides_host_cgroup_path() {
    let Some(mut c) = Container::new("cgns", &["cat", "/proc/self/cgroup"]) else {
        return;
    };
    c.namespace("cgroup", None);
    let out = c.run_capture().ok();
    assert!(!out.stdout.is_empty());
    for line in out.stdout.lines() {
        assert!(line.ends_with(":/"), "cgroup path not namespaced: {line}");
    }
}

#[test]
fn without_cgroup_namespace_host_path_is_visible() {
    // The counterpart of the test above, so it cannot pass by accident.
    let Some(c) = Container::new("nocgns", &["cat", "/proc/self/cgroup"]) else {
        return;
    };
    let out = c.run_capture().ok();
    assert!(out.stdout.contains(&c.cgroups_path()), "{out:?}");
}
