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

async fn container_status(c: &mut Cri, id: &str) -> Result<ContainerStatus, Status> {
    c.runtime
        .container_status(ContainerStatusRequest {
            container_id: id.into(),
            verbose: false,
        })
        .await
        .map(|r| r.into_inner().status.unwrap_or_default())
}

async fn containers(c: &mut Cri, filter: ContainerFilter) -> Vec<String> {
    let mut ids: Vec<String> = c
        .runtime
        .list_containers(ListContainersRequest {
            filter: Some(filter),
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .into_inner()
        .containers
        .into_iter()
        .map(|c| c.id)
        .collect();
    ids.sort();
    ids
}

/// Waits until the container has exited; its final status.
async fn exited(c: &mut Cri, id: &str) -> ContainerStatus {
    for _ in 0..300 {
        let s = container_status(c, id)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        if s.state == ContainerState::ContainerExited as i32 {
            return s;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("container {id} never exited");
}

fn ns_of(pid: i32, ns: &str) -> PathBuf {
    std::fs::read_link(format!("/proc/{pid}/ns/{ns}")).unwrap_or_else(|e| panic!("{e}"))
}

/// The process running `sleep 1000 <marker>`.
fn host_pid_with(marker: u16) -> i32 {
    let want = format!("sleep\01000\0{marker}\0");
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .find(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| c == want.as_bytes())
        })
        .unwrap_or_else(|| panic!("no process runs {want:?}"))
}

#[tokio::test]
async fn a_container_runs_in_its_pods_namespaces_logs_in_cri_format_and_stops() {
    let Some((d, net)) = daemon("bridge", None) else {
        return;
    };
    let _cleanup = RemovePods(d.cri_socket.clone());
    let mut c = connect(&d.cri_socket).await;
    import(&d, "busybox:ctr", "CMD [\"sh\"]");
    let (pod_id, sandbox) = pod_with_logs(&d, &net, &mut c).await;
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
    let Some((d, net)) = daemon("bridge", None) else {
        return;
    };
    let _cleanup = RemovePods(d.cri_socket.clone());
    let mut c = connect(&d.cri_socket).await;
    import(&d, "busybox:reasons", "CMD [\"sh\"]");
    let (pod_id, sandbox) = pod_with_logs(&d, &net, &mut c).await;

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
    let Some((d, net)) = daemon("bridge", None) else {
        return;
    };
    let _cleanup = RemovePods(d.cri_socket.clone());
    let mut c = connect(&d.cri_socket).await;
    import(&d, "busybox:update", "CMD [\"sh\"]");
    let (pod_id, sandbox) = pod_with_logs(&d, &net, &mut c).await;
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
    let id = create(&mut c, &pod_id, &sandbox, config)
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", d.log()));
    start(&mut c, &id)
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", d.log()));
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
