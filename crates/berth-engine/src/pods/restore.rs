//! After a daemon restart: sandboxes whose RunPodSandbox a crash cut short are torn down from
//! their records (CNI DEL with the cached arguments, the namespace, pause and its shim, the
//! files, the record); ready ones are watched again, or marked not ready when pause is gone.

use berth_shim::Control;

use super::{PodPhase, PodState};
use crate::{Engine, Result};

impl Engine {
    pub(crate) async fn restore_pods(&self) -> Result<()> {
        for pod in self.list_pods(super::PodFilter::default()).await? {
            match pod.state.phase {
                PodPhase::Creating => {
                    tracing::info!(pod = %pod.id, "discarding a sandbox start interrupted by a crash");
                    self.discard_pod(&pod.id, &pod.state).await;
                }
                PodPhase::Ready => {
                    let dir = self.pod_shim_dir(&pod.id);
                    let alive = tokio::task::spawn_blocking(move || Control::connect(&dir).is_ok())
                        .await
                        .unwrap_or(false);
                    if alive {
                        self.watch_pause(pod.id.clone(), pod.state.shim_pid);
                        continue;
                    }
                    self.delete_runtime_state(&pod.id).await;
                    let state = PodState {
                        phase: PodPhase::NotReady,
                        pid: 0,
                        shim_pid: 0,
                        ..pod.state
                    };
                    self.save_pod_state(&pod.id, &state).await?;
                }
                PodPhase::NotReady => {}
            }
        }
        Ok(())
    }
}
