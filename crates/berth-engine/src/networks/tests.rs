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
    let e = define_one(&req(" \t", ""), &[]).unwrap_err();
    assert!(matches!(e, NetworkError::InvalidName(_)), "{e}");
    assert_eq!(e.to_string(), "invalid name:  \t");
    // --ipv6 with only an IPv4 --subnet, and no IPv6 pool to take one from.
    let mut v6 = req("v6", "10.5.0.0/24");
    v6.enable_ipv6 = true;
    let e = define_one(&v6, &[]).unwrap_err();
    assert!(matches!(e, NetworkError::Ipv6NeedsSubnet(_)), "{e}");
    assert!(e.to_string().contains("network v6"), "{e}");
    for bad in ["fd00::/129", "fd00::1/64", "fd00:::/64"] {
        let e = define_one(&req("bad6", bad), &[]).unwrap_err();
        assert!(matches!(e, NetworkError::BadAddress { .. }), "{bad}: {e}");
    }
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
    assert_eq!(types, ["bridge"]);
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
fn endpoints_of_older_daemons_are_deleted_with_firewall() {
    let old: Plugins = serde_json::from_str(r#"{"portmap": true, "tuning": false}"#).unwrap();
    assert!(old.firewall && old.portmap && !old.tuning);
    let new = Plugins {
        firewall: false,
        ..Plugins::default()
    };
    let again: Plugins = serde_json::from_str(&serde_json::to_string(&new).unwrap()).unwrap();
    assert_eq!(again, new);
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

fn dual_pools() -> Vec<(IpNet, u8)> {
    let mut pools = pool();
    pools.push(("fd42:1:2::/62".parse().unwrap(), 64));
    pools
}

#[test]
fn ipv6_alone_takes_a_64_from_the_ipv6_pool() {
    let mut r = req("six", "");
    r.enable_ipv6 = true;
    let routes = ["fd42:1:2::/64".parse().unwrap()];
    let n = define(&r, "a".repeat(64), &[], &dual_pools(), true, &routes).unwrap();
    assert!(n.enable_ipv6);
    let subnets: Vec<String> = n.subnets.iter().map(|s| s.subnet.to_string()).collect();
    // IPv4 first; the host's route skipped.
    assert_eq!(subnets, ["10.90.0.0/24", "fd42:1:2:1::/64"]);
    assert_eq!(n.subnets[1].gateway.to_string(), "fd42:1:2:1::1");
    // A given IPv6 subnet is kept, and the next network's allocation skips it.
    let mut given = req("given", "fd42:1:2:2::/64");
    given.enable_ipv6 = true;
    let g = define(
        &given,
        "b".repeat(64),
        std::slice::from_ref(&n),
        &dual_pools(),
        true,
        &[],
    )
    .unwrap();
    assert_eq!(g.subnets[1].subnet.to_string(), "fd42:1:2:2::/64");
    assert_eq!(g.subnets[0].subnet.to_string(), "10.90.1.0/24");
    let e = define(
        &given,
        "c".repeat(64),
        std::slice::from_ref(&g),
        &dual_pools(),
        true,
        &[],
    )
    .unwrap_err();
    assert!(matches!(e, NetworkError::Overlap { .. }), "{e}");
    let third = define(&r, "d".repeat(64), &[n, g], &dual_pools(), true, &routes).unwrap();
    assert_eq!(third.subnets[1].subnet.to_string(), "fd42:1:2:3::/64");
    // Without --ipv6 nothing of the IPv6 pool is taken.
    let four = define_one(&req("four", ""), &[]).unwrap();
    assert!(!four.enable_ipv6 && four.subnets.len() == 1);
}

#[test]
fn the_ipv6_fallback_pool_is_a_ula_48_of_the_host() {
    let (a, size) = subnet::default_ula_pool("3d1219c7c4c5404aaa1f6d2a48adfda4\n");
    assert_eq!((a.prefix_len(), size), (48, 64));
    assert!(a.network().to_string().starts_with("fd"), "{a}");
    assert_eq!(
        subnet::default_ula_pool("3d1219c7c4c5404aaa1f6d2a48adfda4").0,
        a
    );
    assert_ne!(subnet::default_ula_pool("another host").0, a);
    let config = crate::NetConfig::default();
    let all = pools(&config).unwrap();
    assert!(all.iter().any(|(b, s)| b.addr().is_ipv6() && *s == 64));
    // A configured IPv6 pool replaces the fallback.
    let config = crate::NetConfig {
        address_pools: vec![("10.1.0.0/16".into(), 24), ("fd99::/56".into(), 64)],
        ..Default::default()
    };
    let v6: Vec<String> = pools(&config)
        .unwrap()
        .iter()
        .filter(|(b, _)| b.addr().is_ipv6())
        .map(|(b, _)| b.to_string())
        .collect();
    assert_eq!(v6, ["fd99::/56"]);
}

#[test]
fn ipv6_routes_of_the_host_parse() {
    let text = "fd000000000000000000000000000000 40 00000000000000000000000000000000 00 \
                00000000000000000000000000000000 00000100 00000001 00000000 00000001     eth0
00000000000000000000000000000000 00 00000000000000000000000000000000 00 \
fd000000000000000000000000000001 00000400 00000003 00000000 00000003     eth0
00000000000000000000000000000001 80 00000000000000000000000000000000 00 \
00000000000000000000000000000000 00000000 00000002 00000000 80200001       lo
ff000000000000000000000000000000 08 00000000000000000000000000000000 00 \
00000000000000000000000000000000 00000100 00000001 00000000 00000001     eth0
";
    let routes = subnet::parse_routes_v6(text);
    assert_eq!(routes, vec!["fd00::/64".parse::<IpNet>().unwrap()]);
}

#[test]
fn dual_stack_conflist_has_two_ranges_and_routes() {
    let mut r = req("dual", "10.9.0.0/24");
    r.ipam.push(IpamRequest {
        subnet: "fd42:9::/64".into(),
        ..Default::default()
    });
    r.enable_ipv6 = true;
    let n = define_one(&r, &[]).unwrap();
    let list = cni::conflist(&n, "/x".as_ref(), Plugins::ALL).unwrap();
    let ipam = &list.plugins[0].extra["ipam"];
    assert_eq!(
        ipam["ranges"],
        serde_json::json!([
            [{"subnet": "10.9.0.0/24", "gateway": "10.9.0.1"}],
            [{"subnet": "fd42:9::/64", "gateway": "fd42:9::1"}],
        ])
    );
    assert_eq!(
        ipam["routes"],
        serde_json::json!([{"dst": "0.0.0.0/0"}, {"dst": "::/0"}])
    );
    // portmap leaves `::1` to berthd's proxy.
    assert_eq!(
        list.plugins[1].extra["conditionsV6"],
        serde_json::json!(["!", "-d", "::1"])
    );
}

#[test]
fn the_default_bridge_gets_ipv6_when_configured() {
    let mut config = crate::NetConfig {
        bip: "10.201.3.1/24".into(),
        ipv6: true,
        fixed_cidr_v6: Some("fd42:77::/64".into()),
        ..Default::default()
    };
    let n = default_bridge(&config, "d".repeat(64)).unwrap();
    assert!(n.enable_ipv6);
    assert_eq!(n.subnets[1].gateway.to_string(), "fd42:77::1");
    config.fixed_cidr_v6 = None;
    assert!(default_bridge(&config, "d".repeat(64)).is_err());
    config.fixed_cidr_v6 = Some("10.1.0.0/16".into());
    assert!(default_bridge(&config, "d".repeat(64)).is_err());
}

#[test]
fn names_are_labels_only() {
    // dockerd refuses blank names alone; the bridge and the CNI network never use the name.
    for name in ["-x", "with space", "ünïcode/and:more"] {
        let n = define_one(&req(name, ""), &[]).unwrap();
        assert_eq!(n.name, name);
        assert_eq!(n.bridge, "br-aaaaaaaaaaaa");
        let list = cni::conflist(&n, "/x".as_ref(), Plugins::default()).unwrap();
        assert_eq!(list.name, "a".repeat(64));
    }
}

#[test]
fn auxiliary_addresses_are_checked_and_never_handed_out() {
    let mut r = req("aux", "10.5.0.0/24");
    r.ipam[0].aux_addresses = [("router", "10.5.0.2"), ("printer", "10.5.0.200")]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let n = define_one(&r, &[]).unwrap();
    assert_eq!(n.subnets[0].aux_addresses["router"].to_string(), "10.5.0.2");
    let list = cni::conflist(&n, "/x".as_ref(), Plugins::default()).unwrap();
    let set = &list.plugins[0].extra["ipam"]["ranges"][0];
    let spans: Vec<(&str, &str)> = set
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            assert_eq!(r["subnet"], "10.5.0.0/24");
            assert_eq!(r["gateway"], "10.5.0.1");
            (
                r["rangeStart"].as_str().unwrap(),
                r["rangeEnd"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        spans,
        [
            ("10.5.0.1", "10.5.0.1"),
            ("10.5.0.3", "10.5.0.199"),
            ("10.5.0.201", "10.5.0.254")
        ]
    );
    for (value, reason) in [
        (
            "10.6.0.1",
            "parent subnet 10.5.0.0/24 doesn't contain this address",
        ),
        ("fd00::1", "parent subnet is an IPv4 block"),
        ("x", "invalid address"),
    ] {
        r.ipam[0].aux_addresses = [("k".to_string(), value.to_string())].into();
        let e = define_one(&r, &[]).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("invalid network config:\ninvalid auxiliary address k: {reason}")
        );
        assert_eq!(e.kind(), berth_types::ErrorKind::InvalidArgument);
    }
}

#[test]
fn allocation_ranges_skip_holes_within_the_span() {
    let net: IpNet = "10.7.0.0/24".parse().unwrap();
    let ip = |s: &str| s.parse::<IpAddr>().unwrap();
    let text = |v: Vec<(IpAddr, IpAddr)>| -> Vec<String> {
        v.into_iter().map(|(a, b)| format!("{a}-{b}")).collect()
    };
    assert_eq!(
        text(subnet::ranges_without(&net, None, &[])),
        ["10.7.0.1-10.7.0.254"]
    );
    // Holes at the ends, twice, and outside the span change nothing but what they cover.
    let range: IpNet = "10.7.0.16/28".parse().unwrap();
    assert_eq!(
        text(subnet::ranges_without(
            &net,
            Some(&range),
            &[
                ip("10.7.0.31"),
                ip("10.7.0.16"),
                ip("10.7.0.20"),
                ip("10.7.0.20"),
                ip("10.7.0.99")
            ]
        )),
        ["10.7.0.17-10.7.0.19", "10.7.0.21-10.7.0.30"]
    );
    let v6: IpNet = "fd00:1::/120".parse().unwrap();
    assert_eq!(
        text(subnet::ranges_without(&v6, None, &[ip("fd00:1::2")])),
        ["fd00:1::1-fd00:1::1", "fd00:1::3-fd00:1::ff"]
    );
}

#[test]
fn interface_counters_parse() {
    let text = "Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:     140       2    0    0    0     0          0         0      140       2    0    0    0     0       0          0
  eth0: 1234567    8901    3    4    0     0          0         1   98765     432    5    6    0     0       0          0
  bad: x
";
    let all = stats::parse_net_dev(text);
    assert_eq!(all.len(), 2);
    assert_eq!(
        all[1],
        InterfaceStats {
            name: "eth0".into(),
            rx_bytes: 1234567,
            rx_packets: 8901,
            rx_errors: 3,
            rx_dropped: 4,
            tx_bytes: 98765,
            tx_packets: 432,
            tx_errors: 5,
            tx_dropped: 6,
        }
    );
}
