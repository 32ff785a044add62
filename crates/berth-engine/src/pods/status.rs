//! PodSandboxStatus's lookup: one pod, by id or unique id prefix (as containerd resolves
//! them for every sandbox RPC).

use super::{parse_record, Pod, PodError};
use crate::{Engine, Result};

impl Engine {
    pub async fn pod(&self, id: &str) -> Result<Pod> {
        let want = id.to_string();
        let record = self
            .with_store(move |store| {
                let mut matches: Vec<_> = store
                    .metadata
                    .list_pods()?
                    .into_iter()
                    .filter(|p| p.id.starts_with(&want))
                    .collect();
                match (matches.len(), matches.iter().position(|p| p.id == want)) {
                    (_, Some(exact)) => Ok(matches.swap_remove(exact)),
                    (1, None) => Ok(matches.swap_remove(0)),
                    (0, None) => Err(berth_store::Error::PodNotFound(want).into()),
                    (_, None) => Err(PodError::AmbiguousId(want).into()),
                }
            })
            .await?;
        parse_record(record)
    }
}
