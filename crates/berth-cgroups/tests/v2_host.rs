//! Lifecycle against a real cgroup v2 hierarchy: /sys/fs/cgroup on unified hosts, or the
//! unified mount of a hybrid host (needs root; skipped otherwise). On a hybrid host v2 has few
//! or no controllers, but devices (eBPF), freezing and cgroup.procs work all the same.
#![allow(clippy::unwrap_used)]

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use berth_cgroups::{detect, CgroupVersion, Manager};
use common::Guard;

fn v2_root() -> Option<PathBuf> {
    if !common::can_run() {
        return None;
    }
    let root = ["/sys/fs/cgroup", "/sys/fs/cgroup/unified"]
        .into_iter()
        .map(PathBuf::from)
        .find(|r| detect(r).ok() == Some(CgroupVersion::V2) && r.join("cgroup.procs").exists());
    if root.is_none() {
        eprintln!("skipping: no cgroup v2 hierarchy mounted");
    }
    root
}

/// Restores the root's cgroup.subtree_control, which `create` extends.
struct RestoreSubtree(PathBuf, String);

impl Drop for RestoreSubtree {
    fn drop(&mut self) {
        let file = self.0.join("cgroup.subtree_control");
        let now = fs::read_to_string(&file).unwrap_or_default();
        for c in now.split_whitespace() {
            if !self.1.split_whitespace().any(|o| o == c) {
                let _ = fs::write(&file, format!("-{c}"));
            }
        }
    }
}

#[test]
fn lifecycle() {
    let Some(root) = v2_root() else {
        return;
    };
    let _restore = RestoreSubtree(
        root.clone(),
        fs::read_to_string(root.join("cgroup.subtree_control")).unwrap(),
    );
    let path = common::unique_path();
    let manager = Manager::new(&root, Some(&path), "unused").unwrap();
    assert_eq!(manager.version(), CgroupVersion::V2);
    let mut guard = Guard {
        manager,
        child: None,
    };
    let m = &guard.manager;
    m.create().unwrap();
    assert_eq!(m.paths(), [root.join(&path[1..])]);
    assert!(m.cgroup_dir_fd().is_some());

    let resources = r#"{"devices": [
        {"allow": false, "access": "rwm"},
        {"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rwm"}
    ]}"#;
    // Applying twice replaces the first program rather than stacking a second one.
    m.apply(&serde_json::from_str(resources).unwrap()).unwrap();
    m.apply(&serde_json::from_str(resources).unwrap()).unwrap();

    let mut child = common::spawn_probe();
    let pid = i32::try_from(child.id()).unwrap();
    m.add_task(pid).unwrap();
    let report = common::run_probe(&mut child);
    guard.child = Some(child);
    let m = &guard.manager;
    assert_eq!(report, ("zero-denied".to_owned(), "null-ok".to_owned()));
    assert_eq!(m.pids().unwrap(), [pid]);

    m.freeze().unwrap();
    assert!(m.is_frozen().unwrap());
    m.thaw().unwrap();
    assert!(!m.is_frozen().unwrap());
    assert!(m.stats().unwrap().cpu.is_some());

    let mut child = guard.child.take().unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    guard.manager.remove().unwrap();
    assert!(!root.join(&path[1..]).exists());
    guard.manager.remove().unwrap();
}

#[test]
fn unknown_unified_key_is_named() {
    let Some(root) = v2_root() else {
        return;
    };
    let _restore = RestoreSubtree(
        root.clone(),
        fs::read_to_string(root.join("cgroup.subtree_control")).unwrap(),
    );
    let guard = Guard {
        manager: Manager::new(&root, Some(&common::unique_path()), "x").unwrap(),
        child: None,
    };
    guard.manager.create().unwrap();
    let err = guard
        .manager
        .apply(&serde_json::from_str(r#"{"unified": {"nosuch.file": "1"}}"#).unwrap())
        .unwrap_err();
    assert!(err.to_string().contains("nosuch.file"), "{err}");
    assert!(Path::new(&guard.manager.paths()[0]).is_dir());
}
