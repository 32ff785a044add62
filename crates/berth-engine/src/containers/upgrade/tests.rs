use serde_json::json;

use super::*;
use crate::containers::{parse_record, Config};
use crate::model::{NetworkMode, Port, Protocol, RestartPolicy};

/// A config as engines before the model wrote it (`docker run -d --name web -p 8080:80
/// --restart on-failure:3 -v data:/data -l tier=front nginx`, once started).
fn format1() -> serde_json::Value {
    json!({
        "options": {
            "Image": "nginx", "Cmd": null, "Entrypoint": null, "Env": ["A=1"],
            "Labels": {"tier": "front"}, "Tty": false, "OpenStdin": false,
            "ExposedPorts": {"80/tcp": {}}, "Volumes": {},
            "HostConfig": {
                "NetworkMode": "bridge", "Binds": ["data:/data"],
                "PortBindings": {"80/tcp": [{"HostIp": "", "HostPort": "8080"}]},
                "RestartPolicy": {"Name": "on-failure", "MaximumRetryCount": 3},
                "LogConfig": {"Type": "json-file", "Config": {"max-size": "10m"}},
                "Runtime": "runc"
            },
            "NetworkingConfig": {"EndpointsConfig": {"bridge": {
                "NetworkID": "0123abcd", "DNSNames": null
            }}}
        },
        "image_name": "nginx",
        "path": "/docker-entrypoint.sh",
        "args": ["nginx", "-g", "daemon off;"],
        "hostname": "0123456789ab",
        "mounts": [{
            "Type": "volume", "Name": "data", "Source": "/var/lib/berth/volumes/data/_data",
            "Destination": "/data", "Driver": "local", "Mode": "z", "RW": true,
            "Propagation": ""
        }],
        "inherited_mounts": [],
        "links": [{"container": "f".repeat(64), "alias": "db"}]
    })
}

fn row(config: &serde_json::Value) -> metadata::Container {
    metadata::Container {
        id: berth_types::ContainerId::new(&"a".repeat(64)).unwrap(),
        name: "web".into(),
        image_id: berth_types::Digest::sha256_from_bytes(&[0; 32]),
        snapshot_key: "a".repeat(64),
        config: config.to_string(),
        format: 1,
        namespace: "moby".into(),
        state: serde_json::to_string(&crate::containers::State::default()).unwrap(),
        created: chrono::Utc::now(),
    }
}

#[test]
fn a_format_1_row_gets_the_model_and_keeps_the_body_and_what_create_resolved() {
    let old = format1();
    let upgraded = upgrade(&row(&old)).unwrap();
    let new: serde_json::Value = serde_json::from_str(&upgraded).unwrap();
    for field in [
        "image_name",
        "path",
        "args",
        "hostname",
        "mounts",
        "inherited_mounts",
        "links",
    ] {
        assert_eq!(new[field], old[field], "{field}");
    }
    assert_eq!(new["extension"]["kind"], "docker.create/v1");

    let mut stored = row(&old);
    stored.config = upgraded;
    stored.format = ContainerSpec::FORMAT;
    let c = parse_record(&stored, Default::default()).unwrap();
    // Inspect serializes this body: it reads as before the upgrade.
    let before: CreateOptions = serde_json::from_value(old["options"].clone()).unwrap();
    assert_eq!(*c.docker().unwrap(), before);
    let spec = &c.config.spec;
    assert_eq!(spec.format, ContainerSpec::FORMAT);
    assert_eq!(spec.image, "nginx");
    assert_eq!(spec.labels["tier"], "front");
    assert_eq!(spec.network.mode, NetworkMode::Bridge);
    assert_eq!(
        spec.network.exposed,
        [Port {
            number: 80,
            protocol: Protocol::Tcp
        }]
    );
    assert_eq!(
        spec.restart,
        RestartPolicy::OnFailure {
            max_retries: Some(3)
        }
    );
    assert!(spec.network.endpoints.contains_key("bridge"));
}

#[test]
fn a_row_the_conversion_refuses_names_its_container() {
    let mut old = format1();
    old["options"]["HostConfig"]["RestartPolicy"]["Name"] = json!("sometimes");
    let err = upgrade(&row(&old)).unwrap_err();
    assert!(err.to_string().contains("sometimes"), "{err}");

    let err = upgrade(&row(&json!({"image_name": "x"}))).unwrap_err();
    assert!(err.to_string().contains(&"a".repeat(64)), "{err}");
}

#[test]
fn the_store_upgrades_every_row_before_they_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let store = berth_store::Store::open(dir.path()).unwrap();
    let image = berth_store::metadata::Image {
        id: berth_types::Digest::sha256_from_bytes(&[0; 32]),
        manifest_digest: berth_types::Digest::sha256_from_bytes(&[1; 32]),
        index_digest: None,
        media_type: "application/vnd.oci.image.manifest.v1+json".into(),
        size: 1,
        config: "{}".into(),
        layers: Vec::new(),
        created: chrono::Utc::now(),
        parent: None,
    };
    store.metadata.create_image(&image).unwrap();
    store.metadata.create_container(&row(&format1())).unwrap();
    let n = store
        .metadata
        .upgrade_containers(ContainerSpec::FORMAT, upgrade)
        .unwrap();
    assert_eq!(n, 1);
    let stored = store.metadata.get_container(&"a".repeat(64)).unwrap();
    assert_eq!(stored.format, ContainerSpec::FORMAT);
    let config: Config = serde_json::from_str(&stored.config).unwrap();
    assert_eq!(config.spec.owner.namespace(), stored.namespace);
    // Opening again finds nothing to do.
    let n = store
        .metadata
        .upgrade_containers(ContainerSpec::FORMAT, upgrade)
        .unwrap();
    assert_eq!(n, 0);
}
