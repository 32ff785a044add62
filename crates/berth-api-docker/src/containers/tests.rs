use super::*;

#[test]
fn detach_keys_parse_as_docker() {
    assert_eq!(detach_keys(None).ok(), Some(vec![0x10, 0x11]));
    assert_eq!(detach_keys(Some("")).ok(), Some(vec![0x10, 0x11]));
    assert_eq!(detach_keys(Some("ctrl-a,x")).ok(), Some(vec![0x01, b'x']));
    assert_eq!(
        detach_keys(Some("ctrl-@,ctrl-_")).ok(),
        Some(vec![0x00, 0x1f])
    );
    assert!(detach_keys(Some("ctrl-1")).is_err());
    assert!(detach_keys(Some("ab")).is_err());
}
