use serde_json::json;

use super::*;
use crate::capabilities::{PortMapping, Protocol};

fn rt(container: &str) -> RuntimeConf {
    RuntimeConf {
        args: vec![("IgnoreUnknown".into(), "1".into())],
        capability_args: CapabilityArgs {
            port_mappings: vec![PortMapping {
                host_port: 8080,
                container_port: 80,
                protocol: Protocol::Tcp,
                host_ip: None,
            }],
            ..Default::default()
        },
        ..RuntimeConf::new(container, format!("/run/netns/{container}"), "eth0")
    }
}

fn result() -> Value {
    json!({"cniVersion": "1.0.0", "ips": [{"address": "10.1.0.2/24", "interface": 0}],
           "interfaces": [{"name": "eth0", "sandbox": "/run/netns/a"}]})
}

#[test]
fn round_trips_with_libcni_layout_and_names() {
    let dir = tempfile::tempdir().unwrap();
    let cache = ResultCache::new(dir.path());
    let entry = CachedAttachment::new("net1", &rt("abc"), Some(result()));
    cache.write(&entry).unwrap();

    let path = dir.path().join("results/net1-abc-eth0");
    let raw: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(raw["kind"], "cniCacheV1");
    assert_eq!(raw["containerId"], "abc");
    assert_eq!(raw["ifName"], "eth0");
    assert_eq!(raw["networkName"], "net1");
    assert_eq!(raw["netns"], "/run/netns/abc");
    assert_eq!(raw["cniArgs"], json!([["IgnoreUnknown", "1"]]));
    assert_eq!(raw["capabilityArgs"]["portMappings"][0]["hostPort"], 8080);
    assert_eq!(raw["result"], result());

    let back = cache.read("net1", "abc", "eth0").unwrap().unwrap();
    assert_eq!(back, entry);
    assert_eq!(back.runtime_conf(), rt("abc"));
    let typed = back.result().unwrap().unwrap();
    assert_eq!(typed.ips[0].address.to_string(), "10.1.0.2/24");

    // No temporary files are left behind.
    let names: Vec<_> = std::fs::read_dir(dir.path().join("results"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["net1-abc-eth0"]);
}

#[test]
fn missing_entries_read_as_none_and_remove_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let cache = ResultCache::new(dir.path());
    assert!(cache.read("net1", "nope", "eth0").unwrap().is_none());
    cache.remove("net1", "nope", "eth0").unwrap();
    assert!(cache.list().unwrap().is_empty());
}

#[test]
fn list_skips_foreign_and_broken_entries() {
    let dir = tempfile::tempdir().unwrap();
    let cache = ResultCache::new(dir.path());
    cache
        .write(&CachedAttachment::new("b", &rt("two"), Some(result())))
        .unwrap();
    cache
        .write(&CachedAttachment::new("a", &rt("one"), None))
        .unwrap();
    let results = dir.path().join("results");
    std::fs::write(results.join("junk-x-eth0"), "{not json").unwrap();
    std::fs::write(
        results.join("other-x-eth0"),
        r#"{"kind":"somethingElse","containerId":"x","ifName":"eth0","networkName":"other"}"#,
    )
    .unwrap();
    std::fs::write(results.join(".b-two-eth0.1.2.tmp"), "{}").unwrap();

    let listed: Vec<_> = cache
        .list()
        .unwrap()
        .into_iter()
        .map(|a| (a.network, a.container_id, a.result.is_some()))
        .collect();
    assert_eq!(
        listed,
        [
            ("a".to_string(), "one".to_string(), false),
            ("b".to_string(), "two".to_string(), true)
        ]
    );

    let err = cache.read("other", "x", "eth0").unwrap_err().to_string();
    assert!(
        err.contains("other-x-eth0") && err.contains("somethingElse"),
        "{err}"
    );
    let err = cache.read("junk", "x", "eth0").unwrap_err().to_string();
    assert!(err.contains("junk-x-eth0"), "{err}");
}

#[test]
fn write_replaces_the_previous_entry() {
    let dir = tempfile::tempdir().unwrap();
    let cache = ResultCache::new(dir.path());
    // An ADD's intent (not synced), then its result (synced).
    cache
        .write(&CachedAttachment::new("n", &rt("c"), None))
        .unwrap();
    cache
        .write(&CachedAttachment::new("n", &rt("c"), Some(result())))
        .unwrap();
    let entry = cache.read("n", "c", "eth0").unwrap().unwrap();
    assert_eq!(entry.raw_result(), Some(&result()));
}
