//! Pod sandboxes for the CRI tests: a daemon with a pods' CNI network of its own, a pod config,
//! and the calls most tests make.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use berth_testkit::{skip_unless, unique, Client, Daemon};

use super::*;

/// The pods' network of one daemon: its CNI configuration and the names it is made of.
pub struct PodNet {
    pub name: String,
    pub bridge: String,
    /// `10.a.b.` of the /24 the pods get addresses from.
    pub prefix: String,
    pub ipam_dir: PathBuf,
    /// The pods' cgroup parent, the daemon's own (the test removes it, as the kubelet would).
    pub cgroup_parent: String,
}

/// A daemon whose pods' CNI network is a bridge of its own; `plugin` is the first plugin's
/// type (`bridge`, or one that does not exist). With `blocking_add`, the plugins come from
/// that directory (see cri_pods.rs) and the blocking plugin ends the chain.
pub fn daemon(plugin: &str, blocking_add: Option<&Path>) -> Option<(Daemon, PodNet)> {
    daemon_wrapped(plugin, blocking_add, Vec::new())
}

/// `daemon`, with berthd under `wrapper` (see `Daemon::start_wrapped`).
pub fn daemon_wrapped(
    plugin: &str,
    blocking_add: Option<&Path>,
    wrapper: Vec<std::ffi::OsString>,
) -> Option<(Daemon, PodNet)> {
    daemon_with(plugin, blocking_add, wrapper, Vec::new())
}

/// `daemon_wrapped`, with more berthd arguments.
pub fn daemon_with(
    plugin: &str,
    blocking_add: Option<&Path>,
    wrapper: Vec<std::ffi::OsString>,
    mut args: Vec<std::ffi::OsString>,
) -> Option<(Daemon, PodNet)> {
    if skip_unless(Client::Berth) {
        return None;
    }
    assert!(
        berth_testkit::pause_binary().is_some(),
        "no static berth-pause: run scripts/build-static.sh berth-pause (or set BERTH_TEST_PAUSE)"
    );
    let bin_dir = blocking_add.unwrap_or(Path::new(CNI_BIN_DIR));
    args.extend(["--cni-bin-dir".into(), bin_dir.into()]);
    let d = Daemon::start_wrapped(Client::Berth, args, wrapper);
    let subnet = d.net.subnet(15);
    let net = PodNet {
        name: unique("pods"),
        // The daemon's default bridge is `bt<pid>x<n>`: this one is as unique.
        bridge: d.net.bridge.replacen("bt", "bp", 1),
        prefix: subnet.trim_end_matches("0/24").to_string(),
        ipam_dir: d.root.path().join("ipam"),
        cgroup_parent: format!("berth-test-{}", d.net.bridge),
    };
    let mut conf = serde_json::json!({
        "cniVersion": "0.4.0",
        "name": net.name,
        "plugins": [
            {
                "type": plugin,
                "bridge": net.bridge,
                "isGateway": true,
                "ipMasq": false,
                "ipam": {
                    "type": "host-local",
                    "ranges": [[{ "subnet": subnet }]],
                    "dataDir": net.ipam_dir,
                },
            },
            { "type": "portmap", "capabilities": { "portMappings": true } },
        ],
    });
    if let (Some(_), Some(plugins)) = (blocking_add, conf["plugins"].as_array_mut()) {
        plugins.push(serde_json::json!({ "type": BLOCKING_ADD }));
    }
    std::fs::create_dir_all(d.cni_conf_dir()).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(d.cni_conf_dir().join("10-pods.conflist"), conf.to_string())
        .unwrap_or_else(|e| panic!("{e}"));
    Some((d, net))
}

pub const CNI_BIN_DIR: &str = "/usr/lib/cni";
pub const BLOCKING_ADD: &str = "berth-test-blocking-add";

impl Drop for PodNet {
    fn drop(&mut self) {
        // The bridge plugin leaves its bridge, as berthd's default bridge stays.
        let _ = Command::new("ip")
            .args(["link", "del", &self.bridge])
            .stderr(std::process::Stdio::null())
            .status();
        let root = Path::new("/sys/fs/cgroup");
        let hierarchies = std::fs::read_dir(root).into_iter().flatten().flatten();
        for dir in hierarchies.map(|h| h.path()).chain([root.to_path_buf()]) {
            let _ = std::fs::remove_dir(dir.join(&self.cgroup_parent));
        }
    }
}

/// Removes every pod of the daemon when a test ends, failed half-way or not: the daemon's own
/// clean-up knows only Docker containers, and a pause would outlive it. Declared after the
/// daemon, so it runs first.
pub struct RemovePods(pub PathBuf);

impl Drop for RemovePods {
    fn drop(&mut self) {
        let socket = self.0.clone();
        // A runtime of its own: the test's may be the one unwinding.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap_or_else(|e| panic!("{e}"));
            rt.block_on(async {
                let mut c = connect(&socket).await;
                for id in list(&mut c, PodSandboxFilter::default()).await {
                    let _ = c
                        .runtime
                        .remove_pod_sandbox(RemovePodSandboxRequest { pod_sandbox_id: id })
                        .await;
                }
            });
        })
        .join();
    }
}

/// A pod config with unique identity and labels, a host port on loopback and DNS settings.
pub fn pod_config(net: &PodNet, host_port: u16) -> PodSandboxConfig {
    let name = unique("pod");
    PodSandboxConfig {
        metadata: Some(PodSandboxMetadata {
            name: name.clone(),
            uid: unique("uid"),
            namespace: "berth-test".into(),
            attempt: 1,
        }),
        hostname: "pod-host".into(),
        dns_config: Some(DnsConfig {
            servers: vec!["10.96.0.10".into()],
            searches: vec!["berth-test.svc.cluster.local".into()],
            options: vec!["ndots:5".into()],
        }),
        port_mappings: vec![PortMapping {
            protocol: Protocol::Tcp.into(),
            container_port: 80,
            host_port: host_port.into(),
            host_ip: "127.0.0.1".into(),
        }],
        labels: HashMap::from([("app".to_string(), name)]),
        annotations: HashMap::from([("berth.test/note".to_string(), "kept".to_string())]),
        linux: Some(LinuxPodSandboxConfig {
            cgroup_parent: format!("/{}", net.cgroup_parent),
            // A namespaced sysctl (the pod's IPC namespace): the runtime writes it through the
            // pause's own /proc.
            sysctls: HashMap::from([("kernel.shm_rmid_forced".to_string(), "1".to_string())]),
            security_context: Some(LinuxSandboxSecurityContext {
                seccomp: Some(SecurityProfile {
                    profile_type: security_profile::ProfileType::RuntimeDefault.into(),
                    localhost_ref: String::new(),
                }),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

pub async fn run_pod(c: &mut Cri, config: &PodSandboxConfig) -> Result<String, Status> {
    c.runtime
        .run_pod_sandbox(RunPodSandboxRequest {
            config: Some(config.clone()),
            runtime_handler: String::new(),
        })
        .await
        .map(|r| r.into_inner().pod_sandbox_id)
}

/// Runs a pod that must start: its id and its (verbose) status, READY.
pub async fn run_ready(
    c: &mut Cri,
    d: &Daemon,
    config: &PodSandboxConfig,
) -> (String, PodSandboxStatusResponse) {
    let id = run_pod(c, config)
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", d.log()));
    let s = status(c, &id).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(state(&s), PodSandboxState::SandboxReady, "{s:?}");
    (id, s)
}

pub async fn status(c: &mut Cri, id: &str) -> Result<PodSandboxStatusResponse, Status> {
    c.runtime
        .pod_sandbox_status(PodSandboxStatusRequest {
            pod_sandbox_id: id.into(),
            verbose: true,
        })
        .await
        .map(tonic::Response::into_inner)
}

pub async fn list(c: &mut Cri, filter: PodSandboxFilter) -> Vec<String> {
    c.runtime
        .list_pod_sandbox(ListPodSandboxRequest {
            filter: Some(filter),
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .into_inner()
        .items
        .into_iter()
        .map(|p| p.id)
        .collect()
}

pub async fn stop(c: &mut Cri, id: &str) {
    c.runtime
        .stop_pod_sandbox(StopPodSandboxRequest {
            pod_sandbox_id: id.into(),
        })
        .await
        .unwrap_or_else(|e| panic!("stop {id}: {e}"));
}

pub async fn remove(c: &mut Cri, id: &str) {
    c.runtime
        .remove_pod_sandbox(RemovePodSandboxRequest {
            pod_sandbox_id: id.into(),
        })
        .await
        .unwrap_or_else(|e| panic!("remove {id}: {e}"));
}

/// The pause pid from the verbose status (containerd's `info` JSON).
pub fn pause_pid(s: &PodSandboxStatusResponse) -> i32 {
    let info: serde_json::Value =
        serde_json::from_str(&s.info["info"]).unwrap_or_else(|e| panic!("{e}: {:?}", s.info));
    info["pid"].as_i64().unwrap_or_default() as i32
}

pub fn state(s: &PodSandboxStatusResponse) -> PodSandboxState {
    let state = s.status.as_ref().map_or(0, |s| s.state);
    PodSandboxState::try_from(state).unwrap_or_else(|e| panic!("{e}"))
}

/// Whether `pid` runs. Pause is no child of berthd's: once it exits it may wait a while for
/// init to reap it, a zombie, gone all the same.
pub fn alive(pid: i32) -> bool {
    pid > 0 && berth_sys::process::stat(pid).is_some_and(|s| s.is_live())
}

pub fn netns_path(d: &Daemon, id: &str) -> PathBuf {
    d.exec_root().join("pods").join(id).join("netns")
}
