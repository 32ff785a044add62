use super::*;

fn server(code: u16, message: &str) -> OciDistributionError {
    OciDistributionError::ServerError {
        code,
        url: "http://r/v2/x/manifests/v1".into(),
        message: message.into(),
    }
}

fn envelope(json: &str) -> OciDistributionError {
    OciDistributionError::RegistryError {
        envelope: serde_json::from_str(json).unwrap(),
        url: "http://r/v2/x/manifests/v1".into(),
    }
}

fn classify(e: OciDistributionError) -> String {
    Error::registry("r:5000", "manifest r:5000/x:v1".into(), e).to_string()
}

#[test]
fn bare_statuses_get_their_own_messages() {
    assert_eq!(
        classify(server(503, "")),
        "r:5000: server error: HTTP 503 on manifest r:5000/x:v1"
    );
    assert_eq!(
        classify(server(500, "  boom\n")),
        "r:5000: server error: HTTP 500 on manifest r:5000/x:v1: boom"
    );
    assert!(classify(server(403, "")).contains("denied: requested access"));
    assert!(classify(server(429, "slow down")).contains("toomanyrequests"));
    assert!(classify(server(429, "slow down")).ends_with(": slow down"));
    // A long error page is cut.
    assert!(classify(server(502, &"x".repeat(1000))).len() < 300);
}

#[test]
fn error_envelopes_are_classified_by_code() {
    let limited = classify(envelope(
        r#"{"errors":[{"code":"TOOMANYREQUESTS","message":"pull limit","detail":null}]}"#,
    ));
    assert!(limited.contains("toomanyrequests") && limited.ends_with(": pull limit"));
    let denied = Error::registry(
        "r",
        "x".into(),
        envelope(r#"{"errors":[{"code":"DENIED","message":"no","detail":null}]}"#),
    );
    assert_eq!(denied.kind(), ErrorKind::Unauthorized);
    assert!(denied.to_string().contains("denied"));
    let unknown = Error::registry(
        "r",
        "x".into(),
        envelope(r#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"gone","detail":null}]}"#),
    );
    assert_eq!(unknown.kind(), ErrorKind::NotFound);
}
