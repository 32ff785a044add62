//! [`build_spec`]: the runtime spec for a create request, in the order of moby
//! `daemon/oci_linux.go` `createSpec` (common options, cgroups, resources, sysctls, devices,
//! rlimits, namespaces, capabilities, seccomp, mounts). The parts moved into named steps over
//! the model ([`super::opts`]) run where their inputs are ready; the user mounts are still
//! parsed from the body.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use berth_types::ContainerId;
use oci_spec::runtime::{Linux, Root, Spec};

use super::error::{invalid, SpecError};
use super::mounts::{self, MountPoint, UserMounts, VolumeRequest};
use super::options::{ImageConfig, LogConfig};
use super::opts;
use super::resources::{HostDevices, HostFs};
use super::seccomp::SeccompHost;
use super::user::ResolvedUser;
use crate::model::ContainerSpec;

/// Where the init binary (`--init`) appears in the container, as in Docker.
pub const INIT_PATH_IN_CONTAINER: &str = "/sbin/docker-init";

/// The cgroup parent when the request names none.
pub const DEFAULT_CGROUP_PARENT: &str = "/berth";

/// dockerd's default masked paths (moby `oci/defaults.go`, with `/sys/devices/virtual/powercap`
/// added in 25.0).
pub const DEFAULT_MASKED_PATHS: [&str; 11] = [
    "/proc/asound",
    "/proc/acpi",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
];

/// dockerd's default read-only paths.
pub const DEFAULT_READONLY_PATHS: [&str; 5] = [
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
];

/// Namespaces of other containers to join, for `container:<id>` modes. The engine knows the
/// other container's pid; the spec builder only needs the paths (`/proc/<pid>/ns/<type>`).
#[derive(Debug, Clone, Default)]
pub struct JoinNamespaces {
    /// Also used for a network namespace the engine prepared itself (CNI): joined instead of
    /// creating a new one.
    pub net: Option<PathBuf>,
    pub ipc: Option<PathBuf>,
    pub pid: Option<PathBuf>,
    pub uts: Option<PathBuf>,
    /// The pod's user namespace (pause's), joined before the others.
    pub user: Option<PathBuf>,
}

/// What the engine decided before building the spec.
pub struct SpecContext<'a> {
    pub id: ContainerId,
    /// The mounted root filesystem (overlay) of the container.
    pub rootfs: PathBuf,
    /// From [`super::resolve_user`] on the merged user and `GroupAdd`.
    pub user: ResolvedUser,
    /// Generated files bound over the image's /etc/hosts, /etc/resolv.conf and /etc/hostname.
    pub hosts_path: Option<PathBuf>,
    pub resolv_conf_path: Option<PathBuf>,
    pub hostname_path: Option<PathBuf>,
    pub join: JoinNamespaces,
    /// A host directory to bind at /dev/shm for `--ipc shareable` or `container:` (instead of a
    /// private tmpfs).
    pub shm_path: Option<PathBuf>,
    /// The static init binary for `--init` (tini / docker-init), bound read-only at
    /// [`INIT_PATH_IN_CONTAINER`].
    pub init_path: Option<PathBuf>,
    /// The daemon's `--init` default, used when the request leaves `Init` unset.
    pub init_by_default: bool,
    /// The host's hostname, which a `--network host` container gets unless it sets its own.
    pub host_hostname: String,
    /// Unified hierarchy: containers get a private cgroup namespace by default.
    pub cgroup_v2: bool,
    /// CPUs available to the daemon: `--cpus` may not exceed it.
    pub host_cpus: usize,
    pub seccomp_host: SeccompHost,
    /// Host device lookups for `--device` and `--privileged`.
    pub devices: &'a dyn HostDevices,
    /// Capabilities the host can grant (berthd's bounding set, bit N = capability N); `None`
    /// assumes all of them.
    pub host_capabilities: Option<u64>,
    /// The variables of legacy links (`--link` on the default bridge), before the
    /// container's own.
    pub linked_env: Vec<String>,
}

impl std::fmt::Debug for SpecContext<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SpecContext")
            .field("id", &self.id)
            .field("rootfs", &self.rootfs)
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

impl SpecContext<'static> {
    /// A context with the common defaults: no generated /etc files, no namespaces to join, no
    /// init, cgroup v2, the CPUs this process may use, the native architecture and the real
    /// host's devices.
    pub fn new(id: ContainerId, rootfs: PathBuf, user: ResolvedUser) -> Self {
        Self {
            id,
            rootfs,
            user,
            hosts_path: None,
            resolv_conf_path: None,
            hostname_path: None,
            join: JoinNamespaces::default(),
            shm_path: None,
            init_path: None,
            init_by_default: false,
            host_hostname: String::new(),
            cgroup_v2: true,
            host_cpus: std::thread::available_parallelism().map_or(1, usize::from),
            seccomp_host: SeccompHost::native(None),
            devices: &HostFs,
            host_capabilities: None,
            linked_env: Vec::new(),
        }
    }
}

/// The result: the spec, plus the volumes the engine must resolve and mount with
/// [`BuiltSpec::mount_volume`] before handing the spec to the runtime.
#[derive(Debug, Clone)]
pub struct BuiltSpec {
    pub spec: Spec,
    pub volume_requests: Vec<VolumeRequest>,
    /// Binds and `--mount` tmpfs as `docker inspect` lists them; the engine adds the volumes.
    pub mount_points: Vec<MountPoint>,
    /// Host paths bound into the container, with whether a missing one is created (`-v`, as
    /// dockerd) rather than refused (`--mount`).
    pub bind_sources: Vec<(PathBuf, bool)>,
    /// Index of the first user mount in `spec.mounts`; defaults come before it.
    first_user_mount: usize,
}

impl BuiltSpec {
    /// Adds the mount of a resolved volume among the user mounts, keeping Docker's order
    /// (shallower destinations first).
    pub fn mount_volume(&mut self, request: &VolumeRequest, source: &Path) {
        let m = request.to_mount(source);
        let mut all = self.spec.mounts().clone().unwrap_or_default();
        let d = mounts::depth(&m);
        let at = all[self.first_user_mount.min(all.len())..]
            .iter()
            .position(|existing| mounts::depth(existing) > d)
            .map_or(all.len(), |i| i + self.first_user_mount);
        all.insert(at, m);
        self.spec.set_mounts(Some(all));
    }
}

/// The container's cgroup: `<parent>/<id>`, parent defaulting to [`DEFAULT_CGROUP_PARENT`].
pub fn cgroups_path(cgroup_parent: &str, id: &ContainerId) -> Result<PathBuf, SpecError> {
    let parent = if cgroup_parent.is_empty() {
        DEFAULT_CGROUP_PARENT
    } else {
        cgroup_parent
    };
    let rel = Path::new(parent.trim_start_matches('/'));
    if rel
        .components()
        .any(|c| !matches!(c, std::path::Component::Normal(_)))
    {
        return Err(invalid(
            "CgroupParent",
            cgroup_parent,
            "must not contain . or .. components",
        ));
    }
    Ok(Path::new("/").join(rel).join(id.as_str()))
}

/// A log driver and its options, with the messages create has always given.
pub(crate) fn validate_log_config(log: &LogConfig) -> Result<(), SpecError> {
    match log.driver.as_str() {
        "" | "json-file" | "local" | "none" => {}
        other => return Err(SpecError::UnsupportedLogDriver(other.to_string())),
    }
    for (key, value) in &log.config {
        let bad = || SpecError::BadLogOption(format!("{key}={value}"));
        match key.as_str() {
            "max-size" if parse_size(value).is_none() => return Err(bad()),
            "max-file" => match value.parse::<u32>() {
                Err(_) => return Err(bad()),
                Ok(0) => {
                    return Err(invalid(
                        "LogConfig.Config.max-file",
                        value,
                        "expected a count >= 1",
                    ))
                }
                Ok(_) => {}
            },
            "max-size" | "compress" | "labels" | "env" | "tag" | "mode" | "max-buffer-size" => {}
            _ => return Err(invalid("LogConfig.Config", key, "unknown log option")),
        }
    }
    Ok(())
}

/// `10m`, `1g`, `512k`, `100` (bytes), as Docker's `units.RAMInBytes`.
pub(crate) fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim().to_ascii_lowercase();
    let s = s.strip_suffix('b').unwrap_or(&s);
    let (num, mult) = match s.chars().last()? {
        'k' => (&s[..s.len() - 1], 1u64 << 10),
        'm' => (&s[..s.len() - 1], 1 << 20),
        'g' => (&s[..s.len() - 1], 1 << 30),
        't' => (&s[..s.len() - 1], 1 << 40),
        _ => (s, 1),
    };
    let n: f64 = num.parse().ok()?;
    (n >= 0.0).then_some((n * mult as f64) as u64)
}

/// `OomScoreAdj` within the kernel's range.
pub(crate) fn oom_score_adj(value: i64) -> Result<i32, SpecError> {
    i32::try_from(value)
        .ok()
        .filter(|v| (-1000..=1000).contains(v))
        .ok_or_else(|| invalid("OomScoreAdj", value, "range is [-1000, 1000]"))
}

/// Builds the runtime spec for `model` over `image`, as dockerd would. `user` is the request's
/// mounts, parsed from the Docker body ([`super::docker_user_mounts`]) until the model keeps
/// all the spec and inspect show of them (docs/container-model.md, step 7).
pub(crate) fn build_spec(
    model: &ContainerSpec,
    image: &ImageConfig,
    ctx: &SpecContext<'_>,
    user: UserMounts,
) -> Result<BuiltSpec, SpecError> {
    let mut spec = Spec::default();
    // Without oci-spec's default mounts: steps add theirs, the mounts step Docker's.
    spec.set_mounts(None);
    opts::process::process(&mut spec, model, image, ctx)?;
    opts::init::init(&mut spec, model, ctx)?;

    opts::resources::resources(&mut spec, model, ctx)?;
    opts::devices::devices(&mut spec, model, ctx)?;
    opts::namespaces::namespaces(&mut spec, model, ctx)?;
    opts::sysctls::sysctls(&mut spec, model, ctx)?;

    let first_user_mount = opts::mounts::mounts(&mut spec, model, ctx, &user)?;

    let linux = spec.linux_mut().get_or_insert_with(Linux::default);
    linux.set_uid_mappings(None);
    linux.set_gid_mappings(None);

    let mut root = Root::default();
    root.set_path(ctx.rootfs.clone());

    let annotations: HashMap<String, String> = model
        .annotations
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();

    spec.set_root(Some(root));
    spec.set_annotations((!annotations.is_empty()).then_some(annotations));
    spec.set_hooks(None);
    opts::user::user(&mut spec, model, ctx)?;
    opts::rlimits::rlimits(&mut spec, model, ctx)?;
    opts::security::security(&mut spec, model, ctx)?;
    // After security: the filter follows the bounding set.
    opts::seccomp::seccomp(&mut spec, model, ctx)?;
    opts::hostname::hostname(&mut spec, model, ctx)?;

    Ok(BuiltSpec {
        spec,
        volume_requests: user.volumes,
        mount_points: user.points,
        bind_sources: user.bind_sources,
        first_user_mount,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
