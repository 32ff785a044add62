//! StopPodSandbox: the pod's containers, pause, the CNI attachment and the namespace go; the
//! record stays (`notready`) until RemovePodSandbox. Idempotent, as the CRI requires: an
//! unknown pod, or one stopped already, is success.

use super::{network, PodError, PodEventKind, PodPhase, PodState};
use crate::containers::runtime;
use crate::{Engine, Error, Result};

/// What a failed CNI DEL leaves for a retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Undo {
    /// The namespace, so the next stop can DEL again.
    Keep,
    /// Nothing: the sandbox goes whatever the plugins say.
    All,
}

impl Engine {
    /// Stops pod `id` (an id or unique prefix).
    pub async fn stop_pod(&self, id: &str) -> Result<()> {
        let id = id.to_string();
        self.to_completion(|engine| async move { engine.stop_pod_now(&id).await })
            .await
    }

    async fn stop_pod_now(&self, id: &str) -> Result<()> {
        let Some((pod, _op)) = self.lock_pod(id).await? else {
            return Ok(());
        };
        self.stop_pod_containers(&pod.id).await?;
        self.release_pod(&pod.id, &pod.state, Undo::Keep).await?;
        let state = PodState {
            phase: PodPhase::NotReady,
            ..PodState::default()
        };
        self.save_pod_state(&pod.id, &state).await?;
        // Pause's watcher, finding the pod stopped, leaves the event to this stop.
        if pod.state.phase == PodPhase::Ready {
            self.publish_pod_event(&pod.id, PodEventKind::Stopped);
        }
        Ok(())
    }

    /// Kills pause, then takes the pod off its network and unpins its namespace. Each step is
    /// a no-op when its resource is not there, so it serves a failed start, a stop, a remove
    /// and the teardown of a start cut short by a crash alike. With `Undo::Keep` a failed step
    /// ends it there, keeping what is left for the kubelet's next try (containerd's rule for a
    /// failed CNI DEL). `Undo::All` (a sandbox that never became ready) goes on past a failure
    /// to release all it can; a failed DEL is then no error (it may fail as the ADD did), a
    /// failed kill or unpin is, so the caller keeps the record that names what is left.
    pub(super) async fn release_pod(&self, id: &str, state: &PodState, undo: Undo) -> Result<()> {
        // The runtime's state, not the record, says whether pause exists: a crash can come
        // between its start and the record of its pid. `delete --force` kills it and waits
        // for it to exit before it removes the state and the cgroup.
        let killed = if self.runtime_root().join(id).exists() {
            match runtime::run(self.runtime().delete(id, true)).await {
                Err(e) if undo == Undo::Keep => return Err(e),
                killed => killed,
            }
        } else {
            Ok(())
        };
        let shm = self.pod_shm(id);
        let netns = state.netns.clone();
        let list = state.network.clone();
        let cni = self.pod_cni();
        let pod = id.to_string();
        let released = tokio::task::spawn_blocking(move || -> Result<()> {
            // Detached: a container still holding it cannot keep the pod from going.
            let unmounted = match nix::mount::umount2(&shm, nix::mount::MntFlags::MNT_DETACH) {
                Ok(()) | Err(nix::errno::Errno::EINVAL | nix::errno::Errno::ENOENT) => Ok(()),
                Err(e) => {
                    let e = PodError::Shm {
                        pod: pod.clone(),
                        source: e.into(),
                    };
                    if undo == Undo::Keep {
                        return Err(e.into());
                    }
                    Err(e)
                }
            };
            let detached = list.as_ref().map_or(Ok(()), |list| {
                network::detach(&cni, list, &pod, netns.as_deref())
            });
            match detached {
                Err(e) if undo == Undo::Keep => return Err(e.into()),
                Err(e) => {
                    tracing::warn!(pod, error = %e, "CNI DEL of a sandbox that never became ready")
                }
                Ok(()) => {}
            }
            if let Some(path) = &netns {
                berth_sys::netns::remove_pinned(path).map_err(|source| PodError::Netns {
                    pod,
                    path: path.clone(),
                    source,
                })?;
            }
            unmounted.map_err(Into::into)
        })
        .await
        .map_err(Error::from_join)?;
        killed.and(released)
    }
}
