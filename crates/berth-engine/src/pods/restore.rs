//! After a daemon restart: sandboxes whose RunPodSandbox a crash cut short are torn down from
//! their records (CNI DEL with the cached arguments, the namespace, pause, the files, the
//! record); ready ones are watched again, or marked not ready when pause is gone.

use berth_sys::process::PidFd;

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
                    // The pid and its start time: a pid reused since is not pause.
                    if let Ok(Some(_)) = PidFd::open_started(pod.state.pid, pod.state.pid_start) {
                        self.watch_pause(pod.id.clone(), pod.state.pid, pod.state.pid_start);
                        continue;
                    }
                    self.delete_runtime_state(&pod.id).await;
                    let state = PodState {
                        phase: PodPhase::NotReady,
                        pid: 0,
                        pid_start: 0,
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
