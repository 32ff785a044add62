#![allow(clippy::unwrap_used)]
use super::*;

#[test]
fn healthcheck_changes_parse_like_dockerfiles() {
    assert_eq!(go_duration("1m30s"), Some(90_000_000_000));
    assert_eq!(go_duration("500ms"), Some(500_000_000));
    assert_eq!(go_duration("5x"), None);
    let mut config = json!({});
    apply_changes(
        &mut config,
        &["HEALTHCHECK --interval=2s --retries=4 CMD test -f /tmp/ok".into()],
    )
    .unwrap();
    assert_eq!(
        config["Healthcheck"]["Test"],
        json!(["CMD-SHELL", "test -f /tmp/ok"])
    );
    assert_eq!(config["Healthcheck"]["Interval"], json!(2_000_000_000i64));
    assert_eq!(config["Healthcheck"]["Retries"], json!(4));
    apply_changes(&mut config, &[r#"HEALTHCHECK CMD ["true"]"#.into()]).unwrap();
    assert_eq!(config["Healthcheck"]["Test"], json!(["CMD", "true"]));
    apply_changes(&mut config, &["HEALTHCHECK NONE".into()]).unwrap();
    assert_eq!(config["Healthcheck"]["Test"], json!(["NONE"]));
    assert!(apply_changes(&mut config, &["HEALTHCHECK --bogus=1 CMD x".into()]).is_err());
}
