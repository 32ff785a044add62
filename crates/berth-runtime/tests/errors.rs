//! Refusals: each bad input fails with a non-zero exit and a message naming the problem, and
//! leaves nothing behind (no listed container, state dir, cgroup or mount).
#![allow(clippy::unwrap_used)]

mod common;

use common::{check_except_known_gaps, unique_name, Container};
use serde_json::json;

#[test]
fn malformed_config_names_config_json() {
    let Some(c) = Container::new("badjson", &["true"]) else {
        return;
    };
    std::fs::write(
        c.bundle().join("config.json"),
        "{\"ociVersion\": \"1.0.2\", \"process\": ",
    )
    .unwrap();
    let out = c.create_as_is(&[]).failed();
    check_except_known_gaps(
        if out.all().contains("config.json") {
            Ok(())
        } else {
            Err(format!("error does not name config.json: {out:?}"))
        },
        // runc 1.1 prints only the decoder's "unexpected EOF".
        &[("runc", "runc does not name the file in JSON errors")],
    );
    c.assert_nothing_left();
}

#[test]
fn missing_config_names_config_json() {
    let Some(c) = Container::new("noconfig", &["true"]) else {
        return;
    };
    let out = c.create_as_is(&[]).failed();
    assert!(out.all().contains("config.json"), "{out:?}");
    c.assert_nothing_left();
}

#[test]
fn unknown_namespace_type_is_refused() {
    let Some(mut c) = Container::new("badns", &["true"]) else {
        return;
    };
    c.namespace("bogus", None);
    let out = c.create().failed();
    assert!(
        out.all().contains("bogus"),
        "error does not name the namespace: {out:?}"
    );
    c.assert_nothing_left();
}

#[test]
fn missing_rootfs_names_the_path() {
    let Some(mut c) = Container::new("norootfs", &["true"]) else {
        return;
    };
    let missing = std::env::temp_dir().join(unique_name("no-such-rootfs"));
    c.set("/root/path", json!(missing));
    let out = c.create().failed();
    assert!(
        out.all().contains(missing.to_str().unwrap()),
        "path not named: {out:?}"
    );
    c.assert_nothing_left();
}

#[test]
fn missing_executable_fails_run_and_cleans_up() {
    let Some(c) = Container::new("noexe", &["/bin/no-such-binary"]) else {
        return;
    };
    let out = c.run_capture().failed();
    assert!(out.all().contains("no-such-binary"), "{out:?}");
    c.assert_nothing_left();
}

#[test]
fn bad_signal_name_is_refused() {
    let Some(c) = Container::new("badsig", &["sleep", "1000"]) else {
        return;
    };
    c.start_sleeping();
    let out = c.kill("SIGNOTASIGNAL");
    check_except_known_gaps(
        if out.code != 0 && out.all().to_lowercase().contains("signal") {
            Ok(())
        } else {
            Err(format!("bad signal accepted or unexplained: {out:?}"))
        },
        // crun 1.8 exits 0 for an unknown name (it appears to send signal 0).
        &[("crun", "crun accepts unknown signal names")],
    );
    assert_eq!(
        c.status(),
        "running",
        "a bad kill must not touch the container"
    );
}

#[test]
fn path_like_id_is_refused() {
    let Some(mut c) = Container::new("badid", &["true"]) else {
        return;
    };
    let escape = unique_name("escaped");
    c.id = format!("../{escape}");
    let out = c.create().failed();
    assert!(!out.all().is_empty(), "refused without a message");
    // A runtime that accepted it would have written its state next to, not inside, --root.
    let outside = c.state_root().parent().unwrap().join(&escape);
    assert!(
        !outside.exists(),
        "state written outside --root: {}",
        outside.display()
    );
    c.assert_nothing_left();
}

#[test]
fn start_of_unknown_container_fails() {
    let Some(c) = Container::new("nostart", &["true"]) else {
        return;
    };
    c.start().failed();
    c.assert_nothing_left();
}

#[test]
fn memory_policy_without_nodes_is_refused() {
    let Some(mut c) = Container::new("badmempolicy", &["true"]) else {
        return;
    };
    c.set("/linux/memoryPolicy", json!({"mode": "MPOL_BIND"}));
    let out = c.create();
    check_except_known_gaps(
        if out.code != 0 && out.all().contains("memoryPolicy") {
            Ok(())
        } else {
            Err(format!("error does not name linux.memoryPolicy: {out:?}"))
        },
        &[
            ("runc", "runc 1.1 predates memoryPolicy and ignores it"),
            ("crun", "crun 1.8 predates memoryPolicy and ignores it"),
        ],
    );
    if out.code != 0 {
        c.assert_nothing_left();
    }
}
