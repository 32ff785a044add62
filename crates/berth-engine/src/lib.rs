//! The Berth engine: what `dockerd` + `containerd` do, as one library. API adapters (the Docker
//! Engine API, the CRI, the CLI through them) only ever call [`Engine`]; it owns the store, the
//! per-container monitors (berth-shim) and the event stream. Blocking storage work runs on
//! tokio's blocking pool; no namespace or fork work happens in this process (the runtime and the
//! shim do that).

pub mod build;
mod config;
pub mod containers;
mod error;
pub mod events;
pub mod host;
pub mod images;
pub mod model;
pub mod networks;
pub mod pod_network;
pub mod pods;
pub mod spec;
pub mod system;
pub mod usage;
pub mod volumes;

use std::sync::Arc;

use berth_store::Store;

pub use berth_registry::RegistryConfig;
pub use config::{EngineConfig, NetConfig};
pub use error::{Error, Result};

/// The engine. Cheap to clone: every clone shares the same state.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

struct Inner {
    config: EngineConfig,
    /// Thread-safe: each database sits behind its own lock inside, blobs are plain files.
    store: Store,
    events: events::EventBus,
    containers: containers::Registry,
    started: chrono::DateTime<chrono::Utc>,
    /// Garbage collection takes it for writing; operations that create images (import, load,
    /// commit) hold it for reading, so GC never sweeps a blob or snapshot they are about to
    /// reference (see docs/storage.md).
    gc_lock: tokio::sync::RwLock<()>,
    /// Which running containers hold which volumes (first mounts, last unmounts).
    volume_holders: std::sync::Mutex<volumes::local::Holders>,
    /// CNI client, DNS servers, published ports.
    net: networks::NetState,
    /// Per-pod operation locks.
    pods: pods::Registry,
    /// The pod CIDRs the kubelet assigned (CRI UpdateRuntimeConfig).
    pod_cidrs: std::sync::Mutex<Vec<ipnet::IpNet>>,
    /// The runtime as berthd and the shims run it.
    runtime_view: Option<containers::RuntimeView>,
    /// Which build cache mounts RUN steps hold.
    cache_mounts: build::CacheMounts,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("data_root", &self.inner.config.data_root)
            .finish_non_exhaustive()
    }
}

/// `n` random bytes as lowercase hex (ids, temporary names), from the kernel's CSPRNG.
pub(crate) fn random_hex(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    let mut filled = 0;
    while filled < n {
        // SAFETY: writes at most n - filled bytes into our buffer.
        let rc = unsafe { libc::getrandom(bytes[filled..].as_mut_ptr().cast(), n - filled, 0) };
        if rc > 0 {
            filled += rc as usize;
        } else if nix::errno::Errno::last() != nix::errno::Errno::EINTR {
            // getrandom only fails before the pool is seeded or without the syscall; uniqueness
            // (not secrecy) is what ids need, so mix in the clock.
            let nanos = chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default();
            for (i, b) in bytes.iter_mut().enumerate().skip(filled) {
                *b =
                    (nanos >> (i % 8 * 8)) as u8 ^ (std::process::id() as u8).wrapping_add(i as u8);
            }
            break;
        }
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Engine {
    /// Opens the stores under the configured roots (creating them), ready to serve.
    pub async fn open(config: EngineConfig) -> Result<Self> {
        let data_root = config.data_root.clone();
        let exec_root = config.exec_root.clone();
        let store = tokio::task::spawn_blocking(move || -> Result<Store> {
            for dir in [&data_root, &exec_root] {
                std::fs::create_dir_all(dir).map_err(|source| Error::Io {
                    action: "create",
                    path: dir.clone(),
                    source,
                })?;
            }
            let store = Store::open(&data_root)?;
            let upgraded = store
                .metadata
                .upgrade_containers(model::ContainerSpec::FORMAT, containers::upgrade)?;
            if upgraded > 0 {
                tracing::info!(containers = upgraded, "upgraded container records");
            }
            Ok(store)
        })
        .await
        .map_err(Error::from_join)??;
        let runtime_view = {
            let (runtime, scratch) = (config.runtime.clone(), config.exec_root.join("runtime"));
            tokio::task::spawn_blocking(move || containers::RuntimeView::new(&runtime, &scratch))
                .await
                .map_err(Error::from_join)?
        };
        let engine = Self {
            inner: Arc::new(Inner {
                net: networks::NetState::new(&config),
                config,
                store,
                events: events::EventBus::new(),
                containers: containers::Registry::default(),
                started: chrono::Utc::now(),
                gc_lock: tokio::sync::RwLock::new(()),
                volume_holders: Default::default(),
                pods: Default::default(),
                pod_cidrs: Default::default(),
                runtime_view,
                cache_mounts: Default::default(),
            }),
        };
        engine.open_networks().await?;
        engine.restore().await?;
        engine.reconcile_networks().await?;
        engine.load_pod_cidrs().await?;
        engine.restore_pods().await?;
        Ok(engine)
    }

    pub fn config(&self) -> &EngineConfig {
        &self.inner.config
    }

    pub fn events(&self) -> &events::EventBus {
        &self.inner.events
    }

    /// Runs `f` with the store on the blocking pool.
    /// The stores, for code already on a blocking thread.
    pub(crate) fn store(&self) -> &Store {
        &self.inner.store
    }

    pub(crate) fn inner_cache_mounts(&self) -> &build::CacheMounts {
        &self.inner.cache_mounts
    }

    pub(crate) async fn with_store<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Store) -> Result<T> + Send + 'static,
    {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || f(&inner.store))
            .await
            .map_err(Error::from_join)?
    }
}
