//! ListPodSandbox with CRI's filter.

use std::collections::BTreeMap;

use super::{parse_record, Pod, PodPhase};
use crate::{Engine, Result};

/// Every condition must hold; empty ones hold for all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PodFilter {
    /// An id or unique id prefix.
    pub id: Option<String>,
    /// Ready (true) or not (false: stopped, or still being created).
    pub ready: Option<bool>,
    /// Labels the pod must carry with these values.
    pub labels: BTreeMap<String, String>,
}

impl PodFilter {
    pub(super) fn matches(&self, pod: &Pod) -> bool {
        self.id.as_ref().is_none_or(|id| pod.id == *id)
            && self
                .ready
                .is_none_or(|ready| ready == (pod.state.phase == PodPhase::Ready))
            && self
                .labels
                .iter()
                .all(|(k, v)| pod.spec.labels.get(k) == Some(v))
    }
}

impl Engine {
    /// The pods matching `filter`, oldest first; an unreadable record is skipped (and logged)
    /// rather than hiding every other pod.
    pub async fn list_pods(&self, filter: PodFilter) -> Result<Vec<Pod>> {
        let records = self
            .with_store(|store| Ok(store.metadata.list_pods()?))
            .await?;
        let filter = PodFilter {
            id: filter.id.as_deref().map(|id| full_id(id, &records)),
            ..filter
        };
        Ok(records
            .into_iter()
            .filter_map(|r| {
                parse_record(r)
                    .inspect_err(|e| tracing::warn!(error = %e, "skip pod record"))
                    .ok()
            })
            .filter(|p| filter.matches(p))
            .collect())
    }
}

/// containerd's normalisation of the filter's id: the id it names exactly or as a unique
/// prefix; an ambiguous prefix stays as it is, and so matches no pod exactly.
pub(super) fn full_id(id: &str, records: &[berth_store::metadata::PodRecord]) -> String {
    let mut matches = records.iter().filter(|r| r.id.starts_with(id));
    match (matches.next(), matches.next()) {
        (Some(only), None) => only.id.clone(),
        _ => id.to_string(),
    }
}
