use super::*;

fn bundle_with(config: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("rootfs")).unwrap();
    std::fs::write(dir.path().join("config.json"), config).unwrap();
    dir
}

const MINIMAL: &str = r#"{"ociVersion":"1.0.2","root":{"path":"rootfs"},
    "process":{"args":["true"],"cwd":"/","user":{"uid":0,"gid":0}},
    "linux":{"namespaces":[{"type":"pid"},{"type":"mount"}]}}"#;

#[test]
fn minimal_config_loads() {
    let dir = bundle_with(MINIMAL);
    let b = load_bundle(dir.path()).unwrap();
    assert!(b.rootfs.ends_with("rootfs"));
}

#[test]
fn malformed_json_names_the_file() {
    let dir = bundle_with("{not json");
    let err = load_bundle(dir.path()).err().unwrap().to_string();
    assert!(
        err.contains("config.json") && err.contains("invalid JSON"),
        "{err}"
    );
}

#[test]
fn unknown_namespace_is_refused() {
    let dir = bundle_with(&MINIMAL.replace(r#"{"type":"mount"}"#, r#"{"type":"bogus"}"#));
    let err = load_bundle(dir.path()).err().unwrap().to_string();
    assert!(err.contains("bogus"), "{err}");
}

#[test]
fn missing_rootfs_names_the_path() {
    let dir = bundle_with(&MINIMAL.replace("\"rootfs\"", "\"nowhere\""));
    let err = load_bundle(dir.path()).err().unwrap().to_string();
    assert!(
        err.contains("root.path") && err.contains("nowhere"),
        "{err}"
    );
}

#[test]
fn duplicate_namespace_and_missing_maps_are_refused() {
    let dup = MINIMAL.replace(r#"{"type":"mount"}"#, r#"{"type":"pid"}"#);
    assert!(load_bundle(bundle_with(&dup).path())
        .err()
        .unwrap()
        .to_string()
        .contains("twice"));
    let user = MINIMAL.replace(r#"{"type":"mount"}"#, r#"{"type":"user"}"#);
    assert!(load_bundle(bundle_with(&user).path())
        .err()
        .unwrap()
        .to_string()
        .contains("uidMappings"));
}

#[test]
fn empty_args_are_refused() {
    let dir = bundle_with(&MINIMAL.replace(r#"["true"]"#, "[]"));
    assert!(load_bundle(dir.path())
        .err()
        .unwrap()
        .to_string()
        .contains("process.args"));
}
