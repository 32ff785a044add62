use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::error::ModelError;
use super::{
    LogSpec, Namespaces, NetworkMode, Networking, Owner, ProcessSpec, Resources, RestartPolicy,
    Security, Storage,
};

/// Everything fixed when a container is created: the engine's whole contract for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ContainerSpec {
    /// [`ContainerSpec::FORMAT`] of the engine that wrote it; see [`ContainerSpec::check_format`].
    pub format: u32,
    pub owner: Owner,
    /// The image as the client named it; the record keeps the resolved id beside it.
    pub image: String,
    pub labels: BTreeMap<String, String>,
    /// Handed to the runtime in the OCI spec.
    pub annotations: BTreeMap<String, String>,
    pub process: ProcessSpec,
    pub network: Networking,
    pub namespaces: Namespaces,
    pub storage: Storage,
    pub resources: Resources,
    pub security: Security,
    pub restart: RestartPolicy,
    /// Remove the container once it exits (never with a restart policy).
    pub auto_remove: bool,
    pub log: LogSpec,
    /// The OCI runtime by name; `None`: the daemon's.
    pub runtime: Option<String>,
}

impl Default for ContainerSpec {
    fn default() -> Self {
        Self {
            format: Self::FORMAT,
            owner: Owner::default(),
            image: String::new(),
            labels: BTreeMap::new(),
            annotations: BTreeMap::new(),
            process: ProcessSpec::default(),
            network: Networking::default(),
            namespaces: Namespaces::default(),
            storage: Storage::default(),
            resources: Resources::default(),
            security: Security::default(),
            restart: RestartPolicy::default(),
            auto_remove: false,
            log: LogSpec::default(),
            runtime: None,
        }
    }
}

impl ContainerSpec {
    /// The layout this engine writes, also the container row's `format`. Adding a field with
    /// a default does not change it; a change in meaning does, with an upgrade of older rows
    /// at open. Format 1 was Docker's create body, before the engine had a model.
    pub const FORMAT: u32 = 2;

    /// Refuses a spec written by a newer engine, which may hold what this one would drop.
    pub fn check_format(&self) -> Result<(), ModelError> {
        if self.format > Self::FORMAT {
            return Err(ModelError::FormatTooNew {
                found: self.format,
                supported: Self::FORMAT,
            });
        }
        Ok(())
    }

    /// Pod namespaces are for the pod's own containers: another owner has no pod to join.
    pub fn check_owner(&self) -> Result<(), ModelError> {
        let pod = self.owner.pod();
        if let NetworkMode::Pod(id) = &self.network.mode {
            if pod != Some(id) {
                return Err(ModelError::NotInPod {
                    option: "network mode",
                    value: self.network.mode.to_string(),
                });
            }
        }
        if pod.is_none() && self.namespaces.uses_pod() {
            return Err(ModelError::NotInPod {
                option: "namespace mode",
                value: format!(
                    "ipc {}, pid {}, uts {}",
                    self.namespaces.ipc, self.namespaces.pid, self.namespaces.uts
                ),
            });
        }
        Ok(())
    }
}
