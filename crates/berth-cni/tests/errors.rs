//! Error reports against the real plugins: what an operator reads must name the file, the
//! plugin, the network and the container.
#![allow(clippy::unwrap_used)]

mod common;

use berth_cni::{ConfigError, Error, ErrorCode, NetworkConfigList, Origin};
use berth_types::ErrorKind;
use common::{can_run, unique, Netns, TestNet, PLUGIN_DIR};

#[test]
fn missing_plugin_binary() {
    if !can_run() {
        return;
    }
    let mut net = TestNet::new(21);
    net.list.plugins[2].plugin_type = "firewall-nope".into();
    let ns = Netns::new();
    let id = unique("ctr");
    let err = net
        .cni
        .add(
            &net.list,
            &berth_cni::RuntimeConf::new(&id, ns.path(), "eth0"),
        )
        .unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains(&format!(
            "plugin binary \"firewall-nope\" not found in [{PLUGIN_DIR}]"
        )),
        "{message}"
    );
    assert!(message.contains(&format!("container {id}")), "{message}");
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    // The failed ADD was undone: nothing cached, the address released.
    assert!(net.cni.cached_attachments().unwrap().is_empty());
    let ipam = net.data_dir.join(&net.list.name);
    let reserved = std::fs::read_dir(&ipam)
        .map(|d| {
            d.filter(|e| {
                e.as_ref()
                    .is_ok_and(|e| e.file_name().to_string_lossy().starts_with("10."))
            })
            .count()
        })
        .unwrap_or(0);
    assert_eq!(reserved, 0);
}

#[test]
fn malformed_conflist_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("10-broken.conflist");
    std::fs::write(
        &path,
        r#"{"cniVersion": "1.0.0", "name": "x", "plugins": [{"type": "bridge",}]}"#,
    )
    .unwrap();
    let err = NetworkConfigList::load(&path).unwrap_err();
    assert!(matches!(err, ConfigError::Malformed { .. }));
    assert!(err
        .to_string()
        .starts_with(&format!("{}: ", path.display())));
    let err = berth_cni::load_dir(dir.path()).unwrap_err();
    assert!(err.to_string().contains("10-broken.conflist"), "{err}");
}

#[test]
fn plugin_error_object_reaches_the_caller() {
    if !can_run() {
        return;
    }
    let net = TestNet::new(22);
    let list = serde_json::json!({
        "cniVersion": "1.0.0",
        "name": net.list.name,
        "plugins": [{
            "type": "bridge",
            "bridge": net.bridge,
            "ipam": {"type": "host-local", "dataDir": net.data_dir,
                     "ranges": [[{"subnet": "10.231.22.0/33"}]]}
        }]
    });
    let list = NetworkConfigList::from_slice(list.to_string().as_bytes(), Origin::Memory).unwrap();
    let ns = Netns::new();
    let err = net
        .cni
        .add(
            &list,
            &berth_cni::RuntimeConf::new(unique("ctr"), ns.path(), "eth0"),
        )
        .unwrap_err();
    let message = err.to_string();
    assert!(message.contains("plugin bridge"), "{message}");
    assert!(message.contains("10.231.22.0/33"), "{message}");
    assert!(err.plugin_error().is_some(), "{err:?}");
}

#[test]
fn cni_1_1_lists_are_refused_by_1_0_plugins() {
    if !can_run() {
        return;
    }
    let mut net = TestNet::new(23);
    net.list.cni_version = berth_cni::Version::V1_1_0;
    let err = net.cni.validate(&net.list).unwrap_err();
    assert!(matches!(err, Error::VersionUnsupported { .. }), "{err}");
    assert!(err.to_string().contains("plugin bridge"), "{err}");

    // Without validating first, the plugin itself says so (error code 1).
    let ns = Netns::new();
    let err = net
        .cni
        .add(
            &net.list,
            &berth_cni::RuntimeConf::new(unique("ctr"), ns.path(), "eth0"),
        )
        .unwrap_err();
    assert_eq!(
        err.plugin_error().map(|e| e.kind()),
        Some(ErrorCode::IncompatibleVersion),
        "{err}"
    );
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);

    // GC of a 1.1 list skips the GC command for plugins that do not speak 1.1.
    net.cni.gc(&net.list, &[]).unwrap();
}
