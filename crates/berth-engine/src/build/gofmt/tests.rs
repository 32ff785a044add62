use super::*;

#[test]
fn durations_read_as_go_prints_them() {
    for (ns, text) in [
        (0, "0s"),
        (30_000_000_000, "30s"),
        (5_000_000_000, "5s"),
        (90_000_000_000, "1m30s"),
        (3_600_000_000_000, "1h0m0s"),
        (1_500_000_000, "1.5s"),
        (500_000_000, "500ms"),
        (1_500, "1.5µs"),
        (7, "7ns"),
        (-2_000_000_000, "-2s"),
    ] {
        assert_eq!(duration(ns), text, "{ns}");
    }
}

#[test]
fn quoting_is_gos() {
    assert_eq!(
        quote_list(&["echo".into(), "hi".into()]),
        r#"["echo" "hi"]"#
    );
    assert_eq!(quote(r#"a "b" \ c"#), r#""a \"b\" \\ c""#);
    assert_eq!(quote("tab\tnl\n\x01"), r#""tab\tnl\n\x01""#);
    assert_eq!(quote_rune(4), r"'\x04'");
    assert_eq!(quote_rune(0), r"'\x00'");
    assert_eq!(quote_rune(65), "'A'");
    assert_eq!(list(&["/data".into(), "/cache".into()]), "[/data /cache]");
}
