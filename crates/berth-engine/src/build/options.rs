//! What a build is asked to do, in the engine's terms: each API adapter (the Docker API's
//! `POST /build` query, `berth build`'s flags) parses its own spelling into [`BuildOptions`].

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::model::{Cpu, HostEntry, Memory, Rlimit};
use berth_registry::Credentials;

/// When the containers of RUN steps are removed (`rm`, `forcerm` of the API).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum RemoveContainers {
    /// After each successful step; a failed step's container stays for inspection.
    #[default]
    OnSuccess,
    /// Always, failed steps included.
    Always,
    /// Never.
    Never,
}

/// The network RUN steps get (`networkmode`): dockerd's default bridge unless asked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum BuildNetwork {
    #[default]
    Default,
    None,
    Host,
    /// A user-defined network by name or id.
    Named(String),
}

/// One build.
#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    /// The Dockerfile's path inside the context; empty: `Dockerfile`.
    pub dockerfile: String,
    /// `repo[:tag]` names for the result.
    pub tags: Vec<String>,
    /// `--build-arg`s; `None`: take the value from the client's environment, which the client
    /// resolved already (an unset one stays unset).
    pub build_args: BTreeMap<String, Option<String>>,
    /// The stage to build; `None`: the last.
    pub target: Option<String>,
    pub no_cache: bool,
    /// Pull base images even when present.
    pub pull: bool,
    pub remove: RemoveContainers,
    /// Labels set on the result.
    pub labels: BTreeMap<String, String>,
    /// Images whose steps may serve as cache.
    pub cache_from: Vec<String>,
    pub network: BuildNetwork,
    pub extra_hosts: Vec<HostEntry>,
    /// `/dev/shm` of RUN steps, bytes.
    pub shm_size: Option<i64>,
    pub memory: Memory,
    pub cpu: Cpu,
    pub ulimits: Vec<Rlimit>,
    /// `os/arch[/variant]`; the host's when `None`.
    pub platform: Option<String>,
    /// For base image pulls, by registry host.
    pub credentials: BTreeMap<String, Credentials>,
    /// Ids of the secrets `RUN --mount=type=secret` may use; their contents come in the
    /// context as `.berth-build-secrets/<id>` (docs/build.md).
    pub secrets: Vec<String>,
    /// SSH agent sockets on the daemon's host by id, for `RUN --mount=type=ssh`.
    pub ssh: BTreeMap<String, PathBuf>,
}
