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

#[test]
fn without_a_mount_namespace_mounts_are_refused_and_the_rest_loads() {
    use serde_json::{json, Value};
    let load = |path: &[&str], value: Value| {
        let mut config: Value = serde_json::from_str(MINIMAL).unwrap();
        config["linux"]["namespaces"] = json!([{"type": "pid"}]);
        let mut node = &mut config;
        for key in path {
            node = &mut node[*key];
        }
        *node = value;
        load_bundle(bundle_with(&config.to_string()).path()).map(|_| ())
    };
    load(&["hostname"], Value::Null).unwrap();
    load(&["linux", "namespaces"], json!([])).unwrap();
    for (field, path, value) in [
        (
            "mounts",
            &["mounts"][..],
            json!([{"destination": "/proc", "type": "proc"}]),
        ),
        (
            "linux.maskedPaths",
            &["linux", "maskedPaths"],
            json!(["/proc/kcore"]),
        ),
        (
            "linux.readonlyPaths",
            &["linux", "readonlyPaths"],
            json!(["/proc/sys"]),
        ),
        (
            "linux.devices",
            &["linux", "devices"],
            json!([{"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229}]),
        ),
        (
            "linux.rootfsPropagation",
            &["linux", "rootfsPropagation"],
            json!("private"),
        ),
        ("root.readonly", &["root", "readonly"], json!(true)),
    ] {
        let err = load(path, value)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.contains(field) && err.contains("needs a mount namespace"),
            "{field}: {err:?}"
        );
    }
}
