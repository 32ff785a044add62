use super::*;

#[test]
fn lines_match_runc_json_and_text() {
    let fields = [
        ("container".to_string(), Value::from("c1")),
        ("pid".to_string(), Value::from(7)),
    ];
    let json: serde_json::Value =
        serde_json::from_str(&format_line(LogFormat::Json, "debug", "mounted", &fields)).unwrap();
    assert_eq!(json["level"], "debug");
    assert_eq!(json["msg"], "mounted");
    assert_eq!(json["container"], "c1");
    assert!(json["time"].as_str().unwrap().ends_with('Z'));
    let text = format_line(LogFormat::Text, "debug", "hook ran", &fields);
    assert!(text.starts_with("time=\""), "{text}");
    assert!(
        text.ends_with(" level=debug msg=\"hook ran\" container=c1 pid=7\n"),
        "{text}"
    );
}

#[test]
fn events_carry_the_fields_of_their_spans() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log");
    let log = DebugLog::new(Some(&path), LogFormat::Json).unwrap();
    tracing::subscriber::with_default(log, || {
        let _span = tracing::debug_span!("create", container = "c9").entered();
        tracing::debug!(pid = 42, "cloned");
        tracing::trace!("not written");
    });
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1, "{text}");
    assert_eq!(lines[0]["container"], "c9");
    assert_eq!(lines[0]["pid"], 42);
    assert_eq!(lines[0]["msg"], "cloned");
}
