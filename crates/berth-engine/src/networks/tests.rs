#![allow(clippy::unwrap_used)]

use super::*;

fn req(name: &str, subnet: &str) -> NetworkCreate {
    NetworkCreate {
        name: name.into(),
        ipam: if subnet.is_empty() {
            Vec::new()
        } else {
            vec![IpamRequest {
                subnet: subnet.into(),
                ..Default::default()
            }]
        },
        ..Default::default()
    }
}

fn pool() -> Vec<(IpNet, u8)> {
    vec![("10.90.0.0/22".parse().unwrap(), 24)]
}

fn define_one(r: &NetworkCreate, existing: &[Network]) -> Result<Network, NetworkError> {
    define(r, "a".repeat(64), existing, &pool(), true, &[])
}

#[test]
fn subnets_gateways_and_ranges() {
    let mut r = req("front", "10.5.0.0/16");
    r.ipam[0].gateway = "10.5.0.254".into();
    r.ipam[0].ip_range = "10.5.1.0/24".into();
    let n = define_one(&r, &[]).unwrap();
    assert_eq!(n.bridge, "br-aaaaaaaaaaaa");
    assert_eq!(n.subnets[0].gateway.to_string(), "10.5.0.254");
    assert_eq!(n.subnets[0].ip_range.unwrap().to_string(), "10.5.1.0/24");
    // Without a subnet, Docker's first host is the gateway of an allocated one.
    let n = define_one(&req("auto", ""), &[]).unwrap();
    assert_eq!(n.subnets[0].subnet.to_string(), "10.90.0.0/24");
    assert_eq!(n.subnets[0].gateway.to_string(), "10.90.0.1");
}

#[test]
fn bad_input_is_refused_with_the_network_named() {
    for (subnet, gateway, range) in [
        ("10.5.0.0/33", "", ""),
        ("10.5.0.1/16", "", ""),
        ("bogus", "", ""),
        ("10.5.0.0/16", "10.6.0.1", ""),
        ("10.5.0.0/16", "", "10.6.0.0/24"),
    ] {
        let mut r = req("bad", subnet);
        r.ipam[0].gateway = gateway.into();
        r.ipam[0].ip_range = range.into();
        let e = define_one(&r, &[]).unwrap_err();
        assert!(e.to_string().contains("network bad"), "{e}");
        assert_eq!(e.kind(), berth_types::ErrorKind::InvalidArgument, "{e}");
    }
    assert!(matches!(
        define_one(&req("-x", ""), &[]),
        Err(NetworkError::InvalidName(_))
    ));
    let mut v6 = req("v6", "");
    v6.enable_ipv6 = true;
    assert!(matches!(
        define_one(&v6, &[]),
        Err(NetworkError::Ipv6NeedsSubnet(_))
    ));
    let mut other = req("mac", "");
    other.driver = "macvlan".into();
    assert!(matches!(
        define_one(&other, &[]),
        Err(NetworkError::UnknownDriver(_))
    ));
}

#[test]
fn overlaps_are_refused_and_skipped_by_allocation() {
    let first = define_one(&req("one", "10.90.0.0/23"), &[]).unwrap();
    let e = define_one(&req("two", "10.90.1.0/24"), std::slice::from_ref(&first)).unwrap_err();
    assert!(matches!(e, NetworkError::Overlap { .. }), "{e}");
    assert!(e.to_string().contains("network one"), "{e}");
    let n = define(
        &req("three", ""),
        "b".repeat(64),
        std::slice::from_ref(&first),
        &pool(),
        true,
        &[],
    )
    .unwrap();
    assert_eq!(n.subnets[0].subnet.to_string(), "10.90.2.0/24");
    let routes = ["10.90.2.0/24".parse().unwrap()];
    let n = define(
        &req("four", ""),
        "c".repeat(64),
        &[first],
        &pool(),
        true,
        &routes,
    )
    .unwrap();
    assert_eq!(n.subnets[0].subnet.to_string(), "10.90.3.0/24");
}

#[test]
fn routes_of_the_host_parse() {
    let text =
        "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n\
                eth0\t00000000\t0100000A\t0003\t0\t0\t0\t00000000\t0\t0\t0\n\
                eth0\t0000000A\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0\n";
    let routes = subnet::parse_routes(text);
    assert_eq!(routes, vec!["10.0.0.0/16".parse::<IpNet>().unwrap()]);
}

#[test]
fn conflist_follows_the_definition() {
    let mut r = req("internal", "10.7.0.0/24");
    r.internal = true;
    r.options.insert(MTU_OPTION.into(), "1400".into());
    let n = define_one(&r, &[]).unwrap();
    let list = cni::conflist(&n, std::path::Path::new("/x"), Plugins::default()).unwrap();
    let types: Vec<&str> = list
        .plugins
        .iter()
        .map(|p| p.plugin_type.as_str())
        .collect();
    assert_eq!(types, ["bridge", "firewall"]);
    let bridge = &list.plugins[0].extra;
    assert_eq!(bridge["ipMasq"], false);
    assert_eq!(bridge["mtu"], 1400);
    assert_eq!(bridge["ipam"]["routes"], serde_json::json!([]));
    assert_eq!(bridge["ipam"]["dataDir"], "/x");
    let full = cni::conflist(
        &define_one(&req("n", "10.8.0.0/24"), &[]).unwrap(),
        "/x".as_ref(),
        Plugins::ALL,
    )
    .unwrap();
    let types: Vec<&str> = full
        .plugins
        .iter()
        .map(|p| p.plugin_type.as_str())
        .collect();
    assert_eq!(types, ["bridge", "portmap", "firewall", "tuning"]);
    assert_eq!(
        full.plugins[0].extra["ipam"]["routes"],
        serde_json::json!([{"dst": "0.0.0.0/0"}])
    );
}

#[test]
fn default_bridge_comes_from_the_flags() {
    let config = crate::NetConfig {
        bridge: "bt1".into(),
        bip: "10.201.3.1/24".into(),
        ..Default::default()
    };
    let n = default_bridge(&config, "d".repeat(64)).unwrap();
    assert_eq!(n.subnets[0].subnet.to_string(), "10.201.3.0/24");
    assert_eq!(n.subnets[0].gateway.to_string(), "10.201.3.1");
    assert!(!n.user_defined());
    let bad = crate::NetConfig {
        bip: "10.201.3.0/24".into(),
        ..Default::default()
    };
    assert!(default_bridge(&bad, "d".repeat(64)).is_err());
}
