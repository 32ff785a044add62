//! A pod's containers through the CRI: CreateContainer with command, env, working dir, a host
//! bind, labels and a log path; StartContainer in the pod's namespaces and cgroup parent, the
//! log in the CRI format; ListContainers' filters; ContainerStatus with exit reasons
//! (Completed, Error, OOMKilled); StopContainer's grace and idempotence; the CRI's error codes;
//! `docker ps` never lists them; stopping and removing the pod takes its containers along.

mod cri;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use berth_testkit::{eventually, free_port, unique};
use cri::*;

fn ns_of(pid: i32, ns: &str) -> PathBuf {
    std::fs::read_link(format!("/proc/{pid}/ns/{ns}")).unwrap_or_else(|e| panic!("{e}"))
}

/// The process running `sleep 1000 <marker>`, once the container's shell has exec'd it.
fn host_pid_with(marker: u16) -> i32 {
    let want = format!("sleep\01000\0{marker}\0");
    let find = || {
        std::fs::read_dir("/proc")
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
            .find(|pid| {
                std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| c == want.as_bytes())
            })
    };
    assert!(
        eventually(Duration::from_secs(10), || find().is_some()),
        "no process runs {want:?}"
    );
    find().unwrap_or_default()
}

#[tokio::test]
async fn a_container_runs_in_its_pods_namespaces_logs_in_cri_format_and_stops() {
    let Some((d, net, _cleanup, mut c, pod_id, sandbox)) = ready_pod("busybox:ctr").await else {
        return;
    };
    let pause = pause_pid(
        &status(&mut c, &pod_id)
            .await
            .unwrap_or_else(|e| panic!("{e}")),
    );
    let host_dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    // busybox's sleep adds up its arguments: a unique number marks the process.
    let marker = free_port();
    let mut config = container_config(
        "web",
        "busybox:ctr",
        &format!(
            "echo out; echo err >&2; cat /etc/hostname; pwd; echo $GREETING > /data/hello; \
             exec sleep 1000 {marker}"
        ),
    );
    config.working_dir = "/tmp".into();
    config.envs = vec![KeyValue {
        key: "GREETING".into(),
        value: "hi from the pod".into(),
    }];
    config.mounts = vec![Mount {
        container_path: "/data".into(),
        host_path: host_dir.path().display().to_string(),
        ..Default::default()
    }];
    let id = create(&mut c, &pod_id, &sandbox, config.clone())
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", d.log()));
    let s = container_status(&mut c, &id)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.state, ContainerState::ContainerCreated as i32, "{s:?}");
    assert_eq!(s.metadata.as_ref().map(|m| m.name.as_str()), Some("web"));
    assert_eq!(s.labels.get("tier").map(String::as_str), Some("web"));
    assert_eq!(s.started_at, 0);

    // The kubelet's retry of the same create: the name is taken.
    assert_code(
        create(&mut c, &pod_id, &sandbox, config.clone()).await,
        Code::AlreadyExists,
        "web",
    );

    start(&mut c, &id)
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", d.log()));
    let s = container_status(&mut c, &id)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.state, ContainerState::ContainerRunning as i32, "{s:?}");
    assert!(s.started_at > 0);
    let pid = host_pid_with(marker);
    for ns in ["net", "ipc", "uts", "pid"] {
        assert_eq!(ns_of(pid, ns), ns_of(pause, ns), "{ns} namespace");
    }
    assert_ne!(ns_of(pid, "mnt"), ns_of(pause, "mnt"));
    let cgroup = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap_or_default();
    assert!(cgroup.contains(&net.cgroup_parent), "{cgroup}");
    assert!(
        eventually(Duration::from_secs(10), || host_dir
            .path()
            .join("hello")
            .exists()),
        "the bind mount was not written"
    );
    assert_eq!(
        std::fs::read_to_string(host_dir.path().join("hello")).unwrap_or_default(),
        "hi from the pod\n"
    );

    let log = Path::new(&sandbox.log_directory).join("web/0.log");
    assert!(
        eventually(Duration::from_secs(10), || std::fs::read_to_string(&log)
            .is_ok_and(|l| l.lines().count() >= 4)),
        "no log at {}",
        log.display()
    );
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    let lines: Vec<(&str, &str)> = text
        .lines()
        .map(|l| {
            let mut parts = l.splitn(4, ' ');
            let time = parts.next().unwrap_or_default();
            assert!(
                chrono::DateTime::parse_from_rfc3339(time).is_ok(),
                "time {time:?} in {l:?}"
            );
            let stream = parts.next().unwrap_or_default();
            assert_eq!(parts.next(), Some("F"), "{l:?}");
            (stream, parts.next().unwrap_or_default())
        })
        .collect();
    for want in [
        ("stdout", "out"),
        ("stderr", "err"),
        ("stdout", "pod-host"),
        ("stdout", "/tmp"),
    ] {
        assert!(lines.contains(&want), "{want:?} not in {text}");
    }

    // Filters: by pod, state, label, id prefix.
    let all = containers(&mut c, ContainerFilter::default()).await;
    assert_eq!(all, vec![id.clone()]);
    let by = |f: ContainerFilter| f;
    assert_eq!(
        containers(
            &mut c,
            by(ContainerFilter {
                id: id[..12].into(),
                pod_sandbox_id: pod_id.clone(),
                state: Some(ContainerStateValue {
                    state: ContainerState::ContainerRunning.into(),
                }),
                label_selector: HashMap::from([("tier".to_string(), "web".to_string())]),
            })
        )
        .await,
        vec![id.clone()]
    );
    for miss in [
        ContainerFilter {
            pod_sandbox_id: "nope".into(),
            ..Default::default()
        },
        ContainerFilter {
            state: Some(ContainerStateValue {
                state: ContainerState::ContainerExited.into(),
            }),
            ..Default::default()
        },
        ContainerFilter {
            label_selector: HashMap::from([("tier".to_string(), "db".to_string())]),
            ..Default::default()
        },
    ] {
        assert!(
            containers(&mut c, miss.clone()).await.is_empty(),
            "{miss:?}"
        );
    }
    // Docker's API does not see the pod's containers.
    assert_eq!(d.berth(&["ps", "-a", "-q"]).ok().text(), "");

    // Stop: SIGTERM ends `sh` (not PID 1: pause is), exit 143 is an error.
    c.runtime
        .stop_container(StopContainerRequest {
            container_id: id.clone(),
            timeout: 10,
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let s = exited(&mut c, &id).await;
    assert_eq!((s.exit_code, s.reason.as_str()), (143, "Error"), "{s:?}");
    assert!(s.finished_at >= s.started_at);
    // Stop again: success. Start again: a pod's container runs once.
    c.runtime
        .stop_container(StopContainerRequest {
            container_id: id.clone(),
            timeout: 0,
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_code(start(&mut c, &id).await, Code::FailedPrecondition, "");

    for _ in 0..2 {
        c.runtime
            .remove_container(RemoveContainerRequest {
                container_id: id.clone(),
            })
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    assert_code(container_status(&mut c, &id).await, Code::NotFound, "");
    assert!(containers(&mut c, ContainerFilter::default())
        .await
        .is_empty());
    stop(&mut c, &pod_id).await;
    remove(&mut c, &pod_id).await;
}

#[tokio::test]
async fn exit_reasons_errors_and_the_pods_stop_and_remove_take_its_containers() {
    let Some((d, _net, _cleanup, mut c, pod_id, sandbox)) = ready_pod("busybox:reasons").await
    else {
        return;
    };

    let mut done = container_config("done", "busybox:reasons", "exit 0");
    if let Some(sc) = done
        .linux
        .as_mut()
        .and_then(|l| l.security_context.as_mut())
    {
        sc.run_as_user = Some(Int64Value { value: 1234 });
        sc.run_as_group = Some(Int64Value { value: 5678 });
        sc.supplemental_groups = vec![42];
        sc.supplemental_groups_policy = SupplementalGroupsPolicy::Strict.into();
    }
    let done = create(&mut c, &pod_id, &sandbox, done)
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", d.log()));
    let failed = create(
        &mut c,
        &pod_id,
        &sandbox,
        container_config("failed", "busybox:reasons", "exit 3"),
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let mut hungry = container_config(
        "hungry",
        "busybox:reasons",
        // Grows a shell variable far past the limit.
        "x=a; while true; do x=$x$x; done",
    );
    if let Some(linux) = hungry.linux.as_mut() {
        linux.resources = Some(LinuxContainerResources {
            memory_limit_in_bytes: 16 << 20,
            ..Default::default()
        });
    }
    let hungry = create(&mut c, &pod_id, &sandbox, hungry)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let running = create(
        &mut c,
        &pod_id,
        &sandbox,
        container_config("running", "busybox:reasons", "exec sleep 600"),
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    for id in [&done, &failed, &hungry, &running] {
        start(&mut c, id)
            .await
            .unwrap_or_else(|e| panic!("{e}\n{}", d.log()));
    }
    let s = exited(&mut c, &done).await;
    assert_eq!((s.exit_code, s.reason.as_str()), (0, "Completed"), "{s:?}");
    let user = s.user.and_then(|u| u.linux).unwrap_or_default();
    assert_eq!(
        (user.uid, user.gid, user.supplemental_groups),
        (1234, 5678, vec![5678, 42])
    );
    let s = exited(&mut c, &failed).await;
    assert_eq!((s.exit_code, s.reason.as_str()), (3, "Error"), "{s:?}");
    let s = exited(&mut c, &hungry).await;
    assert_eq!(
        (s.exit_code, s.reason.as_str()),
        (137, "OOMKilled"),
        "{s:?}"
    );

    // The CRI's errors.
    assert_code(
        create(
            &mut c,
            "0123456789abcdef",
            &sandbox,
            container_config("lost", "busybox:reasons", "true"),
        )
        .await,
        Code::NotFound,
        "0123456789abcdef",
    );
    assert_code(
        create(
            &mut c,
            &pod_id,
            &sandbox,
            container_config("absent", "busybox:absent", "true"),
        )
        .await,
        Code::NotFound,
        "busybox:absent",
    );
    assert_code(start(&mut c, "absent").await, Code::NotFound, "absent");
    assert_code(
        container_status(&mut c, "absent").await,
        Code::NotFound,
        "absent",
    );
    c.runtime
        .stop_container(StopContainerRequest {
            container_id: "absent".into(),
            timeout: 1,
        })
        .await
        .unwrap_or_else(|e| panic!("stop of an unknown container: {e}"));

    // Stopping the pod kills what runs in it; removing it removes its containers.
    stop(&mut c, &pod_id).await;
    let s = exited(&mut c, &running).await;
    assert_eq!(s.exit_code, 137, "{s:?}");
    assert_eq!(
        containers(&mut c, ContainerFilter::default()).await.len(),
        4
    );
    remove(&mut c, &pod_id).await;
    assert!(containers(&mut c, ContainerFilter::default())
        .await
        .is_empty());
    let left = std::fs::read_dir(d.root.path().join("containers"))
        .map(|dir| dir.count())
        .unwrap_or(0);
    assert_eq!(left, 0, "container directories left");
}

#[tokio::test]
async fn resources_update_live_and_the_log_reopens_after_the_kubelets_rotation() {
    let Some((d, net, _cleanup, mut c, pod_id, sandbox)) = ready_pod("busybox:update").await else {
        return;
    };
    let id = create(
        &mut c,
        &pod_id,
        &sandbox,
        container_config(
            "ticker",
            "busybox:update",
            "i=0; while true; do i=$((i+1)); echo tick $i; sleep 0.1; done",
        ),
    )
    .await
    .unwrap_or_else(|e| panic!("{e}\n{}", d.log()));
    // Not running: the log cannot be reopened.
    assert_code(
        c.runtime
            .reopen_container_log(ReopenContainerLogRequest {
                container_id: id.clone(),
            })
            .await,
        Code::FailedPrecondition,
        "not running",
    );
    start(&mut c, &id)
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", d.log()));

    let limit: i64 = 96 << 20;
    c.runtime
        .update_container_resources(UpdateContainerResourcesRequest {
            container_id: id.clone(),
            linux: Some(LinuxContainerResources {
                memory_limit_in_bytes: limit,
                cpu_shares: 512,
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", d.log()));
    let dirs = berth_testkit::cgroup_dirs(&net.cgroup_parent, &id);
    let read = |file: &str| {
        dirs.iter()
            .find_map(|dir| std::fs::read_to_string(dir.join(file)).ok())
            .unwrap_or_else(|| panic!("no {file} in {dirs:?}"))
    };
    // cgroup v1 here, v2 in the guests.
    let memory = if dirs.iter().any(|d| d.join("memory.max").exists()) {
        read("memory.max")
    } else {
        read("memory.limit_in_bytes")
    };
    assert_eq!(memory.trim(), limit.to_string());
    let s = container_status(&mut c, &id)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let r = s.resources.and_then(|r| r.linux).unwrap_or_default();
    assert_eq!((r.memory_limit_in_bytes, r.cpu_shares), (limit, 512));

    // The kubelet's rotation: rename, then reopen; new lines go to a new file at the path.
    let log = Path::new(&sandbox.log_directory).join("ticker/0.log");
    assert!(eventually(Duration::from_secs(10), || log.exists()));
    let rotated = log.with_extension("log.1");
    std::fs::rename(&log, &rotated).unwrap_or_else(|e| panic!("{e}"));
    c.runtime
        .reopen_container_log(ReopenContainerLogRequest {
            container_id: id.clone(),
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        eventually(Duration::from_secs(10), || std::fs::read_to_string(&log)
            .is_ok_and(|l| l.contains(" stdout F tick "))),
        "nothing written after the reopen"
    );
    let before = std::fs::read_to_string(&rotated).unwrap_or_default();
    let after = std::fs::read_to_string(&log).unwrap_or_default();
    let last = |text: &str, first: bool| -> u64 {
        let mut ticks = text
            .lines()
            .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok());
        if first {
            ticks.next().unwrap_or_default()
        } else {
            ticks.next_back().unwrap_or_default()
        }
    };
    assert_eq!(
        last(&after, true),
        last(&before, false) + 1,
        "a line lost or repeated across the rotation"
    );
    stop(&mut c, &pod_id).await;
    remove(&mut c, &pod_id).await;
}

/// A privileged pod and container get every capability the host can grant (this VM's
/// bounding set lacks some: asking for more fails in capset).
#[tokio::test]
async fn a_privileged_pod_and_container_get_the_hosts_capabilities() {
    let Some((d, net)) = daemon("bridge", None) else {
        return;
    };
    let _cleanup = RemovePods(d.cri_socket.clone());
    let mut c = connect(&d.cri_socket).await;
    import(&d, "busybox:privileged", "CMD [\"sh\"]");
    let mut sandbox = pod_config(&net, free_port());
    let logs = d.root.path().join(unique("pod-logs"));
    sandbox.log_directory = logs.display().to_string();
    let privileged = |sc: &mut Option<LinuxSandboxSecurityContext>| {
        sc.get_or_insert_with(Default::default).privileged = true;
    };
    privileged(
        &mut sandbox
            .linux
            .get_or_insert_with(Default::default)
            .security_context,
    );
    let (pod_id, _) = run_ready(&mut c, &d, &sandbox).await;
    let mut config = container_config(
        "privileged",
        "busybox:privileged",
        "grep CapEff /proc/self/status",
    );
    if let Some(linux) = config.linux.as_mut() {
        linux
            .security_context
            .get_or_insert_with(Default::default)
            .privileged = true;
    }
    let id = create_started(&d, &mut c, &pod_id, &sandbox, config).await;
    let s = exited(&mut c, &id).await;
    assert_eq!(s.exit_code, 0, "{s:?}");
    let own = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let bounding = own
        .lines()
        .find_map(|l| l.strip_prefix("CapBnd:"))
        .unwrap_or_default()
        .trim()
        .to_string();
    let log = std::fs::read_to_string(logs.join("privileged/0.log")).unwrap_or_default();
    assert!(
        log.contains(&format!("CapEff:\t{bounding}")),
        "{log} (bounding set {bounding})"
    );
    stop(&mut c, &pod_id).await;
    remove(&mut c, &pod_id).await;
}

/// A `kill -9` of berthd: a running container keeps running and is watched again, one that
/// exited meanwhile is EXITED with its code; both stop and go with their pod.
#[tokio::test]
async fn containers_survive_a_crash_of_berthd() {
    let Some((mut d, _net, _cleanup, mut c, pod_id, sandbox)) = ready_pod("busybox:crash").await
    else {
        return;
    };
    let marker = free_port();
    let mut ids = Vec::new();
    for (name, script) in [
        ("kept", format!("exec sleep 1000 {marker}")),
        // Exits once the test removes the file, while berthd is down.
        (
            "gone",
            "touch /tmp/hold; while [ -e /tmp/hold ]; do sleep 0.1; done; exit 7".into(),
        ),
    ] {
        let id = create(
            &mut c,
            &pod_id,
            &sandbox,
            container_config(name, "busybox:crash", &script),
        )
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", d.log()));
        start(&mut c, &id)
            .await
            .unwrap_or_else(|e| panic!("{e}\n{}", d.log()));
        ids.push(id);
    }
    let [kept, gone] = &ids[..] else {
        unreachable!()
    };
    let kept_pid = host_pid_with(marker);
    let hold = || {
        std::fs::read_dir("/proc")
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
            .map(|pid| PathBuf::from(format!("/proc/{pid}/root/tmp/hold")))
            .find(|p| p.exists())
    };
    assert!(eventually(Duration::from_secs(10), || hold().is_some()));
    drop(c);

    d.kill9();
    if let Some(path) = hold() {
        std::fs::remove_file(path).unwrap_or_else(|e| panic!("{e}"));
    }
    d.spawn();

    let mut c = connect(&d.cri_socket).await;
    let s = container_status(&mut c, kept)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.state, ContainerState::ContainerRunning as i32, "{s:?}");
    assert!(std::fs::metadata(format!("/proc/{kept_pid}")).is_ok());
    let s = exited(&mut c, gone).await;
    assert_eq!(
        (s.exit_code, s.reason.as_str()),
        (7, "Error"),
        "{s:?}\n{}",
        d.log()
    );
    // Watched again: its stop is seen.
    c.runtime
        .stop_container(StopContainerRequest {
            container_id: kept.clone(),
            timeout: 5,
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let s = exited(&mut c, kept).await;
    assert_eq!(s.exit_code, 143, "{s:?}");
    stop(&mut c, &pod_id).await;
    remove(&mut c, &pod_id).await;
    assert!(containers(&mut c, ContainerFilter::default())
        .await
        .is_empty());
}

/// crictl by hand, as an operator drives a node: runp, create, start, exec (with stdin), logs
/// (and `-f` until the container ends), stats, inspect, port-forward to a server in the pod,
/// stop, rm, stopp, rmp -f. Needs crictl (`BERTH_TEST_CRICTL`, set by scripts/test.sh).
#[tokio::test]
async fn crictl_drives_a_pods_container_by_hand() {
    let Some((d, net)) = daemon("bridge", None) else {
        return;
    };
    let Some(cli) = Crictl::for_socket(&d.cri_socket) else {
        return;
    };
    let _cleanup = RemovePods(d.cri_socket.clone());
    import(&d, "busybox:crictl", "CMD [\"sh\"]");
    let crictl = |args: &[&str], stdin: Option<&[u8]>| match stdin {
        Some(stdin) => cli.run_with_stdin(args, stdin),
        None => cli.run(args),
    };
    let write = |name: &str, json: serde_json::Value| {
        let path = d.root.path().join(name);
        std::fs::write(&path, json.to_string()).unwrap_or_else(|e| panic!("{e}"));
        path.display().to_string()
    };
    let logs = d.root.path().join(unique("crictl-logs"));
    let pod = write(
        "pod.json",
        serde_json::json!({
            "metadata": { "name": unique("pod"), "namespace": "berth-test", "uid": unique("uid"), "attempt": 1 },
            "log_directory": logs,
            "linux": { "cgroup_parent": format!("/{}", net.cgroup_parent) },
        }),
    );
    let port = 8080;
    let ctr = write(
        "ctr.json",
        serde_json::json!({
            "metadata": { "name": "web" },
            "image": { "image": "busybox:crictl" },
            "command": ["sh", "-c",
                format!("echo started; for i in 1 2 3; do echo tick $i; done; \
                         while true; do echo served | nc -l -p {port}; done")],
            "log_path": "web.log",
        }),
    );
    let id = crictl(&["run", "--no-pull", &ctr, &pod], None)
        .ok()
        .stdout
        .trim()
        .to_string();
    assert_eq!(id.len(), 64, "{id:?}\n{}", d.log());
    let pod_id = crictl(&["pods", "-q"], None).ok().stdout.trim().to_string();
    let ps = crictl(&["ps", "-q", "--pod", &pod_id], None).ok();
    assert_eq!(ps.stdout.trim(), id);

    let exec = crictl(&["exec", &id, "cat", "/etc/hostname"], None).ok();
    assert!(!exec.stdout.trim().is_empty(), "{exec:?}");
    let echoed = crictl(&["exec", "-i", &id, "cat"], Some(b"through stdin\n")).ok();
    assert_eq!(echoed.stdout, "through stdin\n");
    let failed = crictl(&["exec", &id, "sh", "-c", "exit 3"], None);
    assert_ne!(failed.code, 0, "{failed:?}");

    let logged = |text: &str| {
        let out = crictl(&["logs", &id], None).ok();
        out.stdout.contains(text)
    };
    assert!(
        eventually(Duration::from_secs(10), || logged("tick 3")),
        "{:?}",
        crictl(&["logs", &id], None)
    );
    let inspect = crictl(&["inspect", &id], None).ok();
    let json: serde_json::Value =
        serde_json::from_str(&inspect.stdout).unwrap_or_else(|e| panic!("{e}: {inspect:?}"));
    assert_eq!(json["status"]["state"], "CONTAINER_RUNNING", "{json}");
    let stats = crictl(&["stats", "--id", &id], None).ok();
    assert!(stats.stdout.contains(&id[..13]), "{stats:?}");

    // port-forward: crictl listens on the host's loopback and tunnels to the pod's port.
    let local = free_port();
    let mut forward = cli
        .command(&["port-forward", &pod_id, &format!("{local}:{port}")])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("crictl port-forward: {e}"));
    let mut got = String::new();
    let served = eventually(Duration::from_secs(15), || {
        use std::io::Read;
        got.clear();
        std::net::TcpStream::connect(("127.0.0.1", local))
            .and_then(|mut s| s.read_to_string(&mut got))
            .is_ok()
            && got.contains("served")
    });
    let _ = forward.kill();
    let _ = forward.wait();
    assert!(served, "port-forward got {got:?}");

    crictl(&["stop", "--timeout", "2", &id], None).ok();
    let exited = crictl(&["ps", "-a", "-q", "--state", "exited"], None).ok();
    assert_eq!(exited.stdout.trim(), id);
    // logs -f of an exited container prints everything and ends.
    let follow = crictl(&["logs", "-f", &id], None).ok();
    assert!(follow.stdout.contains("started"), "{follow:?}");
    crictl(&["rm", &id], None).ok();
    assert_eq!(crictl(&["ps", "-a", "-q"], None).ok().stdout.trim(), "");
    crictl(&["stopp", &pod_id], None).ok();
    crictl(&["rmp", "-f", &pod_id], None).ok();
    assert_eq!(crictl(&["pods", "-q"], None).ok().stdout.trim(), "");
}

/// A `kill -9` of berthd at points spread over CreateContainer: after the restart each
/// container is whole (CREATED, and it starts) or absent, and once the pod is removed no
/// snapshot, container directory or mount of theirs is left (the directory of a create cut off
/// before its record was stored goes at the restart).
#[tokio::test]
async fn a_crash_during_create_container_leaves_it_whole_or_absent() {
    let Some((mut d, _net, _cleanup, mut c, pod_id, sandbox)) =
        ready_pod("busybox:crash-create").await
    else {
        return;
    };
    let entries = |dir: PathBuf| -> Vec<String> {
        std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect()
    };
    let snapshot_dir = d.data_root().join("overlay/snapshots");
    let snapshots = || entries(snapshot_dir.clone());
    let images_only = snapshots();
    for delay in [0, 2, 5, 10, 20, 40] {
        let mut creating = c.clone();
        let (pod_id, sandbox) = (pod_id.clone(), sandbox.clone());
        let name = unique("crash-create");
        let config = container_config(&name, "busybox:crash-create", "exec sleep 1000");
        let request =
            tokio::spawn(async move { create(&mut creating, &pod_id, &sandbox, config).await });
        tokio::time::sleep(Duration::from_millis(delay)).await;
        d.kill9();
        let _ = request.await;
        d.spawn();
        c = connect(&d.cri_socket).await;
        let filter = ContainerFilter {
            label_selector: HashMap::from([("tier".to_string(), name.clone())]),
            ..Default::default()
        };
        for id in containers(&mut c, filter).await {
            let s = container_status(&mut c, &id)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(s.state, ContainerState::ContainerCreated as i32, "{s:?}");
            start(&mut c, &id)
                .await
                .unwrap_or_else(|e| panic!("start {id} after the crash: {e}\n{}", d.log()));
        }
    }
    // The window between a create's directory and its record is too short to hit reliably:
    // what a crash there leaves is made by hand, and the restart must remove it.
    d.kill9();
    let stray = "f".repeat(64);
    for root in [d.data_root(), d.exec_root()] {
        std::fs::create_dir_all(root.join("containers").join(&stray).join("sub"))
            .expect("make a stray container directory");
    }
    d.spawn();
    c = connect(&d.cri_socket).await;
    stop(&mut c, &pod_id).await;
    remove(&mut c, &pod_id).await;
    assert!(containers(&mut c, ContainerFilter::default())
        .await
        .is_empty());
    assert_eq!(snapshots(), images_only, "container snapshots left");
    assert_eq!(
        entries(d.data_root().join("containers")),
        Vec::<String>::new()
    );
    assert_eq!(
        entries(d.exec_root().join("containers")),
        Vec::<String>::new()
    );
    assert_eq!(d.leaked_mounts(), Vec::<String>::new(), "mounts left");
}

/// A pod with its own user namespace (CRI mode POD): pause makes it with the pod's mappings,
/// the container joins it and sees the image's files owned by its root through the id-mapped
/// layers, and on the host its processes run as the mapped ids.
#[tokio::test]
async fn a_pod_with_its_own_user_namespace_maps_its_containers_ids() {
    let Some((d, net)) = daemon("bridge", None) else {
        return;
    };
    let _cleanup = RemovePods(d.cri_socket.clone());
    let mut c = connect(&d.cri_socket).await;
    const HOST_ID: u32 = 231_072;
    let mapping = vec![IdMapping {
        container_id: 0,
        host_id: HOST_ID,
        length: 65536,
    }];
    let own_userns = |options: NamespaceOption| {
        let mut config = pod_config(&net, free_port());
        if let Some(sec) = config
            .linux
            .as_mut()
            .and_then(|l| l.security_context.as_mut())
        {
            sec.namespace_options = Some(NamespaceOption {
                userns_options: Some(UserNamespace {
                    mode: NamespaceMode::Pod.into(),
                    uids: mapping.clone(),
                    gids: mapping.clone(),
                }),
                ..options
            });
        }
        config
    };
    // Not with one of the host's namespaces (the kubelet's API validation refuses it too).
    let node = i32::from(NamespaceMode::Node);
    for (options, which) in [
        (
            NamespaceOption {
                network: node,
                ..Default::default()
            },
            "network",
        ),
        (
            NamespaceOption {
                ipc: node,
                ..Default::default()
            },
            "IPC",
        ),
        (
            NamespaceOption {
                pid: node,
                ..Default::default()
            },
            "PID",
        ),
    ] {
        let err = run_pod(&mut c, &own_userns(options))
            .await
            .expect_err("a pod with its own user namespace and a host namespace ran");
        assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
        let want = format!("user namespace cannot go with the host's {which} namespace");
        assert!(err.message().contains(&want), "{err:?}");
    }
    assert!(list(&mut c, PodSandboxFilter::default()).await.is_empty());
    let features = c
        .runtime
        .status(StatusRequest { verbose: false })
        .await
        .map(|r| r.into_inner().runtime_handlers)
        .unwrap_or_else(|e| panic!("{e}"));
    if !features
        .iter()
        .any(|h| h.features.as_ref().is_some_and(|f| f.user_namespaces))
    {
        eprintln!("skipped: this kernel has no overlayfs over id-mapped layers (5.19)");
        return;
    }
    import(&d, "busybox:userns", "CMD [\"sh\"]");
    let (pod_id, sandbox) = pod_from(&d, &mut c, own_userns(NamespaceOption::default())).await;
    let s = status(&mut c, &pod_id)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let reported = s
        .status
        .as_ref()
        .and_then(|s| s.linux.as_ref())
        .and_then(|l| l.namespaces.as_ref())
        .and_then(|n| n.options.as_ref())
        .and_then(|o| o.userns_options.clone())
        .unwrap_or_default();
    assert_eq!(reported.uids, mapping, "{s:?}");
    let pause = pause_pid(&s);
    let own_pid = i32::try_from(std::process::id()).unwrap_or_else(|e| panic!("{e}"));
    assert_ne!(ns_of(pause, "user"), ns_of(own_pid, "user"));
    let pause_map = std::fs::read_to_string(format!("/proc/{pause}/uid_map")).unwrap_or_default();
    assert_eq!(
        pause_map.split_whitespace().collect::<Vec<_>>(),
        ["0", "231072", "65536"]
    );

    let marker = free_port();
    let mut config = container_config(
        "mapped",
        "busybox:userns",
        &format!(
            "cat /proc/self/uid_map; echo owner $(stat -c %u:%g /bin/busybox); \
             touch /written && echo wrote $(stat -c %u:%g /written); \
             echo mapped $(stat -c %u:%g /data/f); exec sleep 1000 {marker}"
        ),
    );
    // An id-mapped host path (the kubelet's for such a pod): host root's file is the
    // container root's.
    let host_dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(host_dir.path().join("f"), "x").unwrap_or_else(|e| panic!("{e}"));
    config.mounts = vec![Mount {
        container_path: "/data".into(),
        host_path: host_dir.path().display().to_string(),
        uid_mappings: mapping.clone(),
        gid_mappings: mapping.clone(),
        ..Default::default()
    }];
    if let Some(ns) = config
        .linux
        .as_mut()
        .and_then(|l| l.security_context.as_mut())
        .and_then(|s| s.namespace_options.as_mut())
    {
        ns.userns_options = Some(reported.clone());
    }
    let id = create(&mut c, &pod_id, &sandbox, config)
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", d.log()));
    start(&mut c, &id)
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", d.log()));
    let pid = host_pid_with(marker);
    assert!(pid > 0, "the container's sleep is not running\n{}", d.log());
    for ns in ["user", "net", "ipc", "uts", "pid"] {
        assert_eq!(ns_of(pid, ns), ns_of(pause, ns), "{ns} namespace");
    }
    // The container's root is the mapped host id.
    use std::os::unix::fs::MetadataExt;
    let owner = std::fs::metadata(format!("/proc/{pid}")).map(|m| m.uid());
    assert_eq!(owner.ok(), Some(HOST_ID));

    let log = Path::new(&sandbox.log_directory).join("mapped/0.log");
    assert!(
        eventually(Duration::from_secs(10), || std::fs::read_to_string(&log)
            .is_ok_and(|l| l.contains("mapped"))),
        "no log at {}\n{}",
        log.display(),
        d.log()
    );
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        text.lines().any(|l| l
            .split_whitespace()
            .rev()
            .take(3)
            .eq(["65536", "231072", "0"])),
        "{text}"
    );
    // Image files (host root's on disk) and new files alike belong to the container's root.
    assert!(text.contains("owner 0:0"), "{text}");
    assert!(text.contains("wrote 0:0"), "{text}");
    assert!(text.contains("mapped 0:0"), "{text}");
    stop(&mut c, &pod_id).await;
    remove(&mut c, &pod_id).await;
}
