use super::*;

#[test]
fn reference_filter_globs() {
    let tags = vec![
        "busybox:latest".to_string(),
        "localhost:5000/app:v1".to_string(),
    ];
    assert!(reference_matches("busybox", &tags));
    assert!(reference_matches("busy*", &tags));
    assert!(reference_matches("localhost:5000/*", &tags));
    assert!(!reference_matches("alpine", &tags));
    assert!(glob_match("*:v1", "localhost:5000/app:v1"));
}

/// What compose 1.29 reads when it recreates a container: an object, from the image or empty.
#[test]
fn legacy_container_config_is_always_an_object() {
    let empty = legacy_container_config(&json!({"config": {"Cmd": ["sh"]}}));
    assert_eq!(empty["Volumes"], Value::Null);
    assert_eq!(empty["Image"], "");
    let built = json!({"container_config": {"Cmd": ["/bin/sh", "-c", "#(nop) CMD"], "Volumes": {"/data": {}}}});
    assert_eq!(
        legacy_container_config(&built)["Volumes"],
        json!({"/data": {}})
    );
}
