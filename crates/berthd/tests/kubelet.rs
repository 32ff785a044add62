//! A real kubelet (Kubernetes 1.20, `runtime.v1alpha2`, standalone: static pods from a manifest
//! directory) on berthd's CRI socket. One static pod with an init container, two containers
//! that talk over the pod's localhost through an emptyDir and the network, a postStart hook, a
//! host port, and a container whose exec liveness probe fails, so the kubelet restarts it.
//! Removing the manifest must leave nothing: no container, sandbox, mount, pod cgroup, netns,
//! port rule or process.
//!
//! The kubelet changes host sysctls and hard-codes /var/log/pods and /var/lib/kubelet, so it
//! runs as ../shared/k8s/README.md shows: berthd and the kubelet share a private mount namespace
//! in which those sysctls are fake files and those directories the test's own. The kubelet comes
//! from `BERTH_TEST_KUBELET` (scripts/test.sh sets it from scripts/build-k8s.sh); without it the
//! test skips, saying why.

mod cri;

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use berth_testkit::{free_port, unique, Daemon};
use cri::*;

/// The sysctls kubelet 1.20 sets at start, with the values it wants: as fake files it finds
/// them already set.
const SYSCTLS: [(&str, &str); 6] = [
    ("vm/overcommit_memory", "1"),
    ("vm/panic_on_oom", "0"),
    ("kernel/panic", "10"),
    ("kernel/panic_on_oops", "1"),
    ("kernel/keys/root_maxkeys", "1000000"),
    ("kernel/keys/root_maxbytes", "25000000"),
];

/// The kubelet's directories and the mount namespace berthd starts in.
struct Kube {
    dir: tempfile::TempDir,
    /// The kubelet's `--cgroup-root`, made by the test in every hierarchy.
    cgroup_root: String,
}

impl Kube {
    fn new() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("berth-kubelet")
            .tempdir()
            .unwrap_or_else(|e| panic!("{e}"));
        for sub in [
            "manifests",
            "root",
            "pki",
            "varlog",
            "varlib",
            "volume-plugins",
        ] {
            std::fs::create_dir_all(dir.path().join(sub)).unwrap_or_else(|e| panic!("{e}"));
        }
        for (name, value) in SYSCTLS {
            let file = dir.path().join("sysctl").join(name);
            std::fs::create_dir_all(file.parent().unwrap_or(dir.path()))
                .unwrap_or_else(|e| panic!("{e}"));
            std::fs::write(file, format!("{value}\n")).unwrap_or_else(|e| panic!("{e}"));
        }
        let cgroup_root = unique("berth-kubelet");
        for hierarchy in hierarchies() {
            std::fs::create_dir_all(hierarchy.join(&cgroup_root)).unwrap_or_else(|e| panic!("{e}"));
        }
        Self { dir, cgroup_root }
    }

    fn path(&self, sub: &str) -> PathBuf {
        self.dir.path().join(sub)
    }

    /// berthd's wrapper: a private mount namespace (slave: it still sees the host's new
    /// mounts) with the kubelet's directories and fake sysctls bound in, then berthd.
    fn wrapper(&self) -> Vec<OsString> {
        let mut script = String::from("set -e\n");
        script += &format!(
            "mount --bind '{}' /var/log\nmount --bind '{}' /var/lib\n",
            self.path("varlog").display(),
            self.path("varlib").display()
        );
        for (name, _) in SYSCTLS {
            script += &format!(
                "mount --bind '{}' /proc/sys/{name}\n",
                self.path("sysctl").join(name).display()
            );
        }
        script += "exec \"$@\"\n";
        [
            "unshare",
            "--mount",
            "--propagation",
            "slave",
            "--",
            "sh",
            "-c",
        ]
        .into_iter()
        .map(OsString::from)
        .chain([script.into(), "berthd-in-kubelet-ns".into()])
        .collect()
    }
}

impl Drop for Kube {
    fn drop(&mut self) {
        // The kubelet's QoS cgroups (kubepods/burstable, ...) under its root: deepest first.
        fn remove(dir: &Path) {
            for sub in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                if sub.file_type().is_ok_and(|t| t.is_dir()) {
                    remove(&sub.path());
                }
            }
            let _ = std::fs::remove_dir(dir);
        }
        for hierarchy in hierarchies() {
            remove(&hierarchy.join(&self.cgroup_root));
        }
    }
}

/// Every cgroup hierarchy's mount point (v1 controllers, the unified one, or v2 alone).
fn hierarchies() -> Vec<PathBuf> {
    let root = Path::new("/sys/fs/cgroup");
    if berth_testkit::cgroup_v2_host() {
        return vec![root.to_path_buf()];
    }
    std::fs::read_dir(root)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.path())
        .collect()
}

/// The kubelet, killed when the test ends.
struct Kubelet(Child);

impl Drop for Kubelet {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_kubelet(bin: &OsString, kube: &Kube, d: &Daemon, node: &str) -> Kubelet {
    let pid = d.pid().unwrap_or_else(|| panic!("berthd is not running"));
    let log = std::fs::File::create(kube.path("kubelet.log")).unwrap_or_else(|e| panic!("{e}"));
    let endpoint = d.cri_host();
    let child = Command::new("nsenter")
        .arg(format!("--mount=/proc/{pid}/ns/mnt"))
        .arg("--")
        .arg(bin)
        .args([
            "--container-runtime=remote",
            &format!("--container-runtime-endpoint={endpoint}"),
            &format!("--image-service-endpoint={endpoint}"),
            &format!("--pod-manifest-path={}", kube.path("manifests").display()),
            // The default 20 s between looks at the manifests would dominate the test.
            "--file-check-frequency=1s",
            "--sync-frequency=5s",
            "--cgroup-driver=cgroupfs",
            &format!("--cgroup-root=/{}", kube.cgroup_root),
            "--fail-swap-on=false",
            &format!("--root-dir={}", kube.path("root").display()),
            &format!("--cert-dir={}", kube.path("pki").display()),
            &format!(
                "--volume-plugin-dir={}",
                kube.path("volume-plugins").display()
            ),
            &format!("--hostname-override={node}"),
            "--address=127.0.0.1",
            &format!("--port={}", free_port()),
            "--read-only-port=0",
            "--healthz-bind-address=127.0.0.1",
            &format!("--healthz-port={}", free_port()),
            "--make-iptables-util-chains=false",
            // A full CI disk must not make the kubelet evict the pod or delete images.
            "--eviction-hard=memory.available<1Mi,nodefs.available<1%,imagefs.available<1%",
            "--image-gc-high-threshold=100",
            "--image-gc-low-threshold=99",
            "--v=2",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap_or_else(|e| panic!("start the kubelet: {e}"));
    Kubelet(child)
}

fn manifest(image: &str, host_port: u16) -> String {
    format!(
        r#"apiVersion: v1
kind: Pod
metadata:
  name: e2e
  namespace: default
spec:
  terminationGracePeriodSeconds: 2
  volumes:
  - name: shared
    emptyDir: {{}}
  initContainers:
  - name: init
    image: {image}
    imagePullPolicy: Never
    command: ["sh", "-c", "echo made-by-init > /shared/index.html"]
    volumeMounts: [{{name: shared, mountPath: /shared}}]
  containers:
  - name: web
    image: {image}
    imagePullPolicy: Never
    command: ["httpd", "-f", "-p", "8080", "-h", "/shared"]
    ports: [{{containerPort: 8080, hostPort: {host_port}}}]
    volumeMounts: [{{name: shared, mountPath: /shared}}]
    lifecycle:
      postStart:
        exec: {{command: ["sh", "-c", "echo hooked > /shared/hook"]}}
  - name: client
    image: {image}
    imagePullPolicy: Never
    command: ["sh", "-c", "while true; do wget -q -O /shared/fetched http://127.0.0.1:8080/index.html && cat /shared/fetched; sleep 1; done"]
    volumeMounts: [{{name: shared, mountPath: /shared}}]
  - name: probed
    image: {image}
    imagePullPolicy: Never
    command: ["sh", "-c", "touch /tmp/healthy; sleep 4; rm /tmp/healthy; exec sleep 3600"]
    livenessProbe:
      exec: {{command: ["cat", "/tmp/healthy"]}}
      initialDelaySeconds: 1
      periodSeconds: 1
      failureThreshold: 1
"#
    )
}

/// The pod's containers named `name`, newest attempt last.
async fn attempts(c: &mut Cri, pod_uid: &str, name: &str) -> Vec<Container> {
    let mut found: Vec<Container> = list_containers(c, pod_uid)
        .await
        .into_iter()
        .filter(|ctr| ctr.labels.get("io.kubernetes.container.name") == Some(&name.to_string()))
        .collect();
    found.sort_by_key(|ctr| ctr.metadata.as_ref().map_or(0, |m| m.attempt));
    found
}

async fn list_containers(c: &mut Cri, pod_uid: &str) -> Vec<Container> {
    c.runtime
        .list_containers(ListContainersRequest {
            filter: Some(ContainerFilter {
                label_selector: HashMap::from([(
                    "io.kubernetes.pod.uid".to_string(),
                    pod_uid.to_string(),
                )]),
                ..Default::default()
            }),
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .into_inner()
        .containers
}

/// Polls `check` every 250 ms for up to `secs`; panics with `what` and the kubelet's last log
/// lines when it never holds.
async fn wait_for<T, F, Fut>(kube: &Kube, d: &Daemon, secs: u64, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    for _ in 0..secs * 4 {
        if let Some(v) = check().await {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    panic!(
        "{what} within {secs} s\n--- kubelet:\n{}\n--- berthd:\n{}",
        kubelet_log(kube),
        d.log()
    );
}

/// What the kubelet said that matters: its errors (klog `E`/`F` lines) and a panic's first
/// lines, then its last lines.
fn kubelet_log(kube: &Kube) -> String {
    let log = std::fs::read_to_string(kube.path("kubelet.log")).unwrap_or_default();
    let lines: Vec<&str> = log.lines().collect();
    let mut out: Vec<&str> = lines
        .iter()
        .filter(|l| l.starts_with('E') || l.starts_with('F'))
        .take(40)
        .copied()
        .collect();
    if let Some(at) = lines.iter().position(|l| l.starts_with("panic:")) {
        out.extend(lines.iter().skip(at).take(20));
    }
    out.push("...");
    out.extend(lines.iter().skip(lines.len().saturating_sub(30)));
    out.join("\n")
}

fn running(ctr: &Container) -> bool {
    ctr.state == ContainerState::ContainerRunning as i32
}

#[tokio::test]
async fn a_kubelet_runs_a_static_pod_and_removing_it_leaves_nothing() {
    let Some(kubelet_bin) = std::env::var_os("BERTH_TEST_KUBELET") else {
        eprintln!(
            "skipped: BERTH_TEST_KUBELET is not set (scripts/test.sh sets it from \
             scripts/build-k8s.sh)"
        );
        return;
    };
    let kube = Kube::new();
    let Some((d, _net)) = daemon_wrapped("bridge", None, kube.wrapper()) else {
        return;
    };
    let _cleanup = RemovePods(d.cri_socket.clone());
    let image = unique("busybox").replace('-', "");
    let image = format!("{image}:kubelet");
    import(&d, &image, "CMD [\"sh\"]");
    let node = unique("node");
    let host_port = free_port();
    let _kubelet = start_kubelet(&kubelet_bin, &kube, &d, &node);
    let manifest_path = kube.path("manifests/e2e.yaml");
    std::fs::write(&manifest_path, manifest(&image, host_port)).unwrap_or_else(|e| panic!("{e}"));
    let mut c = connect(&d.cri_socket).await;

    // The sandbox: a static pod is named after its node.
    let pod_name = format!("e2e-{node}");
    let pod = wait_for(&kube, &d, 90, "no ready pod sandbox", || {
        let mut c = c.clone();
        let pod_name = pod_name.clone();
        async move {
            let pods = c
                .runtime
                .list_pod_sandbox(ListPodSandboxRequest::default())
                .await
                .ok()?
                .into_inner()
                .items;
            pods.into_iter().find(|p| {
                p.state == PodSandboxState::SandboxReady as i32
                    && p.metadata.as_ref().is_some_and(|m| m.name == pod_name)
            })
        }
    })
    .await;
    let uid = pod.metadata.clone().unwrap_or_default().uid;
    let meta = pod.metadata.clone().unwrap_or_default();
    assert_eq!(meta.namespace, "default", "{pod:?}");

    // The init container ran to completion before the others started.
    let (web, client) = wait_for(&kube, &d, 90, "web and client not running", || {
        let mut c = c.clone();
        let uid = uid.clone();
        async move {
            let web = attempts(&mut c, &uid, "web").await.pop()?;
            let client = attempts(&mut c, &uid, "client").await.pop()?;
            (running(&web) && running(&client)).then_some((web, client))
        }
    })
    .await;
    let init = attempts(&mut c, &uid, "init").await;
    assert_eq!(init.len(), 1, "{init:?}");
    let init = container_status(&mut c, &init[0].id)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(init.exit_code, 0, "{init:?}");
    assert_eq!(init.state, ContainerState::ContainerExited as i32);
    let web_status = container_status(&mut c, &web.id)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        init.finished_at <= web_status.started_at,
        "init finished after web started: {init:?} {web_status:?}"
    );

    // The emptyDir, the postStart hook, and the pod's localhost shared by web and client.
    let shared = kube
        .path("root/pods")
        .join(&uid)
        .join("volumes/kubernetes.io~empty-dir/shared");
    let fetched = wait_for(&kube, &d, 30, "client fetched nothing", || {
        let file = shared.join("fetched");
        async move { std::fs::read_to_string(file).ok().filter(|s| !s.is_empty()) }
    })
    .await;
    assert_eq!(fetched, "made-by-init\n");
    let hook = std::fs::read_to_string(shared.join("hook")).unwrap_or_default();
    assert_eq!(hook, "hooked\n", "the postStart hook did not run");

    // The client's output in the CRI log format, where the kubelet looks for it.
    let log_file = kube
        .path("varlog/pods")
        .join(format!("default_{pod_name}_{uid}"))
        .join("client/0.log");
    let line = wait_for(&kube, &d, 30, "no client log line", || {
        let file = log_file.clone();
        async move {
            let log = std::fs::read_to_string(file).ok()?;
            log.lines().next().map(str::to_string)
        }
    })
    .await;
    let fields: Vec<&str> = line.splitn(4, ' ').collect();
    assert_eq!(fields[1..], ["stdout", "F", "made-by-init"], "{line:?}");
    let client = container_status(&mut c, &client.id)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let expected = Path::new("/var/log/pods").join(
        log_file
            .strip_prefix(kube.path("varlog/pods"))
            .unwrap_or(&log_file),
    );
    assert_eq!(Path::new(&client.log_path), expected);

    // The host port reaches web.
    let body = wait_for(&kube, &d, 30, "no answer on the host port", || async move {
        let mut s = tokio::net::TcpStream::connect(("127.0.0.1", host_port))
            .await
            .ok()?;
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        s.write_all(b"GET /index.html HTTP/1.0\r\n\r\n")
            .await
            .ok()?;
        let mut body = String::new();
        s.read_to_string(&mut body).await.ok()?;
        body.contains("made-by-init").then_some(body)
    })
    .await;
    assert!(
        body.lines().next().is_some_and(|l| l.ends_with(" 200 OK")),
        "{body}"
    );

    // The liveness probe (ExecSync) fails once /tmp/healthy is gone: the kubelet kills the
    // container and starts attempt 1.
    let restarted = wait_for(&kube, &d, 60, "probed was not restarted", || {
        let mut c = c.clone();
        let uid = uid.clone();
        async move {
            let all = attempts(&mut c, &uid, "probed").await;
            let newest = all.last()?;
            (all.len() >= 2 && running(newest)).then_some(all)
        }
    })
    .await;
    let first = container_status(&mut c, &restarted[0].id)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(first.state, ContainerState::ContainerExited as i32);
    // `exec sleep` is PID 1 of its namespace: SIGTERM is ignored, the grace period ends in
    // SIGKILL.
    assert_eq!(first.exit_code, 137, "{first:?}");
    let newest = restarted.last().and_then(|c| c.metadata.clone());
    assert!(newest.is_some_and(|m| m.attempt >= 1), "{restarted:?}");

    // Removing the manifest: the kubelet stops the pod and its garbage collection (every
    // minute) removes the containers and the sandbox.
    let pause_pid = pause_pid(
        &status(&mut c, &pod.id)
            .await
            .unwrap_or_else(|e| panic!("{e}")),
    );
    std::fs::remove_file(&manifest_path).unwrap_or_else(|e| panic!("{e}"));
    wait_for(&kube, &d, 150, "the pod was not removed", || {
        let mut c = c.clone();
        let uid = uid.clone();
        async move {
            let pods = list(&mut c, PodSandboxFilter::default()).await;
            (pods.is_empty() && list_containers(&mut c, &uid).await.is_empty()).then_some(())
        }
    })
    .await;
    assert!(!alive(pause_pid), "the pause outlived its pod");
    assert!(!netns_path(&d, &pod.id).exists(), "the pod's netns is left");
    // Mounts live in the namespace berthd shares with the kubelet.
    let berthd_pid = d.pid().unwrap_or_default();
    let mounts =
        std::fs::read_to_string(format!("/proc/{berthd_pid}/mountinfo")).unwrap_or_default();
    let root = d.root.path().display().to_string();
    let left: Vec<&str> = mounts.lines().filter(|l| l.contains(&root)).collect();
    assert!(left.is_empty(), "mounts left: {left:#?}");
    let nat = Command::new("iptables-save")
        .args(["-t", "nat"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    assert!(
        !nat.contains(&format!("--dport {host_port}")),
        "a rule for the host port is left: {nat}"
    );
    // The kubelet removes the pod's cgroup itself; nothing of the pod may keep it busy.
    wait_for(&kube, &d, 30, "the pod's cgroup is left", || {
        let pod_cgroup = format!("pod{uid}");
        let root = kube.cgroup_root.clone();
        async move {
            let left = hierarchies().into_iter().any(|h| {
                ["kubepods/besteffort", "kubepods/burstable", "kubepods"]
                    .iter()
                    .any(|qos| h.join(&root).join(qos).join(&pod_cgroup).exists())
            });
            (!left).then_some(())
        }
    })
    .await;
}
