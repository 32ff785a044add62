use super::*;

#[test]
fn messages_from_api_models() {
    let info = bollard::models::CreateImageInfo {
        id: Some("abc".into()),
        status: Some("Downloading".into()),
        progress_detail: Some(bollard::models::ProgressDetail {
            current: Some(5),
            total: Some(10),
        }),
        ..Default::default()
    };
    let m = Message::from(info);
    assert_eq!(m.id.as_deref(), Some("abc"));
    assert_eq!((m.current, m.total), (Some(5), Some(10)));
    let mut p = JsonProgress::new(true);
    assert!(p.update(&m).is_ok());
    let failed = Message {
        error: Some("boom".into()),
        ..Default::default()
    };
    assert_eq!(p.update(&failed), Err("boom".into()));
}

#[test]
fn push_lines_keep_their_layer_ids() {
    let m = Message::from_json(
        br#"{"status":"Pushing","progressDetail":{"current":512,"total":1024},"id":"0123456789ab"}"#,
    )
    .unwrap();
    assert_eq!(m.id.as_deref(), Some("0123456789ab"));
    assert_eq!(m.status.as_deref(), Some("Pushing"));
    assert_eq!((m.current, m.total), (Some(512), Some(1024)));
    let plain =
        Message::from_json(br#"{"status":"Preparing","progressDetail":{},"id":"ab"}"#).unwrap();
    assert_eq!((plain.current, plain.total), (None, None));
    let failed =
        Message::from_json(br#"{"errorDetail":{"message":"denied"},"error":"denied"}"#).unwrap();
    assert_eq!(failed.error.as_deref(), Some("denied"));
    assert!(Message::from_json(b"not json").is_err());
}
