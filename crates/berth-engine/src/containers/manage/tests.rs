#![allow(clippy::unwrap_used)]
use super::*;

#[test]
fn ps_rows_are_filtered_and_commands_keep_spaces() {
    let out = "UID PID PPID C STIME TTY TIME CMD\n\
               root 1 0 0 10:00 ? 00:00:01 /sbin/init splash\n\
               root 42 1 0 10:01 ? 00:00:00 sleep 1000\n";
    let top = parse_ps(out, &[42]).unwrap();
    assert_eq!(top.titles.len(), 8);
    assert_eq!(top.processes.len(), 1);
    assert_eq!(top.processes[0][1], "42");
    assert_eq!(top.processes[0][7], "sleep 1000");
    assert!(parse_ps("USER CMD\nroot x\n", &[1]).is_err());
}

#[test]
fn update_resources_only_name_what_changed() {
    let req = UpdateRequest {
        memory: Some(64 << 20),
        nano_cpus: Some(500_000_000),
        ..Default::default()
    };
    // The stored config after the merge: memory and swap go together (v2 needs both).
    let merged = crate::spec::HostConfig {
        memory: 64 << 20,
        ..Default::default()
    };
    let v = resources_json(&req, &merged);
    assert_eq!(v["memory"]["limit"], json!(64 << 20));
    assert_eq!(v["memory"]["swap"], json!(128 << 20));
    assert_eq!(v["cpu"]["quota"], json!(50_000));
    assert_eq!(v["cpu"]["period"], json!(100_000));
    assert!(v.get("pids").is_none());
}
