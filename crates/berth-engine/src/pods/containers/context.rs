//! What a pod's container joins at start: the pod's /etc files and namespaces.

use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

use crate::containers::{self, io_err, State};
use crate::model::{ContainerSpec, IpcMode, NetworkMode, PidMode, UserNamespace, UtsMode};
use crate::pods::{parse_record, Pod, PodError, PodPhase};
use crate::spec::SpecContext;
use crate::{Engine, Error, Result};

fn ns(pid: i32, kind: &str) -> Option<PathBuf> {
    Some(PathBuf::from(format!("/proc/{pid}/ns/{kind}")))
}

impl Engine {
    /// Fills `ctx` for a container of pod `pod_id`: the pod's hostname, hosts and resolv.conf
    /// (written by RunPodSandbox, shared by all its containers), and the namespaces of its
    /// pause process (the pinned network namespace for the network).
    pub(crate) fn pod_container_context(
        &self,
        store: &berth_store::Store,
        pod_id: &str,
        spec: &ContainerSpec,
        ctx: &mut SpecContext<'_>,
    ) -> Result<()> {
        let pod = ready_pod(store, pod_id)?;
        let dir = self.pod_dir(&pod.id);
        let file = |name: &str| Some(dir.join(name)).filter(|p| p.exists());
        ctx.hostname_path = file("hostname");
        ctx.hosts_path = file("hosts");
        ctx.resolv_conf_path = file("resolv.conf");
        let pause = pod.state.pid;
        if spec.namespaces.user.is_some() {
            ctx.join.user = ns(pause, "user");
        }
        if let NetworkMode::Pod(_) = spec.network.mode {
            ctx.join.net = pod.state.netns.clone().or_else(|| ns(pause, "net"));
        }
        if spec.namespaces.ipc == IpcMode::Pod {
            ctx.join.ipc = ns(pause, "ipc");
            ctx.shm_path = Some(self.pod_shm(&pod.id)).filter(|p| p.exists());
        }
        if spec.namespaces.uts == UtsMode::Pod {
            ctx.join.uts = ns(pause, "uts");
        }
        ctx.join.pid = match &spec.namespaces.pid {
            PidMode::Pod => ns(pause, "pid"),
            PidMode::Target(target) => {
                let state = self.pod_sibling(store, &pod.id, target)?;
                if !state.status.is_live() {
                    return Err(Error::JoinNotRunning(target.clone()));
                }
                ns(state.pid, "pid")
            }
            _ => None,
        };
        Ok(())
    }

    /// Mounts the rootfs of container `id` of pod `pod_id` for the pod's user namespace `user`:
    /// its layers id-mapped with pause's namespace, so the container's root owns the image's
    /// files as the host's root does outside (see [`berth_store::snapshot::mount_idmapped`]).
    pub(crate) fn mount_pod_rootfs(
        &self,
        store: &berth_store::Store,
        pod_id: &str,
        user: &UserNamespace,
        id: &str,
        mounts: &[berth_store::snapshot::Mount],
        rootfs: &Path,
    ) -> Result<()> {
        let pod = ready_pod(store, pod_id)?;
        let (root_uid, root_gid) = user.root_on_host().ok_or(PodError::UserNamespaceRoot)?;
        let path = format!("/proc/{}/ns/user", pod.state.pid);
        let userns = std::fs::File::open(&path).map_err(io_err("open", Path::new(&path)))?;
        let layers = berth_store::snapshot::IdmappedLayers {
            userns: userns.as_fd(),
            root_uid,
            root_gid,
        };
        berth_store::snapshot::mount_idmapped(mounts, rootfs, &layers).map_err(|source| {
            PodError::IdmappedRootfs {
                id: id.to_string(),
                source: Box::new(source),
            }
        })?;
        Ok(())
    }

    /// The state of container `id` of pod `pod_id` (the CRI's TARGET namespace mode may only
    /// name a container of the same pod).
    pub(super) fn pod_sibling(
        &self,
        store: &berth_store::Store,
        pod_id: &str,
        id: &str,
    ) -> Result<State> {
        let record = containers::find(store, id)?;
        let c = containers::parse_record(&record, PathBuf::new())?;
        if c.config.spec.owner.pod().map(|p| p.as_str()) != Some(pod_id) {
            return Err(Error::NoSuchContainer(id.to_string()));
        }
        Ok(c.state)
    }
}

/// Pod `pod_id`'s record, which must have a running pause.
fn ready_pod(store: &berth_store::Store, pod_id: &str) -> Result<Pod> {
    let pod = parse_record(store.metadata.get_pod(pod_id).map_err(|e| match e {
        berth_store::Error::PodNotFound(_) => Error::from(PodError::NoSuchPod(pod_id.into())),
        other => other.into(),
    })?)?;
    if pod.state.phase != PodPhase::Ready || pod.state.pid <= 0 {
        return Err(PodError::NotReady(pod.id).into());
    }
    Ok(pod)
}
