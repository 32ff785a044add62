use super::*;

#[test]
fn sizes_parse_like_docker() {
    assert_eq!(parse_size("512k").unwrap(), 512 * 1024);
    assert_eq!(parse_size("64M").unwrap(), 64 << 20);
    assert_eq!(parse_size("1g").unwrap(), 1 << 30);
    assert_eq!(parse_size("100").unwrap(), 100);
    assert_eq!(parse_size("-1").unwrap(), -1);
    assert!(parse_size("lots").is_err());
    let e = parse_size("99999999999999g").unwrap_err().to_string();
    assert!(e.contains("99999999999999g"), "{e}");
}
