use super::*;

/// Go's `time.ParseDuration`.
#[test]
fn durations() {
    let ok: &[(&str, i128)] = &[
        ("0", 0),
        ("5s", 5_000_000_000),
        ("1h30m", 5_400_000_000_000),
        ("1.5s", 1_500_000_000),
        (".5ms", 500_000),
        ("300us", 300_000),
        ("1µs", 1_000),
        ("-2m", -120_000_000_000),
        ("+1ns", 1),
        ("2562047h47m16.854775807s", i128::from(i64::MAX)),
    ];
    for (text, nanos) in ok {
        assert_eq!(parse(text), Some(*nanos), "{text}");
    }
    for text in [
        "",
        "1",
        "s",
        ".s",
        "1x",
        "1.2.3s",
        "-",
        "2562047h47m16.854775808s",
        "99999999999999999999h",
    ] {
        assert_eq!(parse(text), None, "{text}");
    }
}
