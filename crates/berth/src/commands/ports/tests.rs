use super::*;
use bollard::models::PortSummaryTypeEnum;

/// (port, host ip, host port) of each mapping a spec makes.
fn spec(raw: &str) -> Vec<(String, String, String)> {
    parse_port_spec(raw)
        .unwrap_or_else(|e| panic!("{raw}: {e:#}"))
        .into_iter()
        .map(|(p, b)| {
            (
                p,
                b.host_ip.unwrap_or_default(),
                b.host_port.unwrap_or_default(),
            )
        })
        .collect()
}

fn one(port: &str, ip: &str, host: &str) -> Vec<(String, String, String)> {
    vec![(port.into(), ip.into(), host.into())]
}

fn error(raw: &str) -> String {
    match parse_port_spec(raw) {
        Ok(m) => panic!("{raw} parsed as {m:?}"),
        Err(e) => e.to_string(),
    }
}

// The cases of go-connections' nat_test.go (ParsePortSpecs and friends).
#[test]
fn port_specs_as_docker_parses_them() {
    assert_eq!(spec("1234/tcp"), one("1234/tcp", "", ""));
    assert_eq!(spec("2345/udp"), one("2345/udp", "", ""));
    assert_eq!(spec("3456/sctp"), one("3456/sctp", "", ""));
    assert_eq!(spec("1234"), one("1234/tcp", "", ""));
    assert_eq!(spec("80/"), one("80/tcp", "", ""));
    assert_eq!(spec("80/UDP"), one("80/udp", "", ""));
    assert_eq!(spec("1234:1234/tcp"), one("1234/tcp", "", "1234"));
    assert_eq!(
        spec("0.0.0.0:1234:1234/tcp"),
        one("1234/tcp", "0.0.0.0", "1234")
    );
    assert_eq!(
        spec("192.168.1.100::80"),
        one("80/tcp", "192.168.1.100", "")
    );
    assert_eq!(
        spec("192.168.1.100:8080:80"),
        one("80/tcp", "192.168.1.100", "8080")
    );
    assert_eq!(
        spec("192.168.1.100::6000/udp"),
        one("6000/udp", "192.168.1.100", "")
    );
    assert_eq!(
        spec("192.168.1.100::6000/sctp"),
        one("6000/sctp", "192.168.1.100", "")
    );
    // IPv6, with or without brackets.
    assert_eq!(
        spec("[2001:4860:0:2001::68]::333"),
        one("333/tcp", "2001:4860:0:2001::68", "")
    );
    assert_eq!(spec("[::1]:80:80"), one("80/tcp", "::1", "80"));
    assert_eq!(spec("::1:8080:80"), one("80/tcp", "::1", "8080"));
    // Long syntax.
    let long = published(&["target=80,published=8080,protocol=udp".into()], &[]);
    let long = long.unwrap_or_default();
    assert_eq!(
        long.bindings["80/udp"][0].host_port.as_deref(),
        Some("8080")
    );
}

#[test]
fn port_ranges_as_docker_parses_them() {
    let three = |p: [&str; 3], ip: &str, host: [&str; 3]| -> Vec<(String, String, String)> {
        p.iter()
            .zip(host)
            .map(|(p, h)| (p.to_string(), ip.to_string(), h.to_string()))
            .collect()
    };
    assert_eq!(
        spec("1234-1236/tcp"),
        three(["1234/tcp", "1235/tcp", "1236/tcp"], "", ["", "", ""])
    );
    assert_eq!(
        spec("0.0.0.0:1234-1236:1234-1236/udp"),
        three(
            ["1234/udp", "1235/udp", "1236/udp"],
            "0.0.0.0",
            ["1234", "1235", "1236"]
        )
    );
    assert_eq!(
        spec("0.0.0.0:1234-1235:3333-3334/tcp"),
        vec![
            ("3333/tcp".into(), "0.0.0.0".into(), "1234".into()),
            ("3334/tcp".into(), "0.0.0.0".into(), "1235".into()),
        ]
    );
    // A host range for one container port: the daemon picks a free port in it.
    assert_eq!(spec("1000-1010:80"), one("80/tcp", "", "1000-1010"));
    assert_eq!(
        spec("127.0.0.1:1000-1010:80/udp"),
        one("80/udp", "127.0.0.1", "1000-1010")
    );
}

#[test]
fn bad_port_specs_are_refused_clearly() {
    assert_eq!(
        error("localhost:1234:1234/tcp"),
        "invalid IP address: localhost"
    );
    assert_eq!(error("1234:1234:1234/tcp"), "invalid IP address: 1234");
    assert_eq!(
        error("localhost:1234-1236:1234-1236/tcp"),
        "invalid IP address: localhost"
    );
    assert_eq!(
        error("192.168.1.100"),
        "invalid containerPort: 192.168.1.100"
    );
    assert_eq!(error("192.168.1.100:-1:-1"), "invalid containerPort: -1");
    assert_eq!(error("192.168.1.100:-1:80"), "invalid hostPort: -1");
    assert_eq!(error("+80"), "invalid containerPort: +80");
    assert_eq!(error("70000"), "invalid containerPort: 70000");
    assert_eq!(error("90-80"), "invalid containerPort: 90-80");
    assert_eq!(
        error("0.0.0.0:1234-1235:/tcp"),
        "no port specified: 0.0.0.0:1234-1235:/tcp<empty>"
    );
    assert_eq!(error("1234/invalid"), "invalid proto: invalid");
    assert_eq!(
        error("8000-8001:80-82"),
        "invalid ranges specified for container and host Ports: 80-82 and 8000-8001"
    );
    assert_eq!(
        error("8080:80-81"),
        "invalid ranges specified for container and host Ports: 80-81 and 8080"
    );
    assert!(error("[::1:80:80").contains("missing ']'"));
    let e = |p: &[&str], x: &[&str]| {
        let p: Vec<String> = p.iter().map(|s| s.to_string()).collect();
        let x: Vec<String> = x.iter().map(|s| s.to_string()).collect();
        published(&p, &x).map_or_else(|e| e.to_string(), |_| String::new())
    };
    assert_eq!(
        e(&["published=80"], &[]),
        "Publish option 'target' not specified"
    );
    assert_eq!(
        e(&[], &["80:80"]),
        "invalid port format for --expose: 80:80"
    );
    assert!(e(&[], &["x"]).starts_with("invalid range format for --expose: x"));
}

#[test]
fn publish_and_expose_merge() {
    let p = published(
        &["8080:80".into(), "127.0.0.1:8081:80".into()],
        &["53/udp".into(), "7000-7001".into(), "80".into()],
    )
    .unwrap_or_default();
    let exposed: Vec<&str> = p.exposed.iter().map(String::as_str).collect();
    assert_eq!(exposed, ["53/udp", "7000/tcp", "7001/tcp", "80/tcp"]);
    let hosts: Vec<(Option<&str>, Option<&str>)> = p.bindings["80/tcp"]
        .iter()
        .map(|b| (b.host_ip.as_deref(), b.host_port.as_deref()))
        .collect();
    assert_eq!(
        hosts,
        [(Some(""), Some("8080")), (Some("127.0.0.1"), Some("8081"))]
    );
}

fn ps_port(ip: &str, private: u16, public: Option<u16>, udp: bool) -> PortSummary {
    PortSummary {
        ip: (!ip.is_empty()).then(|| ip.to_string()),
        private_port: private,
        public_port: public,
        typ: Some(if udp {
            PortSummaryTypeEnum::UDP
        } else {
            PortSummaryTypeEnum::TCP
        }),
    }
}

// The cases of docker/cli's TestDisplayablePorts.
#[test]
fn ports_column_as_docker_prints_it() {
    let show = |p: &[PortSummary]| display_ports(p);
    assert_eq!(show(&[ps_port("", 9988, None, false)]), "9988/tcp");
    assert_eq!(show(&[ps_port("", 9988, None, true)]), "9988/udp");
    assert_eq!(
        show(&[ps_port("0.0.0.0", 9988, None, false)]),
        "0.0.0.0:0->9988/tcp"
    );
    assert_eq!(
        show(&[ps_port("::", 9988, None, false)]),
        "[::]:0->9988/tcp"
    );
    assert_eq!(show(&[ps_port("", 9988, Some(8899), false)]), "9988/tcp");
    assert_eq!(
        show(&[ps_port("4.3.2.1", 9988, Some(8899), false)]),
        "4.3.2.1:8899->9988/tcp"
    );
    assert_eq!(
        show(&[ps_port("4.3.2.1", 9988, Some(9988), false)]),
        "4.3.2.1:9988->9988/tcp"
    );
    assert_eq!(
        show(&[ps_port("", 9988, None, true), ps_port("", 9988, None, true)]),
        "9988/udp, 9988/udp"
    );
    assert_eq!(
        show(&[
            ps_port("1.2.3.4", 9999, Some(9999), true),
            ps_port("1.2.3.4", 9998, Some(9998), true),
        ]),
        "1.2.3.4:9998-9999->9998-9999/udp"
    );
    assert_eq!(
        show(&[
            ps_port("1.2.3.4", 9998, Some(8887), true),
            ps_port("1.2.3.4", 9999, Some(8888), true),
        ]),
        "1.2.3.4:8887->9998/udp, 1.2.3.4:8888->9999/udp"
    );
    assert_eq!(
        show(&[
            ps_port("", 6677, None, false),
            ps_port("", 6678, None, false)
        ]),
        "6677-6678/tcp"
    );
    assert_eq!(
        show(&[
            ps_port("1.2.3.4", 6677, Some(7766), false),
            ps_port("", 9988, Some(8899), true),
        ]),
        "9988/udp, 1.2.3.4:7766->6677/tcp"
    );
}

fn binding(ip: &str, port: &str) -> PortBinding {
    PortBinding {
        host_ip: Some(ip.into()),
        host_port: Some(port.into()),
    }
}

#[test]
fn port_verb_lines() {
    let ports: PortMap = [
        (
            "80/tcp".to_string(),
            Some(vec![binding("127.0.0.1", "8080")]),
        ),
        (
            "9000/udp".to_string(),
            Some(vec![binding("0.0.0.0", "9000"), binding("::", "9000")]),
        ),
        ("443/tcp".to_string(), None),
        (
            "8000/tcp".to_string(),
            Some(vec![binding("0.0.0.0", "32768")]),
        ),
    ]
    .into();
    let all = port_lines(&ports, None, "web").unwrap_or_default();
    assert_eq!(
        all,
        [
            "80/tcp -> 127.0.0.1:8080",
            "8000/tcp -> 0.0.0.0:32768",
            "9000/udp -> 0.0.0.0:9000",
            "9000/udp -> [::]:9000",
        ]
    );
    let one = |want: &str| port_lines(&ports, Some(want), "web").map_err(|e| e.to_string());
    assert_eq!(one("80"), Ok(vec!["127.0.0.1:8080".to_string()]));
    assert_eq!(one("9000/udp").map(|v| v.len()), Ok(2));
    assert_eq!(
        one("443"),
        Err("Error: No public port '443' published for web".to_string())
    );
    assert_eq!(one("http"), Err("Error: invalid port (http)".to_string()));
}
