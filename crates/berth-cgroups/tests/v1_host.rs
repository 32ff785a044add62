//! The whole lifecycle against the real cgroup v1 hierarchies of the host (needs root; skipped
//! otherwise, and on hosts without v1).
#![allow(clippy::unwrap_used)]

mod common;

use std::fs;
use std::path::Path;

use berth_cgroups::{detect, CgroupVersion, Error, Manager};
use common::Guard;
use oci_spec::runtime::LinuxResources;

const ROOT: &str = "/sys/fs/cgroup";

fn v1_host() -> bool {
    if !common::can_run() {
        return false;
    }
    if detect(Path::new(ROOT)).ok() != Some(CgroupVersion::V1) {
        eprintln!("skipping: {ROOT} is not a cgroup v1 host");
        return false;
    }
    true
}

fn resources(json: &str) -> LinuxResources {
    serde_json::from_str(json).unwrap()
}

/// The directory of the hierarchy mounted at /sys/fs/cgroup/<name>.
fn dir_of<'a>(paths: &'a [std::path::PathBuf], name: &str) -> &'a Path {
    let mount = Path::new(ROOT).join(name);
    paths.iter().find(|p| p.starts_with(&mount)).unwrap()
}

#[test]
fn lifecycle() {
    if !v1_host() {
        return;
    }
    let path = common::unique_path();
    let manager = Manager::new(Path::new(ROOT), Some(&path), "unused").unwrap();
    assert_eq!(manager.version(), CgroupVersion::V1);
    let mut guard = Guard {
        manager,
        child: None,
    };
    let m = &guard.manager;
    m.create().unwrap();
    let paths = m.paths();
    assert!(paths.iter().all(|p| p.is_dir() && p.ends_with(&path[1..])));

    m.apply(&resources(
        r#"{
            "memory": {"limit": 67108864, "swap": 134217728, "reservation": 33554432},
            "cpu": {"shares": 512, "quota": 50000, "period": 100000, "cpus": "0"},
            "pids": {"limit": 32},
            "devices": [
                {"allow": false, "access": "rwm"},
                {"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rwm"},
                {"allow": true, "type": "c", "major": 136, "access": "rwm"}
            ]
        }"#,
    ))
    .unwrap();
    let read = |hierarchy: &str, file: &str| {
        fs::read_to_string(dir_of(&paths, hierarchy).join(file))
            .unwrap()
            .trim()
            .to_owned()
    };
    assert_eq!(read("memory", "memory.limit_in_bytes"), "67108864");
    if dir_of(&paths, "memory")
        .join("memory.memsw.limit_in_bytes")
        .exists()
    {
        assert_eq!(read("memory", "memory.memsw.limit_in_bytes"), "134217728");
    }
    assert_eq!(read("memory", "memory.soft_limit_in_bytes"), "33554432");
    assert_eq!(read("cpu", "cpu.shares"), "512");
    assert_eq!(read("cpu", "cpu.cfs_quota_us"), "50000");
    assert_eq!(read("cpu", "cpu.cfs_period_us"), "100000");
    assert_eq!(read("cpuset", "cpuset.cpus"), "0");
    assert_eq!(read("pids", "pids.max"), "32");
    assert_eq!(read("devices", "devices.list"), "c 1:3 rwm\nc 136:* rwm");

    // cpuset.mems was copied from the parent, or this would fail with ENOSPC.
    let mut child = common::spawn_probe();
    let pid = i32::try_from(child.id()).unwrap();
    m.add_task(pid).unwrap();
    let report = common::run_probe(&mut child);
    guard.child = Some(child);
    let m = &guard.manager;
    assert_eq!(report, ("zero-denied".to_owned(), "null-ok".to_owned()));
    assert!(m.pids().unwrap().contains(&pid));

    let stats = m.stats().unwrap();
    assert!(stats.memory.as_ref().unwrap().usage.usage > 0);
    assert_eq!(stats.memory.as_ref().unwrap().usage.limit, 64 << 20);
    assert!(stats.pids.as_ref().unwrap().current >= 1);
    assert_eq!(stats.pids.as_ref().unwrap().limit, 32);
    assert!(stats.cpu.as_ref().unwrap().usage.total > 0);
    let json = serde_json::to_value(&stats).unwrap();
    assert!(json["memory"]["raw"]["rss"].is_u64());
    assert_eq!(m.oom_kill_count().unwrap(), 0);

    m.freeze().unwrap();
    assert!(m.is_frozen().unwrap());
    m.thaw().unwrap();
    assert!(!m.is_frozen().unwrap());

    let mut child = guard.child.take().unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    guard.manager.remove().unwrap();
    assert!(paths.iter().all(|p| !p.exists()));
    // Idempotent.
    guard.manager.remove().unwrap();
}

#[test]
fn sub_cgroups_are_removed_too() {
    if !v1_host() {
        return;
    }
    let guard = Guard {
        manager: Manager::new(Path::new(ROOT), Some(&common::unique_path()), "x").unwrap(),
        child: None,
    };
    guard.manager.create().unwrap();
    for p in guard.manager.paths() {
        fs::create_dir_all(p.join("inner/deeper")).unwrap();
    }
    guard.manager.remove().unwrap();
    assert!(guard.manager.paths().iter().all(|p| !p.exists()));
}

#[test]
fn requested_but_unmounted_controller_is_named() {
    if !v1_host() {
        return;
    }
    if Path::new(ROOT).join("hugetlb").exists() {
        eprintln!("skipping: hugetlb is mounted on this host");
        return;
    }
    let guard = Guard {
        manager: Manager::new(Path::new(ROOT), Some(&common::unique_path()), "x").unwrap(),
        child: None,
    };
    guard.manager.create().unwrap();
    let err = guard
        .manager
        .apply(&resources(
            r#"{"hugepageLimits": [{"pageSize": "2MB", "limit": 2097152}]}"#,
        ))
        .unwrap_err();
    assert!(matches!(
        err,
        Error::ControllerUnavailable {
            controller: "hugetlb"
        }
    ));
}

#[test]
fn relative_path_nests_under_own_cgroup() {
    if !v1_host() {
        return;
    }
    let own = fs::read_to_string("/proc/self/cgroup").unwrap();
    let name = common::unique_path();
    let guard = Guard {
        manager: Manager::new(Path::new(ROOT), Some(&name[1..]), "x").unwrap(),
        child: None,
    };
    guard.manager.create().unwrap();
    for p in guard.manager.paths() {
        assert!(p.is_dir());
        // The directory's parent is this process's cgroup in that hierarchy.
        let hierarchy = p.strip_prefix(ROOT).unwrap().iter().next().unwrap();
        let parent = p
            .parent()
            .unwrap()
            .strip_prefix(Path::new(ROOT).join(hierarchy));
        let parent = Path::new("/").join(parent.unwrap());
        assert!(
            own.lines()
                .any(|l| l.ends_with(&format!(":{}", parent.display()))),
            "{} not in {own}",
            parent.display()
        );
    }
}
