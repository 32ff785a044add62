use super::*;

fn rows() -> Vec<Row> {
    vec![
        vec![
            ("ID", "0123456789ab".to_string()),
            ("Image", "busybox:test".to_string()),
            (
                "Command",
                "\"sh -c 'while true; do echo hello; sleep 1; done'\"".to_string(),
            ),
            ("Status", "Up 5 minutes".to_string()),
            ("Names", "web".to_string()),
        ],
        vec![
            ("ID", "ba9876543210".to_string()),
            (
                "Image",
                "registry.example.com:5000/team/app:v1.2.3".to_string(),
            ),
            ("Command", "\"/app\"".to_string()),
            ("Status", "Exited (0) 2 hours ago".to_string()),
            ("Names", "quirky_name".to_string()),
        ],
    ]
}

const COLUMNS: [Column; 5] = [
    col("ID", "CONTAINER ID", false),
    col("Image", "IMAGE", true),
    col("Command", "COMMAND", true),
    col("Status", "STATUS", true),
    col("Names", "NAMES", false),
];

fn style(format: Option<&str>, width: Option<usize>) -> ListStyle {
    ListStyle {
        format: Format::parse(format),
        quiet: false,
        no_trunc: false,
        width,
    }
}

#[test]
fn table_at_natural_width() {
    insta::assert_snapshot!(render_list(&rows(), &COLUMNS, &style(None, None), "ID"), @r#"
        CONTAINER ID   IMAGE                                       COMMAND                                              STATUS                   NAMES
        0123456789ab   busybox:test                                "sh -c 'while true; do echo hello; sleep 1; done'"   Up 5 minutes             web
        ba9876543210   registry.example.com:5000/team/app:v1.2.3   "/app"                                               Exited (0) 2 hours ago   quirky_name
        "#);
}

#[test]
fn table_fits_80_columns() {
    let out = render_list(&rows(), &COLUMNS, &style(None, Some(80)), "ID");
    for line in out.lines() {
        assert!(line.chars().count() <= 80, "too wide: {line:?}");
    }
    insta::assert_snapshot!(out, @r#"
        CONTAINER ID   IMAGE             COMMAND           STATUS            NAMES
        0123456789ab   busybox:test      "sh -c 'while …   Up 5 minutes      web
        ba9876543210   registry.examp…   "/app"            Exited (0) 2 h…   quirky_name
        "#);
}

#[test]
fn no_trunc_ignores_the_width() {
    let mut s = style(None, Some(40));
    s.no_trunc = true;
    let out = render_list(&rows(), &COLUMNS, &s, "ID");
    assert!(out.contains("registry.example.com:5000/team/app:v1.2.3"));
}

#[test]
fn json_lines_and_templates() {
    insta::assert_snapshot!(render_list(&rows()[..1], &COLUMNS, &style(Some("json"), None), "ID"), @r#"{"Command":"\"sh -c 'while true; do echo hello; sleep 1; done'\"","ID":"0123456789ab","Image":"busybox:test","Names":"web","Status":"Up 5 minutes"}"#);
    insta::assert_snapshot!(render_list(&rows(), &COLUMNS, &style(Some("{{.Names}}: {{.Status}}"), None), "ID"), @r"
    web: Up 5 minutes
    quirky_name: Exited (0) 2 hours ago
    ");
    insta::assert_snapshot!(render_list(&rows(), &COLUMNS, &style(Some("table {{.ID}}\\t{{.Names}}"), None), "ID"), @r"
    ID             NAMES
    0123456789ab   web
    ba9876543210   quirky_name
    ");
    let mut quiet = style(None, None);
    quiet.quiet = true;
    assert_eq!(
        render_list(&rows(), &COLUMNS, &quiet, "ID"),
        "0123456789ab\nba9876543210\n"
    );
}

#[test]
fn go_units_sizes() {
    assert_eq!(human_size_prec(0.0, 3), "0B");
    assert_eq!(human_size_prec(999.0, 3), "999B");
    assert_eq!(human_size_prec(1000.0, 3), "1kB");
    assert_eq!(human_size_prec(4_261_000.0, 3), "4.26MB");
    assert_eq!(human_size_prec(1_234_567_890.0, 3), "1.23GB");
    assert_eq!(human_size_prec(999_999.0, 3), "1e+03kB");
    assert_eq!(human_size(1_234_567.0), "1.235MB");
    assert_eq!(bytes_size(1024.0 * 1024.0 * 1.5), "1.5MiB");
    assert_eq!(bytes_size(512.0), "512B");
    assert_eq!(format_g(0.000012345, 3), "1.23e-05");
    assert_eq!(parse_ram("512m"), Some(512 * 1024 * 1024));
    assert_eq!(parse_ram("1g"), Some(1024 * 1024 * 1024));
    assert_eq!(parse_ram("1.5k"), Some(1536));
    assert_eq!(parse_ram("100"), Some(100));
    assert_eq!(parse_ram("12x"), None);
}

#[test]
fn go_units_durations() {
    assert_eq!(human_duration(0), "Less than a second");
    assert_eq!(human_duration(1), "1 second");
    assert_eq!(human_duration(59), "59 seconds");
    assert_eq!(human_duration(90), "About a minute");
    assert_eq!(human_duration(600), "10 minutes");
    assert_eq!(human_duration(5400), "About an hour");
    assert_eq!(human_duration(3 * 3600), "3 hours");
    assert_eq!(human_duration(3 * 86400), "3 days");
    assert_eq!(human_duration(20 * 86400), "2 weeks");
    assert_eq!(human_duration(90 * 86400), "3 months");
    assert_eq!(human_duration(800 * 86400), "2 years");
    assert_eq!(ago(100, 160), "About a minute ago");
}

#[test]
fn time_flags() {
    let now = 1_700_000_000;
    assert_eq!(parse_time("10m", now), Some(now - 600));
    assert_eq!(parse_time("1h30m", now), Some(now - 5400));
    assert_eq!(parse_time("1699999999", now), Some(1_699_999_999));
    assert_eq!(parse_time("1699999999.5", now), Some(1_699_999_999));
    assert_eq!(parse_time("2023-11-14T22:13:20Z", now), Some(now));
    assert_eq!(parse_time("yesterday", now), None);
    assert_eq!(
        parse_duration("1m30s"),
        Some(std::time::Duration::from_secs(90))
    );
    assert_eq!(
        parse_duration("250ms"),
        Some(std::time::Duration::from_millis(250))
    );
    assert_eq!(short_id("sha256:0123456789abcdef", false), "0123456789ab");
    assert_eq!(ellipsis("abcdef", 4), "abc…");
    assert_eq!(template_header("{{.RunningFor}}"), "RUNNING FOR");
    assert_eq!(template_header("{{.ID}}"), "ID");
    let v = serde_json::json!({"State": {"Status": "running", "Pid": 42}, "Name": "/web"});
    assert_eq!(
        fill_value(
            "{{.Name}} {{.State.Status}} {{.State.Pid}} {{.Nope}} {{json .State}}",
            &v
        ),
        r#"/web running 42 <no value> {"Pid":42,"Status":"running"}"#
    );
}

#[test]
fn natural_order() {
    let mut v = vec![
        "net10",
        "net9",
        "net09",
        "a",
        "9000/udp -> x",
        "80/tcp -> y",
        "Net1",
    ];
    v.sort_by(|a, b| natural_cmp(a, b));
    assert_eq!(
        v,
        [
            "80/tcp -> y",
            "9000/udp -> x",
            "Net1",
            "a",
            "net9",
            "net09",
            "net10"
        ]
    );
}
