use super::*;

#[test]
fn sizes_parse_like_docker() {
    assert_eq!(parse_size("10m"), Some(10 << 20));
    assert_eq!(parse_size("1g"), Some(1 << 30));
    assert_eq!(parse_size("512"), Some(512));
    assert_eq!(parse_size("1x"), None);
}

#[test]
fn hosts_has_localhost_extra_and_self() {
    let h = hosts_file("abc", &["db:10.0.0.2".to_string()]);
    assert!(h.starts_with("127.0.0.1\tlocalhost\n"));
    assert!(h.contains("10.0.0.2\tdb\n"));
    assert!(h.ends_with("127.0.1.1\tabc\n"));
}
