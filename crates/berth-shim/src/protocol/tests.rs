#![allow(clippy::unwrap_used)]
use super::*;

#[test]
fn frame_header_round_trips() {
    let h = frame_header(Stream::Stderr, 0x0102_0304);
    assert_eq!(h, [2, 0, 0, 0, 1, 2, 3, 4]);
    assert_eq!(
        parse_frame_header(h).unwrap(),
        (Stream::Stderr, 0x0102_0304)
    );
    assert!(parse_frame_header([0; 8]).is_err());
}

#[test]
fn control_requests_round_trip() {
    for req in [
        ControlRequest::Resize {
            rows: 40,
            cols: 100,
        },
        ControlRequest::ReopenLog,
        ControlRequest::CloseStdin,
    ] {
        assert_eq!(ControlRequest::parse(&req.to_string()).unwrap(), req);
    }
    assert!(ControlRequest::parse("resize 40").is_err());
    assert!(ControlRequest::parse("resize 40 -1").is_err());
    assert!(ControlRequest::parse("kill 9").is_err());
}

#[test]
fn startup_reports_round_trip() {
    let ok = StartupReport::Ok {
        pid: 42,
        shim_pid: 7,
    };
    assert_eq!(StartupReport::parse(&ok.encode()).unwrap(), ok);
    let failed = StartupReport::Failed("no such file\nsecond line".into());
    assert_eq!(StartupReport::parse(&failed.encode()).unwrap(), failed);
    assert!(StartupReport::parse("").is_err());
    assert!(StartupReport::parse("ok x").is_err());
    assert!(StartupReport::parse("ok 1").is_err());
}

#[test]
fn exit_records_round_trip_and_tolerate_new_keys() {
    let rec = ExitRecord {
        code: 137,
        signal: Some(9),
        finished_at: "2024-01-02T03:04:05.5Z".into(),
        oom_killed: false,
    };
    assert_eq!(ExitRecord::parse(&rec.encode()).unwrap(), rec);
    let newer = format!("{}future=1\n", rec.encode());
    assert_eq!(ExitRecord::parse(&newer).unwrap(), rec);
    assert!(ExitRecord::parse("finished_at=x\n").is_err());
}

#[test]
fn log_formats_round_trip() {
    for f in [LogFormat::JsonFile, LogFormat::Cri] {
        assert_eq!(LogFormat::from_name(f.name()), Some(f));
    }
    assert_eq!(LogFormat::default(), LogFormat::JsonFile);
    assert_eq!(LogFormat::from_name("journald"), None);
}
