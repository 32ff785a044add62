//! RemovePodSandbox: stops what still runs, then removes files and the record. Idempotent.

use super::stop::Undo;
use super::{PodEventKind, PodPhase};
use crate::{Engine, Result};

impl Engine {
    /// Removes pod `id` (an id or unique prefix).
    pub async fn remove_pod(&self, id: &str) -> Result<()> {
        let id = id.to_string();
        self.to_completion(|engine| async move { engine.remove_pod_now(&id).await })
            .await
    }

    async fn remove_pod_now(&self, id: &str) -> Result<()> {
        let Some((pod, _op)) = self.lock_pod(id).await? else {
            return Ok(());
        };
        self.remove_pod_containers(&pod.id).await?;
        self.release_pod(&pod.id, &pod.state, Undo::Keep).await?;
        // A ready pod is stopped first, as containerd's remove stops it.
        if pod.state.phase == PodPhase::Ready {
            self.publish_pod_event(&pod.id, PodEventKind::Stopped);
        }
        self.remove_pod_files(&pod.id).await;
        let id = pod.id.clone();
        self.with_store(move |store| Ok(store.metadata.delete_pod(&id)?))
            .await?;
        self.inner.pods.forget(&pod.id);
        self.publish_pod_event(&pod.id, PodEventKind::Deleted);
        Ok(())
    }

    /// The pod's directories (its bundle, /etc files).
    pub(super) async fn remove_pod_files(&self, id: &str) {
        let dirs = [self.pod_run_dir(id), self.pod_dir(id)];
        let _ = tokio::task::spawn_blocking(move || {
            for dir in dirs {
                match std::fs::remove_dir_all(&dir) {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                        tracing::warn!(path = %dir.display(), error = %e, "remove pod files");
                    }
                    _ => {}
                }
            }
        })
        .await;
    }
}
