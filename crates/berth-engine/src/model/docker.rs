//! Docker's create body ([`CreateOptions`]) into the model.
//!
//! Every check is the one the engine already runs on the body (spec builder, network layer),
//! called here rather than restated, so a bad body fails with the same message; checks that
//! need the host (device nodes, the CPU count, runtimes) stay where the spec is built. Step 6
//! of docs/container-model.md moves this file to the Docker adapter.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use oci_spec::runtime::LinuxDeviceType;

use super::error::{invalid, ModelError};
use super::*;
use crate::networks::{self, NetworkError};
use crate::spec::options::{self, EndpointSettings, Healthcheck, LogConfig, MountSpec};
use crate::spec::{self, CreateOptions, HostConfig, SpecError};

impl ContainerSpec {
    /// The model of a Docker create body. `container` is the name (else the id) that dockerd's
    /// port and address messages show, which is why this is not a plain `TryFrom`.
    pub fn from_docker(opts: &CreateOptions, container: &str) -> Result<Self, ModelError> {
        let h = &opts.host_config;
        // dockerd checks these first: the restart policy, then against auto-remove, then the
        // log settings.
        let restart = RestartPolicy::try_from(&h.restart_policy)?;
        if h.auto_remove && restart != RestartPolicy::No {
            return Err(SpecError::Conflict(
                "can't create 'AutoRemove' container with restart policy",
            )
            .into());
        }
        let log = LogSpec::try_from(&h.log_config)?;
        let mut storage = Storage::try_from(h)?;
        storage.anonymous_volumes = opts
            .volumes
            .keys()
            .map(|v| spec::container_path("Volumes", v))
            .collect::<Result<_, _>>()?;
        Ok(Self {
            format: Self::FORMAT,
            owner: Owner::Docker,
            image: opts.image.clone(),
            labels: opts.labels.clone(),
            annotations: h.annotations.clone(),
            process: ProcessSpec::try_from(opts)?,
            network: networking(opts, container)?,
            namespaces: Namespaces::try_from(h)?,
            storage,
            resources: Resources::try_from(h)?,
            security: Security::try_from(h)?,
            restart,
            auto_remove: h.auto_remove,
            log,
            runtime: non_empty(&h.runtime),
        })
    }
}

fn non_empty(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_string())
}

/// A Docker mode string; the pod forms are Berth's own, so Docker gets dockerd's "unknown mode".
fn docker_mode<T: std::str::FromStr<Err = ModelError>>(
    option: &'static str,
    value: &str,
    is_pod: impl Fn(&T) -> bool,
) -> Result<T, ModelError> {
    let mode: T = value.parse()?;
    if is_pod(&mode) {
        return Err(invalid(option, value, "unknown mode"));
    }
    Ok(mode)
}

impl TryFrom<&HostConfig> for Namespaces {
    type Error = ModelError;
    fn try_from(h: &HostConfig) -> Result<Self, Self::Error> {
        Ok(Self {
            ipc: docker_mode("IpcMode", &h.ipc_mode, |m| *m == IpcMode::Pod)?,
            pid: docker_mode("PidMode", &h.pid_mode, |m| {
                matches!(m, PidMode::Pod | PidMode::Target(_))
            })?,
            uts: docker_mode("UTSMode", &h.uts_mode, |m| *m == UtsMode::Pod)?,
            cgroup: match h.cgroupns_mode.as_str() {
                "" => None,
                mode => Some(mode.parse()?),
            },
            // The create body has no per-container user namespace (`UsernsMode` is the
            // daemon's remapping, which Berth does not offer).
            user: None,
        })
    }
}

/// Docker's `NetworkMode`: anything that is not a keyword names a network, `pod:x` included
/// (no network can be named so, so it fails as an unknown network, as with dockerd).
pub fn docker_network_mode(value: &str) -> Result<NetworkMode, ModelError> {
    Ok(match value.parse()? {
        NetworkMode::Pod(_) => NetworkMode::Named(value.to_string()),
        mode => mode,
    })
}

fn networking(opts: &CreateOptions, container: &str) -> Result<Networking, ModelError> {
    let h = &opts.host_config;
    let ports = networks::port_bindings(container, h)?
        .into_iter()
        .map(|p| {
            Ok(PortMapping {
                container: Port {
                    number: p.container_port,
                    protocol: p.protocol.parse()?,
                },
                host_ip: p.host_ip,
                host_ports: p.host_ports,
            })
        })
        .collect::<Result<_, ModelError>>()?;
    let exposed = opts
        .exposed_ports
        .keys()
        .map(|key| {
            let (number, protocol) = networks::parse_port_key(container, key)?;
            Ok(Port {
                number,
                protocol: protocol.parse()?,
            })
        })
        .collect::<Result<_, ModelError>>()?;
    let links = h
        .links
        .iter()
        .map(|l| {
            let (container, alias) = networks::parse_link(l)?;
            Ok(LinkRequest { container, alias })
        })
        .collect::<Result<_, NetworkError>>()?;
    Ok(Networking {
        mode: docker_network_mode(&h.network_mode)?,
        disabled: opts.network_disabled,
        hostname: non_empty(&opts.hostname),
        domainname: non_empty(&opts.domainname),
        endpoints: docker_endpoints(opts, container)?,
        ports,
        publish_all: h.publish_all_ports,
        exposed,
        links,
        dns: Dns {
            servers: h.dns.clone(),
            search: h.dns_search.clone(),
            options: h.dns_options.clone(),
        },
        extra_hosts: h.extra_hosts.iter().filter_map(|e| host_entry(e)).collect(),
    })
}

/// `host:ip`, or `host=ip` from newer clients (an IPv6 address has colons of its own). An
/// entry with neither is left out, as Berth's /etc/hosts always did (the docker CLI refuses
/// it before sending), rather than refused at create.
fn host_entry(entry: &str) -> Option<HostEntry> {
    let (hostname, address) = entry.split_once('=').or_else(|| entry.split_once(':'))?;
    Some(HostEntry {
        hostname: hostname.to_string(),
        address: address.to_string(),
    })
}

/// `EndpointsConfig`, by network.
pub(crate) fn docker_endpoints(
    opts: &CreateOptions,
    container: &str,
) -> Result<BTreeMap<String, EndpointRequest>, NetworkError> {
    opts.networking_config
        .endpoints_config
        .iter()
        .map(|(network, e)| Ok((network.clone(), docker_endpoint(container, network, e)?)))
        .collect()
}

/// One `EndpointsConfig` entry (create's, or `network connect`'s).
pub(crate) fn docker_endpoint(
    container: &str,
    network: &str,
    e: &EndpointSettings,
) -> Result<EndpointRequest, NetworkError> {
    // The network layer's message for a bad `--ip`; whether the address fits the network is
    // checked once the network is known.
    let ip = |text: &str| {
        text.parse::<IpAddr>()
            .map_err(|_| NetworkError::BadEndpointAddress {
                container: container.to_string(),
                network: network.to_string(),
                address: text.to_string(),
                reason: "not an IP address".into(),
            })
    };
    let optional_ip = |text: &str| (!text.is_empty()).then(|| ip(text)).transpose();
    let ipam = &e.ipam_config;
    Ok(EndpointRequest {
        ipv4_address: optional_ip(&ipam.ipv4_address)?,
        ipv6_address: optional_ip(&ipam.ipv6_address)?,
        link_local_ips: ipam
            .link_local_ips
            .iter()
            .map(|a| ip(a))
            .collect::<Result<_, _>>()?,
        aliases: e.aliases.clone(),
        links: e.links.clone(),
        mac_address: non_empty(&e.mac_address),
        driver_options: e.driver_opts.clone(),
    })
}

impl TryFrom<&CreateOptions> for ProcessSpec {
    type Error = ModelError;
    fn try_from(o: &CreateOptions) -> Result<Self, Self::Error> {
        let console_size = match o.host_config.console_size.as_slice() {
            [height, width] if *height > 0 && *width > 0 => Some(ConsoleSize {
                height: *height,
                width: *width,
            }),
            _ => None,
        };
        Ok(Self {
            entrypoint: o.entrypoint.clone(),
            cmd: o.cmd.clone(),
            env: o.env.clone(),
            working_dir: (!o.working_dir.is_empty()).then(|| PathBuf::from(&o.working_dir)),
            user: non_empty(&o.user),
            tty: o.tty,
            stdin: o.open_stdin,
            stdin_once: o.stdin_once,
            console_size,
            stop_signal: non_empty(&o.stop_signal),
            stop_timeout: o.stop_timeout,
            init: o.host_config.init,
            health: o
                .healthcheck
                .as_ref()
                .map(HealthCheck::try_from)
                .transpose()?,
        })
    }
}

impl TryFrom<&Healthcheck> for HealthCheck {
    type Error = ModelError;
    fn try_from(h: &Healthcheck) -> Result<Self, Self::Error> {
        spec::validate_healthcheck(h)?;
        let test = match h.test.split_first() {
            None => HealthTest::Inherit,
            Some((kind, _)) if kind == "NONE" => HealthTest::Disabled,
            Some((kind, line)) if kind == "CMD-SHELL" => HealthTest::Shell(line.join(" ")),
            // The only kind left after validation.
            Some((_, args)) => HealthTest::Exec(args.to_vec()),
        };
        let retries = u32::try_from(h.retries)
            .map_err(|_| invalid("Healthcheck.Retries", &h.retries.to_string(), "too large"))?;
        // Validated: each duration is 0 or at least 1ms, so never negative.
        Ok(Self {
            test,
            interval_ns: h.interval.unsigned_abs(),
            timeout_ns: h.timeout.unsigned_abs(),
            start_period_ns: h.start_period.unsigned_abs(),
            start_interval_ns: h.start_interval.unsigned_abs(),
            retries,
        })
    }
}

/// With dockerd's messages.
impl TryFrom<&options::RestartPolicy> for RestartPolicy {
    type Error = ModelError;
    fn try_from(rp: &options::RestartPolicy) -> Result<Self, Self::Error> {
        let retries = rp.maximum_retry_count;
        let bad_retries = |reason| {
            invalid(
                "RestartPolicy.MaximumRetryCount",
                &retries.to_string(),
                reason,
            )
        };
        Ok(match rp.name.as_str() {
            "" | "no" | "always" | "unless-stopped" if retries != 0 => {
                return Err(bad_retries(
                    "can only be used with restart policy 'on-failure'",
                ))
            }
            "" | "no" => Self::No,
            "always" => Self::Always,
            "unless-stopped" => Self::UnlessStopped,
            "on-failure" => Self::OnFailure {
                max_retries: match retries {
                    0 => None,
                    n if n < 0 => return Err(bad_retries("must not be negative")),
                    n => Some(u32::try_from(n).map_err(|_| bad_retries("too large"))?),
                },
            },
            other => {
                return Err(invalid(
                    "RestartPolicy.Name",
                    other,
                    "unknown restart policy",
                ))
            }
        })
    }
}

impl TryFrom<&LogConfig> for LogSpec {
    type Error = ModelError;
    fn try_from(lc: &LogConfig) -> Result<Self, Self::Error> {
        spec::validate_log_config(lc)?;
        let mut file = FileLogOptions::default();
        for (key, value) in &lc.config {
            match key.as_str() {
                "max-size" => file.max_size = spec::parse_size(value),
                "max-file" => file.max_files = value.parse().ok(),
                _ => {
                    file.other.insert(key.clone(), value.clone());
                }
            }
        }
        Ok(match lc.driver.as_str() {
            "none" => Self::None,
            "local" => Self::Local(file),
            // `""` and `json-file`: validation refused every other driver.
            _ => Self::JsonFile(file),
        })
    }
}

impl TryFrom<&HostConfig> for Storage {
    type Error = ModelError;
    /// Binds, `--mount`s, `--tmpfs`, `--volumes-from`; the body's `Volumes` are outside
    /// `HostConfig` and filled in by [`ContainerSpec::from_docker`].
    fn try_from(h: &HostConfig) -> Result<Self, Self::Error> {
        let mut mounts: Vec<MountRequest> = Vec::new();
        let binds = h.binds.iter().map(|b| spec::parse_bind(b));
        let structured = h.mounts.iter().map(spec::parse_mount);
        for request in binds.chain(structured) {
            mounts.push(MountRequest::try_from(request?)?);
        }
        for (target, data) in &h.tmpfs {
            let target = spec::container_path("Tmpfs", target)?;
            mounts.push(tmpfs(target, data)?);
        }
        if let Some(twice) = mounts
            .iter()
            .enumerate()
            .find(|(i, m)| mounts[..*i].iter().any(|o| o.target == m.target))
        {
            return Err(SpecError::DuplicateMountPoint(twice.1.target.clone()).into());
        }
        let volumes_from = h
            .volumes_from
            .iter()
            .map(|v| {
                let (container, readonly) = spec::parse_volumes_from(v)?;
                Ok(VolumesFrom {
                    container: container.to_string(),
                    readonly,
                })
            })
            .collect::<Result<_, SpecError>>()?;
        Ok(Self {
            mounts,
            anonymous_volumes: Vec::new(),
            volumes_from,
            volume_driver: non_empty(&h.volume_driver),
            shm_size: spec::shm_size(h.shm_size)?,
        })
    }
}

impl TryFrom<&MountSpec> for MountRequest {
    type Error = ModelError;
    fn try_from(m: &MountSpec) -> Result<Self, Self::Error> {
        Self::try_from(spec::parse_mount(m)?)
    }
}

/// From what the spec builder's `-v`/`--mount` parsers made of a request.
impl TryFrom<spec::MountRequest> for MountRequest {
    type Error = ModelError;
    fn try_from(r: spec::MountRequest) -> Result<Self, Self::Error> {
        Ok(match r {
            spec::MountRequest::Bind(b) => Self {
                target: b.destination,
                readonly: b.read_only,
                kind: MountKind::Bind {
                    source: b.source,
                    propagation: b.propagation.parse()?,
                    recursive: b.recursive,
                    recursive_readonly: b.recursive_read_only,
                    create_host_path: b.create_missing,
                    idmap: b.idmap,
                },
            },
            spec::MountRequest::Volume(v) => {
                let driver = (!v.driver.is_empty() || !v.driver_options.is_empty()).then_some(
                    VolumeDriver {
                        name: v.driver,
                        options: v.driver_options,
                    },
                );
                Self {
                    target: v.destination,
                    readonly: v.read_only,
                    kind: MountKind::Volume {
                        name: v.name,
                        nocopy: v.nocopy,
                        // The parser refuses a subpath, which the engine cannot mount yet.
                        subpath: None,
                        driver,
                        labels: v.labels,
                    },
                }
            }
            spec::MountRequest::Tmpfs {
                destination,
                options,
            } => tmpfs(destination, &options)?,
        })
    }
}

/// A tmpfs from `--tmpfs` option syntax, checked by the spec builder's merge of tmpfs options.
fn tmpfs(target: PathBuf, data: &str) -> Result<MountRequest, ModelError> {
    spec::tmpfs_mount(Path::new(&target), data)?;
    let mut readonly = false;
    let mut size = None;
    let mut mode = None;
    let mut options = Vec::new();
    // Later words win, as in the mount the spec builder makes.
    for word in data.split(',').filter(|w| !w.is_empty()) {
        let typed = match word.split_once('=') {
            Some(("size", v)) => spec::parse_size(v).map(|bytes| size = Some(bytes)),
            Some(("mode", v)) => u32::from_str_radix(v, 8).ok().map(|m| mode = Some(m)),
            None if word == "ro" || word == "rw" => {
                readonly = word == "ro";
                Some(())
            }
            _ => None,
        };
        if typed.is_none() {
            options.push(word.to_string());
        }
    }
    Ok(MountRequest {
        target,
        readonly,
        kind: MountKind::Tmpfs {
            size,
            mode,
            options,
        },
    })
}

impl TryFrom<&HostConfig> for Resources {
    type Error = ModelError;
    fn try_from(h: &HostConfig) -> Result<Self, Self::Error> {
        // The host's CPU count bounds `--cpus` when the spec is built; here only the body.
        let cpu = spec::cpu(h)?.map_or_else(Cpu::default, |c| Cpu {
            shares: c.shares(),
            quota: c.quota(),
            period: c.period(),
            nano_cpus: u64::try_from(h.nano_cpus).ok().filter(|n| *n > 0),
            cpus: c.cpus().clone(),
            mems: c.mems().clone(),
        });
        let m = spec::memory(h)?;
        let memory = Memory {
            limit: m.limit(),
            reservation: m.reservation(),
            swap: m.swap(),
            swappiness: m.swappiness(),
            disable_oom_killer: m.disable_oom_killer().unwrap_or(false),
        };
        let rates = |list: &[options::ThrottleDevice]| {
            list.iter()
                .map(|d| DeviceRate {
                    path: PathBuf::from(&d.path),
                    rate: d.rate,
                })
                .collect()
        };
        // Weight ranges and device paths are checked with the host's device nodes, when the
        // spec is built.
        let block_io = BlockIo {
            weight: (h.blkio_weight > 0).then_some(h.blkio_weight),
            weight_devices: h
                .blkio_weight_device
                .iter()
                .map(|d| DeviceWeight {
                    path: PathBuf::from(&d.path),
                    weight: d.weight,
                })
                .collect(),
            read_bps: rates(&h.blkio_device_read_bps),
            write_bps: rates(&h.blkio_device_write_bps),
            read_iops: rates(&h.blkio_device_read_iops),
            write_iops: rates(&h.blkio_device_write_iops),
        };
        let devices = h
            .devices
            .iter()
            .map(|d| DeviceRequest {
                host_path: PathBuf::from(&d.path_on_host),
                container_path: (!d.path_in_container.is_empty())
                    .then(|| PathBuf::from(&d.path_in_container)),
                access: match d.cgroup_permissions.as_str() {
                    "" => "rwm".to_string(),
                    access => access.to_string(),
                },
            })
            .collect();
        let device_rules = h
            .device_cgroup_rules
            .iter()
            .map(|r| {
                let rule = spec::parse_cgroup_rule(r)?;
                Ok(DeviceRule {
                    allow: rule.allow(),
                    kind: match rule.typ() {
                        None | Some(LinuxDeviceType::A) => DeviceKind::All,
                        Some(LinuxDeviceType::B) => DeviceKind::Block,
                        Some(_) => DeviceKind::Char,
                    },
                    major: rule.major(),
                    minor: rule.minor(),
                    access: rule.access().clone().unwrap_or_default(),
                })
            })
            .collect::<Result<_, SpecError>>()?;
        let rlimits = h
            .ulimits
            .iter()
            .zip(spec::rlimits(&h.ulimits)?)
            .map(|(u, r)| Rlimit {
                name: u.name.clone(),
                soft: r.soft(),
                hard: r.hard(),
            })
            .collect();
        Ok(Self {
            cpu,
            memory,
            pids_limit: spec::pids(h).map(|p| p.limit()),
            block_io,
            hugepages: Default::default(),
            unified: Default::default(),
            devices,
            device_rules,
            oom_score_adj: spec::oom_score_adj(h.oom_score_adj)?,
            rlimits,
            cgroup_parent: non_empty(&h.cgroup_parent),
        })
    }
}

impl TryFrom<&HostConfig> for Security {
    type Error = ModelError;
    fn try_from(h: &HostConfig) -> Result<Self, Self::Error> {
        let opts = security_opts(&h.security_opt)?;
        // After the whole list, as dockerd: a bad option beats a bad profile.
        if let Seccomp::Inline(json) = &opts.seccomp {
            spec::seccomp::parse_profile(json)?;
        }
        let caps = |names: &[String]| -> Result<Vec<String>, SpecError> {
            Ok(spec::normalize_capabilities(names)?
                .into_iter()
                .map(String::from)
                .collect())
        };
        Ok(Self {
            privileged: h.privileged,
            capabilities: CapChanges {
                add: caps(&h.cap_add)?,
                drop: caps(&h.cap_drop)?,
            },
            no_new_privileges: opts.no_new_privileges,
            seccomp: opts.seccomp,
            apparmor: opts.apparmor,
            selinux: selinux(&opts.labels),
            // Docker unmasks /proc by sending empty path lists (`systempaths=unconfined`).
            proc_mount: ProcMount::Default,
            masked_paths: h.masked_paths.clone(),
            readonly_paths: h.readonly_paths.clone(),
            readonly_rootfs: h.readonly_rootfs,
            writable_cgroups: opts.writable_cgroups,
            sysctls: h.sysctls.clone(),
            groups: h.group_add.clone(),
            group_policy: GroupPolicy::Merge,
        })
    }
}

/// The `SecurityOpt` list, parsed; the seccomp profile is not checked yet.
#[derive(Debug, Default)]
struct SecurityOpts {
    no_new_privileges: bool,
    writable_cgroups: bool,
    seccomp: Seccomp,
    apparmor: AppArmor,
    /// `label=<word>` (`user:u`, `type:t`, `disable`, ...), for [`selinux`].
    labels: Vec<String>,
}

/// dockerd's `parseSecurityOpt`: `key=value` or the older `key:value`, and bare flags.
fn security_opts(opts: &[String]) -> Result<SecurityOpts, SpecError> {
    let mut out = SecurityOpts::default();
    for opt in opts {
        let bad = || SpecError::InvalidSecurityOpt(opt.clone());
        let parse_bool = |v: &str| v.parse::<bool>().map_err(|_| bad());
        match opt.as_str() {
            "no-new-privileges" => out.no_new_privileges = true,
            "writable-cgroups" => out.writable_cgroups = true,
            // SELinux labelling off, as `label=disable`.
            "disable" => out.labels.push(opt.clone()),
            _ => {
                let (key, value) = opt
                    .split_once('=')
                    .or_else(|| opt.split_once(':'))
                    .ok_or_else(bad)?;
                match key {
                    "no-new-privileges" => out.no_new_privileges = parse_bool(value)?,
                    "writable-cgroups" => out.writable_cgroups = parse_bool(value)?,
                    "seccomp" => {
                        out.seccomp = match value {
                            "unconfined" => Seccomp::Unconfined,
                            "builtin" | "" => Seccomp::Default,
                            json => Seccomp::Inline(json.to_string()),
                        }
                    }
                    // Accepted so `docker run` scripts keep working; Berth loads no LSM
                    // profiles yet.
                    "apparmor" => {
                        out.apparmor = match value {
                            "unconfined" => AppArmor::Unconfined,
                            profile => AppArmor::Profile(profile.to_string()),
                        }
                    }
                    "label" => out.labels.push(value.to_string()),
                    _ => return Err(bad()),
                }
            }
        }
    }
    Ok(out)
}

/// `label=` words. Words Berth has no use for (`nested`, `filetype:`) are dropped: it enforces
/// no SELinux yet and has always accepted them.
fn selinux(words: &[String]) -> Selinux {
    if words.iter().any(|w| w == "disable") {
        return Selinux::Disabled;
    }
    let mut label = SelinuxLabel::default();
    for word in words {
        let Some((key, value)) = word.split_once(':') else {
            continue;
        };
        let slot = match key {
            "user" => &mut label.user,
            "role" => &mut label.role,
            "type" => &mut label.kind,
            "level" => &mut label.level,
            _ => continue,
        };
        *slot = Some(value.to_string());
    }
    if label == SelinuxLabel::default() {
        Selinux::Default
    } else {
        Selinux::Label(label)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
