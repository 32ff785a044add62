//! The client against fake plugins: shell scripts that record their environment and stdin
//! and answer from files the test writes.

use std::os::unix::fs::PermissionsExt;
use std::time::Instant;

use serde_json::json;

use super::*;
use crate::capabilities::{PortMapping, Protocol};
use crate::error::ErrorCode;
use berth_types::ErrorKind;

/// A plugin directory of fake plugins. Each one appends `<name> <COMMAND>` to `calls`, saves
/// its stdin and CNI_* environment as `<name>-<COMMAND>.stdin/.env` and the cache entry of its
/// attachment as it finds it as `<name>-<COMMAND>.cache`, then: sleeps if
/// `<name>.sleep-<COMMAND>` exists, fails with the contents of `<name>.fail-<COMMAND>` if it
/// exists, prints `<name>.version` (or 0.4.0 and 1.0.0) for VERSION, `<name>.result` for ADD.
struct Fake {
    dir: tempfile::TempDir,
    cache: tempfile::TempDir,
}

impl Fake {
    fn new(names: &[&str]) -> Self {
        let fake = Self {
            dir: tempfile::tempdir().unwrap(),
            cache: tempfile::tempdir().unwrap(),
        };
        for name in names {
            let d = fake.dir.path().display();
            let results = fake.cache.path().join("results");
            let results = results.display();
            let body = format!(
                r#"#!/bin/sh
d={d}; n={name}; c=$CNI_COMMAND
echo "$n $c" >> "$d/calls"
cat > "$d/$n-$c.stdin"
env | grep '^CNI_' | sort > "$d/$n-$c.env"
cat "{results}/testnet-$CNI_CONTAINERID-$CNI_IFNAME" > "$d/$n-$c.cache" 2>/dev/null
[ -f "$d/$n.sleep-$c" ] && sleep 30
[ -f "$d/$n.fail-$c" ] && {{ cat "$d/$n.fail-$c"; exit 1; }}
case "$c" in
  VERSION) cat "$d/$n.version" 2>/dev/null || echo '{{"cniVersion":"1.0.0","supportedVersions":["0.4.0","1.0.0"]}}' ;;
  ADD) cat "$d/$n.result" ;;
esac
exit 0
"#
            );
            let path = fake.dir.path().join(name);
            std::fs::write(&path, body).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        fake
    }

    fn client(&self) -> Cni {
        Cni::new(vec![self.dir.path().to_owned()], self.cache.path())
    }

    fn set(&self, file: &str, contents: &str) {
        std::fs::write(self.dir.path().join(file), contents).unwrap();
    }

    fn calls(&self) -> Vec<String> {
        std::fs::read_to_string(self.dir.path().join("calls"))
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    fn clear_calls(&self) {
        let _ = std::fs::remove_file(self.dir.path().join("calls"));
    }

    fn stdin(&self, name: &str, command: &str) -> Value {
        let path = self.dir.path().join(format!("{name}-{command}.stdin"));
        serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
    }

    /// The cache entry of the attachment when the plugin started.
    fn cache_seen(&self, name: &str, command: &str) -> Value {
        let path = self.dir.path().join(format!("{name}-{command}.cache"));
        serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
    }

    fn env(&self, name: &str, command: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(format!("{name}-{command}.env"))).unwrap()
    }

    fn cache_file(&self, network: &str, container: &str) -> PathBuf {
        self.cache
            .path()
            .join(format!("results/{network}-{container}-eth0"))
    }
}

fn list(version: &str, plugins: Value) -> NetworkConfigList {
    let list = json!({"cniVersion": version, "name": "testnet", "plugins": plugins});
    NetworkConfigList::from_slice(list.to_string().as_bytes(), crate::config::Origin::Memory)
        .unwrap()
}

/// `main` (declares portMappings) then `meta` (declares mac): a bridge and a chained plugin.
fn two_plugins(version: &str) -> NetworkConfigList {
    list(
        version,
        json!([
            {"type": "main", "capabilities": {"portMappings": true}, "bridge": "b0"},
            {"type": "meta", "capabilities": {"mac": true}}
        ]),
    )
}

/// `main` answers in 0.4.0 shape whatever it is asked (an older plugin); `meta` in 1.0.0.
fn canned_results(fake: &Fake) {
    fake.set(
        "main.result",
        r#"{"cniVersion":"0.4.0","interfaces":[{"name":"eth0","sandbox":"/run/netns/x"}],
            "ips":[{"version":"4","address":"10.7.0.2/24","gateway":"10.7.0.1","interface":0}]}"#,
    );
    fake.set(
        "meta.result",
        r#"{"cniVersion":"1.0.0","interfaces":[{"name":"eth0","sandbox":"/run/netns/x"}],
            "ips":[{"address":"10.7.0.2/24","gateway":"10.7.0.1","interface":0}],
            "dns":{"nameservers":["10.7.0.1"]}}"#,
    );
}

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
            mac: Some("02:00:00:00:00:01".into()),
            ..Default::default()
        },
        ..RuntimeConf::new(container, "/run/netns/x", "eth0")
    }
}

#[test]
fn add_chains_results_injects_capabilities_and_caches() {
    let fake = Fake::new(&["main", "meta"]);
    canned_results(&fake);
    let cni = fake.client();
    let result = cni.add(&two_plugins("1.0.0"), &rt("c1")).unwrap();

    assert_eq!(fake.calls(), ["main ADD", "meta ADD"]);
    assert_eq!(result.cni_version, Version::V1_0_0);
    assert_eq!(result.dns.nameservers, ["10.7.0.1"]);
    assert_eq!(result.ips[0].address.to_string(), "10.7.0.2/24");

    let main = fake.stdin("main", "ADD");
    assert_eq!(main["name"], "testnet");
    assert_eq!(main["cniVersion"], "1.0.0");
    assert_eq!(main["bridge"], "b0");
    assert_eq!(
        main["runtimeConfig"],
        json!({"portMappings": [{"hostPort": 8080, "containerPort": 80, "protocol": "tcp"}]})
    );
    assert!(main.get("prevResult").is_none());

    // meta gets main's 0.4.0 result upconverted to the list's 1.0.0, and only `mac`.
    let meta = fake.stdin("meta", "ADD");
    assert_eq!(meta["runtimeConfig"], json!({"mac": "02:00:00:00:00:01"}));
    assert_eq!(meta["prevResult"]["cniVersion"], "1.0.0");
    assert!(meta["prevResult"]["ips"][0].get("version").is_none());
    assert_eq!(meta["prevResult"]["ips"][0]["gateway"], "10.7.0.1");

    let env = fake.env("main", "ADD");
    for line in [
        "CNI_COMMAND=ADD",
        "CNI_CONTAINERID=c1",
        "CNI_NETNS=/run/netns/x",
        "CNI_IFNAME=eth0",
        "CNI_ARGS=IgnoreUnknown=1",
    ] {
        assert!(env.lines().any(|l| l == line), "{line} missing in {env}");
    }
    assert!(env.contains(&format!("CNI_PATH={}", fake.dir.path().display())));

    assert!(fake.cache_file("testnet", "c1").exists());
    let cached = cni.cached_result(&two_plugins("1.0.0"), &rt("c1")).unwrap();
    assert_eq!(cached, Some(result));
    let attachments = cni.cached_attachments().unwrap();
    assert_eq!(attachments.len(), 1);
    assert_eq!(attachments[0].runtime_conf(), rt("c1"));
}

#[test]
fn add_caches_the_attachment_before_each_plugin_runs() {
    let fake = Fake::new(&["main", "meta"]);
    canned_results(&fake);
    fake.client().add(&two_plugins("1.0.0"), &rt("c1")).unwrap();

    // What a DEL after a crash needs from the start: the namespace and the capability args.
    let at_main = fake.cache_seen("main", "ADD");
    assert_eq!(at_main["netns"], "/run/netns/x");
    assert_eq!(
        at_main["capabilityArgs"]["portMappings"][0]["hostPort"],
        8080
    );
    assert!(at_main.get("result").is_none());
    // Then what the plugins before added: the addresses a `firewall` DEL needs.
    let at_meta = fake.cache_seen("meta", "ADD");
    assert_eq!(at_meta["result"]["cniVersion"], "1.0.0");
    assert_eq!(at_meta["result"]["ips"][0]["address"], "10.7.0.2/24");
}

#[test]
fn del_runs_backwards_with_the_cached_result_and_is_idempotent() {
    let fake = Fake::new(&["main", "meta"]);
    canned_results(&fake);
    let cni = fake.client();
    let list = two_plugins("1.0.0");
    cni.add(&list, &rt("c1")).unwrap();
    fake.clear_calls();

    cni.del(&list, &rt("c1")).unwrap();
    assert_eq!(fake.calls(), ["meta DEL", "main DEL"]);
    let prev = &fake.stdin("main", "DEL")["prevResult"];
    assert_eq!(prev["dns"]["nameservers"][0], "10.7.0.1");
    assert_eq!(
        fake.stdin("meta", "DEL")["runtimeConfig"]["mac"],
        "02:00:00:00:00:01"
    );
    assert!(!fake.cache_file("testnet", "c1").exists());

    // Again, with the attachment gone and no namespace: plugins are still asked, without a
    // prevResult, and it succeeds.
    let gone = RuntimeConf {
        netns: None,
        ..rt("c1")
    };
    cni.del(&list, &gone).unwrap();
    assert!(fake.stdin("main", "DEL").get("prevResult").is_none());
    assert!(fake.env("main", "DEL").contains("CNI_NETNS=\n"));
}

#[test]
fn del_passes_no_prev_result_before_0_4_0() {
    let fake = Fake::new(&["main", "meta"]);
    canned_results(&fake);
    let cni = fake.client();
    let list = two_plugins("0.3.1");
    let result = cni.add(&list, &rt("c1")).unwrap();
    assert_eq!(result.cni_version, "0.3.1".parse().unwrap());
    // main answered 0.4.0; meta was given it in 0.3.1 shape, with per-address versions.
    let meta = fake.stdin("meta", "ADD");
    assert_eq!(meta["prevResult"]["cniVersion"], "0.3.1");
    assert_eq!(meta["prevResult"]["ips"][0]["version"], "4");
    cni.del(&list, &rt("c1")).unwrap();
    assert!(fake.stdin("main", "DEL").get("prevResult").is_none());
}

#[test]
fn check_uses_the_cache_and_honours_disable_check() {
    let fake = Fake::new(&["main", "meta"]);
    canned_results(&fake);
    let cni = fake.client();
    let list = two_plugins("1.0.0");

    let err = cni.check(&list, &rt("c1")).unwrap_err();
    assert!(matches!(err, Error::NotCached { .. }), "{err}");
    assert_eq!(err.kind(), ErrorKind::NotFound);

    cni.add(&list, &rt("c1")).unwrap();
    fake.clear_calls();
    cni.check(&list, &rt("c1")).unwrap();
    assert_eq!(fake.calls(), ["main CHECK", "meta CHECK"]);
    assert_eq!(
        fake.stdin("meta", "CHECK")["prevResult"]["dns"]["nameservers"][0],
        "10.7.0.1"
    );

    fake.clear_calls();
    let mut disabled = list.clone();
    disabled.disable_check = true;
    cni.check(&disabled, &rt("c1")).unwrap();
    assert!(fake.calls().is_empty());

    let err = cni.check(&two_plugins("0.3.1"), &rt("c1")).unwrap_err();
    assert!(matches!(err, Error::CommandUnsupported { .. }), "{err}");
}

#[test]
fn failed_add_is_undone_and_reports_the_plugin_error() {
    let fake = Fake::new(&["main", "meta"]);
    canned_results(&fake);
    fake.set(
        "meta.fail-ADD",
        r#"{"code": 7, "msg": "bad mac", "details": "not unicast"}"#,
    );
    let cni = fake.client();
    let err = cni.add(&two_plugins("1.0.0"), &rt("c1")).unwrap_err();

    assert_eq!(
        fake.calls(),
        ["main ADD", "meta ADD", "meta DEL", "main DEL"]
    );
    // The undo gets what was added so far.
    assert_eq!(
        fake.stdin("main", "DEL")["prevResult"]["ips"][0]["address"],
        "10.7.0.2/24"
    );
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert_eq!(
        err.plugin_error().map(|e| e.kind()),
        Some(ErrorCode::InvalidNetworkConfig)
    );
    let message = err.to_string();
    for part in [
        "CNI ADD",
        "container c1",
        "network testnet",
        "plugin meta",
        "bad mac",
        "not unicast",
    ] {
        assert!(message.contains(part), "{part:?} missing in {message}");
    }
    assert!(!fake.cache_file("testnet", "c1").exists());
}

#[test]
fn failed_undo_keeps_the_attachment_for_gc() {
    let fake = Fake::new(&["main", "meta"]);
    canned_results(&fake);
    fake.set("meta.fail-ADD", r#"{"code": 5, "msg": "disk"}"#);
    fake.set("main.fail-DEL", r#"{"code": 11, "msg": "locked"}"#);
    let cni = fake.client();
    let err = cni.add(&two_plugins("1.0.0"), &rt("c1")).unwrap_err();
    assert!(matches!(err, Error::RollbackFailed { .. }), "{err}");
    assert!(err.to_string().contains("locked"), "{err}");
    let cached = cni.cached_attachments().unwrap();
    assert_eq!(cached.len(), 1);
    assert_eq!(cached[0].container_id, "c1");
}

#[test]
fn timeout_is_an_error_naming_the_plugin() {
    let fake = Fake::new(&["main"]);
    canned_results(&fake);
    fake.set("main.sleep-ADD", "");
    let cni = fake.client().with_timeout(Duration::from_millis(300));
    let start = Instant::now();
    let err = cni
        .add(&list("1.0.0", json!([{"type": "main"}])), &rt("c1"))
        .unwrap_err();
    assert!(start.elapsed() < Duration::from_secs(10));
    assert!(
        matches!(
            &err,
            Error::Plugin {
                source: InvokeError::Timeout { .. },
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    assert!(err.to_string().contains("plugin main"), "{err}");
    // The undo ran (and did not time out).
    assert_eq!(fake.calls(), ["main ADD", "main DEL"]);
}

#[test]
fn missing_plugin_binary_is_a_clear_error() {
    let fake = Fake::new(&["main"]);
    canned_results(&fake);
    let cni = fake.client();
    let list = list("1.0.0", json!([{"type": "main"}, {"type": "firewall9"}]));
    let err = cni.add(&list, &rt("c1")).unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("plugin binary \"firewall9\" not found in"),
        "{message}"
    );
    assert!(
        message.contains(&fake.dir.path().display().to_string()),
        "{message}"
    );
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    // The undo DELs main and passes over the plugin that never ran; nothing stays cached.
    assert_eq!(fake.calls(), ["main ADD", "main DEL"]);
    assert!(cni.cached_attachments().unwrap().is_empty());
    let err = cni.validate(&list).unwrap_err().to_string();
    assert!(err.contains("firewall9"), "{err}");
}

#[test]
fn unreadable_add_output_is_an_error() {
    let fake = Fake::new(&["main"]);
    fake.set("main.result", "this is not json");
    let err = fake
        .client()
        .add(&list("1.0.0", json!([{"type": "main"}])), &rt("c1"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("unreadable answer"), "{err}");
    assert!(err.contains("this is not json"), "{err}");
}

#[test]
fn gc_deletes_cached_attachments_missing_from_the_valid_set() {
    let fake = Fake::new(&["main", "meta"]);
    canned_results(&fake);
    let cni = fake.client();
    let list = two_plugins("1.0.0");
    cni.add(&list, &rt("keep")).unwrap();
    cni.add(&list, &rt("leak")).unwrap();
    // An attachment of another network is not this GC's business.
    let mut other = list.clone();
    other.name = "othernet".into();
    cni.add(&other, &rt("leak")).unwrap();
    fake.clear_calls();

    let valid = [GcAttachment {
        container_id: "keep".into(),
        ifname: "eth0".into(),
    }];
    cni.gc(&list, &valid).unwrap();
    // 1.0.0 plugins get no GC command: the sweep is client-side DELs only.
    assert_eq!(fake.calls(), ["meta DEL", "main DEL"]);
    assert_eq!(
        fake.env("main", "DEL").lines().nth(2),
        Some("CNI_CONTAINERID=leak")
    );
    let left: Vec<_> = cni
        .cached_attachments()
        .unwrap()
        .into_iter()
        .map(|a| (a.network, a.container_id))
        .collect();
    assert_eq!(
        left,
        [
            ("othernet".to_string(), "leak".to_string()),
            ("testnet".to_string(), "keep".to_string())
        ]
    );

    fake.clear_calls();
    let mut disabled = list.clone();
    disabled.disable_gc = true;
    cni.gc(&disabled, &[]).unwrap();
    assert!(fake.calls().is_empty());
}

#[test]
fn gc_on_1_1_asks_plugins_that_speak_it() {
    let fake = Fake::new(&["main", "meta"]);
    fake.set(
        "main.version",
        r#"{"cniVersion":"1.1.0","supportedVersions":["1.0.0","1.1.0"]}"#,
    );
    let cni = fake.client();
    let list = two_plugins("1.1.0");
    let valid = [GcAttachment {
        container_id: "keep".into(),
        ifname: "eth0".into(),
    }];
    cni.gc(&list, &valid).unwrap();
    assert_eq!(fake.calls(), ["main VERSION", "main GC", "meta VERSION"]);
    let gc = fake.stdin("main", "GC");
    assert_eq!(
        gc["cni.dev/valid-attachments"],
        json!([{"containerID": "keep", "ifname": "eth0"}])
    );
    assert_eq!(gc["name"], "testnet");
    assert_eq!(gc["cniVersion"], "1.1.0");
    assert!(!fake.env("main", "GC").contains("CNI_CONTAINERID"));
}

#[test]
fn gc_reports_every_failure() {
    let fake = Fake::new(&["main"]);
    canned_results(&fake);
    let cni = fake.client();
    let list = list("1.0.0", json!([{"type": "main"}]));
    cni.add(&list, &rt("a")).unwrap();
    cni.add(&list, &rt("b")).unwrap();
    fake.set("main.fail-DEL", r#"{"code": 5, "msg": "stuck"}"#);
    let err = cni.gc(&list, &[]).unwrap_err();
    match &err {
        Error::Gc { errors, .. } => assert_eq!(errors.len(), 2),
        other => panic!("expected a GC error, got {other}"),
    }
    assert!(err.to_string().contains("container a") && err.to_string().contains("container b"));
    // Still cached, so the next GC retries.
    assert_eq!(cni.cached_attachments().unwrap().len(), 2);
}

#[test]
fn status_only_from_1_1_and_maps_not_available() {
    let fake = Fake::new(&["main"]);
    let cni = fake.client();
    cni.status(&list("1.0.0", json!([{"type": "main"}])))
        .unwrap();
    assert!(fake.calls().is_empty());

    let list = list("1.1.0", json!([{"type": "main"}]));
    cni.status(&list).unwrap();
    assert_eq!(fake.calls(), ["main STATUS"]);
    fake.set("main.fail-STATUS", r#"{"code": 50, "msg": "no IPs left"}"#);
    let err = cni.status(&list).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    assert!(err.to_string().contains("plugin not available"), "{err}");
}

#[test]
fn version_and_validate() {
    let fake = Fake::new(&["main"]);
    let cni = fake.client();
    let info = cni.version("main").unwrap();
    assert!(info.supports(Version::V1_0_0));
    assert_eq!(
        fake.stdin("main", "VERSION"),
        json!({"cniVersion": "1.1.0"})
    );

    cni.validate(&list("1.0.0", json!([{"type": "main"}])))
        .unwrap();
    let err = cni
        .validate(&list("1.1.0", json!([{"type": "main"}])))
        .unwrap_err();
    assert!(matches!(err, Error::VersionUnsupported { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("does not support cniVersion 1.1.0"),
        "{err}"
    );
}

#[test]
fn refuses_bad_runtime_arguments_before_running_anything() {
    let fake = Fake::new(&["main"]);
    let cni = fake.client();
    let list = list("1.0.0", json!([{"type": "main"}]));
    let bad = [
        RuntimeConf::new("../etc", "/run/netns/x", "eth0"),
        RuntimeConf::new("c1", "/run/netns/x", "a-very-long-ifname"),
        RuntimeConf::new("c1", "/run/netns/x", "eth 0"),
        RuntimeConf {
            netns: None,
            ..RuntimeConf::new("c1", "/run/netns/x", "eth0")
        },
        RuntimeConf {
            args: vec![("K;X".into(), "v".into())],
            ..RuntimeConf::new("c1", "/run/netns/x", "eth0")
        },
    ];
    for rt in bad {
        let err = cni.add(&list, &rt).unwrap_err();
        assert!(matches!(err, Error::InvalidArgument { .. }), "{err}");
    }
    assert!(fake.calls().is_empty());
}
