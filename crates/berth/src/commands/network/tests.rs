use super::*;
use clap::Parser;

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn ipam(subnets: &[&str], ranges: &[&str], gateways: &[&str]) -> Result<Vec<IpamConfig>> {
    ipam_configs(&strings(subnets), &strings(ranges), &strings(gateways))
}

#[test]
fn ipam_pairs_gateways_and_ranges_with_their_subnet() {
    let c = ipam(
        &["10.251.0.0/24", "fd00:1::/64"],
        &["10.251.0.128/25"],
        &["fd00:1::1", "10.251.0.254"],
    )
    .unwrap_or_default();
    assert_eq!(c.len(), 2);
    assert_eq!(c[0].subnet.as_deref(), Some("10.251.0.0/24"));
    assert_eq!(c[0].ip_range.as_deref(), Some("10.251.0.128/25"));
    assert_eq!(c[0].gateway.as_deref(), Some("10.251.0.254"));
    assert_eq!(c[1].gateway.as_deref(), Some("fd00:1::1"));
    assert_eq!(c[1].ip_range, None);
    let err = |s: &[&str], r: &[&str], g: &[&str]| {
        ipam(s, r, g).map_or_else(|e| format!("{e:#}"), |_| String::new())
    };
    assert_eq!(
        err(&[], &[], &["10.0.0.1"]),
        "every ip-range or gateway must have a corresponding subnet"
    );
    assert_eq!(
        err(&["10.1.0.0/16", "10.1.2.0/24"], &[], &[]),
        "multiple overlapping subnet configuration is not supported"
    );
    assert_eq!(
        err(&["10.1.2.0/24"], &[], &["10.9.9.1"]),
        "no matching subnet for gateway 10.9.9.1"
    );
    assert_eq!(
        err(&["10.1.2.0/24"], &["10.9.9.0/25"], &[]),
        "no matching subnet for range 10.9.9.0/25"
    );
    assert_eq!(
        err(
            &["10.1.0.0/16", "10.2.0.0/16"],
            &[],
            &["10.1.0.1", "10.1.0.2"]
        ),
        "cannot configure multiple gateways (10.1.0.2, 10.1.0.1) for the same subnet (10.1.0.0/16)"
    );
    // A lone subnet is the daemon's to check, as with docker.
    assert_eq!(err(&["10.1.2.3/33"], &[], &[]), "");
    assert_eq!(
        err(&["10.1.0.0/16", "bogus"], &[], &[]),
        "invalid subnet: invalid CIDR address: bogus"
    );
}

#[test]
fn cidr_contains() {
    let c = Cidr::parse("10.250.3.0/24").unwrap_or_else(|e| panic!("{e}"));
    assert!(c.contains(
        "10.250.3.77"
            .parse()
            .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
    ));
    assert!(!c.contains(
        "10.250.4.1"
            .parse()
            .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
    ));
    let all = Cidr::parse("0.0.0.0/0").unwrap_or_else(|e| panic!("{e}"));
    assert!(all.contains(IpAddr::V4(Ipv4Addr::BROADCAST)));
    assert!(!all.contains(IpAddr::V6(Ipv6Addr::LOCALHOST)));
    assert!(Cidr::parse("10.0.0.0/+8").is_err());
}

fn body(args: &[&str]) -> Result<serde_json::Value> {
    let mut b = ContainerCreateBody::default();
    apply_container_flags(&super::super::run::tests::create_options(args), &mut b)?;
    Ok(serde_json::to_value(b)?)
}

#[test]
fn networking_flags_become_the_create_body() {
    let b = body(&[
        "--network",
        "front",
        "--network-alias",
        "web",
        "--ip",
        "10.251.0.9",
        "--mac-address",
        "92:d0:c6:0a:29:33",
        "-p",
        "127.0.0.1:8080:80",
        "-p",
        "53:53/udp",
        "-P",
        "--expose",
        "9000",
        "--dns",
        "10.0.0.2",
        "--dns-search",
        "example.com.",
        "--dns-option",
        "ndots:2",
        "--add-host",
        "db:10.0.0.5",
        "--add-host",
        "v6=[::1]",
        "busybox",
    ])
    .unwrap_or_else(|e| panic!("{e:#}"));
    insta::assert_snapshot!(crate::output::json_pretty(&b), @r#"
    {
      "ExposedPorts": {
        "53/udp": {},
        "80/tcp": {},
        "9000/tcp": {}
      },
      "HostConfig": {
        "Dns": [
          "10.0.0.2"
        ],
        "DnsOptions": [
          "ndots:2"
        ],
        "DnsSearch": [
          "example.com"
        ],
        "ExtraHosts": [
          "db:10.0.0.5",
          "v6:::1"
        ],
        "NetworkMode": "front",
        "PortBindings": {
          "53/udp": [
            {
              "HostIp": "",
              "HostPort": "53"
            }
          ],
          "80/tcp": [
            {
              "HostIp": "127.0.0.1",
              "HostPort": "8080"
            }
          ]
        },
        "PublishAllPorts": true
      },
      "NetworkingConfig": {
        "EndpointsConfig": {
          "front": {
            "Aliases": [
              "web"
            ],
            "IPAMConfig": {
              "IPv4Address": "10.251.0.9"
            },
            "MacAddress": "92:d0:c6:0a:29:33"
          }
        }
      }
    }
    "#);
}

#[test]
fn network_modes_and_endpoints() {
    // One network without endpoint options needs no EndpointsConfig.
    let b = body(&["--network", "host", "busybox"]).unwrap_or_default();
    assert_eq!(b["HostConfig"]["NetworkMode"], "host");
    assert!(b.get("NetworkingConfig").is_none(), "{b}");
    // More networks: the first is the mode, all are endpoints.
    let b = body(&["--network", "a", "--network", "b", "busybox"]).unwrap_or_default();
    assert_eq!(b["HostConfig"]["NetworkMode"], "a");
    let eps = &b["NetworkingConfig"]["EndpointsConfig"];
    assert!(eps["a"].is_object() && eps["b"].is_object(), "{b}");
    // An alias without --network belongs to the default bridge.
    let b = body(&["--network-alias", "x", "busybox"]).unwrap_or_default();
    assert_eq!(
        b["NetworkingConfig"]["EndpointsConfig"]["bridge"]["Aliases"],
        serde_json::json!(["x"])
    );
    // --link: always in HostConfig, in the endpoint too on a user network (as docker's CLI).
    let b = body(&["--link", "db:data", "busybox"]).unwrap_or_default();
    assert_eq!(b["HostConfig"]["Links"], serde_json::json!(["db:data"]));
    assert!(b.get("NetworkingConfig").is_none(), "{b}");
    let b = body(&["--network", "mine", "--link", "db", "busybox"]).unwrap_or_default();
    assert_eq!(
        b["NetworkingConfig"]["EndpointsConfig"]["mine"]["Links"],
        serde_json::json!(["db"])
    );
    let err = |args: &[&str]| body(args).map_or_else(|e| format!("{e:#}"), |_| String::new());
    assert_eq!(
        err(&["--network", "host", "--network", "mine", "busybox"]),
        "conflicting options: cannot attach both user-defined and non-user-defined network-modes"
    );
    assert_eq!(
        err(&["--network", "a", "--network", "a", "busybox"]),
        "network \"a\" is specified multiple times"
    );
    assert_eq!(
        err(&["--ip", "fd00::1", "busybox"]),
        "invalid IPv4 address: fd00::1"
    );
    assert_eq!(
        err(&["--mac-address", "92:d0:c6:0a:29", "busybox"]),
        "92:d0:c6:0a:29 is not a valid mac address"
    );
    assert_eq!(
        err(&["--dns", "dns.example", "busybox"]),
        "IP address is not correctly formatted: dns.example"
    );
    assert_eq!(
        err(&["--dns-search", "a..b", "busybox"]),
        "a..b is not a valid domain"
    );
    assert_eq!(
        err(&["-p", "80:80:80", "busybox"]),
        "invalid IP address: 80"
    );
}

#[test]
fn add_host_forms() {
    assert_eq!(
        extra_host("db:10.0.0.5").ok().as_deref(),
        Some("db:10.0.0.5")
    );
    assert_eq!(
        extra_host("db=10.0.0.5").ok().as_deref(),
        Some("db:10.0.0.5")
    );
    assert_eq!(extra_host("v6:::1").ok().as_deref(), Some("v6:::1"));
    assert_eq!(extra_host("v6:[::1]").ok().as_deref(), Some("v6:::1"));
    assert_eq!(
        extra_host("gw:host-gateway").ok().as_deref(),
        Some("gw:host-gateway")
    );
    let err = |v: &str| extra_host(v).map_or_else(|e| e.to_string(), |_| String::new());
    assert_eq!(err("nohost"), "bad format for add-host: \"nohost\"");
    assert_eq!(err(":1.2.3.4"), "bad format for add-host: \":1.2.3.4\"");
    assert_eq!(
        err("db:db.local"),
        "invalid IP address in add-host: \"db.local\""
    );
    assert_eq!(dns_search(".").ok().as_deref(), Some("."));
    assert!(dns_search("123").is_err());
}

#[test]
fn ls_rows_sorted_naturally_with_docker_fields() {
    let net = |name: &str, id: &str| Network {
        name: Some(name.into()),
        id: Some(id.into()),
        driver: Some("bridge".into()),
        scope: Some("local".into()),
        created: Some("2023-11-14T22:13:20.123456789Z".into()),
        labels: Some(
            [
                ("b".to_string(), "2".to_string()),
                ("a".to_string(), "1".to_string()),
            ]
            .into(),
        ),
        ..Default::default()
    };
    let rows = network_rows(
        &[net("net10", &"b".repeat(64)), net("net9", &"a".repeat(64))],
        false,
    );
    let style = ListStyle {
        format: output::Format::Table,
        quiet: false,
        no_trunc: false,
        width: None,
    };
    insta::assert_snapshot!(output::render_list(&rows, &NETWORK_COLUMNS, &style, "ID"), @r"
    NETWORK ID     NAME    DRIVER   SCOPE
    aaaaaaaaaaaa   net9    bridge   local
    bbbbbbbbbbbb   net10   bridge   local
    ");
    insta::assert_snapshot!(output::row_json(&rows[0]), @r#"{"CreatedAt":"2023-11-14 22:13:20 +0000 UTC","Driver":"bridge","ID":"aaaaaaaaaaaa","IPv6":"false","Internal":"false","Labels":"a=1,b=2","Name":"net9","Scope":"local"}"#);
}

#[test]
fn create_request_from_flags() {
    let cli = crate::cli::Cli::try_parse_from([
        "berth",
        "network",
        "create",
        "--subnet",
        "10.251.3.0/24",
        "--gateway",
        "10.251.3.1",
        "--internal",
        "--label",
        "team=x",
        "-o",
        "com.docker.network.driver.mtu=1400",
        "n1",
    ]);
    let Ok(crate::cli::Cli {
        command: crate::cli::Command::Network(crate::cli::NetworkCommand::Create(a)),
        ..
    }) = cli
    else {
        panic!("parse failed: {cli:?}")
    };
    let r = create_request(&a).unwrap_or_else(|e| panic!("{e:#}"));
    let v = serde_json::to_value(r).unwrap_or_default();
    assert_eq!(
        v,
        serde_json::json!({
            "Name": "n1", "Driver": "bridge", "Internal": true,
            "IPAM": {"Driver": "default", "Config": [{"Subnet": "10.251.3.0/24", "Gateway": "10.251.3.1"}]},
            "Options": {"com.docker.network.driver.mtu": "1400"},
            "Labels": {"team": "x"},
        })
    );
}
