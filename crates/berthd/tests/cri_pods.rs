//! Pod sandboxes through the CRI: RunPodSandbox on a private CNI network (bridge, host-local
//! and portmap on a bridge and subnet of the test's own), PodSandboxStatus, ListPodSandbox's
//! filters, Stop (twice) and Remove, nothing left behind; a RunPodSandbox that fails undoes
//! everything; pods survive a `kill -9` of berthd, and a pause that died meanwhile is NOTREADY;
//! a `kill -9` in the middle of RunPodSandbox (a CNI plugin hung) is undone at the next start.
//! No traffic leaves the host: the bridge has no masquerading and no default route.

mod cri;

use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use berth_testkit::{cgroup_dirs, eventually, free_port, run, unique, Daemon};
use cri::*;

/// A CNI bin dir with the system's plugins and one more, [`BLOCKING_ADD`], whose ADD writes
/// its pid to `marker` and then blocks (a plugin hung, as berthd gets killed); its other
/// commands succeed, so the DEL a restarted berthd runs goes through the real plugins.
fn blocking_add_plugins(marker: &Path) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    for entry in std::fs::read_dir(CNI_BIN_DIR).unwrap_or_else(|e| panic!("{e}")) {
        let path = entry.unwrap_or_else(|e| panic!("{e}")).path();
        if let Some(name) = path.file_name() {
            std::os::unix::fs::symlink(&path, dir.path().join(name))
                .unwrap_or_else(|e| panic!("{e}"));
        }
    }
    let script = format!(
        "#!/bin/sh\n\
         cat >/dev/null\n\
         case \"$CNI_COMMAND\" in\n\
         ADD) echo $$ > '{}'; exec sleep 600 ;;\n\
         VERSION) echo '{{\"cniVersion\":\"0.4.0\",\"supportedVersions\":[\"0.3.0\",\"0.3.1\",\"0.4.0\"]}}' ;;\n\
         esac\n",
        marker.display()
    );
    let path = dir.path().join(BLOCKING_ADD);
    std::fs::write(&path, script).unwrap_or_else(|e| panic!("{e}"));
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .unwrap_or_else(|e| panic!("{e}"));
    dir
}

/// Starts a RunPodSandbox on a daemon with [`blocking_add_plugins`] and waits until its chain
/// hangs in the last plugin: bridge and portmap have made the veth, the lease and the NAT rules
/// by then.
async fn run_until_hung(
    d: &Daemon,
    net: &PodNet,
    marker: &Path,
) -> tokio::task::JoinHandle<Result<String, Status>> {
    let mut c = connect(&d.cri_socket).await;
    let config = pod_config(net, free_port());
    let run = tokio::spawn(async move { run_pod(&mut c, &config).await });
    assert!(
        eventually(Duration::from_secs(30), || marker.exists()),
        "the blocking plugin never ran\n{}",
        d.log()
    );
    run
}

/// Kills the hung plugin: its ADD fails.
fn kill_hung_plugin(marker: &Path) {
    let pid: i32 = std::fs::read_to_string(marker)
        .unwrap_or_default()
        .trim()
        .parse()
        .unwrap_or_else(|e| panic!("pid in {}: {e}", marker.display()));
    // SAFETY: SIGKILL to the plugin process this test's script started.
    unsafe { libc::kill(pid, libc::SIGKILL) };
}

/// Runs a pod that must fail with a message naming `names`; nothing of it may be left.
async fn assert_run_refused(
    c: &mut Cri,
    d: &Daemon,
    net: &PodNet,
    config: &PodSandboxConfig,
    names: &str,
) {
    let err = run_pod(c, config)
        .await
        .expect_err("a pod that cannot run ran");
    assert!(err.message().contains(names), "{err:?}");
    let all = list(c, PodSandboxFilter::default()).await;
    assert!(all.is_empty(), "{all:?}");
    assert_no_pod_left(d, net);
}

/// The veth ends enslaved to the pods' bridge.
fn veths(net: &PodNet) -> String {
    let out = Command::new("ip")
        .args(["-o", "link", "show", "master", &net.bridge])
        .output()
        .unwrap_or_else(|e| panic!("ip: {e}"));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// portmap's NAT rules naming the pod.
fn nat_rules_of(id: &str) -> Vec<String> {
    let out = Command::new("iptables-save")
        .args(["-t", "nat"])
        .output()
        .unwrap_or_else(|e| panic!("iptables-save: {e}"));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains(id))
        .map(str::to_string)
        .collect()
}

/// Processes whose command line names the daemon's roots (its shims) or the pause.
fn processes_of(d: &Daemon, pids: &[i32]) -> Vec<String> {
    let root = d.root.path().display().to_string();
    let mut found: Vec<String> = pids
        .iter()
        .filter(|p| alive(**p))
        .map(|p| format!("pause {p}"))
        .collect();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if cmdline.contains(&root) && !cmdline.contains("berthd ") {
            found.push(cmdline);
        }
    }
    found
}

/// Everything a pod made is gone: its netns, veth, NAT rules, address, cgroup, files,
/// mounts, processes.
fn assert_nothing_left(d: &Daemon, net: &PodNet, id: &str, pids: &[i32]) {
    assert!(!netns_path(d, id).exists(), "netns of {id} left");
    assert_eq!(veths(net), "", "veth left on {}", net.bridge);
    assert_eq!(nat_rules_of(id), Vec::<String>::new(), "NAT rules left");
    let leases = std::fs::read_dir(net.ipam_dir.join(&net.name))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|f| f.starts_with(&net.prefix))
        .collect::<Vec<_>>();
    assert_eq!(leases, Vec::<String>::new(), "addresses still leased");
    assert_eq!(cgroup_dirs(&net.cgroup_parent, id), Vec::<PathBuf>::new());
    assert!(!d.exec_root().join("pods").join(id).exists());
    assert!(!d.data_root().join("pods").join(id).exists());
    assert_eq!(d.leaked_mounts(), Vec::<String>::new(), "mounts left");
    assert_eq!(
        processes_of(d, pids),
        Vec::<String>::new(),
        "processes left"
    );
}

/// No pod of the daemon left anything: no pod directories, veths, leases, sandbox cgroups,
/// mounts or processes (for runs that never returned an id).
fn assert_no_pod_left(d: &Daemon, net: &PodNet) {
    let entries = |dir: &Path| -> Vec<PathBuf> {
        std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .collect()
    };
    // `<data-root>/pods/cni` is the pods' CNI result cache: it stays, empty.
    let cni_cache = d.data_root().join("pods/cni");
    let left: Vec<_> = [d.exec_root(), d.data_root()]
        .iter()
        .flat_map(|root| entries(&root.join("pods")))
        .filter(|p| *p != cni_cache)
        .chain(entries(&cni_cache.join("results")))
        .collect();
    assert!(left.is_empty(), "pod files left: {left:?}");
    assert_eq!(veths(net), "", "veth left on {}", net.bridge);
    let leases: Vec<_> = entries(&net.ipam_dir.join(&net.name))
        .into_iter()
        .filter(|e| {
            e.file_name()
                .is_some_and(|f| f.to_string_lossy().starts_with(&net.prefix))
        })
        .collect();
    assert!(leases.is_empty(), "addresses still leased: {leases:?}");
    let root = Path::new("/sys/fs/cgroup");
    let cgroups: Vec<_> = entries(root)
        .into_iter()
        .chain([root.to_path_buf()])
        .flat_map(|h| entries(&h.join(&net.cgroup_parent)))
        .filter(|e| e.is_dir())
        .collect();
    assert!(cgroups.is_empty(), "sandbox cgroups left: {cgroups:?}");
    assert_eq!(d.leaked_mounts(), Vec::<String>::new(), "mounts left");
    assert_eq!(processes_of(d, &[]), Vec::<String>::new(), "processes left");
}

fn pid_ns_pid(pid: i32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("NSpid:"))
        .and_then(|ids| ids.split_whitespace().last())
        .unwrap_or_default()
        .to_string()
}

fn ns_inode(pid: i32, ns: &str) -> u64 {
    std::fs::metadata(format!("/proc/{pid}/ns/{ns}"))
        .map(|m| m.ino())
        .unwrap_or_else(|e| panic!("{ns} of {pid}: {e}"))
}

#[tokio::test]
async fn a_pod_runs_is_listed_stops_twice_and_is_removed_without_leaks() {
    let Some((d, net)) = daemon("bridge", None) else {
        return;
    };
    let _cleanup = RemovePods(d.cri_socket.clone());
    let mut c = connect(&d.cri_socket).await;
    let host_port = free_port();
    let config = pod_config(&net, host_port);
    let before = chrono_now_ns();
    // Status: ready, on the test's subnet, with what was asked.
    let (id, s) = run_ready(&mut c, &d, &config).await;
    let st = s.status.clone().unwrap_or_default();
    assert_eq!(st.id, id);
    assert_eq!(st.metadata, config.metadata);
    assert_eq!(st.labels, config.labels);
    assert_eq!(st.annotations, config.annotations);
    assert_eq!(st.runtime_handler, "");
    assert!(st.created_at >= before, "{} < {before}", st.created_at);
    let ip = st.network.clone().unwrap_or_default().ip;
    assert!(
        ip.starts_with(&net.prefix),
        "{ip} not in {}0/24",
        net.prefix
    );
    let options = st
        .linux
        .and_then(|l| l.namespaces)
        .and_then(|n| n.options)
        .unwrap_or_default();
    assert_eq!(options.network, i32::from(NamespaceMode::Pod));
    assert_eq!(options.pid, i32::from(NamespaceMode::Pod));

    // The namespace is pinned, pause is its pid namespace's PID 1 and lives in the netns.
    let pid = pause_pid(&s);
    assert!(alive(pid), "pause {pid} is not running");
    assert_eq!(pid_ns_pid(pid), "1");
    // Pause has no shim: berthd ran the runtime itself, so a pod without containers leaves
    // no process of the daemon's running but pause.
    assert_eq!(
        processes_of(&d, &[]),
        Vec::<String>::new(),
        "a shim for pause"
    );
    // Started at nice 10, yielding the CPU to the CNI ADD beside it.
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after_comm = stat.rsplit_once(") ").map_or("", |(_, rest)| rest);
    assert_eq!(after_comm.split(' ').nth(16), Some("10"), "{stat}");
    let proc_status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    assert!(
        proc_status.contains("Seccomp:\t2") && proc_status.contains("NoNewPrivs:\t1"),
        "pause runs without the runtime's default seccomp filter: {proc_status}"
    );
    let mut nsenter = Command::new("nsenter");
    nsenter.args(["--target", &pid.to_string(), "--ipc"]);
    nsenter.args(["cat", "/proc/sys/kernel/shm_rmid_forced"]);
    let sysctl = run(nsenter, None).ok().stdout;
    assert_eq!(
        sysctl.trim(),
        "1",
        "the pod's sysctl is not set in its IPC namespace"
    );
    let netns = netns_path(&d, &id);
    let pinned = std::fs::metadata(&netns).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(pinned.ino(), ns_inode(pid, "net"));
    assert_ne!(
        ns_inode(pid, "net"),
        ns_inode(std::process::id() as i32, "net")
    );
    assert_ne!(
        ns_inode(pid, "uts"),
        ns_inode(std::process::id() as i32, "uts")
    );
    assert!(!veths(&net).is_empty(), "no veth on {}", net.bridge);
    let nat = nat_rules_of(&id);
    assert!(
        nat.iter().any(|r| r.contains(&host_port.to_string())),
        "portmap got no port {host_port}: {nat:?}"
    );
    let resolv = std::fs::read_to_string(d.data_root().join("pods").join(&id).join("resolv.conf"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(resolv.contains("nameserver 10.96.0.10"), "{resolv}");
    assert!(
        resolv.contains("search berth-test.svc.cluster.local"),
        "{resolv}"
    );
    assert!(resolv.contains("ndots:5"), "{resolv}");
    assert!(
        !cgroup_dirs(&net.cgroup_parent, &id).is_empty(),
        "no cgroup for the sandbox"
    );

    // The same identity again names the existing sandbox.
    assert_code(run_pod(&mut c, &config).await, Code::AlreadyExists, &id);

    // ListPodSandbox: by id prefix, state, labels.
    let app = config.labels.clone();
    let ready = || {
        Some(PodSandboxStateValue {
            state: PodSandboxState::SandboxReady.into(),
        })
    };
    let not_ready = || {
        Some(PodSandboxStateValue {
            state: PodSandboxState::SandboxNotready.into(),
        })
    };
    let by_label = |state| PodSandboxFilter {
        label_selector: app.clone(),
        state,
        ..Default::default()
    };
    assert_eq!(list(&mut c, by_label(None)).await, [id.as_str()]);
    assert_eq!(list(&mut c, by_label(ready())).await, [id.as_str()]);
    assert!(list(&mut c, by_label(not_ready())).await.is_empty());
    let prefix = PodSandboxFilter {
        id: id[..12].to_string(),
        ..Default::default()
    };
    assert_eq!(list(&mut c, prefix).await, [id.as_str()]);
    let other = PodSandboxFilter {
        label_selector: HashMap::from([("app".to_string(), "none".to_string())]),
        ..Default::default()
    };
    assert!(list(&mut c, other).await.is_empty());

    // Stop: not ready, off the network, pause gone; again: fine; an unknown id: fine.
    stop(&mut c, &id).await;
    let s = status(&mut c, &id).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(state(&s), PodSandboxState::SandboxNotready);
    assert!(!netns.exists(), "netns still pinned");
    assert_eq!(veths(&net), "");
    assert_eq!(nat_rules_of(&id), Vec::<String>::new());
    assert!(eventually(Duration::from_secs(5), || !alive(pid)));
    assert_eq!(list(&mut c, by_label(not_ready())).await, [id.as_str()]);
    stop(&mut c, &id).await;
    stop(&mut c, &"f".repeat(64)).await;

    // Remove, twice; then nothing is left of it.
    remove(&mut c, &id).await;
    assert_code(status(&mut c, &id).await, Code::NotFound, &id);
    remove(&mut c, &id).await;
    assert!(list(&mut c, by_label(None)).await.is_empty());
    assert_nothing_left(&d, &net, &id, &[pid]);
}

#[tokio::test]
async fn a_host_network_pod_has_the_node_network_and_no_cni_attachment() {
    let Some((d, net)) = daemon("bridge", None) else {
        return;
    };
    let _cleanup = RemovePods(d.cri_socket.clone());
    let mut c = connect(&d.cri_socket).await;
    let mut config = pod_config(&net, free_port());
    let namespaces = NamespaceOption {
        network: NamespaceMode::Node.into(),
        ..Default::default()
    };
    if let Some(linux) = config.linux.as_mut() {
        linux.security_context = Some(LinuxSandboxSecurityContext {
            namespace_options: Some(namespaces),
            ..Default::default()
        });
    }
    let (id, s) = run_ready(&mut c, &d, &config).await;
    let st = s.status.clone().unwrap_or_default();
    assert_eq!(st.network.unwrap_or_default().ip, "");
    let options = st
        .linux
        .and_then(|l| l.namespaces)
        .and_then(|n| n.options)
        .unwrap_or_default();
    assert_eq!(options.network, i32::from(NamespaceMode::Node));
    let pid = pause_pid(&s);
    let me = std::process::id() as i32;
    assert_eq!(ns_inode(pid, "net"), ns_inode(me, "net"));
    // The node's hostname too (containerd's rule): no UTS namespace of its own.
    assert_eq!(ns_inode(pid, "uts"), ns_inode(me, "uts"));
    assert!(!netns_path(&d, &id).exists());
    assert_eq!(
        nat_rules_of(&id),
        Vec::<String>::new(),
        "no CNI for the host network"
    );
    stop(&mut c, &id).await;
    remove(&mut c, &id).await;
    assert_nothing_left(&d, &net, &id, &[pid]);
}

#[tokio::test]
async fn a_failed_run_names_the_missing_plugin_and_leaves_nothing() {
    let plugin = unique("no-such-plugin");
    let Some((d, net)) = daemon(&plugin, None) else {
        return;
    };
    let _cleanup = RemovePods(d.cri_socket.clone());
    let mut c = connect(&d.cri_socket).await;
    let config = pod_config(&net, free_port());
    assert_run_refused(&mut c, &d, &net, &config, &plugin).await;
}

#[tokio::test]
async fn a_run_failing_after_the_network_is_attached_undoes_it() {
    let Some((d, net)) = daemon("bridge", None) else {
        return;
    };
    let _cleanup = RemovePods(d.cri_socket.clone());
    let mut c = connect(&d.cri_socket).await;
    let mut config = pod_config(&net, free_port());
    // The runtime refuses it at create, while the CNI ADD runs beside it: both are undone.
    let sysctl = "net.ipv4.berth_no_such_sysctl";
    if let Some(linux) = config.linux.as_mut() {
        linux.sysctls = HashMap::from([(sysctl.to_string(), "1".to_string())]);
    }
    assert_run_refused(&mut c, &d, &net, &config, "berth_no_such_sysctl").await;
}

#[tokio::test]
async fn a_failed_run_whose_pause_cannot_be_killed_keeps_the_pod_for_remove() {
    // A runtime whose `run` starts pause but reports failure, and whose `delete` fails while
    // `refuse` exists: the undo of the run cannot kill pause.
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let refuse = dir.path().join("refuse");
    let runtime = dir.path().join("runtime");
    let real = berth_testkit::berthd().with_file_name("berth-runtime");
    let script = format!(
        "#!/bin/sh\n\
         for a; do case $a in\n\
         run) '{real}' \"$@\"; echo 'run refused by the test' >&2; exit 1 ;;\n\
         delete) [ -e '{refuse}' ] && {{ echo 'delete refused by the test' >&2; exit 1; }} ;;\n\
         esac; done\n\
         exec '{real}' \"$@\"\n",
        real = real.display(),
        refuse = refuse.display(),
    );
    std::fs::write(&runtime, script).unwrap_or_else(|e| panic!("{e}"));
    std::fs::set_permissions(
        &runtime,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(&refuse, "").unwrap_or_else(|e| panic!("{e}"));
    let Some((d, net)) = daemon_with(
        "bridge",
        None,
        Vec::new(),
        vec!["--runtime".into(), runtime.into()],
    ) else {
        return;
    };
    let _cleanup = RemovePods(d.cri_socket.clone());
    let mut c = connect(&d.cri_socket).await;
    let err = run_pod(&mut c, &pod_config(&net, free_port()))
        .await
        .expect_err("a pod whose runtime failed ran");
    assert!(err.message().contains("run refused by the test"), "{err:?}");

    // What could not be released is named by a record, not ready, not forgotten.
    let all = list(&mut c, PodSandboxFilter::default()).await;
    let [id] = &all[..] else {
        panic!("the failed sandbox is not kept: {all:?}");
    };
    let s = status(&mut c, id).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(state(&s), PodSandboxState::SandboxNotready);
    let runtime_state = d.exec_root().join("runtime").join(id).join("state.json");
    let text = std::fs::read_to_string(&runtime_state).unwrap_or_else(|e| panic!("{e}"));
    let json: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
    let pid = json["pid"].as_i64().unwrap_or_default() as i32;
    assert!(alive(pid), "pause {pid} of the kept sandbox is not running");

    // Once the runtime can kill it, RemovePodSandbox takes everything.
    std::fs::remove_file(&refuse).unwrap_or_else(|e| panic!("{e}"));
    remove(&mut c, id).await;
    assert!(list(&mut c, PodSandboxFilter::default()).await.is_empty());
    assert_nothing_left(&d, &net, id, &[pid]);
}

// Multi-threaded: the run goes on in its task while the test waits (blocking) for the plugin.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_of_berthd_during_run_pod_sandbox_is_undone_at_the_next_start() {
    let marker_dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let marker = marker_dir.path().join("add.pid");
    let plugins = blocking_add_plugins(&marker);
    let Some((mut d, net)) = daemon("bridge", Some(plugins.path())) else {
        return;
    };
    let _cleanup = RemovePods(d.cri_socket.clone());
    let run = run_until_hung(&d, &net, &marker).await;
    let id = std::fs::read_dir(d.exec_root().join("pods"))
        .into_iter()
        .flatten()
        .flatten()
        .find_map(|e| e.file_name().into_string().ok())
        .unwrap_or_else(|| panic!("no pod directory while its network is being added"));
    assert_ne!(veths(&net), "", "bridge ran before the blocking plugin");
    assert_ne!(
        nat_rules_of(&id),
        Vec::<String>::new(),
        "portmap ran before it"
    );

    d.kill9();
    kill_hung_plugin(&marker);
    let err = run.await.unwrap_or_else(|e| panic!("{e}"));
    assert!(
        err.is_err(),
        "a run whose daemon was killed succeeded: {err:?}"
    );
    d.spawn();

    let mut c = connect(&d.cri_socket).await;
    let all = list(&mut c, PodSandboxFilter::default()).await;
    assert!(all.is_empty(), "a half-made pod is listed: {all:?}");
    assert_eq!(nat_rules_of(&id), Vec::<String>::new(), "NAT rules left");
    assert!(!netns_path(&d, &id).exists(), "netns of {id} left");
    assert_no_pod_left(&d, &net);
}

// Multi-threaded: the run goes on in its task while the test waits (blocking) for the plugin.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_pod_sandbox_the_client_cancels_is_still_undone() {
    let marker_dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let marker = marker_dir.path().join("add.pid");
    let plugins = blocking_add_plugins(&marker);
    let Some((d, net)) = daemon("bridge", Some(plugins.path())) else {
        return;
    };
    let _cleanup = RemovePods(d.cri_socket.clone());
    let run = run_until_hung(&d, &net, &marker).await;
    // The kubelet's deadline: the call is dropped (HTTP/2 RST_STREAM) while ADD hangs; then
    // the plugin fails, and berthd must still undo what bridge and portmap made.
    run.abort();
    let _ = run.await;
    std::thread::sleep(Duration::from_millis(200));
    kill_hung_plugin(&marker);
    let pods = d.exec_root().join("pods");
    let emptied = eventually(Duration::from_secs(30), || {
        std::fs::read_dir(&pods).map_or(true, |mut dir| dir.next().is_none())
    });
    assert!(emptied, "the cancelled run was not undone\n{}", d.log());
    let mut c = connect(&d.cri_socket).await;
    let all = list(&mut c, PodSandboxFilter::default()).await;
    assert!(all.is_empty(), "a half-made pod is listed: {all:?}");
    assert_no_pod_left(&d, &net);
}

#[tokio::test]
async fn pods_survive_a_crash_of_berthd_and_a_dead_pause_is_not_ready() {
    let Some((mut d, net)) = daemon("bridge", None) else {
        return;
    };
    let _cleanup = RemovePods(d.cri_socket.clone());
    let mut c = connect(&d.cri_socket).await;
    // `kept` runs throughout; `lost`'s pause dies while berthd is down; `watched`'s after.
    let mut pods = Vec::new();
    for _ in 0..3 {
        let (id, s) = run_ready(&mut c, &d, &pod_config(&net, free_port())).await;
        pods.push((id, pause_pid(&s)));
    }
    let [(kept, kept_pid), (lost, lost_pid), (watched, watched_pid)] = &pods[..] else {
        unreachable!()
    };
    drop(c);

    d.kill9();
    // SAFETY: SIGKILL to a pause process this test started.
    unsafe { libc::kill(*lost_pid, libc::SIGKILL) };
    assert!(eventually(Duration::from_secs(5), || !alive(*lost_pid)));
    d.spawn();

    let mut c = connect(&d.cri_socket).await;
    for (id, pid) in [(kept, kept_pid), (watched, watched_pid)] {
        let s = status(&mut c, id).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(state(&s), PodSandboxState::SandboxReady);
        assert_eq!(pause_pid(&s), *pid);
        assert!(alive(*pid));
    }
    let s = status(&mut c, lost).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(state(&s), PodSandboxState::SandboxNotready);

    // Restored pods are watched again: a pause dying makes its pod not ready.
    // SAFETY: SIGKILL to a pause process this test started.
    unsafe { libc::kill(*watched_pid, libc::SIGKILL) };
    let mut ready = true;
    for _ in 0..100 {
        let s = status(&mut c, watched)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        ready = state(&s) == PodSandboxState::SandboxReady;
        if !ready {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(!ready, "a pod whose pause died is still ready");

    // A restored running pod stops: its pause goes.
    stop(&mut c, kept).await;
    assert!(eventually(Duration::from_secs(5), || !alive(*kept_pid)));
    let pids: Vec<i32> = pods.iter().map(|(_, pid)| *pid).collect();
    for (id, _) in &pods {
        stop(&mut c, id).await;
        remove(&mut c, id).await;
    }
    for (id, _) in &pods {
        assert_nothing_left(&d, &net, id, &pids);
    }
}

/// Now in nanoseconds since the epoch, as CRI's `created_at`.
fn chrono_now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or_default()
}

#[tokio::test]
async fn crictl_runs_inspects_lists_stops_and_removes_a_pod() {
    let Some((d, net)) = daemon("bridge", None) else {
        return;
    };
    let Some(cli) = Crictl::for_socket(&d.cri_socket) else {
        return;
    };
    let _cleanup = RemovePods(d.cri_socket.clone());
    let crictl = |args: &[&str]| cli.run(args);
    let app = unique("app");
    let config = serde_json::json!({
        "metadata": { "name": unique("pod"), "namespace": "berth-test", "uid": unique("uid"), "attempt": 1 },
        "hostname": "crictl-pod",
        "labels": { "app": app },
        "linux": { "cgroup_parent": format!("/{}", net.cgroup_parent) },
    });
    let file = d.root.path().join("pod.json");
    std::fs::write(&file, config.to_string()).unwrap_or_else(|e| panic!("{e}"));
    let file = file.display().to_string();
    let id = crictl(&["runp", &file]).ok().stdout.trim().to_string();
    assert_eq!(id.len(), 64, "{id:?}");
    let label = format!("app={app}");
    let listed = crictl(&["pods", "-q", "--label", &label, "--state", "ready"]).ok();
    assert_eq!(listed.stdout.trim(), id);
    let inspect = crictl(&["inspectp", &id]).ok();
    let json: serde_json::Value =
        serde_json::from_str(&inspect.stdout).unwrap_or_else(|e| panic!("{e}: {inspect:?}"));
    assert_eq!(json["status"]["state"], "SANDBOX_READY", "{json}");
    let ip = json["status"]["network"]["ip"].as_str().unwrap_or_default();
    assert!(ip.starts_with(&net.prefix), "{json}");
    assert!(
        json["info"]["pid"].as_i64().unwrap_or_default() > 0,
        "{json}"
    );
    crictl(&["stopp", &id]).ok();
    let stopped = crictl(&["pods", "-q", "--label", &label, "--state", "notready"]).ok();
    assert_eq!(stopped.stdout.trim(), id);
    crictl(&["rmp", &id]).ok();
    assert_eq!(
        crictl(&["pods", "-q", "--label", &label])
            .ok()
            .stdout
            .trim(),
        ""
    );
    assert_nothing_left(&d, &net, &id, &[]);
}
