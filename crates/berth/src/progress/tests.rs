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
