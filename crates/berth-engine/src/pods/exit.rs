//! Pause exiting on its own (killed, or the OOM killer): the sandbox is no longer ready. Its
//! network stays until StopPodSandbox, as containerd keeps it.

use super::{PodEventKind, PodPhase};
use crate::containers::wait_for_exit;
use crate::Engine;

impl Engine {
    /// Watches the pause shim of pod `id` started as `shim_pid`.
    pub(super) fn watch_pause(&self, id: String, shim_pid: i32) {
        let engine = self.clone();
        tokio::spawn(async move {
            wait_for_exit(engine.pod_shim_dir(&id)).await;
            let op = engine.inner.pods.op(&id);
            let _op = op.lock().await;
            let Ok(pod) = engine.load_pod(&id).await else {
                return;
            };
            // A stop or remove got there first, or this is an earlier run's watcher.
            if pod.state.phase != PodPhase::Ready || pod.state.shim_pid != shim_pid {
                return;
            }
            engine.delete_runtime_state(&id).await;
            let mut state = pod.state;
            state.phase = PodPhase::NotReady;
            state.pid = 0;
            state.shim_pid = 0;
            if let Err(e) = engine.save_pod_state(&id, &state).await {
                tracing::warn!(pod = %id, error = %e, "record that pause exited");
            }
            engine.publish_pod_event(&id, PodEventKind::Stopped);
        });
    }
}
