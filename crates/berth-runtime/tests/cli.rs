//! The command line itself, where no area file covers a verb or flag the README lists: `spec`
//! (with runc's global `--rootless <value>` beside `spec --rootless`), `features`, `list -q`,
//! `ps`'s table, `events`, `--log-format text` and the refused `--systemd-cgroup`.
#![allow(clippy::unwrap_used)]

mod common;

use common::{check_except_known_gaps, poll_until, run_to_files, runtime, Container, Out};
use serde_json::Value;
use std::process::{Command, Stdio};

fn parse(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

/// `runtime args...` run in `dir`, which also keeps the captured output.
fn in_dir(dir: &std::path::Path, args: &[&str]) -> Out {
    let mut cmd = Command::new(runtime());
    cmd.args(args).current_dir(dir);
    run_to_files(cmd, dir, "cli")
}

fn namespace_types(config: &Value) -> Vec<&str> {
    config["linux"]["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|ns| ns["type"].as_str().unwrap())
        .collect()
}

#[test]
fn spec_writes_the_default_config_once() {
    let dir = tempfile::tempdir().unwrap();
    in_dir(dir.path(), &["spec"]).ok();
    let path = dir.path().join("config.json");
    let written = std::fs::read_to_string(&path).unwrap();
    let config = parse(&written);
    assert!(
        config["ociVersion"].as_str().unwrap().starts_with("1."),
        "{config}"
    );
    assert_eq!(config["process"]["args"], serde_json::json!(["sh"]));
    assert_eq!(config["root"]["path"], "rootfs");
    let types = namespace_types(&config);
    for t in ["pid", "network", "ipc", "uts", "mount"] {
        assert!(types.contains(&t), "no {t} namespace: {types:?}");
    }
    assert!(!types.contains(&"user"), "{types:?}");

    // A second call must not overwrite the first.
    let again = in_dir(dir.path(), &["spec"]).failed();
    assert!(again.all().contains("exists"), "{again:?}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), written);
}

#[test]
fn spec_rootless_maps_the_caller_beside_the_global_rootless_value() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("bundle");
    std::fs::create_dir(&bundle).unwrap();
    // runc's global `--rootless <value>` and the verb's `--rootless` switch in one call.
    in_dir(
        dir.path(),
        &[
            "--rootless",
            "auto",
            "spec",
            "--rootless",
            "--bundle",
            bundle.to_str().unwrap(),
        ],
    )
    .ok();
    assert!(!dir.path().join("config.json").exists(), "--bundle ignored");
    let config = parse(&std::fs::read_to_string(bundle.join("config.json")).unwrap());
    let types = namespace_types(&config);
    assert!(types.contains(&"user"), "{types:?}");
    assert!(!types.contains(&"network"), "{types:?}");
    let uid = nix::unistd::getuid().as_raw();
    let gid = nix::unistd::getgid().as_raw();
    assert_eq!(
        config["linux"]["uidMappings"],
        serde_json::json!([{"containerID": 0, "hostID": uid, "size": 1}])
    );
    assert_eq!(
        config["linux"]["gidMappings"],
        serde_json::json!([{"containerID": 0, "hostID": gid, "size": 1}])
    );
}

#[test]
fn features_lists_hooks_and_namespaces() {
    let dir = tempfile::tempdir().unwrap();
    let doc = parse(&in_dir(dir.path(), &["features"]).ok().stdout);
    assert!(
        doc["ociVersionMax"].as_str().unwrap().starts_with("1."),
        "{doc}"
    );
    let names = |v: &Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_owned())
            .collect()
    };
    let hooks = names(&doc["hooks"]);
    for h in [
        "prestart",
        "createRuntime",
        "createContainer",
        "startContainer",
        "poststart",
        "poststop",
    ] {
        assert!(hooks.iter().any(|x| x == h), "no {h}: {hooks:?}");
    }
    let namespaces = names(&doc["linux"]["namespaces"]);
    for n in ["cgroup", "ipc", "mount", "network", "pid", "user", "uts"] {
        assert!(namespaces.iter().any(|x| x == n), "no {n}: {namespaces:?}");
    }
    let mount_options = names(&doc["mountOptions"]);
    for o in ["rbind", "ro", "rro", "rnosuid", "rnoatime"] {
        assert!(
            mount_options.iter().any(|x| x == o),
            "no {o}: {mount_options:?}"
        );
    }
}

#[test]
fn list_quiet_prints_only_ids() {
    let Some(c) = Container::new("listq", &["sleep", "1000"]) else {
        return;
    };
    assert_eq!(c.rt(&["list", "-q"]).ok().stdout, "");
    c.create().ok();
    let ids = format!("{}\n", c.id);
    assert_eq!(c.rt(&["list", "-q"]).ok().stdout, ids);
    // -q wins over the format.
    assert_eq!(c.rt(&["list", "--format", "json", "-q"]).ok().stdout, ids);
}

#[test]
fn ps_table_is_ps_output_of_the_container_processes() {
    let Some(c) = Container::new("pstable", &["sleep", "1000"]) else {
        return;
    };
    c.start_sleeping();
    for args in [&["ps"][..], &["ps", "--format", "table"]] {
        let out = c.rt(&[args, &[c.id.as_str()]].concat()).ok();
        let mut lines = out.stdout.lines();
        let header: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
        let col = header.iter().position(|h| *h == "PID").unwrap();
        let pids: Vec<i32> = lines
            .map(|l| l.split_whitespace().nth(col).unwrap().parse().unwrap())
            .collect();
        assert_eq!(pids, [c.pid()], "{out:?}");
    }
}

#[test]
fn events_print_stats_once_or_at_an_interval() {
    let Some(c) = Container::new("events", &["sleep", "1000"]) else {
        return;
    };
    c.start_sleeping();
    let is_stats = |line: &str| {
        let event = parse(line);
        event["type"] == "stats" && event["id"] == c.id.as_str() && event["data"].is_object()
    };
    let once = c.rt(&["events", "--stats", &c.id]).ok();
    let lines: Vec<&str> = once.stdout.lines().collect();
    assert_eq!(lines.len(), 1, "{once:?}");
    assert!(is_stats(lines[0]), "{once:?}");

    // Streams until stopped; three lines in well under the default 5 s interval.
    let path = c.bundle().join("events.out");
    let mut child = c
        .command()
        .args(["events", "--interval", "100ms", &c.id])
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&path).unwrap())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let read = || std::fs::read_to_string(&path).unwrap_or_default();
    let streamed = poll_until(|| read().lines().count() >= 3);
    let _ = child.kill();
    let _ = child.wait();
    assert!(streamed, "fewer than three events: {}", read());
    assert!(read().lines().all(is_stats), "{}", read());
}

#[test]
fn debug_log_in_text_format() {
    let Some(c) = Container::new("debugtext", &["true"]) else {
        return;
    };
    let text = common::debug_log(&c, "text");
    assert!(!text.is_empty(), "no log written");
    // logrus text lines: `time="…" level=debug msg="…"`.
    assert!(
        text.lines()
            .all(|l| l.contains("time=") && l.contains(" level=") && l.contains(" msg=")),
        "{text}"
    );
    assert!(text.lines().any(|l| l.contains(" level=debug ")), "{text}");
}

#[test]
fn systemd_cgroup_is_refused_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("state");
    let out = in_dir(
        dir.path(),
        &["--root", root.to_str().unwrap(), "--systemd-cgroup", "list"],
    );
    check_except_known_gaps(
        if out.code != 0 && out.stderr.contains("cgroupfs") {
            Ok(())
        } else {
            Err(format!("--systemd-cgroup accepted or unexplained: {out:?}"))
        },
        &[
            ("runc", "runc drives cgroups through systemd with this flag"),
            ("crun", "crun drives cgroups through systemd with this flag"),
        ],
    );
}
