#![allow(clippy::unwrap_used)]

use super::*;

#[test]
fn create_body_reads_docker_cli_json() {
    let body = Bytes::from_static(
        br#"{"Name":"n1","CheckDuplicate":true,"Driver":"bridge","Scope":"","EnableIPv6":null,
            "IPAM":{"Driver":"default","Options":{},"Config":[{"Subnet":"10.9.0.0/24","IPRange":"10.9.0.128/25","Gateway":"10.9.0.1"}]},
            "Internal":true,"Attachable":false,"Ingress":false,"ConfigOnly":false,"ConfigFrom":null,
            "Options":{},"Labels":{"a":"b"}}"#,
    );
    let b: CreateBody = parse_body(&body, "network config").unwrap();
    assert_eq!(b.name, "n1");
    assert!(b.internal);
    assert_eq!(b.enable_ipv6, None);
    assert_eq!(b.ipam.config[0].ip_range, "10.9.0.128/25");
    assert_eq!(b.labels["a"], "b");
}

#[test]
fn connect_body_reads_endpoint_config() {
    let body = Bytes::from_static(
        br#"{"Container":"c1","EndpointConfig":{"IPAMConfig":{"IPv4Address":"10.9.0.9"},"Aliases":["x"]}}"#,
    );
    let b: ConnectBody = parse_body(&body, "connect").unwrap();
    assert_eq!(b.container, "c1");
    assert_eq!(b.endpoint_config.ipam_config.ipv4_address, "10.9.0.9");
    assert_eq!(b.endpoint_config.aliases, ["x"]);
}

/// compose 1.29 finds a container's short id among its aliases, as dockerd (API < 1.45) shows.
#[test]
fn inspect_aliases_add_short_id_and_hostname_on_user_networks() {
    let id = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    let ep = |name: &str, aliases: &[&str]| Endpoint {
        network_name: name.into(),
        aliases: aliases.iter().map(|a| a.to_string()).collect(),
        ..Default::default()
    };
    assert_eq!(
        inspect_aliases(id, "web", &ep("p_backend", &["web"])),
        json!(["web", "0123456789ab"])
    );
    assert_eq!(
        inspect_aliases(id, "0123456789ab", &ep("p_backend", &[])),
        json!(["0123456789ab"])
    );
    assert_eq!(
        inspect_aliases(id, "0123456789ab", &ep("bridge", &[])),
        Value::Null
    );
}
