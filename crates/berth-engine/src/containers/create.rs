//! `docker create`: a name, a writable snapshot on top of the image, a record. Nothing runs
//! until start, but the request is checked in full now (a spec is built and thrown away), so
//! bad options fail at create as they do with dockerd.

use std::path::PathBuf;

use berth_store::metadata;
use berth_types::ContainerId;
use serde_json::Value;

use super::{names, Config, Extension, State};
use crate::events::EventType;
use crate::images::resolve;
use crate::model::ContainerSpec;
use crate::spec::{
    self, BindOptions, CreateOptions, HostConfig, ImageConfig, MountRequest, MountSpec, MountType,
    ResolvedUser, SpecContext, VolumeOptions,
};
use crate::{Engine, Error, Result};

/// A create request: the options and an optional name.
#[derive(Debug, Clone, Default)]
pub struct CreateRequest {
    pub name: Option<String>,
    pub options: CreateOptions,
}

/// The `config.config` object of an image config JSON, as spec defaults.
pub(crate) fn image_config(config_json: &str) -> Result<ImageConfig> {
    let v: Value = serde_json::from_str(config_json).map_err(Error::Json)?;
    match v.get("config") {
        Some(c) if !c.is_null() => serde_json::from_value(c.clone()).map_err(Error::Json),
        _ => Ok(ImageConfig::default()),
    }
}

/// The options with what `--volumes-from` brought appended to `--mount`, as the spec is built.
pub(crate) fn with_inherited(options: &CreateOptions, inherited: &[MountSpec]) -> CreateOptions {
    let mut o = options.clone();
    o.host_config.mounts.extend(inherited.iter().cloned());
    o
}

/// `--volumes-from <container>[:ro|:rw]`: the other container's volumes and binds, at the same
/// places, read-only or read-write as asked (else as they are there), as `--mount`s. Places
/// the container's own `-v`/`--mount` cover are left to those, as dockerd does.
fn volumes_from(store: &berth_store::Store, h: &HostConfig) -> Result<Vec<MountSpec>> {
    let own: Vec<PathBuf> = h
        .binds
        .iter()
        .filter_map(|b| spec::parse_bind(b).ok())
        .chain(h.mounts.iter().filter_map(|m| spec::parse_mount(m).ok()))
        .map(|r| match r {
            MountRequest::Bind(b) => b.destination,
            MountRequest::Volume(v) => v.destination,
            MountRequest::Tmpfs { destination, .. } => destination,
        })
        .collect();
    let mut out: Vec<MountSpec> = Vec::new();
    for from in &h.volumes_from {
        let (name, read_only) = spec::parse_volumes_from(from)?;
        let other = super::find(store, name)?;
        let other = super::parse_record(&other, PathBuf::new())?;
        for p in other.config.mounts {
            let target = p.destination.to_string_lossy().into_owned();
            if own.contains(&p.destination) || out.iter().any(|m| m.target == target) {
                continue;
            }
            let mut m = MountSpec {
                target,
                read_only: read_only.unwrap_or(!p.rw),
                ..Default::default()
            };
            m.kind = p.kind.as_str().into();
            match p.kind {
                MountType::Volume => {
                    m.source = p.name;
                    // The volume has its content already; never copy into it again.
                    m.volume_options = Some(VolumeOptions {
                        no_copy: true,
                        ..Default::default()
                    });
                }
                MountType::Bind => {
                    m.source = p.source.to_string_lossy().into_owned();
                    m.bind_options = Some(BindOptions {
                        propagation: p.propagation,
                        create_mountpoint: true,
                        ..Default::default()
                    });
                }
                // A tmpfs belongs to its container alone.
                MountType::Tmpfs => continue,
            }
            out.push(m);
        }
    }
    Ok(out)
}

/// What dockerd fills in and checks at create, so inspect shows it: the log driver, the
/// runtime, the isolation.
fn fill_in_defaults(h: &mut HostConfig) -> Result<()> {
    if h.log_config.driver.is_empty() {
        h.log_config.driver = crate::system::DEFAULT_LOG_DRIVER.into();
    }
    spec::validate_log_config(&h.log_config)?;
    match h.runtime.as_str() {
        "" => h.runtime = crate::system::DEFAULT_RUNTIME.into(),
        "runc" => {}
        r if r == crate::system::DEFAULT_RUNTIME => {}
        other => return Err(Error::UnknownRuntime(other.to_string())),
    }
    if !(h.isolation.is_empty() || h.isolation.eq_ignore_ascii_case("default")) {
        return Err(Error::BadIsolation(h.isolation.clone()));
    }
    Ok(())
}

/// The context a create builds its throw-away spec with, to check the request now rather than
/// at start: root (the image's users are resolved at start), the host's capabilities.
pub(crate) fn create_probe(id: ContainerId, rootfs: PathBuf) -> SpecContext<'static> {
    let user = ResolvedUser {
        uid: 0,
        gid: 0,
        additional_gids: Vec::new(),
    };
    let mut probe = SpecContext::new(id, rootfs, user);
    probe.host_capabilities = crate::host::bounding_set();
    probe
}

/// A new container's record, its snapshot named by its id. Serialized before the snapshot is
/// prepared, so a failure here leaves nothing to undo.
pub(crate) fn new_record(
    id: ContainerId,
    name: String,
    image: &metadata::Image,
    config: &Config,
) -> Result<metadata::Container> {
    Ok(metadata::Container {
        snapshot_key: id.to_string(),
        id,
        name,
        image_id: image.id.clone(),
        config: serde_json::to_string(config).map_err(Error::Json)?,
        format: ContainerSpec::FORMAT,
        namespace: config.spec.owner.namespace().to_string(),
        state: serde_json::to_string(&State::default()).map_err(Error::Json)?,
        created: chrono::Utc::now(),
    })
}

/// A generated name no container has now.
fn free_name(store: &berth_store::Store) -> String {
    names::generate(|candidate| store.metadata.container_by_name(candidate).is_ok())
}

/// Stores the record. A generated name that a concurrent create took since it was drawn is drawn
/// again, as dockerd's name reservation retries; a user-given one is a conflict.
fn insert(
    store: &berth_store::Store,
    record: &mut metadata::Container,
    generated: bool,
    volumes: &[metadata::Volume],
    refs: &[(String, String)],
) -> Result<Vec<String>> {
    let mut draws = 0;
    loop {
        match store
            .metadata
            .create_container_with_volumes(record, volumes, refs)
        {
            Err(berth_store::Error::ContainerNameTaken { .. }) if generated && draws < 16 => {
                draws += 1;
                record.name = free_name(store);
            }
            Err(berth_store::Error::ContainerNameTaken { name, id }) => {
                return Err(Error::NameInUse { name, id })
            }
            other => return other.map_err(Into::into),
        }
    }
}

impl Engine {
    /// Creates a container; returns its id and dockerd's warnings about options this host
    /// cannot apply (they are dropped, as dockerd drops them).
    pub async fn create_container(&self, req: CreateRequest) -> Result<(String, Vec<String>)> {
        let name = req
            .name
            .as_deref()
            .filter(|n| !n.is_empty())
            .map(names::validate)
            .transpose()?;
        let id = crate::random_hex(32);
        let container_id = ContainerId::new(&id).map_err(|_| Error::InvalidName(id.clone()))?;
        let engine = self.clone();
        let data_dir = self.data_dir(&id);
        let bundle = self.bundle_dir(&id);
        let mut options = req.options;
        let warnings = crate::host::cgroup_support().drop_unsupported(&mut options.host_config);
        // dockerd records the default network by name.
        if matches!(options.host_config.network_mode.as_str(), "" | "default") {
            options.host_config.network_mode = crate::networks::DEFAULT_NETWORK.into();
        }
        fill_in_defaults(&mut options.host_config)?;
        let created = self
            .with_store(move |store| {
                let image = resolve(store, &options.image)?;
                let image_cfg = image_config(&image.config)?;
                let merged = spec::merge(&options, &image_cfg)?;
                let inherited = volumes_from(store, &options.host_config)?;
                let shown = name.clone().unwrap_or_else(|| id.clone());
                let mut model = ContainerSpec::from_docker(&options, &shown)?;
                // Validate everything the spec builder checks, now rather than at start.
                let mut probe = create_probe(container_id.clone(), bundle.join("rootfs"));
                probe.init_path = engine.config().init.clone();
                // `container:<name>` modes: the peer must exist now; its namespace paths are
                // known only at start, so the probe joins a stand-in.
                let stand_in = || Some(PathBuf::from("/proc/self/ns"));
                for (peer, slot) in [
                    (model.network.mode.joined_container(), &mut probe.join.net),
                    (model.namespaces.ipc.joined_container(), &mut probe.join.ipc),
                    (model.namespaces.pid.joined_container(), &mut probe.join.pid),
                ] {
                    if let Some(peer) = peer {
                        super::find(store, peer)?;
                        *slot = stand_in();
                    }
                }
                let user_mounts =
                    spec::docker_user_mounts(&with_inherited(&options, &inherited), &image_cfg)?;
                let built = spec::build_spec(&model, &image_cfg, &probe, user_mounts)?;
                let links = crate::networks::resolve_links(store, &model.network, &mut options)?;
                crate::networks::validate(store, &shown, &model.network, &options)?;
                crate::networks::configure(store, &model.network, &mut options);
                // What dockerd records of the networks, as the two above left it.
                model.network.endpoints = crate::model::docker_endpoints(&options, &shown)?;
                // dockerd refuses a missing `--mount` bind source now; `-v` ones are made at start.
                if let Some((missing, _)) = built
                    .bind_sources
                    .iter()
                    .find(|(src, create)| !create && !src.exists())
                {
                    return Err(Error::BindSourceMissing(missing.clone()));
                }
                let resolved = engine.resolve_volumes(
                    store,
                    &built.volume_requests,
                    &options.host_config.volume_driver,
                )?;
                let mut mounts = built.mount_points;
                mounts.extend(resolved.points);
                mounts.sort_by(|a, b| a.destination.cmp(&b.destination));

                let generated = name.is_none();
                let name = name.unwrap_or_else(|| free_name(store));
                let args = merged.args();
                let hostname = if !options.hostname.is_empty() {
                    options.hostname.clone()
                } else {
                    id[..12].to_string()
                };
                let config = Config {
                    spec: model,
                    image_name: options.image.clone(),
                    path: args.first().cloned().unwrap_or_default(),
                    args: args.iter().skip(1).cloned().collect(),
                    hostname,
                    extension: Some(Extension::DockerCreate(Box::new(options))),
                    mounts,
                    inherited_mounts: inherited,
                    links,
                    image_mounts: Vec::new(),
                };
                let mut record = new_record(container_id, name.clone(), &image, &config)?;
                let parent = image.layers.last().map(|l| l.chain_id.to_string());
                store.snapshots.prepare(&id, parent.as_deref())?;
                let new_dirs = engine.make_volume_dirs(&resolved.volumes);
                let made = new_dirs.and_then(|new_dirs| {
                    std::fs::create_dir_all(&data_dir)
                        .map_err(|source| Error::Io {
                            action: "create",
                            path: data_dir.clone(),
                            source,
                        })
                        .and_then(|()| {
                            insert(
                                store,
                                &mut record,
                                generated,
                                &resolved.volumes,
                                &resolved.refs,
                            )
                        })
                        .inspect_err(|_| engine.discard_volume_dirs(&new_dirs))
                });
                let new_volumes = match made {
                    Ok(v) => v,
                    Err(e) => {
                        let _ = store.snapshots.remove(&id);
                        let _ = std::fs::remove_dir_all(&data_dir);
                        return Err(e);
                    }
                };
                Ok((
                    super::parse_record(&record, engine.log_path(&id))?,
                    new_volumes,
                ))
            })
            .await?;
        let (created, new_volumes) = created;
        self.volumes_created(&new_volumes);
        self.inner.containers.entry(&created.id, &created.state);
        self.events().publish(
            EventType::Container,
            "create",
            &created.id,
            self.container_event_attrs(&created),
        );
        Ok((created.id, warnings))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
