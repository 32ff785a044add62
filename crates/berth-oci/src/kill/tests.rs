use super::*;

#[test]
fn signals_parse_by_name_number_and_prefix() {
    assert_eq!(parse_signal("TERM").unwrap(), Signal::SIGTERM);
    assert_eq!(parse_signal("sigkill").unwrap(), Signal::SIGKILL);
    assert_eq!(parse_signal("9").unwrap(), Signal::SIGKILL);
    assert!(matches!(parse_signal("NOPE"), Err(Error::BadSignal(_))));
    assert!(matches!(parse_signal("999"), Err(Error::BadSignal(_))));
}
