//! The CRI's stats and events: ContainerStats and PodSandboxStats of a pod whose container
//! burns CPU, holds memory and writes a file (the CPU counter grows, the rate comes on the
//! second sample, the working set covers the allocation, the writable layer the file, the
//! pod's eth0 counts the traffic); ListContainerStats' filters and a created container's
//! stats without cpu or memory; NotFound for unknown ids; GetContainerEvents streaming a
//! pod's and its container's lives in order; the Stream* RPCs sending what the List RPCs
//! return; the RPCs berth answers Unimplemented or leaves as they are.

mod cri;

use std::collections::HashMap;
use std::time::Duration;

use cri::*;

/// What the busy container holds in a shell variable.
const ALLOCATION: u64 = 32 << 20;
/// What it writes to its root filesystem.
const WRITTEN: u64 = 4 << 20;

async fn container_stats(c: &mut Cri, id: &str) -> Result<ContainerStats, Status> {
    c.runtime
        .container_stats(ContainerStatsRequest {
            container_id: id.into(),
        })
        .await
        .map(|r| r.into_inner().stats.unwrap_or_default())
}

async fn list_container_stats(c: &mut Cri, filter: ContainerStatsFilter) -> Vec<String> {
    let mut ids: Vec<String> = c
        .runtime
        .list_container_stats(ListContainerStatsRequest {
            filter: Some(filter),
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .into_inner()
        .stats
        .into_iter()
        .filter_map(|s| s.attributes.map(|a| a.id))
        .collect();
    ids.sort();
    ids
}

fn counter(v: Option<&UInt64Value>) -> u64 {
    v.map(|v| v.value).unwrap_or_default()
}

fn cpu_ns(s: &ContainerStats) -> u64 {
    counter(
        s.cpu
            .as_ref()
            .and_then(|c| c.usage_core_nano_seconds.as_ref()),
    )
}

fn working_set(s: &ContainerStats) -> u64 {
    counter(s.memory.as_ref().and_then(|m| m.working_set_bytes.as_ref()))
}

fn layer_bytes(s: &ContainerStats) -> u64 {
    counter(
        s.writable_layer
            .as_ref()
            .and_then(|l| l.used_bytes.as_ref()),
    )
}

/// Samples until the container holds its allocation and its file.
async fn settled(c: &mut Cri, id: &str) -> ContainerStats {
    for _ in 0..300 {
        let s = container_stats(c, id)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        if working_set(&s) > ALLOCATION && layer_bytes(&s) >= WRITTEN {
            return s;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("container {id} never held {ALLOCATION} bytes and its file");
}

#[tokio::test]
async fn a_busy_container_and_its_pod_report_cpu_memory_layer_and_network() {
    let Some((d, net, _cleanup, mut c, pod_id, sandbox)) = ready_pod("busybox:stats").await else {
        return;
    };
    // Traffic to the bridge's gateway (ARP at least, even if ping may not run), a file on the
    // root filesystem, a string held in memory, then a busy loop.
    let script = format!(
        "ping -c 2 -W 1 {gateway}1 >/dev/null 2>&1; head -c {WRITTEN} /dev/urandom > /written; \
         x=$(head -c {ALLOCATION} /dev/zero | tr '\\0' a); while :; do :; done",
        gateway = net.prefix,
    );
    let busy = create(
        &mut c,
        &pod_id,
        &sandbox,
        container_config("burn", "busybox:stats", &script),
    )
    .await
    .unwrap_or_else(|e| panic!("{e}\n{}", d.log()));
    start(&mut c, &busy)
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", d.log()));
    let idle = create(
        &mut c,
        &pod_id,
        &sandbox,
        container_config("idle", "busybox:stats", "sleep 1000"),
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));

    let first = settled(&mut c, &busy).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let second = container_stats(&mut c, &busy)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(cpu_ns(&second) > cpu_ns(&first), "{first:?}\n{second:?}");
    let cpu = second.cpu.unwrap_or_default();
    assert!(cpu.timestamp > first.cpu.unwrap_or_default().timestamp);
    // A busy loop uses about a core: well above zero over the half second.
    assert!(
        counter(cpu.usage_nano_cores.as_ref()) > 100_000_000,
        "{cpu:?}"
    );
    let memory = second.memory.unwrap_or_default();
    assert!(counter(memory.usage_bytes.as_ref()) >= working_set(&second));
    assert!(counter(memory.rss_bytes.as_ref()) > 0, "{memory:?}");
    assert!(counter(memory.page_faults.as_ref()) > 0, "{memory:?}");
    let layer = second.writable_layer.clone().unwrap_or_default();
    assert!(layer.timestamp > 0);
    let mountpoint = layer.fs_id.map(|f| f.mountpoint).unwrap_or_default();
    assert!(
        mountpoint.starts_with(&d.root.path().display().to_string()),
        "{mountpoint}"
    );
    assert!(counter(layer.inodes_used.as_ref()) >= 1);
    let attributes = second.attributes.clone().unwrap_or_default();
    assert_eq!(attributes.id, busy);
    assert_eq!(attributes.metadata.map(|m| m.name).as_deref(), Some("burn"));
    assert_eq!(
        attributes.labels.get("tier").map(String::as_str),
        Some("burn")
    );
    assert_eq!(
        attributes
            .annotations
            .get("berth.test/ctr")
            .map(String::as_str),
        Some("burn")
    );

    // A created container: listed, with its layer but no cpu or memory (containerd).
    let s = container_stats(&mut c, &idle)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(s.cpu.is_none() && s.memory.is_none(), "{s:?}");
    assert!(s.writable_layer.is_some());

    let mut both = vec![busy.clone(), idle.clone()];
    both.sort();
    let filter = |id: &str, pod: &str, labels: &[(&str, &str)]| ContainerStatsFilter {
        id: id.into(),
        pod_sandbox_id: pod.into(),
        label_selector: labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    };
    assert_eq!(
        list_container_stats(&mut c, filter("", "", &[])).await,
        both
    );
    assert_eq!(
        list_container_stats(&mut c, filter("", &pod_id, &[])).await,
        both
    );
    assert_eq!(
        list_container_stats(&mut c, filter(&busy, "", &[])).await,
        [busy.as_str()]
    );
    assert_eq!(
        list_container_stats(&mut c, filter(&busy[..12], "", &[])).await,
        [busy.as_str()],
        "a unique prefix"
    );
    assert_eq!(
        list_container_stats(&mut c, filter("", "", &[("tier", "idle")])).await,
        [idle.as_str()]
    );
    assert!(list_container_stats(&mut c, filter("", "no-such-pod", &[]))
        .await
        .is_empty());
    assert_code(
        container_stats(&mut c, "no-such-container").await,
        Code::NotFound,
        "no-such-container",
    );

    let pod_stats = c
        .runtime
        .pod_sandbox_stats(PodSandboxStatsRequest {
            pod_sandbox_id: pod_id.clone(),
        })
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", d.log()))
        .into_inner()
        .stats
        .unwrap_or_default();
    assert_eq!(
        pod_stats.attributes.map(|a| a.id).as_deref(),
        Some(pod_id.as_str())
    );
    let linux = pod_stats.linux.unwrap_or_default();
    let mut listed: Vec<String> = linux
        .containers
        .iter()
        .filter_map(|s| s.attributes.as_ref().map(|a| a.id.clone()))
        .collect();
    listed.sort();
    assert_eq!(listed, both);
    // The pod's cgroup holds the busy container: at least its CPU and memory.
    let pod_cpu = linux.cpu.and_then(|c| c.usage_core_nano_seconds);
    assert!(counter(pod_cpu.as_ref()) >= cpu_ns(&second));
    let pod_memory = linux.memory.and_then(|m| m.working_set_bytes);
    assert!(counter(pod_memory.as_ref()) > ALLOCATION);
    let processes = linux.process.and_then(|p| p.process_count);
    assert!(counter(processes.as_ref()) >= 1);
    let network = linux.network.unwrap_or_default();
    let eth0 = network.default_interface.clone().unwrap_or_default();
    assert_eq!(eth0.name, "eth0", "{network:?}");
    assert!(counter(eth0.rx_bytes.as_ref()) > 0, "{eth0:?}");
    assert!(counter(eth0.tx_bytes.as_ref()) > 0, "{eth0:?}");
    assert!(network.interfaces.iter().all(|i| i.name != "lo"));

    let list = |id: &str, labels: &HashMap<String, String>| ListPodSandboxStatsRequest {
        filter: Some(PodSandboxStatsFilter {
            id: id.into(),
            label_selector: labels.clone(),
        }),
    };
    let ids = |r: ListPodSandboxStatsResponse| -> Vec<String> {
        r.stats
            .into_iter()
            .filter_map(|s| s.attributes.map(|a| a.id))
            .collect()
    };
    let listed = c
        .runtime
        .list_pod_sandbox_stats(list("", &sandbox.labels))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .into_inner();
    assert_eq!(ids(listed), [pod_id.as_str()]);
    let other = HashMap::from([("app".to_string(), "no-such-app".to_string())]);
    let listed = c
        .runtime
        .list_pod_sandbox_stats(list(&pod_id, &other))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .into_inner();
    assert!(ids(listed).is_empty());
    assert_code(
        c.runtime
            .pod_sandbox_stats(PodSandboxStatsRequest {
                pod_sandbox_id: "no-such-pod".into(),
            })
            .await,
        Code::NotFound,
        "no-such-pod",
    );

    pod_metrics_grow_and_match_their_descriptors(&mut c, &pod_id, &busy).await;

    // A stopped pod is not measured: Unavailable alone, left out of the lists.
    stop(&mut c, &pod_id).await;
    assert!(pod_metrics(&mut c, &pod_id).await.is_none());
    assert_code(
        c.runtime
            .pod_sandbox_stats(PodSandboxStatsRequest {
                pod_sandbox_id: pod_id.clone(),
            })
            .await,
        Code::Unavailable,
        "not ready",
    );
    let listed = c
        .runtime
        .list_pod_sandbox_stats(list(&pod_id, &HashMap::new()))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .into_inner();
    assert!(ids(listed).is_empty());
}

/// `pod_id`'s entry in ListPodSandboxMetrics.
async fn pod_metrics(c: &mut Cri, pod_id: &str) -> Option<PodSandboxMetrics> {
    c.runtime
        .list_pod_sandbox_metrics(ListPodSandboxMetricsRequest {})
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .into_inner()
        .pod_metrics
        .into_iter()
        .find(|p| p.pod_sandbox_id == pod_id)
}

/// The value of `name` in `metrics` whose last label is `last` (any with `None`).
fn metric(metrics: &[Metric], name: &str, last: Option<&str>) -> Option<u64> {
    metrics
        .iter()
        .find(|m| {
            m.name == name
                && last.is_none_or(|l| m.label_values.last().map(String::as_str) == Some(l))
        })
        .and_then(|m| m.value.as_ref())
        .map(|v| v.value)
}

/// The pod's metrics: labelled as their descriptors say, the busy container's CPU growing
/// (whole seconds: a busy loop adds one a second), its memory in use, the pod's interfaces.
async fn pod_metrics_grow_and_match_their_descriptors(c: &mut Cri, pod_id: &str, busy: &str) {
    let descriptors: HashMap<String, MetricDescriptor> = c
        .runtime
        .list_metric_descriptors(ListMetricDescriptorsRequest {})
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .into_inner()
        .descriptors
        .into_iter()
        .map(|d| (d.name.clone(), d))
        .collect();
    assert!(descriptors.contains_key("container_cpu_usage_seconds_total"));
    let busy_metrics = |p: &PodSandboxMetrics| -> Vec<Metric> {
        let all = p.container_metrics.iter().find(|m| m.container_id == busy);
        all.map(|m| m.metrics.clone()).unwrap_or_default()
    };
    let first = pod_metrics(c, pod_id).await.unwrap_or_default();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let second = pod_metrics(c, pod_id).await.unwrap_or_default();
    let all = second
        .metrics
        .iter()
        .chain(second.container_metrics.iter().flat_map(|m| &m.metrics));
    for m in all {
        let d = descriptors.get(&m.name).unwrap_or_else(|| panic!("{m:?}"));
        assert_eq!(m.label_values.len(), d.label_keys.len(), "{m:?}");
        assert!(m.timestamp > 0, "{m:?}");
    }
    let cpu = "container_cpu_usage_seconds_total";
    let (before, after) = (busy_metrics(&first), busy_metrics(&second));
    assert!(
        metric(&after, cpu, None) > metric(&before, cpu, None),
        "{before:?}\n{after:?}"
    );
    let working_set = metric(&after, "container_memory_working_set_bytes", None);
    assert!(working_set.unwrap_or(0) > 0, "{after:?}");
    assert!(metric(&after, "container_processes", None).unwrap_or(0) >= 1);
    let rx = metric(
        &second.metrics,
        "container_network_receive_bytes_total",
        Some("eth0"),
    );
    assert!(rx.unwrap_or(0) > 0, "{:?}", second.metrics);
    assert_eq!(
        metric(
            &second.metrics,
            "container_network_receive_bytes_total",
            Some("lo")
        ),
        None
    );
}

#[tokio::test]
async fn container_events_stream_a_pods_and_its_containers_life_in_order() {
    let Some((d, net)) = daemon("bridge", None) else {
        return;
    };
    let _cleanup = RemovePods(d.cri_socket.clone());
    let mut c = connect(&d.cri_socket).await;
    import(&d, "busybox:events", "CMD [\"sh\"]");
    let mut events = c
        .runtime
        .get_container_events(GetEventsRequest {})
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .into_inner();
    let (pod_id, sandbox) = pod(&d, &net, &mut c).await;
    // A Docker container's life on the same engine is not a CRI event.
    d.berth(&["run", "--rm", "busybox:events", "true"]).ok();
    let id = create(
        &mut c,
        &pod_id,
        &sandbox,
        container_config("brief", "busybox:events", "exit 0"),
    )
    .await
    .unwrap_or_else(|e| panic!("{e}\n{}", d.log()));
    start(&mut c, &id)
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", d.log()));
    exited(&mut c, &id).await;
    c.runtime
        .remove_container(RemoveContainerRequest {
            container_id: id.clone(),
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    stop(&mut c, &pod_id).await;
    remove(&mut c, &pod_id).await;

    use ContainerEventType::*;
    let expected = [
        (&pod_id, ContainerCreatedEvent),
        (&pod_id, ContainerStartedEvent),
        (&id, ContainerCreatedEvent),
        (&id, ContainerStartedEvent),
        (&id, ContainerStoppedEvent),
        (&id, ContainerDeletedEvent),
        (&pod_id, ContainerStoppedEvent),
        (&pod_id, ContainerDeletedEvent),
    ];
    let mut seen = Vec::new();
    while seen.len() < expected.len() {
        let event = tokio::time::timeout(Duration::from_secs(30), events.message())
            .await
            .unwrap_or_else(|_| panic!("no event after {seen:?}"))
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|| panic!("the stream ended after {seen:?}"));
        assert!(event.created_at > 0);
        let kind = ContainerEventType::try_from(event.container_event_type)
            .unwrap_or_else(|e| panic!("{e}"));
        // The pod as it is when the event is sent: none once deleted.
        let pod = event.pod_sandbox_status.as_ref().map(|p| p.id.as_str());
        let deleted_pod = event.container_id == pod_id && kind == ContainerDeletedEvent;
        assert_eq!(pod, (!deleted_pod).then_some(pod_id.as_str()), "{event:?}");
        // Its containers likewise: the container among them from created to stopped.
        let listed = event.containers_statuses.iter().any(|s| s.id == id);
        let live = event.container_id == id && kind != ContainerDeletedEvent;
        assert_eq!(listed, live, "{event:?}");
        seen.push((event.container_id, kind));
    }
    let expected: Vec<(String, ContainerEventType)> =
        expected.iter().map(|(id, k)| ((*id).clone(), *k)).collect();
    assert_eq!(seen, expected);
}

/// The items of a Stream* answer, none in an empty message.
async fn streamed<M, T>(
    answer: Result<tonic::Response<tonic::Streaming<M>>, Status>,
    items: impl Fn(M) -> Vec<T>,
) -> Vec<T> {
    use futures_util::StreamExt;
    let mut stream = answer.unwrap_or_else(|e| panic!("{e}")).into_inner();
    let mut all = Vec::new();
    while let Some(message) = stream.next().await {
        let batch = items(message.unwrap_or_else(|e| panic!("{e}")));
        assert!(!batch.is_empty(), "an empty message");
        all.extend(batch);
    }
    all
}

#[tokio::test]
async fn the_stream_rpcs_send_what_the_list_rpcs_return() {
    let Some((d, _net, _cleanup, mut c, pod_id, sandbox)) = ready_pod("busybox:streams").await
    else {
        return;
    };
    let config = container_config("idle", "busybox:streams", "sleep 1000");
    let id = create_started(&d, &mut c, &pod_id, &sandbox, config).await;

    let pods = |id: &str| PodSandboxFilter {
        id: id.into(),
        ..Default::default()
    };
    let answer = c
        .runtime
        .stream_pod_sandboxes(StreamPodSandboxesRequest {
            filter: Some(pods(&pod_id)),
        })
        .await;
    let streamed_pods = streamed(answer, |m| m.pod_sandboxes).await;
    assert_eq!(
        streamed_pods
            .iter()
            .map(|p| p.id.as_str())
            .collect::<Vec<_>>(),
        [pod_id.as_str()]
    );
    let answer = c
        .runtime
        .stream_pod_sandboxes(StreamPodSandboxesRequest {
            filter: Some(pods("no-such-pod")),
        })
        .await;
    assert!(streamed(answer, |m| m.pod_sandboxes).await.is_empty());

    let in_pod = ContainerFilter {
        pod_sandbox_id: pod_id.clone(),
        ..Default::default()
    };
    let answer = c
        .runtime
        .stream_containers(StreamContainersRequest {
            filter: Some(in_pod),
        })
        .await;
    let containers = streamed(answer, |m| m.containers).await;
    assert_eq!(
        containers.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(),
        [id.as_str()]
    );

    let stats_filter = ContainerStatsFilter {
        pod_sandbox_id: pod_id.clone(),
        ..Default::default()
    };
    let answer = c
        .runtime
        .stream_container_stats(StreamContainerStatsRequest {
            filter: Some(stats_filter.clone()),
        })
        .await;
    let mut stats: Vec<String> = streamed(answer, |m| m.container_stats)
        .await
        .into_iter()
        .filter_map(|s| s.attributes.map(|a| a.id))
        .collect();
    stats.sort();
    assert_eq!(stats, list_container_stats(&mut c, stats_filter).await);
    assert_eq!(stats, std::slice::from_ref(&id));

    let answer = c
        .runtime
        .stream_pod_sandbox_stats(StreamPodSandboxStatsRequest {
            filter: Some(PodSandboxStatsFilter {
                id: pod_id.clone(),
                ..Default::default()
            }),
        })
        .await;
    let pod_stats = streamed(answer, |m| m.pod_sandbox_stats).await;
    let ids: Vec<_> = pod_stats
        .iter()
        .filter_map(|s| s.attributes.as_ref().map(|a| a.id.as_str()))
        .collect();
    assert_eq!(ids, [pod_id.as_str()]);

    let answer = c
        .runtime
        .stream_pod_sandbox_metrics(StreamPodSandboxMetricsRequest {})
        .await;
    let metrics = streamed(answer, |m| m.pod_sandbox_metrics).await;
    let ids: Vec<_> = metrics.iter().map(|m| m.pod_sandbox_id.as_str()).collect();
    assert_eq!(ids, [pod_id.as_str()]);
    assert!(pod_metrics(&mut c, &pod_id).await.is_some());
}

#[tokio::test]
async fn checkpoints_are_unimplemented_and_pod_resources_change_nothing() {
    let Some((d, net)) = daemon("bridge", None) else {
        return;
    };
    let _cleanup = RemovePods(d.cri_socket.clone());
    let mut c = connect(&d.cri_socket).await;
    assert_code(
        c.runtime
            .checkpoint_container(CheckpointContainerRequest::default())
            .await,
        Code::Unimplemented,
        "CRIU",
    );
    let (pod_id, _) = pod(&d, &net, &mut c).await;
    let update = |id: &str| UpdatePodSandboxResourcesRequest {
        pod_sandbox_id: id.into(),
        overhead: None,
        resources: Some(LinuxContainerResources {
            memory_limit_in_bytes: 256 << 20,
            ..Default::default()
        }),
    };
    c.runtime
        .update_pod_sandbox_resources(update(&pod_id))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_code(
        c.runtime
            .update_pod_sandbox_resources(update("no-such-pod"))
            .await,
        Code::NotFound,
        "no-such-pod",
    );
}
