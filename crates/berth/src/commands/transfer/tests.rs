use super::*;

#[test]
fn container_paths() {
    assert_eq!(
        split_container_path("web:/etc/hosts"),
        Some(("web", "/etc/hosts"))
    );
    assert_eq!(split_container_path("/tmp/a:b"), None);
    assert_eq!(split_container_path("./a:b"), None);
    assert_eq!(split_container_path("file.txt"), None);
}
