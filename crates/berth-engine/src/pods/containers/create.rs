//! CreateContainer: a record and a writable snapshot in a ready pod; nothing runs until
//! StartContainer. The request is checked in full now, as for Docker's create: a spec is built
//! against stand-ins of the pod's namespaces and thrown away.

use std::path::PathBuf;

use berth_store::metadata::ImageMountRef;
use berth_types::ContainerId;

use super::{PodContainerMetadata, PodContainerRequest};
use crate::containers::{self, Config, Extension};
use crate::images::resolve;
use crate::model::{ContainerSpec, NetworkMode, Owner, PodId};
use crate::pods::{Pod, PodError, PodPhase};
use crate::spec;
use crate::{Engine, Error, Result};

/// containerd's container name: unique per pod and attempt, so the kubelet's retry of a create
/// whose answer it lost finds the first one's name taken.
fn record_name(meta: &PodContainerMetadata, pod: &Pod) -> String {
    format!(
        "{}_{}_{}_{}_{}",
        meta.name, pod.spec.name, pod.spec.namespace, pod.spec.uid, meta.attempt
    )
}

/// What the pod decides for its containers: owner, hostname, cgroup parent (unless the
/// request has its own).
fn in_pod(mut spec: ContainerSpec, pod: &Pod) -> Result<ContainerSpec> {
    let id: PodId = pod.id.parse()?;
    spec.owner = Owner::Pod(id);
    if spec.network.mode != NetworkMode::Host && !pod.spec.hostname.is_empty() {
        spec.network.hostname = Some(pod.spec.hostname.clone());
    }
    if spec.resources.cgroup_parent.is_none() && !pod.spec.cgroup_parent.is_empty() {
        spec.resources.cgroup_parent = Some(pod.spec.cgroup_parent.clone());
    }
    spec.check_owner()?;
    Ok(spec)
}

impl Engine {
    /// Creates a container in a ready pod; returns its id.
    pub async fn create_pod_container(&self, req: PodContainerRequest) -> Result<String> {
        self.to_completion(|engine| async move { engine.create_pod_container_now(req).await })
            .await
    }

    async fn create_pod_container_now(&self, req: PodContainerRequest) -> Result<String> {
        // Under the pod's lock: a stop or remove of the pod never races a container into it.
        let Some((pod, _op)) = self.lock_pod(&req.pod_id).await? else {
            return Err(PodError::NoSuchPod(req.pod_id).into());
        };
        if pod.state.phase != PodPhase::Ready {
            return Err(PodError::NotReady(pod.id).into());
        }
        let mut spec = in_pod(req.spec, &pod)?;
        let support = crate::host::cgroup_support();
        if let Some(w) = support.drop_unsupported_hugepages(&mut spec.resources.hugepages) {
            tracing::warn!(pod = %pod.id, "{w}");
        }
        let name = record_name(&req.metadata, &pod);
        let id = crate::random_hex(32);
        let container_id = ContainerId::new(&id).map_err(|_| Error::InvalidName(id.clone()))?;
        let engine = self.clone();
        let data_dir = self.data_dir(&id);
        let bundle = self.bundle_dir(&id);
        let metadata = req.metadata;
        let created = self
            .with_store(move |store| {
                let image = resolve(store, &spec.image)?;
                let image_cfg = containers::image_config(&image.config)?;
                let mut probe =
                    containers::create_probe(container_id.clone(), bundle.join("rootfs"));
                // The pod's namespaces are known at start; a target container must exist now.
                let stand_in = || Some(PathBuf::from("/proc/self/ns"));
                (probe.join.net, probe.join.ipc, probe.join.uts) =
                    (stand_in(), stand_in(), stand_in());
                (probe.join.pid, probe.join.user) = (stand_in(), stand_in());
                if let crate::model::PidMode::Target(target) = &spec.namespaces.pid {
                    engine.pod_sibling(store, &pod.id, target)?;
                }
                let planned = super::image_mounts::planned_sources(&bundle, &spec.storage);
                let user_mounts = spec::model_user_mounts(&spec.storage, &planned)?;
                let built = spec::build_spec(&spec, &image_cfg, &probe, user_mounts)?;
                let args = built
                    .spec
                    .process()
                    .as_ref()
                    .and_then(|p| p.args().clone())
                    .unwrap_or_default();
                let hostname = spec
                    .network
                    .hostname
                    .clone()
                    .unwrap_or_else(|| id[..12].to_string());
                // Last of the checks, first of what is made: the views are undone on failure.
                let image_mounts = engine.prepare_image_mounts(store, &id, &spec.storage)?;
                let config = Config {
                    image_name: spec.image.clone(),
                    path: args.first().cloned().unwrap_or_default(),
                    args: args.iter().skip(1).cloned().collect(),
                    hostname,
                    spec,
                    extension: Some(Extension::Cri(metadata)),
                    mounts: built.mount_points,
                    inherited_mounts: Vec::new(),
                    links: Vec::new(),
                    image_mounts,
                };
                let views = || config.image_mounts.iter().map(|m| m.snapshot_key.as_str());
                let refs: Vec<ImageMountRef> = config
                    .image_mounts
                    .iter()
                    .map(|m| ImageMountRef {
                        destination: m.target.to_string_lossy().into_owned(),
                        image_id: m.image_id.clone(),
                        snapshot_key: m.snapshot_key.clone(),
                    })
                    .collect();
                let record = containers::new_record(container_id, name.clone(), &image, &config)
                    .and_then(|record| {
                        let parent = image.layers.last().map(|l| l.chain_id.to_string());
                        store.snapshots.prepare(&id, parent.as_deref())?;
                        Ok(record)
                    });
                let record = match record {
                    Ok(record) => record,
                    Err(e) => {
                        let _ = super::remove_snapshots(store, views());
                        return Err(e);
                    }
                };
                let stored = std::fs::create_dir_all(&data_dir)
                    .map_err(containers::io_err("create", &data_dir))
                    .and_then(|()| {
                        store
                            .metadata
                            .create_container_with_image_mounts(&record, &refs)
                            .map_err(|e| match e {
                                berth_store::Error::ContainerNameTaken { name, id } => {
                                    PodError::NameReserved { name, id }.into()
                                }
                                other => other.into(),
                            })
                    });
                if let Err(e) = stored {
                    let _ = store.snapshots.remove(&id);
                    let _ = super::remove_snapshots(store, views());
                    let _ = std::fs::remove_dir_all(&data_dir);
                    return Err(e);
                }
                containers::parse_record(&record, engine.log_path(&id))
            })
            .await?;
        self.inner.containers.entry(&created.id, &created.state);
        self.events().publish(
            crate::events::EventType::Container,
            "create",
            &created.id,
            self.container_event_attrs(&created),
        );
        Ok(created.id)
    }
}
