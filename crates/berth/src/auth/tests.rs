use super::*;

#[test]
fn registry_names_follow_docker() {
    assert_eq!(registry_of("busybox"), "docker.io");
    assert_eq!(registry_of("user/app:1"), "docker.io");
    assert_eq!(registry_of("127.0.0.1:5000/app"), "127.0.0.1:5000");
    assert_eq!(registry_of("localhost/app"), "localhost");
    assert_eq!(registry_of("ghcr.io/a/b"), "ghcr.io");
    assert_eq!(
        normalize_server(Some("https://index.docker.io/v1/")),
        "docker.io"
    );
    assert_eq!(
        normalize_server(Some("http://127.0.0.1:5000")),
        "127.0.0.1:5000"
    );
    assert_eq!(key_of("docker.io"), HUB_KEY);
}

#[test]
fn config_file_is_private_and_keeps_other_keys() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.json");
    std::fs::write(&path, r#"{"psFormat":"x","auths":{}}"#).unwrap();
    let mut v = read(&path).unwrap();
    v["auths"]["r:1"] = json!({"auth": base64::engine::general_purpose::STANDARD.encode("u:p:q")});
    write(&path, &v).unwrap();
    let back = read(&path).unwrap();
    assert_eq!(back["psFormat"], "x");
    let c = decode(&back["auths"]["r:1"], "r:1").unwrap();
    assert_eq!(
        (c.username.unwrap(), c.password.unwrap()),
        ("u".into(), "p:q".into())
    );
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );
}

#[test]
fn no_logins_is_an_empty_registry_config() {
    assert_eq!(config_header(&BTreeMap::new()).unwrap(), "e30=");
}
