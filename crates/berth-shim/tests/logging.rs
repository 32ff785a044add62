//! The json-file log: streams, Docker's line and partial-line rules, rotation.

mod common;

use berth_shim::LogOptions;
use common::Fixture;

#[test]
fn stdout_and_stderr_land_in_the_log_with_docker_line_rules() {
    let Some(f) = Fixture::new(
        "log",
        &[
            "sh",
            "-c",
            "echo out1; echo err1 >&2; head -c 40000 /dev/zero | tr '\\0' a; echo; \
             printf 'tab\\there \"q\"\\n'; printf tail",
        ],
    ) else {
        return;
    };
    f.command().spawn().expect("spawn shim");
    f.start();
    let exit = f.wait_exit();
    assert_eq!(exit.code, 0);

    let entries = f.log_entries();
    let of = |stream: &str| -> Vec<String> {
        entries
            .iter()
            .filter(|e| e["stream"] == stream)
            .map(|e| e["log"].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    assert_eq!(of("stderr"), vec!["err1\n"]);
    let a = |n| "a".repeat(n);
    assert_eq!(
        of("stdout"),
        vec![
            "out1\n".to_owned(),
            a(16_384),
            a(16_384),
            a(40_000 - 2 * 16_384) + "\n",
            "tab\there \"q\"\n".to_owned(),
            "tail".to_owned(),
        ]
    );
    // Pieces of one long line share the first piece's timestamp, as in Docker.
    let long: Vec<&serde_json::Value> = entries
        .iter()
        .filter(|e| e["log"].as_str().is_some_and(|l| l.starts_with("aaa")))
        .collect();
    assert_eq!(long.len(), 3);
    assert!(long.iter().all(|e| e["time"] == long[0]["time"]));
    for e in &entries {
        let time = e["time"].as_str().expect("time");
        assert!(
            time.len() >= 20 && time.ends_with('Z') && time.as_bytes()[10] == b'T',
            "not RFC 3339 UTC: {time}"
        );
        assert_eq!(e.as_object().map(|o| o.len()), Some(3), "fields of {e}");
    }
}

#[test]
fn logs_rotate_by_size_and_count() {
    let Some(f) = Fixture::new(
        "rotate",
        &[
            "sh",
            "-c",
            "i=0; while [ $i -lt 200 ]; do echo line-$i; i=$((i+1)); done",
        ],
    ) else {
        return;
    };
    let mut cmd = f.command();
    cmd.log = Some(LogOptions {
        path: f.log_path(),
        max_size: 1000,
        max_files: 3,
    });
    cmd.spawn().expect("spawn shim");
    f.start();
    assert_eq!(f.wait_exit().code, 0);

    let file = |suffix: &str| f.path(&format!("container.log{suffix}"));
    assert!(file(".1").exists() && file(".2").exists());
    assert!(!file(".3").exists(), "max-files 3 keeps three files");
    let mut lines = Vec::new();
    for suffix in [".2", ".1", ""] {
        let size = std::fs::metadata(file(suffix)).expect("log file").len();
        // Docker rotates before a write once the size reached the limit: one entry over at most.
        assert!(size < 1000 + 100, "container.log{suffix} is {size} bytes");
        for e in Fixture::log_entries_of(&file(suffix)) {
            lines.push(e["log"].as_str().unwrap_or_default().to_owned());
        }
    }
    // The kept files hold the newest lines, in order, ending with the last one.
    let first: usize = lines[0]
        .trim_start_matches("line-")
        .trim_end()
        .parse()
        .expect("line number");
    let expected: Vec<String> = (first..200).map(|i| format!("line-{i}\n")).collect();
    assert_eq!(lines, expected);
}
