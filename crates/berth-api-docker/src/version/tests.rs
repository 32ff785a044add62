use super::*;

#[test]
fn splits_versioned_paths_only() {
    assert_eq!(
        split("/v1.44/containers/json"),
        Some(("1.44", "/containers/json"))
    );
    assert_eq!(split("/version"), None);
    assert_eq!(split("/volumes/x"), None);
    assert_eq!(split("/v1.x/info"), None);
}
