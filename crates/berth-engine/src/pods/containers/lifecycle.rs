//! StartContainer, StopContainer, RemoveContainer of a pod's container, on the engine's
//! container verbs; and what the pod's own stop and remove do to its containers.

use berth_types::ErrorKind;

use super::PodContainerFilter;
use crate::containers::Status;
use crate::pods::PodError;
use crate::{Engine, Error, Result};

impl Engine {
    /// Starts a created container. A pod's container runs once: a started or exited one is
    /// refused (the kubelet creates a new attempt instead), as containerd does.
    pub async fn start_pod_container(&self, id: &str) -> Result<()> {
        let c = self.pod_container(id).await?;
        let id = c.container.id.clone();
        self.to_completion(|engine| async move {
            let entry = engine.inner.containers.entry(&id, &c.container.state);
            let _op = entry.op.lock().await;
            let now = engine.container(&id).await?;
            if now.state.status != Status::Created {
                return Err(PodError::NotStartable {
                    id,
                    status: now.state.status.as_str(),
                }
                .into());
            }
            let state = now.state.clone();
            engine.start_locked(&now, state).await
        })
        .await
    }

    /// Stops a container: its stop signal, then SIGKILL after `timeout` seconds. A stopped,
    /// never started or unknown container is success, as the CRI asks.
    pub async fn stop_pod_container(&self, id: &str, timeout: i64) -> Result<()> {
        let c = match self.pod_container(id).await {
            Ok(c) => c,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        let id = c.container.id;
        self.to_completion(|engine| async move { engine.stop_now(&id, timeout).await })
            .await
    }

    /// A grace of 0 is SIGKILL alone (containerd's rule; Docker's stop signals first).
    async fn stop_now(&self, id: &str, timeout: i64) -> Result<()> {
        if timeout <= 0 {
            return match self.kill_container(id, Some("SIGKILL")).await {
                // Exited already, or by itself since the check: stopped is what was asked.
                Ok(()) | Err(Error::NotRunning(_)) => Ok(()),
                Err(e) => Err(e),
            };
        }
        self.stop_container(id, Some(timeout)).await.map(|_| ())
    }

    /// Removes a container, killing it first if it runs. An unknown one is success.
    pub async fn remove_pod_container(&self, id: &str) -> Result<()> {
        let c = match self.pod_container(id).await {
            Ok(c) => c,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        let id = c.container.id;
        self.to_completion(|engine| async move {
            match engine.remove_container(&id, true, false).await {
                Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
                other => other,
            }
        })
        .await
    }

    /// Kills the pod's running containers (StopPodSandbox: no grace, as containerd).
    pub(in crate::pods) async fn stop_pod_containers(&self, pod_id: &str) -> Result<()> {
        for c in self.containers_of_pod(pod_id).await? {
            if c.container.state.status.is_live() {
                self.stop_now(&c.container.id, 0).await?;
            }
        }
        Ok(())
    }

    /// Removes the pod's containers (RemovePodSandbox).
    pub(in crate::pods) async fn remove_pod_containers(&self, pod_id: &str) -> Result<()> {
        for c in self.containers_of_pod(pod_id).await? {
            match self.remove_container(&c.container.id, true, false).await {
                Err(e) if e.kind() != ErrorKind::NotFound => return Err(e),
                _ => {}
            }
        }
        Ok(())
    }

    async fn containers_of_pod(&self, pod_id: &str) -> Result<Vec<super::PodContainer>> {
        self.pod_containers(PodContainerFilter {
            pod_id: Some(pod_id.to_string()),
            ..Default::default()
        })
        .await
    }
}

impl Engine {
    /// ReopenContainerLog: the shim reopens the log by its path, after the kubelet renamed
    /// the file to rotate it.
    pub async fn reopen_pod_container_log(&self, id: &str) -> Result<()> {
        let c = self.pod_container(id).await?;
        if !c.container.state.status.is_live() {
            return Err(Error::NotRunning(c.container.id));
        }
        self.shim_request(&c.container.id, |ctl| ctl.reopen_log())
            .await
    }

    /// UpdateContainerResources: the container's CPU, memory, hugepage and unified limits
    /// become `resources`' (the rest of its resources stay), applied live with `runtime
    /// update` when it runs, and kept for its next start otherwise.
    pub async fn update_pod_container_resources(
        &self,
        id: &str,
        resources: crate::model::Resources,
    ) -> Result<()> {
        let c = self.pod_container(id).await?;
        let id = c.container.id;
        self.to_completion(|engine| async move {
            let now = engine.container(&id).await?;
            let entry = engine.inner.containers.entry(&id, &now.state);
            let _op = entry.op.lock().await;
            let mut c = engine.container(&id).await?;
            let r = &mut c.config.spec.resources;
            r.cpu = resources.cpu;
            r.memory = resources.memory;
            r.hugepages = resources.hugepages;
            let support = crate::host::cgroup_support();
            if let Some(w) = support.drop_unsupported_hugepages(&mut r.hugepages) {
                tracing::warn!(container = %id, "{w}");
            }
            r.unified = resources.unified;
            if c.state.status.is_live() {
                engine
                    .runtime_update(&id, &crate::spec::live_resources(r))
                    .await?;
            }
            engine.save_config(&id, &c.config).await
        })
        .await
    }
}
