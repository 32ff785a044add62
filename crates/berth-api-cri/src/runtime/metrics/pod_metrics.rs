//! ListPodSandboxMetrics: every ready pod's sample (the one PodSandboxStats reads) as metrics;
//! the pod's own metrics are its network's, as cAdvisor reports them on the pod's sandbox.

use berth_engine::pods::{PodContainerStats, PodStats};
use berth_types::ErrorKind;
use tonic::{Request, Response, Status};

use super::catalog::{self as c, Labels, Sink};
use crate::error;
use crate::proto::{
    ContainerMetrics, ListPodSandboxMetricsRequest, ListPodSandboxMetricsResponse,
    PodSandboxMetrics,
};
use crate::runtime::Runtime;

/// A pod that is not ready (or gone meanwhile) is left out, as in ListPodSandboxStats; one
/// without a cgroup parent is in, as its metrics are its containers' and its network's.
pub(in crate::runtime) async fn list_pod_sandbox_metrics(
    rt: &Runtime,
    _: Request<ListPodSandboxMetricsRequest>,
) -> Result<Response<ListPodSandboxMetricsResponse>, Status> {
    let pods = rt
        .engine
        .list_pods(berth_engine::pods::PodFilter::default())
        .await
        .map_err(error::engine)?;
    let mut pod_metrics = Vec::with_capacity(pods.len());
    for pod in pods {
        match rt.engine.pod_stats_without_cgroup(&pod.id).await {
            Ok(s) => pod_metrics.push(sandbox(&s)),
            Err(e) if matches!(e.kind(), ErrorKind::Unavailable | ErrorKind::NotFound) => {
                tracing::debug!(pod = %pod.id, error = %e, "no metrics");
            }
            Err(e) => return Err(error::engine(e)),
        }
    }
    Ok(Response::new(ListPodSandboxMetricsResponse { pod_metrics }))
}

fn sandbox(s: &PodStats) -> PodSandboxMetrics {
    let spec = &s.pod.spec;
    // cAdvisor's name for the sandbox's own container.
    let labels = Labels {
        container: "POD",
        id: &s.pod.id,
        image: "",
        name: &s.pod.id,
        namespace: &spec.namespace,
        pod: &spec.name,
    };
    let mut sink = Sink::new(&labels, s.read);
    c::network(&mut sink, s.interfaces.as_deref().unwrap_or_default());
    PodSandboxMetrics {
        pod_sandbox_id: s.pod.id.clone(),
        metrics: sink.into_metrics(),
        container_metrics: s
            .containers
            .iter()
            .map(|cs| container(cs, &spec.namespace, &spec.name))
            .collect(),
    }
}

fn container(s: &PodContainerStats, namespace: &str, pod: &str) -> ContainerMetrics {
    let ct = &s.container.container;
    let labels = Labels {
        container: &s.container.metadata.name,
        id: &ct.id,
        image: &ct.config.spec.image,
        name: &ct.id,
        namespace,
        pod,
    };
    let mut sink = Sink::new(&labels, s.read);
    c::container(&mut sink, s);
    ContainerMetrics {
        container_id: ct.id.clone(),
        metrics: sink.into_metrics(),
    }
}
