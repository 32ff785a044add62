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

#[test]
fn repeated_slashes_fold() {
    assert_eq!(fold_slashes("/containers//a/b"), "/containers/a/b");
    assert_eq!(fold_slashes("//v1.44///x"), "/v1.44/x");
    assert_eq!(fold_slashes("/plain"), "/plain");
}
