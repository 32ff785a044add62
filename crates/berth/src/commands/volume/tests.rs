use super::*;

#[test]
fn key_value_flags() {
    let m = key_values(
        "--opt",
        &["type=tmpfs".into(), "o=size=1m,uid=0".into(), "bare".into()],
    )
    .unwrap_or_default();
    assert_eq!(m["type"], "tmpfs");
    assert_eq!(m["o"], "size=1m,uid=0");
    assert_eq!(m["bare"], "");
    assert!(key_values("--label", &["=x".into()]).is_err());
}

#[test]
fn ls_rows_sort_labels() {
    let v = Volume {
        name: "data".into(),
        driver: "local".into(),
        mountpoint: "/v/data/_data".into(),
        labels: [
            ("b".to_string(), "2".to_string()),
            ("a".to_string(), "1".to_string()),
        ]
        .into(),
        ..Default::default()
    };
    let rows = volume_rows(&[v]);
    let get = |k: &str| {
        rows[0]
            .iter()
            .find(|(f, _)| *f == k)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(get("Labels").as_deref(), Some("a=1,b=2"));
    assert_eq!(get("Name").as_deref(), Some("data"));
}
