#![allow(clippy::unwrap_used)]
use super::*;

fn entry(line: &[u8], newline: bool) -> String {
    let mut out = Vec::new();
    encode_entry(
        &mut out,
        Stream::Stderr,
        line,
        newline,
        Timestamp::from_parts(1_700_000_000, 5),
    );
    String::from_utf8(out).unwrap()
}

#[test]
fn entries_match_docker() {
    assert_eq!(
        entry(b"hello", true),
        "{\"log\":\"hello\\n\",\"stream\":\"stderr\",\"time\":\"2023-11-14T22:13:20.000000005Z\"}\n"
    );
    assert!(entry(b"part", false).starts_with("{\"log\":\"part\",\"stream\""));
}

#[test]
fn escaping_matches_docker() {
    let e = |b: &[u8]| {
        let mut out = Vec::new();
        escape_into(&mut out, b);
        String::from_utf8(out).unwrap()
    };
    assert_eq!(e(b"a\"b\\c"), "a\\\"b\\\\c");
    assert_eq!(e(b"\r\t\x01\x1b"), "\\r\\t\\u0001\\u001b");
    assert_eq!(e(b"<a&b>"), "\\u003ca\\u0026b\\u003e");
    assert_eq!(e("é\u{2028}".as_bytes()), "é\\u2028");
    assert_eq!(e(b"x\xf0\x9f\x98y\xff"), "x\\ufffd\\ufffd\\ufffdy\\ufffd");
    // Every output is valid JSON string content.
    let json = format!("\"{}\"", e(b"\x00\x7f\xc3"));
    assert_eq!(
        serde_json::from_str::<String>(&json).unwrap(),
        "\u{0}\u{7f}\u{fffd}"
    );
}

#[test]
fn rotates_like_docker() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.log");
    let mut log = JsonLog::open(&LogConfig {
        path: path.clone(),
        format: berth_shim::protocol::LogFormat::JsonFile,
        max_size: Some(200),
        max_files: 3,
    })
    .unwrap();
    let t = Timestamp::from_parts(0, 0);
    for i in 0..20 {
        log.write(Stream::Stdout, format!("line {i}").as_bytes(), true, t)
            .unwrap();
    }
    let name = |s: &str| dir.path().join(format!("c.log{s}"));
    assert!(name(".1").exists() && name(".2").exists());
    assert!(!name(".3").exists());
    for f in ["", ".1", ".2"] {
        let len = fs::metadata(name(f)).unwrap().len();
        // One entry is ~70 bytes; a file may exceed the limit by at most one entry.
        assert!(len < 200 + 70, "{f}: {len}");
    }
    let current = fs::read_to_string(&path).unwrap();
    assert!(current.ends_with(
        "\"log\":\"line 19\\n\",\"stream\":\"stdout\",\"time\":\"1970-01-01T00:00:00Z\"}\n"
    ));
}

#[test]
fn single_file_truncates_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.log");
    let mut log = JsonLog::open(&LogConfig {
        path: path.clone(),
        format: berth_shim::protocol::LogFormat::JsonFile,
        max_size: Some(1),
        max_files: 1,
    })
    .unwrap();
    let t = Timestamp::from_parts(0, 0);
    log.write(Stream::Stdout, b"first", true, t).unwrap();
    log.write(Stream::Stdout, b"second", true, t).unwrap();
    let text = fs::read_to_string(&path).unwrap();
    assert!(!text.contains("first") && text.contains("second"));
    assert!(!dir.path().join("c.log.1").exists());
}
