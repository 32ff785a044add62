use super::*;

#[test]
fn components_clean_and_refuse() {
    assert_eq!(components(b"/a//./b/").unwrap(), vec![&b"a"[..], b"b"]);
    assert!(components(b"./").unwrap().is_empty());
    assert!(components(b"a/../b").is_err());
    assert!(components(b"..").is_err());
    assert!(components(b"a\0b").is_err());
    assert!(components(b"a/..b").is_ok());
}

#[test]
fn pax_times() {
    assert_eq!(pax_time(b"12"), Some((12, 0)));
    assert_eq!(pax_time(b"12.5"), Some((12, 500_000_000)));
    assert_eq!(pax_time(b"12.123456789123"), Some((12, 123_456_789)));
    assert_eq!(pax_time(b"-1.5"), Some((-2, 500_000_000)));
    assert_eq!(pax_time(b"x"), None);
    assert_eq!(pax_time(b"1.x"), None);
}
