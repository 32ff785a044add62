use super::*;

#[test]
fn until_accepts_durations_and_times() {
    let now = chrono::Utc::now().timestamp();
    let h = parse_until("1h").unwrap_or_default();
    assert!((now - 3600 - h).abs() <= 1);
    assert_eq!(parse_until("1700000000").unwrap_or_default(), 1_700_000_000);
}
