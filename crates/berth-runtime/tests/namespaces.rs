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

/// Runs `readlink /proc/self/ns/<name>` in a container without a `kind` namespace, which must
/// then see this test process's namespace (the runtime's, inherited), and, as the control, in
/// one that has its own.
fn inherits_when_left_out(kind: &str, name: &str) {
    let link = format!("/proc/self/ns/{name}");
    let host = format!("{}\n", std::fs::read_link(&link).unwrap().display());
    let Some(mut shared) = Container::new(&format!("inherit-{name}"), &["readlink", &link]) else {
        return;
    };
    shared.remove_namespace(kind);
    if kind == "uts" {
        // Refused without a uts namespace: it would rename the host.
        shared.set("/hostname", serde_json::Value::Null);
    }
    assert_eq!(shared.run_capture().ok().stdout, host, "{kind} left out");
    let Some(mut own) = Container::new(&format!("own-{name}"), &["readlink", &link]) else {
        return;
    };
    own.namespace(kind, None);
    assert_ne!(own.run_capture().ok().stdout, host, "{kind} listed");
}

#[test]
fn pid_namespace_left_out_is_inherited() {
    inherits_when_left_out("pid", "pid");
}

#[test]
fn network_namespace_left_out_is_inherited() {
    inherits_when_left_out("network", "net");
}

#[test]
fn ipc_namespace_left_out_is_inherited() {
    inherits_when_left_out("ipc", "ipc");
}

#[test]
fn uts_namespace_left_out_is_inherited() {
    inherits_when_left_out("uts", "uts");
}

#[test]
fn cgroup_namespace_left_out_is_inherited() {
    inherits_when_left_out("cgroup", "cgroup");
}

#[test]
fn hostname_without_uts_namespace_is_refused() {
    let Some(mut c) = Container::new("uts-host", &["true"]) else {
        return;
    };
    c.remove_namespace("uts");
    c.set("/hostname", json!("berth-must-not-rename-the-host"));
    let before = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    c.create().failed();
    c.assert_nothing_left();
    assert_eq!(
        std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap(),
        before
    );
}

/// Without a mount namespace the container shares its runtime's mount table, so nothing may be
/// mounted for it. runc 1.1.5 mounts the rootfs and every config mount into that table and
/// leaves them there (and makes `/` rslave), so the tests below run on berth-runtime only.
fn mountless(tag: &str, args: &[&str], namespaces: &[&str]) -> Option<Container> {
    if common::runtime_name() != "berth-runtime" {
        eprintln!(
            "skipping: {} would mount into the host's table",
            common::runtime_name()
        );
        return None;
    }
    let mut c = Container::new(tag, args)?;
    let list: Vec<serde_json::Value> = namespaces.iter().map(|t| json!({"type": t})).collect();
    c.set("/linux/namespaces", json!(list));
    if !namespaces.contains(&"uts") {
        c.set("/hostname", serde_json::Value::Null);
    }
    c.set("/mounts", json!([]));
    c.set("/linux/maskedPaths", json!([]));
    c.set("/linux/readonlyPaths", json!([]));
    c.set("/root/readonly", json!(false));
    Some(c)
}

/// The host's mount table lines that name the shared rootfs, and the line of `/` itself.
fn host_mounts_of_interest() -> Vec<String> {
    let rootfs = berth_testkit::busybox_rootfs()
        .to_string_lossy()
        .into_owned();
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .filter(|l| l.contains(&rootfs) || l.split(' ').nth(4) == Some("/"))
        .map(str::to_owned)
        .collect()
}

fn ns_inode(pid: &str, name: &str) -> u64 {
    std::fs::metadata(format!("/proc/{pid}/ns/{name}"))
        .unwrap()
        .ino()
}

#[test]
fn mount_namespace_left_out_chroots_and_mounts_nothing() {
    // The busybox rootfs has no /usr; the host has.
    let script = "test -e /usr || echo no-usr; exec sleep 1000";
    let Some(c) = mountless(
        "inherit-mnt",
        &["sh", "-c", script],
        &["pid", "network", "ipc", "uts"],
    ) else {
        return;
    };
    let before = host_mounts_of_interest();
    c.start_sleeping();
    let pid = c.pid().to_string();
    assert_eq!(ns_inode(&pid, "mnt"), ns_inode("self", "mnt"));
    assert_ne!(ns_inode(&pid, "pid"), ns_inode("self", "pid"));
    assert_eq!(
        std::fs::read_link(format!("/proc/{pid}/root")).unwrap(),
        berth_testkit::busybox_rootfs()
    );
    common::eventually("the container's output", || {
        c.container_output().0 == "no-usr\n"
    });
    // exec lands in the same root, not at the host's.
    let out = c.exec(&[], &["sh", "-c", "test -e /usr || echo exec-no-usr"]);
    assert_eq!(out.ok().stdout, "exec-no-usr\n");
    assert_eq!(host_mounts_of_interest(), before);
    c.delete_force().ok();
    assert_eq!(host_mounts_of_interest(), before);
}

#[test]
fn no_namespaces_at_all_inherits_every_one() {
    let Some(c) = mountless("inherit-all", &["sleep", "1000"], &[]) else {
        return;
    };
    let before = host_mounts_of_interest();
    c.start_sleeping();
    let pid = c.pid().to_string();
    for name in ["pid", "net", "ipc", "uts", "mnt", "cgroup", "user"] {
        assert_eq!(ns_inode(&pid, name), ns_inode("self", name), "{name}");
    }
    c.delete_force().ok();
    assert_eq!(host_mounts_of_interest(), before);
}

#[test]
fn mounts_without_a_mount_namespace_are_refused() {
    let Some(mut c) = mountless("inherit-mnt-refused", &["true"], &["pid"]) else {
        return;
    };
    c.tmpfs("/tmp", &["size=1m"]);
    let before = host_mounts_of_interest();
    let out = c.create().failed();
    assert!(out.all().contains("mount namespace"), "{out:?}");
    c.assert_nothing_left();
    assert_eq!(host_mounts_of_interest(), before);
}
