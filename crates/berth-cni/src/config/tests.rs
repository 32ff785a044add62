use serde_json::json;

use super::*;

const BRIDGE_LIST: &str = r#"{
  "cniVersion": "1.0.0",
  "name": "berth0",
  "disableCheck": "true",
  "x-berth-owner": {"id": 7},
  "plugins": [
    {
      "type": "bridge",
      "bridge": "berth0",
      "isGateway": true,
      "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.88.0.0/16"}]]}
    },
    {"type": "portmap", "capabilities": {"portMappings": true}, "snat": true}
  ]
}"#;

fn parse(text: &str) -> Result<NetworkConfigList, ConfigError> {
    NetworkConfigList::from_slice(text.as_bytes(), Origin::Memory)
}

fn problem(text: &str) -> Problem {
    match parse(text) {
        Err(ConfigError::Invalid { problem, .. }) => problem,
        other => panic!("expected a validation problem, got {other:?}"),
    }
}

#[test]
fn parses_a_list_and_keeps_unknown_keys() {
    let list = parse(BRIDGE_LIST).unwrap();
    assert_eq!(list.name, "berth0");
    assert_eq!(list.version(), Version::V1_0_0);
    assert!(list.disable_check);
    assert!(!list.disable_gc);
    assert_eq!(list.extra["x-berth-owner"]["id"], 7);
    assert_eq!(list.plugins[0].plugin_type, "bridge");
    assert_eq!(list.plugins[0].extra["ipam"]["type"], "host-local");
    assert!(list.plugins[1].capabilities["portMappings"]);

    // Written back, it reads the same.
    let again = parse(&serde_json::to_string(&list).unwrap()).unwrap();
    assert_eq!(again, list);
}

#[test]
fn disable_flags_take_booleans_and_strings() {
    let text = |v: &str| {
        format!(r#"{{"cniVersion":"1.1.0","name":"n","disableGC":{v},"plugins":[{{"type":"x"}}]}}"#)
    };
    let list = parse(&text("true")).unwrap();
    assert!(list.disable_gc);
    assert_eq!(serde_json::to_value(&list).unwrap()["disableGC"], true);
    assert!(!parse(&text(r#""False""#)).unwrap().disable_gc);
    let err = parse(&text(r#""maybe""#)).unwrap_err();
    assert!(err.to_string().contains("expected true or false"), "{err}");
}

#[test]
fn cni_versions_pick_the_newest_spoken_one() {
    let list = parse(
        r#"{"cniVersion":"0.4.0","cniVersions":["1.0.0","1.1.0","9.0.0"],"name":"n","plugins":[{"type":"x"}]}"#,
    )
    .unwrap();
    assert_eq!(list.version(), Version::V1_1_0);
}

#[test]
fn refuses_invalid_lists_with_the_reason() {
    assert!(matches!(
        problem(r#"{"cniVersion":"1.0.0","name":"-bad","plugins":[{"type":"x"}]}"#),
        Problem::Name(_)
    ));
    assert!(matches!(
        problem(r#"{"cniVersion":"1.0.0","name":"n","plugins":[]}"#),
        Problem::NoPlugins(_)
    ));
    assert!(matches!(
        problem(r#"{"cniVersion":"1.0.0","name":"n","plugins":[{"type":"../../bin/sh"}]}"#),
        Problem::PluginType { index: 0, .. }
    ));
    assert!(matches!(
        problem(r#"{"cniVersion":"2.0.0","name":"n","plugins":[{"type":"x"}]}"#),
        Problem::UnsupportedVersion { .. }
    ));
    assert!(matches!(
        problem(r#"{"cniVersion":"0.2.0","name":"n","plugins":[{"type":"x"},{"type":"y"}]}"#),
        Problem::NoChaining { .. }
    ));
}

#[test]
fn malformed_json_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("10-bad.conflist");
    std::fs::write(
        &path,
        r#"{"cniVersion":"1.0.0","name":"n","plugins":[{"type":}]}"#,
    )
    .unwrap();
    let err = NetworkConfigList::load(&path).unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, ConfigError::Malformed { .. }));
    assert!(message.contains("10-bad.conflist"), "{message}");
    assert!(message.contains("line 1"), "{message}");

    let missing = NetworkConfigList::load(&dir.path().join("nope.conflist")).unwrap_err();
    assert!(missing.to_string().contains("nope.conflist"), "{missing}");

    std::fs::write(&path, r#"{"cniVersion":"1.0.0","name":"n"}"#).unwrap();
    let err = NetworkConfigList::load(&path).unwrap_err().to_string();
    assert!(err.contains("missing field `plugins`"), "{err}");
}

#[test]
fn single_conf_is_wrapped_into_a_list() {
    let list = NetworkConfigList::from_single_slice(
        br#"{"cniVersion":"0.3.1","name":"single","type":"bridge","bridge":"cni9","ipam":{}}"#,
        Origin::Memory,
    )
    .unwrap();
    assert_eq!(list.name, "single");
    assert_eq!(list.plugins.len(), 1);
    assert_eq!(list.plugins[0].plugin_type, "bridge");
    assert_eq!(list.plugins[0].extra["bridge"], "cni9");
    // name and cniVersion belong to the list now, not twice in the plugin.
    assert!(!list.plugins[0].extra.contains_key("name"));
    assert!(!list.plugins[0].extra.contains_key("cniVersion"));
}

#[test]
fn loads_a_directory_in_name_order() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| std::fs::write(dir.path().join(name), text).unwrap();
    write(
        "20-b.conf",
        r#"{"cniVersion":"1.0.0","name":"b","type":"bridge"}"#,
    );
    write(
        "10-a.conflist",
        r#"{"cniVersion":"1.0.0","name":"a","plugins":[{"type":"bridge"}]}"#,
    );
    write(
        "30-c.json",
        r#"{"cniVersion":"1.0.0","name":"c","type":"macvlan"}"#,
    );
    write("README.txt", "not a config");
    std::fs::create_dir(dir.path().join("99-dir.conflist")).unwrap();

    let names: Vec<_> = load_dir(dir.path())
        .unwrap()
        .into_iter()
        .map(|l| l.name)
        .collect();
    assert_eq!(names, ["a", "b", "c"]);

    write(
        "40-dup.conflist",
        r#"{"cniVersion":"1.0.0","name":"a","plugins":[{"type":"bridge"}]}"#,
    );
    let err = load_dir(dir.path()).unwrap_err().to_string();
    assert!(
        err.contains("10-a.conflist") && err.contains("40-dup.conflist"),
        "{err}"
    );
}

#[test]
fn plugin_stdin_carries_the_list_name_and_version_and_injections() {
    let list = parse(BRIDGE_LIST).unwrap();
    let mut plugin = list.plugins[1].clone();
    // A stale name in the plugin is replaced by the list's.
    plugin.extra.insert("name".into(), json!("stale"));
    let mut inject = Map::new();
    inject.insert("prevResult".into(), json!({"cniVersion": "1.0.0"}));
    let stdin: Value =
        serde_json::from_slice(&plugin.stdin(&list.name, list.version(), inject)).unwrap();
    assert_eq!(
        stdin,
        json!({
            "type": "portmap",
            "name": "berth0",
            "cniVersion": "1.0.0",
            "capabilities": {"portMappings": true},
            "snat": true,
            "prevResult": {"cniVersion": "1.0.0"}
        })
    );
}
