use serde_json::json;

use super::*;

fn v(s: &str) -> Version {
    s.parse().unwrap()
}

/// What the bridge plugin prints for cniVersion 0.4.0.
fn bridge_040() -> Value {
    json!({
        "cniVersion": "0.4.0",
        "interfaces": [
            {"name": "cni0", "mac": "aa:bb:cc:dd:ee:01"},
            {"name": "veth1", "mac": "aa:bb:cc:dd:ee:02"},
            {"name": "eth0", "mac": "aa:bb:cc:dd:ee:03", "sandbox": "/run/netns/x"}
        ],
        "ips": [
            {"version": "4", "address": "10.1.0.5/24", "gateway": "10.1.0.1", "interface": 2},
            {"version": "6", "address": "fd00::5/64", "interface": 2}
        ],
        "routes": [{"dst": "0.0.0.0/0"}],
        "dns": {"nameservers": ["10.1.0.1"]}
    })
}

#[test]
fn ipnet_round_trips_and_refuses_bad_prefixes() {
    let net: IpNet = "10.1.0.5/24".parse().unwrap();
    assert_eq!(net.addr, "10.1.0.5".parse::<IpAddr>().unwrap());
    assert_eq!(net.prefix_len, 24);
    assert_eq!(net.to_string(), "10.1.0.5/24");
    assert_eq!("fd00::1/128".parse::<IpNet>().unwrap().prefix_len, 128);
    for bad in [
        "10.1.0.5",
        "10.1.0.5/33",
        "fd00::1/129",
        "x/24",
        "10.1.0.5/-1",
    ] {
        assert!(bad.parse::<IpNet>().is_err(), "{bad}");
    }
}

#[test]
fn upconverts_040_to_1x_model() {
    let result = CniResult::from_value(bridge_040(), Version::V1_0_0).unwrap();
    assert_eq!(result.cni_version, Version::V0_4_0);
    assert_eq!(result.interfaces.len(), 3);
    assert_eq!(
        result.interfaces[2].sandbox.as_deref(),
        Some("/run/netns/x")
    );
    assert_eq!(result.ips[0].address.to_string(), "10.1.0.5/24");
    assert_eq!(result.ips[0].interface, Some(2));
    assert_eq!(result.ips[1].gateway, None);

    let value = result.to_value(Version::V1_0_0).unwrap();
    assert_eq!(value["cniVersion"], "1.0.0");
    assert!(value["ips"][0].get("version").is_none());
    assert_eq!(value["dns"]["nameservers"][0], "10.1.0.1");
}

#[test]
fn downconversion_to_0x_adds_ip_versions() {
    let result = CniResult::from_value(bridge_040(), Version::V1_0_0).unwrap();
    let value = result.to_value(v("0.3.1")).unwrap();
    assert_eq!(value["cniVersion"], "0.3.1");
    assert_eq!(value["ips"][0]["version"], "4");
    assert_eq!(value["ips"][1]["version"], "6");
    assert!(matches!(
        result.to_value(v("0.2.0")),
        Err(ResultError::UnsupportedVersion(_))
    ));
}

#[test]
fn upconverts_legacy_ip4_ip6() {
    let legacy = json!({
        "cniVersion": "0.2.0",
        "ip4": {"ip": "10.2.0.7/16", "gateway": "10.2.0.1", "routes": [{"dst": "0.0.0.0/0"}]},
        "ip6": {"ip": "fd01::7/64"},
        "dns": {"search": ["example"]}
    });
    let result = CniResult::from_value(legacy, Version::V1_0_0).unwrap();
    assert_eq!(result.ips.len(), 2);
    assert_eq!(result.ips[0].gateway, Some("10.2.0.1".parse().unwrap()));
    assert_eq!(result.routes.len(), 1);
    assert_eq!(result.dns.search, ["example"]);
}

#[test]
fn convert_keeps_same_version_results_verbatim() {
    let mut raw = bridge_040();
    raw["custom"] = json!({"kept": true});
    assert_eq!(convert(raw.clone(), Version::V0_4_0).unwrap(), raw);

    let up = convert(raw, Version::V1_0_0).unwrap();
    assert_eq!(up["cniVersion"], "1.0.0");
    assert!(up.get("custom").is_none());
}

#[test]
fn missing_version_is_the_requested_one() {
    let value = json!({"ips": [{"address": "10.3.0.2/24"}]});
    let converted = convert(value, Version::V1_0_0).unwrap();
    assert_eq!(converted["cniVersion"], "1.0.0");
    let empty = json!({"cniVersion": "", "ips": []});
    assert_eq!(
        CniResult::from_value(empty, Version::V1_1_0)
            .unwrap()
            .cni_version,
        Version::V1_1_0
    );
}

#[test]
fn malformed_results_are_errors() {
    assert!(CniResult::from_value(json!([1]), Version::V1_0_0).is_err());
    assert!(CniResult::from_value(json!({"cniVersion": 1}), Version::V1_0_0).is_err());
    let bad_ip = json!({"cniVersion": "1.0.0", "ips": [{"address": "10.0.0.1"}]});
    assert!(CniResult::from_value(bad_ip, Version::V1_0_0).is_err());
}
