//! [`build_spec`]: the runtime spec for a create request, in the order of moby
//! `daemon/oci_linux.go` `createSpec` (common options, cgroups, resources, sysctls, devices,
//! rlimits, namespaces, capabilities, seccomp, mounts).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use berth_types::ContainerId;
use oci_spec::runtime::{
    LinuxCapabilities, LinuxNamespace, LinuxNamespaceType, LinuxResources, Mount, Process, Root,
    Spec, User,
};

use super::caps::{available_only, effective_capabilities, to_oci};
use super::error::{invalid, SpecError};
use super::merge::{merge, process_env, MergedConfig};
use super::mounts::{self, VolumeRequest};
use super::options::{CreateOptions, HostConfig, ImageConfig};
use super::resources::{self, HostDevices, HostFs, SharedNamespaces};
use super::seccomp::{self, SeccompHost};
use super::user::ResolvedUser;

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
        }
    }
}

/// The result: the spec, plus the volumes the engine must resolve and mount with
/// [`BuiltSpec::mount_volume`] before handing the spec to the runtime.
#[derive(Debug, Clone)]
pub struct BuiltSpec {
    pub spec: Spec,
    pub merged: MergedConfig,
    pub volume_requests: Vec<VolumeRequest>,
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

/// Namespace mode of one kind, after validation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NsMode {
    Private,
    Host,
    Join,
}

fn ns_mode(option: &'static str, value: &str, extra_private: &[&str]) -> Result<NsMode, SpecError> {
    match value {
        "" | "private" => Ok(NsMode::Private),
        "host" => Ok(NsMode::Host),
        v if v.strip_prefix("container:").is_some_and(|c| !c.is_empty()) => Ok(NsMode::Join),
        v if extra_private.contains(&v) => Ok(NsMode::Private),
        v => Err(invalid(option, v, "unknown mode")),
    }
}

/// The parsed `SecurityOpt` list.
#[derive(Debug, Default)]
struct SecurityOpts {
    no_new_privileges: bool,
    writable_cgroups: bool,
    /// `None`: the default profile; `Some(None)`: unconfined; `Some(Some(json))`: custom.
    seccomp: Option<Option<String>>,
}

fn security_opts(opts: &[String]) -> Result<SecurityOpts, SpecError> {
    let mut out = SecurityOpts::default();
    for opt in opts {
        let bad = || SpecError::InvalidSecurityOpt(opt.clone());
        let parse_bool = |v: &str| v.parse::<bool>().map_err(|_| bad());
        if opt == "no-new-privileges" {
            out.no_new_privileges = true;
            continue;
        }
        if opt == "writable-cgroups" {
            out.writable_cgroups = true;
            continue;
        }
        if opt == "disable" {
            continue; // SELinux labelling off: nothing to do without SELinux support.
        }
        let (key, value) = opt
            .split_once('=')
            .or_else(|| opt.split_once(':'))
            .ok_or_else(bad)?;
        match key {
            "no-new-privileges" => out.no_new_privileges = parse_bool(value)?,
            "writable-cgroups" => out.writable_cgroups = parse_bool(value)?,
            "seccomp" => {
                out.seccomp = match value {
                    "unconfined" => Some(None),
                    "builtin" | "" => None,
                    json => Some(Some(json.to_string())),
                }
            }
            // Accepted so `docker run` scripts keep working; Berth loads no LSM profiles yet.
            "apparmor" | "label" => {}
            _ => return Err(bad()),
        }
    }
    Ok(out)
}

fn namespace(typ: LinuxNamespaceType, path: Option<&PathBuf>) -> LinuxNamespace {
    let mut ns = LinuxNamespace::default();
    ns.set_typ(typ);
    ns.set_path(path.cloned());
    ns
}

fn join_path<'p>(
    option: &'static str,
    value: &str,
    path: Option<&'p PathBuf>,
) -> Result<Option<&'p PathBuf>, SpecError> {
    path.map(Some)
        .ok_or_else(|| SpecError::MissingNamespacePath {
            option,
            value: value.to_string(),
        })
}

/// Restart policy, auto-remove and log driver: they do not shape the spec, but a create request
/// with bad ones must fail at create, as with dockerd.
fn validate_lifecycle(h: &HostConfig) -> Result<(), SpecError> {
    let rp = &h.restart_policy;
    match rp.name.as_str() {
        "" | "no" | "always" | "unless-stopped" => {
            if rp.maximum_retry_count != 0 {
                return Err(invalid(
                    "RestartPolicy.MaximumRetryCount",
                    rp.maximum_retry_count,
                    "can only be used with restart policy 'on-failure'",
                ));
            }
        }
        "on-failure" => {
            if rp.maximum_retry_count < 0 {
                return Err(invalid(
                    "RestartPolicy.MaximumRetryCount",
                    rp.maximum_retry_count,
                    "must not be negative",
                ));
            }
        }
        other => {
            return Err(invalid(
                "RestartPolicy.Name",
                other,
                "unknown restart policy",
            ))
        }
    }
    if h.auto_remove && !matches!(rp.name.as_str(), "" | "no") {
        return Err(SpecError::Conflict(
            "can't create 'AutoRemove' container with restart policy",
        ));
    }
    let log = &h.log_config;
    match log.driver.as_str() {
        "" | "json-file" | "local" | "none" => {}
        other => return Err(invalid("LogConfig.Type", other, "unsupported log driver")),
    }
    for (key, value) in &log.config {
        match key.as_str() {
            "max-size" if parse_size(value).is_none() => {
                return Err(invalid(
                    "LogConfig.Config.max-size",
                    value,
                    "expected a size like 10m",
                ))
            }
            "max-file" if !value.parse::<u32>().is_ok_and(|n| n >= 1) => {
                return Err(invalid(
                    "LogConfig.Config.max-file",
                    value,
                    "expected a count >= 1",
                ))
            }
            "max-size" | "max-file" | "compress" | "labels" | "env" | "tag" | "mode"
            | "max-buffer-size" => {}
            _ => return Err(invalid("LogConfig.Config", key, "unknown log option")),
        }
    }
    Ok(())
}

/// `10m`, `1g`, `512k`, `100` (bytes), as Docker's `units.RAMInBytes`.
fn parse_size(s: &str) -> Option<u64> {
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

fn clear_ro(m: &mut Mount) {
    if let Some(opts) = m.options().clone() {
        m.set_options(Some(opts.into_iter().filter(|o| o != "ro").collect()));
    }
}

/// Builds the runtime spec for `opts` over `image`, as dockerd would.
pub fn build_spec(
    opts: &CreateOptions,
    image: &ImageConfig,
    ctx: &SpecContext<'_>,
) -> Result<BuiltSpec, SpecError> {
    let h = &opts.host_config;
    validate_lifecycle(h)?;
    let merged = merge(opts, image)?;
    let security = security_opts(&h.security_opt)?;

    // Namespace modes.
    let net_host = h.network_mode == "host";
    let net_join = h.network_mode.starts_with("container:");
    let ipc = ns_mode("IpcMode", &h.ipc_mode, &["shareable", "none"])?;
    let pid = ns_mode("PidMode", &h.pid_mode, &[])?;
    let uts = match ns_mode("UTSMode", &h.uts_mode, &[])? {
        NsMode::Join => return Err(invalid("UTSMode", &h.uts_mode, "unknown mode")),
        m => m,
    };
    let cgroupns_private = match h.cgroupns_mode.as_str() {
        "" => ctx.cgroup_v2,
        "private" => true,
        "host" => false,
        other => return Err(invalid("CgroupnsMode", other, "unknown mode")),
    };

    // Hostname: the request's, else the host's for host networking, else the short id.
    let hostname = if !opts.hostname.is_empty() {
        opts.hostname.clone()
    } else if net_host {
        ctx.host_hostname.clone()
    } else {
        ctx.id.as_str().chars().take(12).collect()
    };

    // Process.
    let mut args = merged.args();
    let init = h.init.unwrap_or(ctx.init_by_default) && pid == NsMode::Private;
    let mut init_mount = None;
    if init {
        let path = ctx.init_path.as_ref().ok_or(SpecError::InitUnavailable)?;
        args.splice(0..0, [INIT_PATH_IN_CONTAINER.to_string(), "--".to_string()]);
        let mut m = mounts::mount(INIT_PATH_IN_CONTAINER, "bind", "", &["bind", "ro"]);
        m.set_source(Some(path.clone()));
        init_mount = Some(m);
    }
    let cwd = if merged.working_dir.is_empty() {
        "/".to_string()
    } else {
        merged.working_dir.clone()
    };
    if !cwd.starts_with('/') {
        return Err(invalid(
            "WorkingDir",
            &cwd,
            "the working directory needs to be an absolute path",
        ));
    }
    if !(-1000..=1000).contains(&h.oom_score_adj) {
        return Err(invalid(
            "OomScoreAdj",
            h.oom_score_adj,
            "range is [-1000, 1000]",
        ));
    }
    let caps = available_only(
        effective_capabilities(&h.cap_add, &h.cap_drop, h.privileged)?,
        ctx.host_capabilities,
        &h.cap_add,
    )?;
    let oci_caps = to_oci(&caps);
    let mut capabilities = LinuxCapabilities::default();
    capabilities.set_bounding(Some(oci_caps.clone()));
    capabilities.set_effective(Some(oci_caps.clone()));
    capabilities.set_permitted(Some(oci_caps));
    capabilities.set_inheritable(None);
    capabilities.set_ambient(None);

    let mut user = User::default();
    user.set_uid(ctx.user.uid);
    user.set_gid(ctx.user.gid);
    user.set_additional_gids(Some(ctx.user.additional_gids.clone()));

    let rlimits = resources::rlimits(&h.ulimits)?;
    let mut process = Process::default();
    process.set_terminal(Some(opts.tty));
    let console_size = match h.console_size.as_slice() {
        [height, width] if opts.tty && *height > 0 && *width > 0 => {
            oci_spec::runtime::BoxBuilder::default()
                .height(u64::from(*height))
                .width(u64::from(*width))
                .build()
                .ok()
        }
        _ => None,
    };
    process.set_console_size(console_size);
    process.set_user(user);
    process.set_args(Some(args));
    process.set_env(Some(process_env(&merged.env, &hostname, opts.tty)));
    process.set_cwd(PathBuf::from(cwd));
    process.set_capabilities(Some(capabilities));
    process.set_rlimits((!rlimits.is_empty()).then_some(rlimits));
    process.set_no_new_privileges(security.no_new_privileges.then_some(true));
    process.set_apparmor_profile(None);
    process.set_oom_score_adj(Some(h.oom_score_adj as i32));
    process.set_selinux_label(None);

    // Resources and devices.
    let mut res = LinuxResources::default();
    res.set_memory(Some(resources::memory(h)?));
    res.set_cpu(resources::cpu(h, ctx.host_cpus)?);
    res.set_pids(resources::pids(h));
    res.set_block_io(Some(resources::block_io(h)?));
    let mut devices = Vec::new();
    let mut rules;
    if h.privileged {
        devices = resources::host_devices(ctx.devices)?;
        rules = resources::privileged_device_rules();
        for mapping in &h.devices {
            if mapping.path_in_container.is_empty()
                || mapping.path_in_container == mapping.path_on_host
            {
                continue; // already there with all of /dev
            }
            devices.extend(resources::devices_from_mapping(mapping, ctx.devices)?.0);
        }
    } else {
        rules = resources::default_device_rules();
        for mapping in &h.devices {
            let (d, r) = resources::devices_from_mapping(mapping, ctx.devices)?;
            devices.extend(d);
            rules.extend(r);
        }
        for rule in &h.device_cgroup_rules {
            rules.push(resources::parse_cgroup_rule(rule)?);
        }
    }
    res.set_devices(Some(rules));

    // Namespaces, in dockerd's order.
    use LinuxNamespaceType as Ns;
    let mut namespaces = vec![namespace(Ns::Mount, None)];
    if !net_host {
        let path = if net_join {
            join_path("NetworkMode", &h.network_mode, ctx.join.net.as_ref())?
        } else {
            ctx.join.net.as_ref()
        };
        namespaces.push(namespace(Ns::Network, path));
    }
    if uts == NsMode::Private {
        namespaces.push(namespace(Ns::Uts, None));
    }
    match pid {
        NsMode::Private => namespaces.push(namespace(Ns::Pid, None)),
        NsMode::Join => namespaces.push(namespace(
            Ns::Pid,
            join_path("PidMode", &h.pid_mode, ctx.join.pid.as_ref())?,
        )),
        NsMode::Host => {}
    }
    match ipc {
        NsMode::Private => namespaces.push(namespace(Ns::Ipc, None)),
        NsMode::Join => namespaces.push(namespace(
            Ns::Ipc,
            join_path("IpcMode", &h.ipc_mode, ctx.join.ipc.as_ref())?,
        )),
        NsMode::Host => {}
    }
    if cgroupns_private {
        namespaces.push(namespace(Ns::Cgroup, None));
    }

    let sysctls = resources::sysctls(
        &h.sysctls,
        SharedNamespaces {
            net: net_host || net_join,
            ipc: ipc != NsMode::Private,
            uts: uts == NsMode::Host,
        },
    )?;

    // Seccomp, from the final bounding set (capability-conditional rules).
    let seccomp = if h.privileged {
        None
    } else {
        match &security.seccomp {
            Some(None) => None,
            None => seccomp::convert(&seccomp::default_profile(), &caps, ctx.seccomp_host)?,
            Some(Some(json)) => {
                seccomp::convert(&seccomp::parse_profile(json)?, &caps, ctx.seccomp_host)?
            }
        }
    };

    // Mounts.
    let shm_size = mounts::shm_size(h.shm_size)?;
    let user_mounts = mounts::user_mounts(
        &h.binds,
        &h.tmpfs,
        merged.volumes.keys().cloned().collect::<Vec<_>>(),
    )?;
    let mut destinations: Vec<PathBuf> =
        user_mounts.destinations().map(Path::to_path_buf).collect();
    let mut extra: Vec<Mount> = Vec::new();
    let files = [
        ("/etc/resolv.conf", &ctx.resolv_conf_path),
        ("/etc/hostname", &ctx.hostname_path),
        ("/etc/hosts", &ctx.hosts_path),
    ];
    for (dest, source) in files {
        let Some(source) = source else { continue };
        if destinations.iter().any(|d| d == Path::new(dest)) {
            continue;
        }
        extra.push(mounts::bind_mount(
            source,
            Path::new(dest),
            h.readonly_rootfs,
            "rprivate",
        ));
    }
    let shm_bind = match (h.ipc_mode.as_str(), ipc) {
        (_, NsMode::Host) => Some(PathBuf::from("/dev/shm")),
        ("shareable", _) | (_, NsMode::Join) => ctx.shm_path.clone(),
        _ => None,
    };
    if let Some(source) = &shm_bind {
        if !destinations.iter().any(|d| d == Path::new("/dev/shm")) {
            extra.push(mounts::bind_mount(
                source,
                Path::new("/dev/shm"),
                false,
                "rprivate",
            ));
        }
    }
    destinations.extend(extra.iter().map(|m| m.destination().clone()));
    let mut user_list: Vec<Mount> = user_mounts.mounts.into_iter().chain(extra).collect();
    user_list.sort_by_key(mounts::depth);

    let user_dev = destinations.iter().any(|d| d == Path::new("/dev"));
    let no_shm = h.ipc_mode == "none";
    let mut all: Vec<Mount> = mounts::default_mounts(shm_size)
        .into_iter()
        .chain(init_mount)
        .filter(|m| {
            // A user mount replaces the default at its place; a user /dev replaces all of /dev.
            let dest = m.destination();
            let replaced = destinations.iter().any(|d| d == dest)
                || (user_dev && dest.starts_with("/dev"))
                || (no_shm && dest == Path::new("/dev/shm"));
            !replaced
        })
        .collect();
    for m in &mut all {
        let dest = m.destination().to_string_lossy().into_owned();
        if h.readonly_rootfs
            && !matches!(
                dest.as_str(),
                "/proc" | "/dev/pts" | "/dev/shm" | "/dev/mqueue" | "/dev"
            )
            && !m.options().iter().flatten().any(|o| o == "ro")
        {
            let mut o = m.options().clone().unwrap_or_default();
            o.push("ro".into());
            m.set_options(Some(o));
        }
        if h.privileged && dest == "/sys" {
            clear_ro(m);
        }
        if (h.privileged || security.writable_cgroups) && m.typ().as_deref() == Some("cgroup") {
            clear_ro(m);
        }
    }
    let first_user_mount = all.len();
    all.extend(user_list);

    let (masked, readonly) = if h.privileged {
        (None, None)
    } else {
        (
            Some(DEFAULT_MASKED_PATHS.map(String::from).to_vec()),
            Some(DEFAULT_READONLY_PATHS.map(String::from).to_vec()),
        )
    };
    let masked = h.masked_paths.clone().or(masked);
    let readonly = h.readonly_paths.clone().or(readonly);

    let mut linux = oci_spec::runtime::Linux::default();
    linux.set_uid_mappings(None);
    linux.set_gid_mappings(None);
    linux.set_resources(Some(res));
    linux.set_cgroups_path(Some(cgroups_path(&h.cgroup_parent, &ctx.id)?));
    linux.set_namespaces(Some(namespaces));
    linux.set_devices((!devices.is_empty()).then_some(devices));
    linux.set_sysctl((!sysctls.is_empty()).then_some(sysctls));
    linux.set_seccomp(seccomp);
    linux.set_masked_paths(masked);
    linux.set_readonly_paths(readonly);
    linux.set_rootfs_propagation(user_mounts.rootfs_propagation.map(String::from));

    let mut root = Root::default();
    root.set_path(ctx.rootfs.clone());
    root.set_readonly(Some(h.readonly_rootfs));

    let annotations: HashMap<String, String> = h
        .annotations
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();

    let mut spec = Spec::default();
    spec.set_process(Some(process));
    spec.set_root(Some(root));
    spec.set_hostname((uts == NsMode::Private && !hostname.is_empty()).then_some(hostname));
    spec.set_domainname(
        (uts == NsMode::Private && !opts.domainname.is_empty()).then(|| opts.domainname.clone()),
    );
    spec.set_mounts(Some(all));
    spec.set_annotations((!annotations.is_empty()).then_some(annotations));
    spec.set_hooks(None);
    spec.set_linux(Some(linux));

    Ok(BuiltSpec {
        spec,
        merged,
        volume_requests: user_mounts.volumes,
        first_user_mount,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::io;

    use oci_spec::runtime::{Capability, LinuxDeviceType, LinuxSeccompAction, PosixRlimitType};

    use super::*;
    use crate::spec::resources::{HostFileInfo, HostFileKind};
    use crate::spec::DEFAULT_CAPABILITIES;

    const ID: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    /// A host with /dev/null, /dev/fuse, /dev/sda and /dev/pts/0 (which privileged must skip).
    struct FakeDevices;

    impl HostDevices for FakeDevices {
        fn stat(&self, path: &Path) -> io::Result<HostFileInfo> {
            let dev = |kind, major, minor| HostFileInfo {
                kind,
                mode: 0o666,
                uid: 0,
                gid: 0,
                major,
                minor,
            };
            Ok(match path.to_str().unwrap_or("") {
                "/dev" | "/dev/pts" => dev(HostFileKind::Directory, 0, 0),
                "/dev/null" => dev(HostFileKind::CharDevice, 1, 3),
                "/dev/fuse" => dev(HostFileKind::CharDevice, 10, 229),
                "/dev/sda" => dev(HostFileKind::BlockDevice, 8, 0),
                "/dev/pts/0" => dev(HostFileKind::CharDevice, 136, 0),
                "/etc/passwd" => dev(HostFileKind::Other, 0, 0),
                _ => return Err(io::ErrorKind::NotFound.into()),
            })
        }

        fn read_dir(&self, path: &Path) -> io::Result<Vec<PathBuf>> {
            Ok(match path.to_str().unwrap_or("") {
                "/dev" => ["/dev/null", "/dev/fuse", "/dev/sda", "/dev/pts"]
                    .map(PathBuf::from)
                    .to_vec(),
                "/dev/pts" => vec![PathBuf::from("/dev/pts/0")],
                _ => return Err(io::ErrorKind::NotFound.into()),
            })
        }
    }

    fn ctx() -> SpecContext<'static> {
        SpecContext {
            id: ContainerId::new(ID).unwrap(),
            rootfs: "/var/lib/berth/rootfs/x".into(),
            user: ResolvedUser {
                uid: 0,
                gid: 0,
                additional_gids: vec![0, 0, 1, 2, 3, 4, 6, 10, 11, 20, 26, 27],
            },
            hosts_path: Some("/run/berth/x/hosts".into()),
            resolv_conf_path: Some("/run/berth/x/resolv.conf".into()),
            hostname_path: Some("/run/berth/x/hostname".into()),
            join: JoinNamespaces::default(),
            shm_path: None,
            init_path: Some("/usr/libexec/berth/docker-init".into()),
            init_by_default: false,
            host_hostname: "buildhost".into(),
            cgroup_v2: true,
            host_cpus: 4,
            seccomp_host: SeccompHost {
                arch: "amd64",
                kernel: Some((6, 1)),
            },
            devices: &FakeDevices,
            host_capabilities: None,
        }
    }

    fn alpine() -> ImageConfig {
        ImageConfig {
            env: vec!["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into()],
            cmd: Some(vec!["/bin/sh".into()]),
            ..Default::default()
        }
    }

    fn run(host: HostConfig) -> Result<BuiltSpec, SpecError> {
        build_spec(
            &CreateOptions {
                image: "alpine".into(),
                host_config: host,
                ..Default::default()
            },
            &alpine(),
            &ctx(),
        )
    }

    fn strs(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn mount_table(spec: &Spec) -> Vec<(String, String, String, Vec<String>)> {
        spec.mounts()
            .iter()
            .flatten()
            .map(|m| {
                (
                    m.destination().display().to_string(),
                    m.typ().clone().unwrap_or_default(),
                    m.source()
                        .as_ref()
                        .map(|s| s.display().to_string())
                        .unwrap_or_default(),
                    m.options().clone().unwrap_or_default(),
                )
            })
            .collect()
    }

    fn find_mount<'s>(spec: &'s Spec, dest: &str) -> Option<&'s Mount> {
        spec.mounts()
            .iter()
            .flatten()
            .find(|m| m.destination() == Path::new(dest))
    }

    fn ns_types(spec: &Spec) -> Vec<(LinuxNamespaceType, Option<PathBuf>)> {
        linux(spec)
            .namespaces()
            .iter()
            .flatten()
            .map(|n| (n.typ(), n.path().clone()))
            .collect()
    }

    fn linux(spec: &Spec) -> &oci_spec::runtime::Linux {
        spec.linux().as_ref().unwrap()
    }

    fn process(spec: &Spec) -> &Process {
        spec.process().as_ref().unwrap()
    }

    fn allowed(spec: &Spec, syscall: &str) -> bool {
        linux(spec)
            .seccomp()
            .as_ref()
            .unwrap()
            .syscalls()
            .iter()
            .flatten()
            .any(|r| {
                r.action() == LinuxSeccompAction::ScmpActAllow
                    && r.args().is_none()
                    && r.names().iter().any(|n| n == syscall)
            })
    }

    /// `docker run alpine`: the shape of dockerd's config.json.
    #[test]
    fn plain_docker_run() {
        let b = run(HostConfig::default()).unwrap();
        let s = &b.spec;
        let p = process(s);
        assert_eq!(p.args().as_deref(), Some(&strs(&["/bin/sh"])[..]));
        assert_eq!(
            p.env().as_deref(),
            Some(
                &strs(&[
                    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                    "HOSTNAME=0123456789ab"
                ])[..]
            )
        );
        assert_eq!(p.cwd(), Path::new("/"));
        assert_eq!(p.terminal(), Some(false));
        assert_eq!(p.user().additional_gids().as_ref().unwrap().len(), 12);
        assert_eq!(p.oom_score_adj(), Some(0));
        assert_eq!(p.rlimits(), &None);
        assert_eq!(p.no_new_privileges(), None);
        let caps = p.capabilities().as_ref().unwrap();
        let want = to_oci(&DEFAULT_CAPABILITIES);
        assert_eq!(caps.bounding().as_ref(), Some(&want));
        assert_eq!(caps.effective().as_ref(), Some(&want));
        assert_eq!(caps.permitted().as_ref(), Some(&want));
        assert_eq!(caps.inheritable(), &None);
        assert_eq!(s.hostname().as_deref(), Some("0123456789ab"));
        assert_eq!(s.root().as_ref().unwrap().readonly(), Some(false));

        let m = mount_table(s);
        let want: Vec<(&str, &str, &str, &[&str])> = vec![
            ("/proc", "proc", "proc", &["nosuid", "noexec", "nodev"]),
            (
                "/dev",
                "tmpfs",
                "tmpfs",
                &["nosuid", "strictatime", "mode=755", "size=65536k"],
            ),
            (
                "/dev/pts",
                "devpts",
                "devpts",
                &[
                    "nosuid",
                    "noexec",
                    "newinstance",
                    "ptmxmode=0666",
                    "mode=0620",
                    "gid=5",
                ],
            ),
            (
                "/sys",
                "sysfs",
                "sysfs",
                &["nosuid", "noexec", "nodev", "ro"],
            ),
            (
                "/sys/fs/cgroup",
                "cgroup",
                "cgroup",
                &["ro", "nosuid", "noexec", "nodev"],
            ),
            (
                "/dev/mqueue",
                "mqueue",
                "mqueue",
                &["nosuid", "noexec", "nodev"],
            ),
            (
                "/dev/shm",
                "tmpfs",
                "shm",
                &["nosuid", "noexec", "nodev", "mode=1777", "size=67108864"],
            ),
            (
                "/etc/resolv.conf",
                "bind",
                "/run/berth/x/resolv.conf",
                &["rbind", "rprivate"],
            ),
            (
                "/etc/hostname",
                "bind",
                "/run/berth/x/hostname",
                &["rbind", "rprivate"],
            ),
            (
                "/etc/hosts",
                "bind",
                "/run/berth/x/hosts",
                &["rbind", "rprivate"],
            ),
        ];
        let want: Vec<_> = want
            .into_iter()
            .map(|(d, t, s, o)| (d.to_string(), t.to_string(), s.to_string(), strs(o)))
            .collect();
        assert_eq!(m, want);

        use LinuxNamespaceType::*;
        assert_eq!(
            ns_types(s),
            [Mount, Network, Uts, Pid, Ipc, Cgroup]
                .map(|t| (t, None))
                .to_vec()
        );
        let l = linux(s);
        assert_eq!(
            l.cgroups_path().as_deref(),
            Some(Path::new(&format!("/berth/{ID}")))
        );
        assert_eq!(l.masked_paths().as_ref().unwrap().len(), 11);
        assert_eq!(l.readonly_paths().as_ref().unwrap().len(), 5);
        assert_eq!(l.devices(), &None);
        let sysctl = l.sysctl().as_ref().unwrap();
        assert_eq!(sysctl["net.ipv4.ping_group_range"], "0 2147483647");
        let res = l.resources().as_ref().unwrap();
        let rules = res.devices().as_ref().unwrap();
        assert_eq!(rules.len(), 8);
        assert!(!rules[0].allow() && rules[0].typ().is_none());
        assert_eq!(
            (rules[7].major(), rules[7].minor(), rules[7].allow()),
            (Some(10), Some(229), false)
        );
        assert_eq!(
            res.memory().as_ref().unwrap().disable_oom_killer(),
            Some(false)
        );
        assert_eq!(res.cpu(), &None);
        assert_eq!(res.pids(), &None);
        assert_eq!(res.block_io().as_ref().unwrap().weight(), Some(0));
        let seccomp = l.seccomp().as_ref().unwrap();
        assert_eq!(seccomp.default_action(), LinuxSeccompAction::ScmpActErrno);
        assert!(!allowed(s, "mount") && allowed(s, "read"));
        assert!(b.volume_requests.is_empty());
    }

    /// `docker run -it --read-only -v /srv:/data:ro -v cache:/cache --tmpfs /run:size=8m
    ///  -w /app -e A=1 --init --shm-size 1g --cgroup-parent /ci -h web alpine top`
    #[test]
    fn interactive_read_only_with_mounts_and_init() {
        let opts = CreateOptions {
            image: "alpine".into(),
            cmd: Some(strs(&["top"])),
            tty: true,
            open_stdin: true,
            env: strs(&["A=1"]),
            working_dir: "/app".into(),
            hostname: "web".into(),
            domainname: "example.org".into(),
            volumes: [("/var/lib/data".to_string(), Default::default())].into(),
            host_config: HostConfig {
                readonly_rootfs: true,
                binds: strs(&["/srv:/data:ro", "cache:/cache"]),
                tmpfs: [("/run".to_string(), "size=8m".to_string())].into(),
                init: Some(true),
                shm_size: 1 << 30,
                cgroup_parent: "/ci".into(),
                ..Default::default()
            },
            ..Default::default()
        };
        let b = build_spec(&opts, &alpine(), &ctx()).unwrap();
        let s = &b.spec;
        let p = process(s);
        assert_eq!(
            p.args().as_deref(),
            Some(&strs(&["/sbin/docker-init", "--", "top"])[..])
        );
        assert_eq!(p.terminal(), Some(true));
        assert_eq!(p.cwd(), Path::new("/app"));
        assert_eq!(
            p.env().as_deref(),
            Some(
                &strs(&[
                    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                    "HOSTNAME=web",
                    "TERM=xterm",
                    "A=1"
                ])[..]
            )
        );
        assert_eq!(s.hostname().as_deref(), Some("web"));
        assert_eq!(s.domainname().as_deref(), Some("example.org"));
        assert_eq!(s.root().as_ref().unwrap().readonly(), Some(true));
        let init = find_mount(s, "/sbin/docker-init").unwrap();
        assert_eq!(init.options().as_deref(), Some(&strs(&["bind", "ro"])[..]));
        assert_eq!(
            find_mount(s, "/dev/shm")
                .unwrap()
                .options()
                .as_ref()
                .unwrap()
                .last(),
            Some(&"size=1073741824".to_string())
        );
        assert_eq!(
            find_mount(s, "/data").unwrap().options().as_deref(),
            Some(&strs(&["rbind", "ro", "rprivate"])[..])
        );
        assert_eq!(
            find_mount(s, "/etc/hosts").unwrap().options().as_deref(),
            Some(&strs(&["rbind", "ro", "rprivate"])[..]),
            "read-only rootfs makes the generated files read-only"
        );
        assert_eq!(
            find_mount(s, "/run").unwrap().options().as_deref(),
            Some(&strs(&["noexec", "nosuid", "nodev", "rprivate", "size=8m"])[..])
        );
        assert!(find_mount(s, "/dev/mqueue")
            .unwrap()
            .options()
            .iter()
            .flatten()
            .all(|o| o != "ro"));
        assert_eq!(
            linux(s).cgroups_path().as_deref(),
            Some(Path::new(&format!("/ci/{ID}")))
        );
        let vols: Vec<(Option<&str>, &Path)> = b
            .volume_requests
            .iter()
            .map(|v| (v.name.as_deref(), v.destination.as_path()))
            .collect();
        assert_eq!(
            vols,
            [
                (Some("cache"), Path::new("/cache")),
                (None, Path::new("/var/lib/data"))
            ]
        );

        // The engine resolves volumes afterwards; they land among the user mounts by depth.
        let mut b = b;
        let reqs = b.volume_requests.clone();
        b.mount_volume(&reqs[1], Path::new("/var/lib/berth/volumes/anon/_data"));
        b.mount_volume(&reqs[0], Path::new("/var/lib/berth/volumes/cache/_data"));
        let dests: Vec<String> = mount_table(&b.spec).into_iter().map(|m| m.0).collect();
        let user_part = &dests[dests.iter().position(|d| d == "/sbin/docker-init").unwrap() + 1..];
        assert_eq!(
            user_part,
            strs(&[
                "/data",
                "/run",
                "/cache",
                "/etc/resolv.conf",
                "/etc/hostname",
                "/etc/hosts",
                "/var/lib/data"
            ])
        );
        assert_eq!(
            find_mount(&b.spec, "/cache").unwrap().options().as_deref(),
            Some(&strs(&["rbind"])[..])
        );
    }

    #[test]
    fn privileged() {
        let b = run(HostConfig {
            privileged: true,
            devices: vec![super::super::options::DeviceMapping {
                path_on_host: "/dev/fuse".into(),
                path_in_container: "/dev/myfuse".into(),
                cgroup_permissions: "r".into(),
            }],
            ..Default::default()
        })
        .unwrap();
        let s = &b.spec;
        let caps = process(s).capabilities().as_ref().unwrap();
        assert_eq!(caps.bounding().as_ref().unwrap().len(), 41);
        assert!(caps
            .effective()
            .as_ref()
            .unwrap()
            .contains(&Capability::SysAdmin));
        let l = linux(s);
        assert!(l.seccomp().is_none());
        assert!(l.masked_paths().is_none() && l.readonly_paths().is_none());
        assert!(find_mount(s, "/sys")
            .unwrap()
            .options()
            .iter()
            .flatten()
            .all(|o| o != "ro"));
        assert!(find_mount(s, "/sys/fs/cgroup")
            .unwrap()
            .options()
            .iter()
            .flatten()
            .all(|o| o != "ro"));
        let devs: Vec<String> = l
            .devices()
            .iter()
            .flatten()
            .map(|d| d.path().display().to_string())
            .collect();
        assert_eq!(devs, ["/dev/fuse", "/dev/null", "/dev/sda", "/dev/myfuse"]);
        let rules = l.resources().as_ref().unwrap().devices().as_ref().unwrap();
        assert_eq!(rules.len(), 1);
        assert!(rules[0].allow() && rules[0].typ().is_none());
    }

    /// `docker run --privileged --security-opt systempaths=unconfined` is how the CLI sends it.
    #[test]
    fn masked_paths_override() {
        let b = run(HostConfig {
            masked_paths: Some(vec![]),
            readonly_paths: Some(vec!["/proc/sys".into()]),
            ..Default::default()
        })
        .unwrap();
        let l = linux(&b.spec);
        assert_eq!(l.masked_paths().as_deref(), Some(&[][..]));
        assert_eq!(
            l.readonly_paths().as_deref(),
            Some(&strs(&["/proc/sys"])[..])
        );
    }

    #[test]
    fn host_namespaces() {
        let b = run(HostConfig {
            network_mode: "host".into(),
            pid_mode: "host".into(),
            ipc_mode: "host".into(),
            uts_mode: "host".into(),
            cgroupns_mode: "host".into(),
            init: Some(true),
            ..Default::default()
        })
        .unwrap();
        let s = &b.spec;
        assert_eq!(ns_types(s), [(LinuxNamespaceType::Mount, None)]);
        assert_eq!(s.hostname(), &None);
        assert!(
            process(s)
                .env()
                .iter()
                .flatten()
                .any(|e| e == "HOSTNAME=buildhost"),
            "host networking takes the host's name"
        );
        assert_eq!(
            process(s).args().as_deref(),
            Some(&strs(&["/bin/sh"])[..]),
            "no init in the host pid namespace"
        );
        let shm = find_mount(s, "/dev/shm").unwrap();
        assert_eq!(shm.source().as_deref(), Some(Path::new("/dev/shm")));
        assert_eq!(shm.typ().as_deref(), Some("bind"));
        assert!(
            linux(s).sysctl().is_none(),
            "no net sysctls in the host netns"
        );
    }

    #[test]
    fn joined_namespaces() {
        let mut c = ctx();
        c.join = JoinNamespaces {
            net: Some("/proc/42/ns/net".into()),
            ipc: Some("/proc/42/ns/ipc".into()),
            pid: Some("/proc/42/ns/pid".into()),
        };
        c.shm_path = Some("/var/lib/berth/containers/other/shm".into());
        let opts = CreateOptions {
            host_config: HostConfig {
                network_mode: "container:other".into(),
                ipc_mode: "container:other".into(),
                pid_mode: "container:other".into(),
                ..Default::default()
            },
            ..Default::default()
        };
        let b = build_spec(&opts, &alpine(), &c).unwrap();
        let ns = ns_types(&b.spec);
        assert!(ns.contains(&(LinuxNamespaceType::Network, Some("/proc/42/ns/net".into()))));
        assert!(ns.contains(&(LinuxNamespaceType::Pid, Some("/proc/42/ns/pid".into()))));
        assert!(ns.contains(&(LinuxNamespaceType::Ipc, Some("/proc/42/ns/ipc".into()))));
        assert_eq!(
            find_mount(&b.spec, "/dev/shm").unwrap().source().as_deref(),
            Some(Path::new("/var/lib/berth/containers/other/shm"))
        );
        // Without the paths the engine forgot to resolve the other container.
        let err = build_spec(&opts, &alpine(), &ctx()).unwrap_err();
        assert!(matches!(err, SpecError::MissingNamespacePath { .. }));
    }

    #[test]
    fn ipc_none_has_no_shm() {
        let b = run(HostConfig {
            ipc_mode: "none".into(),
            ..Default::default()
        })
        .unwrap();
        assert!(find_mount(&b.spec, "/dev/shm").is_none());
        assert!(ns_types(&b.spec).contains(&(LinuxNamespaceType::Ipc, None)));
    }

    #[test]
    fn capabilities_change_the_seccomp_profile() {
        let b = run(HostConfig {
            cap_add: strs(&["sys_admin"]),
            cap_drop: strs(&["CAP_NET_RAW"]),
            ..Default::default()
        })
        .unwrap();
        let caps = process(&b.spec).capabilities().as_ref().unwrap();
        let bounding = caps.bounding().as_ref().unwrap();
        assert!(
            bounding.contains(&Capability::SysAdmin) && !bounding.contains(&Capability::NetRaw)
        );
        assert!(allowed(&b.spec, "mount") && allowed(&b.spec, "unshare"));
    }

    #[test]
    fn security_opts() {
        let b = run(HostConfig {
            security_opt: strs(&[
                "seccomp=unconfined",
                "no-new-privileges",
                "apparmor=unconfined",
            ]),
            ..Default::default()
        })
        .unwrap();
        assert!(linux(&b.spec).seccomp().is_none());
        assert_eq!(process(&b.spec).no_new_privileges(), Some(true));

        let profile = r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["chmod"],"action":"SCMP_ACT_ERRNO"}]}"#;
        let b = run(HostConfig {
            security_opt: vec![
                format!("seccomp={profile}"),
                "no-new-privileges:false".into(),
            ],
            ..Default::default()
        })
        .unwrap();
        let sc = linux(&b.spec).seccomp().as_ref().unwrap();
        assert_eq!(sc.default_action(), LinuxSeccompAction::ScmpActAllow);
        assert_eq!(sc.syscalls().as_ref().unwrap().len(), 1);
        assert_eq!(process(&b.spec).no_new_privileges(), None);

        for bad in ["no-new-privileges=maybe", "bogus=1", "seccomp={"] {
            assert!(
                run(HostConfig {
                    security_opt: strs(&[bad]),
                    ..Default::default()
                })
                .is_err(),
                "{bad}"
            );
        }
    }

    /// `docker run --memory 64m --cpus 1.5 --pids-limit 100 --ulimit nofile=1024:2048
    ///  --oom-score-adj 500 --sysctl net.core.somaxconn=1024`
    #[test]
    fn resources_and_limits() {
        let b = run(HostConfig {
            memory: 64 << 20,
            nano_cpus: 1_500_000_000,
            pids_limit: Some(100),
            ulimits: vec![super::super::options::Ulimit {
                name: "nofile".into(),
                soft: 1024,
                hard: 2048,
            }],
            oom_score_adj: 500,
            sysctls: [("net.core.somaxconn".to_string(), "1024".to_string())].into(),
            ..Default::default()
        })
        .unwrap();
        let res = linux(&b.spec).resources().as_ref().unwrap();
        let mem = res.memory().as_ref().unwrap();
        assert_eq!((mem.limit(), mem.swap()), (Some(64 << 20), Some(128 << 20)));
        let cpu = res.cpu().as_ref().unwrap();
        assert_eq!((cpu.quota(), cpu.period()), (Some(150_000), Some(100_000)));
        assert_eq!(res.pids().as_ref().unwrap().limit(), 100);
        let p = process(&b.spec);
        let r = &p.rlimits().as_ref().unwrap()[0];
        assert_eq!(
            (r.typ(), r.soft(), r.hard()),
            (PosixRlimitType::RlimitNofile, 1024, 2048)
        );
        assert_eq!(p.oom_score_adj(), Some(500));
        assert_eq!(
            linux(&b.spec).sysctl().as_ref().unwrap()["net.core.somaxconn"],
            "1024"
        );
    }

    #[test]
    fn devices_and_cgroup_rules() {
        let b = run(HostConfig {
            devices: vec![super::super::options::DeviceMapping {
                path_on_host: "/dev/fuse".into(),
                path_in_container: String::new(),
                cgroup_permissions: "rw".into(),
            }],
            device_cgroup_rules: strs(&["c 188:* rwm"]),
            ..Default::default()
        })
        .unwrap();
        let l = linux(&b.spec);
        let d = &l.devices().as_ref().unwrap()[0];
        assert_eq!(
            (
                d.path().as_path(),
                d.typ(),
                d.major(),
                d.minor(),
                d.file_mode()
            ),
            (
                Path::new("/dev/fuse"),
                LinuxDeviceType::C,
                10,
                229,
                Some(0o666)
            )
        );
        let rules = l.resources().as_ref().unwrap().devices().as_ref().unwrap();
        let tail: Vec<_> = rules[8..]
            .iter()
            .map(|r| (r.major(), r.minor(), r.access().clone().unwrap()))
            .collect();
        assert_eq!(
            tail,
            [
                (Some(10), Some(229), "rw".to_string()),
                (Some(188), None, "rwm".to_string())
            ]
        );
        let missing = run(HostConfig {
            devices: vec![super::super::options::DeviceMapping {
                path_on_host: "/dev/nope".into(),
                ..Default::default()
            }],
            ..Default::default()
        })
        .unwrap_err();
        assert_eq!(missing.kind(), berth_types::ErrorKind::NotFound);
        let not_dev = run(HostConfig {
            devices: vec![super::super::options::DeviceMapping {
                path_on_host: "/etc/passwd".into(),
                ..Default::default()
            }],
            ..Default::default()
        })
        .unwrap_err();
        assert!(matches!(not_dev, SpecError::NotADevice(_)));
    }

    #[test]
    fn invalid_requests_name_the_option() {
        let cases: Vec<(HostConfig, &str)> = vec![
            (
                HostConfig {
                    cap_add: strs(&["WIZARD"]),
                    ..Default::default()
                },
                "unknown capability",
            ),
            (
                HostConfig {
                    binds: strs(&["/a:b"]),
                    ..Default::default()
                },
                "not an absolute path",
            ),
            (
                HostConfig {
                    binds: strs(&["/a:/x", "/b:/x"]),
                    ..Default::default()
                },
                "duplicate mount point",
            ),
            (
                HostConfig {
                    memory: 64 << 20,
                    memory_swap: 1 << 20,
                    ..Default::default()
                },
                "MemorySwap",
            ),
            (
                HostConfig {
                    oom_score_adj: 2000,
                    ..Default::default()
                },
                "OomScoreAdj",
            ),
            (
                HostConfig {
                    pid_mode: "bogus".into(),
                    ..Default::default()
                },
                "PidMode",
            ),
            (
                HostConfig {
                    restart_policy: super::super::options::RestartPolicy {
                        name: "always".into(),
                        maximum_retry_count: 3,
                    },
                    ..Default::default()
                },
                "MaximumRetryCount",
            ),
            (
                HostConfig {
                    auto_remove: true,
                    restart_policy: super::super::options::RestartPolicy {
                        name: "always".into(),
                        maximum_retry_count: 0,
                    },
                    ..Default::default()
                },
                "AutoRemove",
            ),
            (
                HostConfig {
                    log_config: super::super::options::LogConfig {
                        driver: "json-file".into(),
                        config: [("max-size".to_string(), "lots".to_string())].into(),
                    },
                    ..Default::default()
                },
                "max-size",
            ),
            (
                HostConfig {
                    cgroup_parent: "../escape".into(),
                    ..Default::default()
                },
                "CgroupParent",
            ),
            (
                HostConfig {
                    shm_size: -1,
                    ..Default::default()
                },
                "ShmSize",
            ),
        ];
        for (host, needle) in cases {
            let err = run(host).unwrap_err();
            assert!(
                err.to_string().contains(needle),
                "{err} should mention {needle}"
            );
            assert_eq!(err.kind(), berth_types::ErrorKind::InvalidArgument);
        }
        let relative_wd = CreateOptions {
            working_dir: "app".into(),
            ..Default::default()
        };
        assert!(build_spec(&relative_wd, &alpine(), &ctx())
            .unwrap_err()
            .to_string()
            .contains("WorkingDir"));
        let mut no_init = ctx();
        no_init.init_path = None;
        let init = CreateOptions {
            host_config: HostConfig {
                init: Some(true),
                ..Default::default()
            },
            ..Default::default()
        };
        assert!(matches!(
            build_spec(&init, &alpine(), &no_init),
            Err(SpecError::InitUnavailable)
        ));
        assert!(matches!(
            build_spec(&CreateOptions::default(), &ImageConfig::default(), &ctx()),
            Err(SpecError::NoCommand)
        ));
    }

    /// `-v /host/dev:/dev` replaces the default /dev and everything dockerd mounts below it.
    #[test]
    fn user_dev_replaces_default_dev_mounts() {
        let b = run(HostConfig {
            binds: strs(&["/host/dev:/dev"]),
            ..Default::default()
        })
        .unwrap();
        let dests: Vec<String> = mount_table(&b.spec).into_iter().map(|m| m.0).collect();
        assert_eq!(
            dests,
            strs(&[
                "/proc",
                "/sys",
                "/sys/fs/cgroup",
                "/dev",
                "/etc/resolv.conf",
                "/etc/hostname",
                "/etc/hosts"
            ])
        );
    }

    #[test]
    fn cgroup_v1_keeps_the_host_cgroup_namespace() {
        let mut c = ctx();
        c.cgroup_v2 = false;
        let b = build_spec(&CreateOptions::default(), &alpine(), &c).unwrap();
        assert!(!ns_types(&b.spec)
            .iter()
            .any(|(t, _)| *t == LinuxNamespaceType::Cgroup));
    }

    /// The spec serializes to the config.json field names the runtime reads.
    #[test]
    fn serializes_like_config_json() {
        let b = run(HostConfig::default()).unwrap();
        let json = serde_json::to_value(&b.spec).unwrap();
        assert_eq!(json["process"]["user"]["uid"], 0);
        assert_eq!(json["linux"]["seccomp"]["defaultAction"], "SCMP_ACT_ERRNO");
        assert_eq!(json["linux"]["seccomp"]["defaultErrnoRet"], 1);
        assert_eq!(json["linux"]["namespaces"][0]["type"], "mount");
        assert_eq!(json["mounts"][2]["options"][4], "mode=0620");
        assert_eq!(json["root"]["path"], "/var/lib/berth/rootfs/x");
    }
}
