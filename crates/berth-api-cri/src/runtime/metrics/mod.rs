//! ListMetricDescriptors and ListPodSandboxMetrics: the engine's pod samples (the ones the
//! stats RPCs report) as cAdvisor-style metrics, for the kubelet's PodAndContainerStatsFromCRI
//! gate, after containerd 2.2. `catalog.rs` holds every metric's descriptor; a metric is only
//! built through its descriptor, so its label values always match the descriptor's keys.

mod catalog;
mod descriptors;
mod pod_metrics;

pub(super) use descriptors::list_metric_descriptors;
pub(super) use pod_metrics::list_pod_sandbox_metrics;

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
