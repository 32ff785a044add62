//! Pause exiting on its own (killed, or the OOM killer): the sandbox is no longer ready. Its
//! network stays until StopPodSandbox, as containerd keeps it.

use berth_sys::process::PidFd;
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;

use super::{PodEventKind, PodPhase};
use crate::Engine;

impl Engine {
    /// Watches pod `id`'s pause, the process `pid` that started at `start`. A pidfd polls
    /// readable once pause has exited, reaped or not (it is not berthd's child: the runtime
    /// that started it exits, and init, or the nearest subreaper, inherits it), so no thread
    /// waits for it.
    pub(super) fn watch_pause(&self, id: String, pid: i32, start: u64) {
        let engine = self.clone();
        tokio::spawn(async move {
            let watched = PidFd::open_started(pid, start).and_then(|fd| {
                fd.map(|fd| {
                    // SAFETY: a PidFd owns its fd and never replaces or closes it while it lives.
                    unsafe { AsyncFd::register_with_interest(fd, Interest::READABLE) }
                        .map_err(std::io::Error::from)
                })
                .transpose()
            });
            match watched {
                Ok(Some(fd)) => {
                    let _ = fd.readable().await;
                }
                // Gone already.
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(pod = %id, pid, error = %e, "cannot watch pause; the pod stays ready");
                    return;
                }
            }
            let op = engine.inner.pods.op(&id);
            let _op = op.lock().await;
            let Ok(pod) = engine.load_pod(&id).await else {
                return;
            };
            // A stop or remove got there first, or this is an earlier run's watcher.
            if pod.state.phase != PodPhase::Ready
                || (pod.state.pid, pod.state.pid_start) != (pid, start)
            {
                return;
            }
            engine.delete_runtime_state(&id).await;
            let mut state = pod.state;
            state.phase = PodPhase::NotReady;
            state.pid = 0;
            state.pid_start = 0;
            if let Err(e) = engine.save_pod_state(&id, &state).await {
                tracing::warn!(pod = %id, error = %e, "record that pause exited");
            }
            engine.publish_pod_event(&id, PodEventKind::Stopped);
        });
    }
}
