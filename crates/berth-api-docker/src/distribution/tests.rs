use super::*;
use berth_engine::images::Pushed;

#[test]
fn progress_lines_follow_dockers_shapes() {
    let p = Progress {
        id: Some("abc".into()),
        status: "Downloading".into(),
        current: Some(1),
        total: Some(2),
        pushed: None,
    };
    assert_eq!(
        progress_json(&p),
        vec![
            json!({"status": "Downloading", "id": "abc", "progressDetail": {"current": 1, "total": 2}})
        ]
    );
    let done = Progress {
        id: None,
        status: "latest: digest: sha256:00 size: 3".into(),
        current: None,
        total: None,
        pushed: Some(Pushed {
            tag: "latest".into(),
            digest: "sha256:0000000000000000000000000000000000000000000000000000000000000000"
                .parse()
                .unwrap(),
            size: 3,
        }),
    };
    let lines = progress_json(&done);
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[1]["aux"]["Tag"], "latest");
    assert_eq!(lines[0]["progressDetail"], json!({}));
}

#[test]
fn registry_auth_header() {
    let mut h = HeaderMap::new();
    assert!(credentials(&h).unwrap().is_anonymous());
    let c = Credentials {
        username: "u".into(),
        password: "p".into(),
        ..Default::default()
    };
    h.insert("x-registry-auth", c.to_header().parse().unwrap());
    assert_eq!(credentials(&h).unwrap().username, "u");
    h.insert("x-registry-auth", "%%%".parse().unwrap());
    assert!(credentials(&h).is_err());
}
