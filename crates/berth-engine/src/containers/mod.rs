//! Containers: records in the metadata DB, live state in memory (watch channels), and the
//! lifecycle driven through berth-shim and the OCI runtime.
//!
//! Layout: `<exec-root>/containers/<id>/` is the bundle (`config.json`, `rootfs/` mount point),
//! `<exec-root>/s/<id prefix>/` the shim's sockets and exit file (short: socket paths are
//! limited to 108 bytes); `<data-root>/containers/<id>/` keeps what must survive a reboot: the
//! json-file log and the generated hostname, hosts and resolv.conf.

mod attach;
mod bundle;
mod commit;
mod create;
mod etc_files;
mod exec;
mod exit;
pub(crate) mod fs;
mod health;
mod log_options;
mod logs;
mod manage;
mod names;
mod pause;
mod prune;
mod remove;
mod restore;
pub(crate) mod runtime;
pub(crate) use runtime::RuntimeView;
mod start;
mod stop;
mod upgrade;
mod wait;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use berth_store::Store;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use crate::model::ContainerSpec;
use crate::spec::{CreateOptions, MountPoint, MountSpec};
use crate::{Engine, Error, Result};

pub use attach::{AttachOptions, AttachStream, PendingAttach};
pub use berth_image::{Change, ChangeKind, PathStat};
pub(crate) use bundle::is_mountpoint;
pub use commit::CommitOptions;
pub use create::CreateRequest;
pub(crate) use create::{create_probe, image_config, new_record};
pub(crate) use etc_files::{hosts_file, resolv_conf};
pub use exec::{
    Exec, ExecConfig, ExecHandle, ExecStartOptions, ExecState, ExecSyncExit, ExecSyncOutput,
    OutputKind, OutputReader,
};
pub use fs::ExtractOptions;
pub(crate) use fs::RootfsMount;
pub use health::{Health, HealthResult, HealthStatus};
pub use logs::{LogLine, LogsOptions};
pub use manage::{BlkioEntry, BlkioStats, CgroupStats, StatsSample, Top, UpdateRequest};
pub use prune::{ContainerPruneOptions, ContainersPruned};
pub(crate) use upgrade::upgrade;
pub use wait::WaitCondition;

/// An I/O error naming what was done to which path.
pub(super) fn io_err<'a>(
    action: &'static str,
    path: &'a std::path::Path,
) -> impl FnOnce(std::io::Error) -> Error + 'a {
    move |source| Error::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}

/// Docker's container states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    #[default]
    Created,
    Running,
    Paused,
    Restarting,
    Removing,
    Exited,
    Dead,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Running => "running",
            Self::Paused => "paused",
            Self::Restarting => "restarting",
            Self::Removing => "removing",
            Self::Exited => "exited",
            Self::Dead => "dead",
        }
    }

    /// A process exists (running or frozen).
    pub fn is_live(self) -> bool {
        matches!(self, Self::Running | Self::Paused)
    }
}

/// What changes while a container lives; stored as JSON in the metadata DB after every change.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct State {
    pub status: Status,
    pub pid: i32,
    pub shim_pid: i32,
    pub exit_code: i32,
    pub oom_killed: bool,
    pub error: String,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub restart_count: u32,
    /// How many times the process has exited, so `wait --condition next-exit` cannot miss a
    /// start and exit that both happen before it looks.
    #[serde(default)]
    pub exits: u64,
    /// Set by `stop`/`kill` from the user, so restart policies leave the container alone.
    pub stopped_by_user: bool,
    /// Published once when the container is removed, for `wait --condition removed`.
    #[serde(skip)]
    pub removed: bool,
    /// `.State.Health`; `None` without a healthcheck.
    #[serde(default)]
    pub health: Option<Health>,
    /// Endpoints on CNI networks while it runs (the first is the primary network).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub networks: Vec<crate::networks::Endpoint>,
    /// The ids the process of the last start runs with (the CRI's ContainerStatus.user).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<crate::spec::ResolvedUser>,
    /// Published ports while it runs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<crate::networks::PublishedPort>,
}

/// What is fixed at create; stored as JSON in the metadata DB, in the layout
/// [`ContainerSpec::FORMAT`] numbers (the row's `format`; older rows are upgraded at open).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Config {
    /// The engine's model of the container.
    pub spec: ContainerSpec,
    /// What the API that created the container keeps of its request for its own views.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extension: Option<Extension>,
    /// The image as the user named it (`busybox`), shown by `docker ps`.
    pub image_name: String,
    /// Path and args of the process, after merging with the image (for `ps` and inspect).
    pub path: String,
    pub args: Vec<String>,
    pub hostname: String,
    /// Binds, volumes and `--mount` tmpfs, resolved at create (`Mounts` in inspect).
    #[serde(default)]
    pub mounts: Vec<MountPoint>,
    /// What `--volumes-from` brought, as `--mount`s added to the container's own at start.
    #[serde(default)]
    pub inherited_mounts: Vec<MountSpec>,
    /// Legacy links (`--link` off user networks), resolved at create.
    #[serde(default)]
    pub links: Vec<crate::networks::Link>,
    /// The images a pod's container mounts (its `MountKind::Image`s, in order), resolved at
    /// create.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub image_mounts: Vec<crate::pods::ImageMount>,
}

/// An API's own record of a create request, stored with the container as
/// `{"kind": ..., "json": ...}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", content = "json")]
pub enum Extension {
    /// Docker's create body after the defaults create fills in, as inspect shows it.
    #[serde(rename = "docker.create/v1")]
    DockerCreate(Box<CreateOptions>),
    /// The CRI's name and attempt of a pod's container.
    #[serde(rename = "cri.container/v1")]
    Cri(crate::pods::PodContainerMetadata),
}

/// A container as the engine reports it.
#[derive(Debug, Clone)]
pub struct Container {
    pub id: String,
    pub name: String,
    pub image_id: berth_types::Digest,
    pub created: DateTime<Utc>,
    pub config: Config,
    pub state: State,
    pub log_path: PathBuf,
}

impl Container {
    /// The Docker create body. Until the spec builder and the network plan take
    /// [`Config::spec`] (docs/container-model.md, steps 6-7), they read this.
    pub fn docker(&self) -> Result<&CreateOptions> {
        match &self.config.extension {
            Some(Extension::DockerCreate(o)) => Ok(o),
            _ => Err(Error::NoDockerBody(self.id.clone())),
        }
    }

    /// A pod's container: it joins the pod's namespaces, and nobody attaches before it runs.
    pub(crate) fn in_pod(&self) -> bool {
        matches!(self.config.extension, Some(Extension::Cri(_)))
    }

    /// [`Container::docker`], to change what `docker network connect` and `update` change.
    pub(crate) fn docker_mut(&mut self) -> Result<&mut CreateOptions> {
        match &mut self.config.extension {
            Some(Extension::DockerCreate(o)) => Ok(o),
            _ => Err(Error::NoDockerBody(self.id.clone())),
        }
    }
}

/// In-memory side of one container: its state channel (for `wait` and the lifecycle), a lock
/// that serializes lifecycle operations on it, and a short one that serializes changes of its
/// state.
pub(crate) struct Entry {
    pub(crate) state: watch::Sender<State>,
    pub(crate) op: tokio::sync::Mutex<()>,
    /// Held by [`Engine::update_state`] from reading the state to publishing the change: never
    /// across a wait, so the exit handler can record an exit while a stop waits for it.
    pub(crate) state_update: tokio::sync::Mutex<()>,
    /// Attach requests made before start; start hands each an ack channel once the shim
    /// listens, and starts the process after every one has connected.
    pub(crate) attach_waiters:
        Mutex<Vec<tokio::sync::oneshot::Sender<tokio::sync::oneshot::Sender<()>>>>,
    /// Set by `docker restart` while it stops the container: its exit is not the end a `--rm`
    /// container is removed at (as dockerd clears AutoRemove during a restart).
    pub(crate) restarting: std::sync::atomic::AtomicBool,
}

/// Every known container's live entry, keyed by id.
#[derive(Default)]
pub(crate) struct Registry {
    entries: Mutex<HashMap<String, Arc<Entry>>>,
    pub(crate) execs: exec::Execs,
}

impl Registry {
    pub(crate) fn entry(&self, id: &str, initial: &State) -> Arc<Entry> {
        let mut map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        map.entry(id.to_string())
            .or_insert_with(|| {
                Arc::new(Entry {
                    state: watch::Sender::new(initial.clone()),
                    op: tokio::sync::Mutex::new(()),
                    state_update: tokio::sync::Mutex::new(()),
                    attach_waiters: Mutex::new(Vec::new()),
                    restarting: Default::default(),
                })
            })
            .clone()
    }

    pub(crate) fn forget(&self, id: &str) {
        self.entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(id);
    }
}

pub(crate) fn parse_record(
    c: &berth_store::metadata::Container,
    log_path: PathBuf,
) -> Result<Container> {
    let config: Config =
        serde_json::from_str(&c.config).map_err(|source| Error::CorruptRecord {
            id: c.id.to_string(),
            source,
        })?;
    config.spec.check_format()?;
    let state: State = serde_json::from_str(&c.state).map_err(|source| Error::CorruptRecord {
        id: c.id.to_string(),
        source,
    })?;
    Ok(Container {
        id: c.id.to_string(),
        name: c.name.clone(),
        image_id: c.image_id.clone(),
        created: c.created,
        config,
        state,
        log_path,
    })
}

/// Finds a container by full id, name (with or without the leading `/`) or unique id prefix.
pub(crate) fn find(store: &Store, name_or_id: &str) -> Result<berth_store::metadata::Container> {
    let not_found = || Error::NoSuchContainer(name_or_id.to_string());
    let wanted = name_or_id.trim_start_matches('/');
    if wanted.is_empty() {
        return Err(not_found());
    }
    match store.metadata.get_container(wanted) {
        Ok(c) => return Ok(c),
        Err(berth_store::Error::ContainerNotFound(_)) => {}
        Err(e) => return Err(e.into()),
    }
    match store.metadata.container_by_name(wanted) {
        Ok(c) => return Ok(c),
        Err(berth_store::Error::ContainerNotFound(_)) => {}
        Err(e) => return Err(e.into()),
    }
    let mut hits = store
        .metadata
        .list_containers()?
        .into_iter()
        .filter(|c| c.id.as_str().starts_with(wanted));
    match (hits.next(), hits.next()) {
        (Some(c), None) => Ok(c),
        (Some(_), Some(_)) => Err(Error::AmbiguousContainer(name_or_id.to_string())),
        _ => Err(not_found()),
    }
}

/// Filters of `docker ps`, already parsed by the API layer.
#[derive(Debug, Default, Clone)]
pub struct ListOptions {
    pub all: bool,
    pub labels: Vec<String>,
    pub statuses: Vec<String>,
    pub names: Vec<String>,
    pub ids: Vec<String>,
    pub ancestors: Vec<String>,
    pub exited: Vec<i32>,
}

impl Engine {
    pub(crate) fn bundle_dir(&self, id: &str) -> PathBuf {
        self.config().exec_root.join("containers").join(id)
    }

    pub(crate) fn data_dir(&self, id: &str) -> PathBuf {
        self.config().data_root.join("containers").join(id)
    }

    pub(crate) fn runtime_root(&self) -> PathBuf {
        self.config().exec_root.join("runtime")
    }

    /// The shim's sockets live here; short, because a unix socket path must fit in 108 bytes
    /// and the exec root may already be long (a prefix of 24 hex digits is unique enough).
    pub(crate) fn shim_dir(&self, id: &str) -> PathBuf {
        self.config()
            .exec_root
            .join("s")
            .join(id.get(..24).unwrap_or(id))
    }

    pub(crate) fn log_path(&self, id: &str) -> PathBuf {
        self.data_dir(id).join(format!("{id}-json.log"))
    }

    /// Loads one container (current state from memory when it is live here).
    pub async fn container(&self, name_or_id: &str) -> Result<Container> {
        let name = name_or_id.to_string();
        let engine = self.clone();
        let record = self.with_store(move |store| find(store, &name)).await?;
        let mut c = parse_record(&record, engine.log_path(record.id.as_str()))?;
        let entry = self.inner.containers.entry(&c.id, &c.state);
        c.state = entry.state.borrow().clone();
        Ok(c)
    }

    /// Every container of every owner, with its live state.
    pub(crate) async fn all_containers(&self) -> Result<Vec<Container>> {
        let records = self
            .with_store(|store| Ok(store.metadata.list_containers()?))
            .await?;
        records
            .iter()
            .map(|r| {
                let mut c = parse_record(r, self.log_path(r.id.as_str()))?;
                let entry = self.inner.containers.entry(&c.id, &c.state);
                c.state = entry.state.borrow().clone();
                Ok(c)
            })
            .collect()
    }

    pub async fn list_containers(&self, opts: ListOptions) -> Result<Vec<Container>> {
        let mut out = Vec::new();
        for c in self.all_containers().await? {
            // A pod's containers are the CRI's, as containerd's k8s.io namespace is not
            // dockerd's.
            if c.config.spec.owner.pod().is_some() {
                continue;
            }
            // Like `docker ps`: without -a only live containers (paused ones included).
            if !opts.all
                && opts.statuses.is_empty()
                && !c.state.status.is_live()
                && c.state.status != Status::Restarting
            {
                continue;
            }
            if !opts.statuses.is_empty()
                && !opts.statuses.iter().any(|s| s == c.state.status.as_str())
            {
                continue;
            }
            if !opts
                .labels
                .iter()
                .all(|l| label_matches(&c.config.spec.labels, l))
            {
                continue;
            }
            if !opts.names.is_empty()
                && !opts
                    .names
                    .iter()
                    .any(|n| c.name.contains(n.trim_start_matches('/')))
            {
                continue;
            }
            if !opts.ids.is_empty() && !opts.ids.iter().any(|i| c.id.starts_with(i.as_str())) {
                continue;
            }
            if !opts.ancestors.is_empty()
                && !opts.ancestors.iter().any(|a| {
                    *a == c.config.image_name
                        || c.image_id
                            .as_str()
                            .contains(a.trim_start_matches("sha256:"))
                })
            {
                continue;
            }
            let exited_matches =
                c.state.status == Status::Exited && opts.exited.contains(&c.state.exit_code);
            if !opts.exited.is_empty() && !exited_matches {
                continue;
            }
            out.push(c);
        }
        out.sort_by_key(|c| std::cmp::Reverse(c.created));
        Ok(out)
    }

    /// Persists what is fixed at create, after a change (`update`, `network connect`).
    pub(crate) async fn save_config(&self, id: &str, config: &Config) -> Result<()> {
        let json = serde_json::to_string(config).map_err(Error::Json)?;
        let id = id.to_string();
        self.with_store(move |store| Ok(store.metadata.set_container_config(&id, &json)?))
            .await
    }

    /// Applies `change` to the container's current state, then persists and publishes it.
    /// Changes are serialized, each on the state the one before left, so none (the exit
    /// handler's included) is overwritten by a copy read before it was made.
    pub(crate) async fn update_state<T>(
        &self,
        id: &str,
        change: impl FnOnce(&mut State) -> T,
    ) -> Result<T> {
        // Through the record, so a removed container is an error, not a new entry.
        let c = self.container(id).await?;
        let entry = self.inner.containers.entry(&c.id, &c.state);
        let _update = entry.state_update.lock().await;
        let mut state = entry.state.borrow().clone();
        let out = change(&mut state);
        let changed = state != *entry.state.borrow();
        if changed {
            self.save_state(&c.id, state).await?;
        }
        Ok(out)
    }

    /// Persists `state` and publishes it to waiters. Callers that change the state of a
    /// container that may be running use [`Self::update_state`].
    pub(crate) async fn save_state(&self, id: &str, state: State) -> Result<()> {
        let json = serde_json::to_string(&state).map_err(Error::Json)?;
        let key = id.to_string();
        self.with_store(move |store| Ok(store.metadata.set_container_state(&key, &json)?))
            .await?;
        let entry = self.inner.containers.entry(id, &state);
        entry.state.send_replace(state);
        Ok(())
    }

    /// Event attributes Docker attaches to container events: image, name and labels.
    pub(crate) fn container_event_attrs(&self, c: &Container) -> BTreeMap<String, String> {
        let mut attrs = c.config.spec.labels.clone();
        attrs.insert("image".into(), c.config.image_name.clone());
        attrs.insert("name".into(), c.name.clone());
        attrs
    }
}

/// Docker's `label=k` / `label=k=v` filter on one object's labels.
pub(crate) fn label_matches(labels: &BTreeMap<String, String>, filter: &str) -> bool {
    match filter.split_once('=') {
        Some((k, v)) => labels.get(k).is_some_and(|have| have == v),
        None => labels.contains_key(filter),
    }
}

/// A stopped container named `web` created through the Docker API with `options`, for unit
/// tests of what reads a record.
#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) fn docker_container(options: CreateOptions) -> Container {
    Container {
        id: "c".repeat(64),
        name: "web".into(),
        image_id: berth_types::Digest::sha256_from_bytes(&[0; 32]),
        created: Utc::now(),
        config: Config {
            spec: ContainerSpec::from_docker(&options, "web").unwrap(),
            extension: Some(Extension::DockerCreate(Box::new(options))),
            image_name: "busybox".into(),
            path: "sh".into(),
            args: Vec::new(),
            hostname: "cccccccccccc".into(),
            mounts: Vec::new(),
            inherited_mounts: Vec::new(),
            links: Vec::new(),
            image_mounts: Vec::new(),
        },
        state: State::default(),
        log_path: PathBuf::new(),
    }
}
