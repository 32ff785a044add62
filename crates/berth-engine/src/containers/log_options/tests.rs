use super::*;

#[test]
fn sizes_parse_like_docker() {
    assert_eq!(parse_size("10m"), Some(10 << 20));
    assert_eq!(parse_size("1g"), Some(1 << 30));
    assert_eq!(parse_size("512"), Some(512));
    assert_eq!(parse_size("1x"), None);
}
