//! `docker create`: a name, a writable snapshot on top of the image, a record. Nothing runs
//! until start, but the request is checked in full now (a spec is built and thrown away), so
//! bad options fail at create as they do with dockerd.

use berth_store::metadata;
use berth_types::ContainerId;
use serde_json::Value;

use super::{names, Config, State};
use crate::events::EventType;
use crate::images::resolve;
use crate::spec::{self, CreateOptions, ImageConfig, ResolvedUser, SpecContext};
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

impl Engine {
    /// Creates a container; returns its id.
    pub async fn create_container(&self, req: CreateRequest) -> Result<String> {
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
        let options = req.options;
        let created = self
            .with_store(move |store| {
                let image = resolve(store, &options.image)?;
                let image_cfg = image_config(&image.config)?;
                let merged = spec::merge(&options, &image_cfg)?;
                // Validate everything the spec builder checks, now rather than at start.
                let mut probe = SpecContext::new(
                    container_id.clone(),
                    bundle.join("rootfs"),
                    ResolvedUser {
                        uid: 0,
                        gid: 0,
                        additional_gids: Vec::new(),
                    },
                );
                probe.host_capabilities = super::lifecycle::bounding_set();
                probe.init_path = engine.config().init.clone();
                spec::build_spec(&options, &image_cfg, &probe)?;

                let name = match name {
                    Some(n) => n,
                    None => names::generate(|candidate| {
                        store.metadata.container_by_name(candidate).is_ok()
                    }),
                };
                let args = merged.args();
                let hostname = if !options.hostname.is_empty() {
                    options.hostname.clone()
                } else {
                    id[..12].to_string()
                };
                let config = Config {
                    image_name: options.image.clone(),
                    path: args.first().cloned().unwrap_or_default(),
                    args: args.iter().skip(1).cloned().collect(),
                    hostname,
                    options,
                };
                let parent = image.layers.last().map(|l| l.chain_id.to_string());
                store.snapshots.prepare(&id, parent.as_deref())?;
                let record = metadata::Container {
                    id: container_id,
                    name: name.clone(),
                    image_id: image.id.clone(),
                    snapshot_key: id.clone(),
                    config: serde_json::to_string(&config).map_err(Error::Json)?,
                    state: serde_json::to_string(&State::default()).map_err(Error::Json)?,
                    created: chrono::Utc::now(),
                };
                let made = std::fs::create_dir_all(&data_dir)
                    .map_err(|source| Error::Io {
                        action: "create",
                        path: data_dir.clone(),
                        source,
                    })
                    .and_then(|()| {
                        store
                            .metadata
                            .create_container(&record)
                            .map_err(|e| match e {
                                berth_store::Error::ContainerNameTaken { name, id } => {
                                    Error::NameInUse { name, id }
                                }
                                e => e.into(),
                            })
                    });
                if let Err(e) = made {
                    let _ = store.snapshots.remove(&id);
                    let _ = std::fs::remove_dir_all(&data_dir);
                    return Err(e);
                }
                super::parse_record(&record, engine.log_path(&id))
            })
            .await?;
        self.inner.containers.entry(&created.id, &created.state);
        self.events().publish(
            EventType::Container,
            "create",
            &created.id,
            self.container_event_attrs(&created),
        );
        Ok(created.id)
    }
}
