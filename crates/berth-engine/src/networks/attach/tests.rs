#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use super::*;
use crate::containers::docker_container as container;
use crate::model::ContainerSpec;
use crate::spec::EndpointIpam;

fn network(name: &str, driver: &str) -> Network {
    Network {
        id: format!("{name:0<64}"),
        name: name.into(),
        driver: driver.into(),
        created: chrono::Utc::now(),
        bridge: String::new(),
        internal: false,
        attachable: false,
        enable_ipv6: false,
        subnets: Vec::new(),
        options: BTreeMap::new(),
        labels: BTreeMap::new(),
        mtu: None,
        ip_masq: false,
    }
}

/// A store with `bridge`, `host`, `none` and the user networks `front` and `back`.
fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    for (name, driver) in [
        ("bridge", "bridge"),
        ("host", "host"),
        ("none", "null"),
        ("front", "bridge"),
        ("back", "bridge"),
    ] {
        let record = super::super::to_record(&network(name, driver)).unwrap();
        store.metadata.create_network(&record).unwrap();
    }
    (dir, store)
}

fn opts(mode: &str, endpoints: &[(&str, EndpointSettings)]) -> CreateOptions {
    let mut o = CreateOptions::default();
    o.host_config.network_mode = mode.into();
    o.networking_config.endpoints_config = endpoints
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    o
}

fn aliased(aliases: &[&str]) -> EndpointSettings {
    EndpointSettings {
        aliases: aliases.iter().map(|a| a.to_string()).collect(),
        ..Default::default()
    }
}

fn keys(o: &CreateOptions) -> Vec<&str> {
    o.networking_config
        .endpoints_config
        .keys()
        .map(String::as_str)
        .collect()
}

/// The model's networking of a request, as create converts it.
fn net(o: &CreateOptions) -> Networking {
    ContainerSpec::from_docker(o, "web").unwrap().network
}

#[test]
fn create_records_the_endpoints_as_dockerd() {
    let (_dir, store) = store();
    // No EndpointsConfig: the mode's network, with empty settings.
    let mut o = opts("bridge", &[]);
    configure(&store, &net(&o), &mut o);
    assert_eq!(keys(&o), ["bridge"]);
    assert_eq!(
        o.networking_config.endpoints_config["bridge"],
        Default::default()
    );
    // The docker CLI's `default`, mode and key.
    let mut o = opts("default", &[("default", aliased(&["d"]))]);
    configure(&store, &net(&o), &mut o);
    assert_eq!(o.host_config.network_mode, "bridge");
    assert_eq!(keys(&o), ["bridge"]);
    assert_eq!(
        o.networking_config.endpoints_config["bridge"].aliases,
        ["d"]
    );
    for mode in ["host", "none"] {
        let mut o = opts(mode, &[]);
        configure(&store, &net(&o), &mut o);
        assert_eq!(keys(&o), [mode]);
    }
    // As given, keyed as given; a user network given as the mode by id is keyed by name.
    let front_id = network("front", "bridge").id;
    let mut o = opts(
        &front_id,
        &[(&front_id, aliased(&["a"])), ("back", aliased(&[]))],
    );
    configure(&store, &net(&o), &mut o);
    assert_eq!(keys(&o), ["back", "front"]);
    assert_eq!(o.networking_config.endpoints_config["front"].aliases, ["a"]);
    // Nothing for `container:` modes and a disabled network.
    let mut o = opts("container:other", &[]);
    configure(&store, &net(&o), &mut o);
    assert!(keys(&o).is_empty());
    let mut o = opts("bridge", &[]);
    o.network_disabled = true;
    configure(&store, &net(&o), &mut o);
    assert!(keys(&o).is_empty());
}

#[test]
fn start_attaches_the_configured_networks_mode_first() {
    let (_dir, store) = store();
    let names = |o: &CreateOptions| -> Vec<(String, String)> {
        let NetPlan::Cni(nets) =
            plan(&store, &net(o), &o.networking_config.endpoints_config).unwrap()
        else {
            panic!("not CNI");
        };
        nets.into_iter().map(|a| (a.key, a.net.name)).collect()
    };
    let o = opts("front", &[("back", aliased(&[])), ("front", aliased(&[]))]);
    assert_eq!(
        names(&o),
        [
            ("front".into(), "front".into()),
            ("back".into(), "back".into())
        ]
    );
    // Disconnected from its mode's network while stopped: only the others.
    let o = opts("front", &[("back", aliased(&[]))]);
    assert_eq!(names(&o), [("back".into(), "back".into())]);
    // Disconnected from all: the mode's network comes back.
    let o = opts("front", &[]);
    assert_eq!(names(&o), [("front".into(), "front".into())]);
    // A key that no longer names a network is found by the id a start recorded.
    let mut kept = aliased(&[]);
    kept.network_id = network("back", "bridge").id;
    let o = opts("front", &[("front", aliased(&[])), ("old-name", kept)]);
    assert_eq!(names(&o)[1], ("old-name".into(), "back".into()));
    assert!(matches!(
        plan(&store, &net(&opts("host", &[])), &Default::default()),
        Ok(NetPlan::Host)
    ));
    assert!(matches!(
        plan(&store, &net(&opts("none", &[])), &Default::default()),
        Ok(NetPlan::Isolated)
    ));
}

#[test]
fn entries_keep_the_configuration_and_show_the_attachment_while_running() {
    let settings = EndpointSettings {
        ipam_config: EndpointIpam {
            ipv4_address: "10.1.0.9".into(),
            ..Default::default()
        },
        aliases: vec!["w".into()],
        mac_address: "02:42:ac:11:00:99".into(),
        driver_opts: [("k".to_string(), "v".to_string())].into(),
        ..Default::default()
    };
    let mut c = container(opts("front", &[("front", settings.clone())]));
    // Created: the configuration alone.
    let entries = network_entries(&c);
    assert_eq!(
        entries,
        [NetworkEntry {
            name: "front".into(),
            settings: settings.clone(),
            endpoint: None,
        }]
    );
    // Running: matched with its attachment; one without a configuration (an older daemon's)
    // is listed under its network's name.
    let front = Endpoint {
        network_id: network("front", "bridge").id,
        network_name: "front".into(),
        endpoint_id: "e1".into(),
        ..Default::default()
    };
    let old = Endpoint {
        network_id: network("back", "bridge").id,
        network_name: "back".into(),
        aliases: vec!["b".into()],
        ..Default::default()
    };
    c.state.networks = vec![old.clone(), front.clone()];
    let entries = network_entries(&c);
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0].endpoint.as_ref(), Some(&front));
    assert_eq!(entries[0].settings, settings);
    assert_eq!(entries[1].name, "back");
    assert_eq!(entries[1].settings.aliases, ["b"]);
    assert_eq!(entries[1].settings.network_id, old.network_id);
    // Exited: the configuration again, with what the start recorded.
    c.state.networks.clear();
    let entries = network_entries(&c);
    assert_eq!(entries.len(), 1);
    assert!(entries[0].endpoint.is_none());
}

#[test]
fn dns_names_are_dockerds() {
    let mut c = container(CreateOptions::default());
    let aliases = ["web".to_string(), "api".to_string()];
    assert_eq!(dns_names(&c, &aliases), ["web", "api", "cccccccccccc"]);
    c.config.hostname = "box".into();
    assert_eq!(dns_names(&c, &[]), ["web", "cccccccccccc", "box"]);
}
