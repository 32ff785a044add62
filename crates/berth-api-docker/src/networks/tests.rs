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

#[test]
fn create_body_takes_null_pool_fields_and_auxiliary_addresses() {
    // What the Python SDK's IPAMPool sends without a range or gateway.
    let body = Bytes::from_static(
        br#"{"Name":"n","IPAM":{"Driver":"default","Config":[{"Subnet":"10.9.0.0/24",
            "IPRange":null,"Gateway":null,"AuxiliaryAddresses":{"router":"10.9.0.2"}}],
            "Options":null},"Options":null,"Labels":null,"EnableIPv6":null}"#,
    );
    let b: CreateBody = parse_body(&body, "network config").unwrap();
    let pool = &b.ipam.config[0];
    assert_eq!((pool.ip_range.as_str(), pool.gateway.as_str()), ("", ""));
    assert_eq!(pool.auxiliary_addresses["router"], "10.9.0.2");
}

fn options(mode: &str, mac: &str, endpoints: &[(&str, &str)]) -> CreateOptions {
    let mut o = CreateOptions {
        mac_address: mac.into(),
        ..Default::default()
    };
    o.host_config.network_mode = mode.into();
    for (name, mac) in endpoints {
        o.networking_config.endpoints_config.insert(
            name.to_string(),
            EndpointSettings {
                mac_address: mac.to_string(),
                ..Default::default()
            },
        );
    }
    o
}

fn macs(o: &CreateOptions) -> Vec<(&str, &str)> {
    o.networking_config
        .endpoints_config
        .iter()
        .map(|(k, v)| (k.as_str(), v.mac_address.as_str()))
        .collect()
}

#[test]
fn the_container_wide_mac_address_moves_into_the_endpoint() {
    const MAC: &str = "02:42:ac:11:00:42";
    let v144 = Some(RequestedVersion(1, 44));
    // API 1.44: into the NetworkMode network's endpoint, with the warning.
    let mut o = options("default", MAC, &[]);
    assert_eq!(
        migrate_mac_address(&mut o, v144).unwrap(),
        Some(MAC_WARNING)
    );
    assert_eq!(macs(&o), [("bridge", MAC)]);
    assert_eq!(o.mac_address, "");
    let mut o = options("default", MAC, &[("default", "")]);
    migrate_mac_address(&mut o, v144).unwrap();
    assert_eq!(macs(&o), [("bridge", MAC)]);
    let mut o = options("front", MAC, &[("front", MAC), ("back", "")]);
    migrate_mac_address(&mut o, None).unwrap();
    assert_eq!(macs(&o), [("back", ""), ("front", MAC)]);
    for (mut o, message) in [
        (
            options("front", MAC, &[("front", "02:42:ac:11:00:43")]),
            "must match the endpoint-specific MAC address",
        ),
        (
            options("front", MAC, &[("back", "")]),
            "HostConfig.NetworkMode must match",
        ),
    ] {
        let Err(ApiError::BadRequest(e)) = migrate_mac_address(&mut o, v144) else {
            panic!("accepted: {message}");
        };
        assert!(e.contains(message), "{e}");
    }
    // Without one, nothing changes and nothing is said.
    let mut o = options("front", "", &[("front", MAC)]);
    assert_eq!(migrate_mac_address(&mut o, v144).unwrap(), None);
    assert_eq!(macs(&o), [("front", MAC)]);
    // Before 1.44 endpoints had no MAC: dropped, or the container-wide one put there.
    let v143 = Some(RequestedVersion(1, 43));
    migrate_mac_address(&mut o, v143).unwrap();
    assert_eq!(macs(&o), [("front", "")]);
    let mut o = options("front", MAC, &[]);
    assert_eq!(migrate_mac_address(&mut o, v143).unwrap(), None);
    assert_eq!(macs(&o), [("front", MAC)]);
    let mut o = options("host", MAC, &[]);
    assert!(migrate_mac_address(&mut o, v143).is_err());
}

fn container(endpoints: &[(&str, EndpointSettings)]) -> Container {
    let mut options = CreateOptions::default();
    options.networking_config.endpoints_config = endpoints
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    Container {
        id: "c".repeat(64),
        name: "web".into(),
        image_id: berth_types::Digest::sha256_from_bytes(&[0; 32]),
        created: chrono::Utc::now(),
        config: berth_engine::containers::Config {
            spec: berth_engine::model::ContainerSpec::from_docker(&options, "web").unwrap(),
            extension: Some(berth_engine::containers::Extension::DockerCreate(Box::new(
                options,
            ))),
            image_name: "busybox".into(),
            path: "sh".into(),
            args: Vec::new(),
            hostname: "cccccccccccc".into(),
            mounts: Vec::new(),
            inherited_mounts: Vec::new(),
            links: Vec::new(),
            image_mounts: Vec::new(),
        },
        state: Default::default(),
        log_path: Default::default(),
    }
}

#[test]
fn endpoints_show_every_key_as_dockerd() {
    let settings = EndpointSettings {
        aliases: vec!["w".into()],
        mac_address: "02:42:ac:11:00:99".into(),
        ..Default::default()
    };
    let mut c = container(&[("bridge", Default::default()), ("front", settings)]);
    let v = networks_json(&c);
    assert_eq!(
        v["bridge"],
        json!({
            "IPAMConfig": null, "Links": null, "Aliases": null, "MacAddress": "",
            "NetworkID": "", "EndpointID": "", "Gateway": "", "IPAddress": "",
            "IPPrefixLen": 0, "IPv6Gateway": "", "GlobalIPv6Address": "",
            "GlobalIPv6PrefixLen": 0, "DriverOpts": null, "DNSNames": null,
        })
    );
    // A user network's aliases get the short id and the hostname (API 1.44 and older).
    assert_eq!(v["front"]["Aliases"], json!(["w", "cccccccccccc"]));
    assert_eq!(v["front"]["MacAddress"], "02:42:ac:11:00:99");
    // Running: the attachment's addresses.
    c.state.networks = vec![berth_engine::networks::Endpoint {
        network_id: "n1".into(),
        network_name: "front".into(),
        endpoint_id: "e1".into(),
        mac: "02:42:ac:11:00:99".into(),
        ipv4: Some("10.9.0.5/24".parse().unwrap()),
        gateway4: Some("10.9.0.1".parse().unwrap()),
        dns_names: vec!["web".into(), "w".into()],
        ..Default::default()
    }];
    let v = networks_json(&c);
    assert_eq!(v["front"]["IPAddress"], "10.9.0.5");
    assert_eq!(v["front"]["IPPrefixLen"], 24);
    assert_eq!(v["front"]["NetworkID"], "n1");
    assert_eq!(v["front"]["DNSNames"], json!(["web", "w"]));
    // Exited after a start recorded the network: the MAC goes with the addresses.
    c.state.networks.clear();
    let Some(berth_engine::containers::Extension::DockerCreate(body)) = &mut c.config.extension
    else {
        panic!("no Docker body");
    };
    if let Some(s) = body.networking_config.endpoints_config.get_mut("front") {
        s.network_id = "n1".into();
    }
    let v = networks_json(&c);
    assert_eq!(v["front"]["MacAddress"], "");
    assert_eq!(v["front"]["NetworkID"], "n1");
}

#[test]
fn interface_counters_are_keyed_by_name() {
    let eth0 = InterfaceStats {
        name: "eth0".into(),
        rx_bytes: 1,
        tx_dropped: 8,
        ..Default::default()
    };
    let v = stats_json(&[eth0]);
    assert_eq!(v["eth0"]["rx_bytes"], 1);
    assert_eq!(v["eth0"]["tx_dropped"], 8);
    assert_eq!(v["eth0"]["rx_errors"], 0);
}
