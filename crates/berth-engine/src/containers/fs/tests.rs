use super::*;

#[test]
fn archive_names_follow_docker() {
    assert_eq!(archive_name("/etc/passwd"), "passwd");
    assert_eq!(archive_name("/etc/"), "etc");
    assert_eq!(archive_name("/etc/."), ".");
    assert_eq!(archive_name("/"), ".");
    assert_eq!(archive_name("rel/x"), "x");
}
