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
