use std::collections::BTreeMap;

use serde_json::json;

use super::*;

fn args() -> CapabilityArgs {
    CapabilityArgs {
        port_mappings: vec![PortMapping {
            host_port: 8080,
            container_port: 80,
            protocol: Protocol::Tcp,
            host_ip: Some("127.0.0.1".parse().unwrap()),
        }],
        mac: Some("02:42:ac:11:00:02".into()),
        extra: [("aliases".to_string(), json!({"net": ["web"]}))]
            .into_iter()
            .collect(),
        ..Default::default()
    }
}

#[test]
fn serializes_with_the_conventions_names() {
    let value = serde_json::to_value(args()).unwrap();
    assert_eq!(
        value["portMappings"][0],
        json!({"hostPort": 8080, "containerPort": 80, "protocol": "tcp", "hostIP": "127.0.0.1"})
    );
    assert_eq!(value["aliases"]["net"][0], "web");
    assert!(value.get("ipRanges").is_none());
}

#[test]
fn injects_only_declared_and_enabled_capabilities() {
    let declared: BTreeMap<String, bool> = [
        ("portMappings".to_string(), true),
        ("mac".to_string(), false),
        ("bandwidth".to_string(), true),
        ("aliases".to_string(), true),
    ]
    .into_iter()
    .collect();
    let rc = args().runtime_config(&declared);
    assert_eq!(rc.len(), 2, "{rc:?}");
    assert!(rc.contains_key("portMappings"));
    assert!(rc.contains_key("aliases"));
    // Declared but without a value: absent, not null.
    assert!(!rc.contains_key("bandwidth"));
    assert!(args().runtime_config(&BTreeMap::new()).is_empty());
}

#[test]
fn reads_ip_ranges() {
    let parsed: CapabilityArgs = serde_json::from_value(json!({
        "ipRanges": [[{"subnet": "10.9.0.0/16", "rangeStart": "10.9.1.1", "gateway": "10.9.0.1"}]],
        "bandwidth": {"ingressRate": 1000, "ingressBurst": 2000}
    }))
    .unwrap();
    assert_eq!(parsed.ip_ranges[0][0].subnet.to_string(), "10.9.0.0/16");
    assert_eq!(parsed.ip_ranges[0][0].range_end, None);
    assert_eq!(parsed.bandwidth.unwrap().ingress_rate, Some(1000));
}
