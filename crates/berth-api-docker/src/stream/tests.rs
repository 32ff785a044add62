use super::*;

#[test]
fn frames_and_durations() {
    assert_eq!(frame(2, b"hi"), vec![2, 0, 0, 0, 0, 0, 0, 2, b'h', b'i']);
    let s = chrono::TimeDelta::seconds;
    assert_eq!(human_duration(s(0)), "Less than a second");
    assert_eq!(human_duration(s(1)), "1 second");
    assert_eq!(human_duration(s(90)), "About a minute");
    assert_eq!(human_duration(s(600)), "10 minutes");
    assert_eq!(human_duration(s(3 * 86400)), "3 days");
}
