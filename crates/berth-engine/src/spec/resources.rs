//! Cgroup resources, devices, rlimits and sysctls, with dockerd's validation
//! (moby `daemon/daemon_unix.go` `verifyPlatformContainerResources`, `getMemoryResources`,
//! `getCPUResources`, `oci/devices_linux.go`).

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};

use oci_spec::runtime::{
    LinuxBlockIo, LinuxCpu, LinuxDevice, LinuxDeviceCgroup, LinuxDeviceType, LinuxMemory,
    LinuxPids, LinuxThrottleDevice, LinuxThrottleDeviceBuilder, LinuxWeightDeviceBuilder,
    PosixRlimit, PosixRlimitBuilder, PosixRlimitType,
};

use super::error::{invalid, SpecError};
use super::options::{HostConfig, Ulimit};
use crate::model::{BlockIo, DeviceRate, DeviceRequest};

/// dockerd's smallest memory limit or reservation: 6 MiB.
const MIN_MEMORY: i64 = 6 * 1024 * 1024;

/// Memory plus swap: as given, or dockerd's default of twice the memory limit.
fn swap_limit(h: &HostConfig) -> i64 {
    if h.memory > 0 && h.memory_swap == 0 {
        h.memory * 2
    } else {
        h.memory_swap
    }
}

/// `linux.resources.memory`, after dockerd's defaults: swap twice the limit unless given, and
/// `disableOOMKiller` always present.
pub(crate) fn memory(h: &HostConfig) -> Result<LinuxMemory, SpecError> {
    if h.memory < 0 {
        return Err(invalid("Memory", h.memory, "must not be negative"));
    }
    if h.memory != 0 && h.memory < MIN_MEMORY {
        return Err(invalid(
            "Memory",
            h.memory,
            "minimum memory limit allowed is 6MB",
        ));
    }
    let swap = swap_limit(h);
    if swap < -1 {
        return Err(invalid(
            "MemorySwap",
            swap,
            "must be -1 (unlimited) or positive",
        ));
    }
    if h.memory > 0 && swap > 0 && swap < h.memory {
        return Err(invalid(
            "MemorySwap",
            swap,
            "minimum memoryswap limit should be larger than memory limit",
        ));
    }
    if h.memory == 0 && swap > 0 {
        return Err(invalid(
            "MemorySwap",
            swap,
            "you should always set the Memory limit when using Memoryswap limit",
        ));
    }
    let swappiness = match h.memory_swappiness {
        None | Some(-1) => None,
        Some(s @ 0..=100) => Some(s as u64),
        Some(s) => return Err(invalid("MemorySwappiness", s, "valid range is 0-100")),
    };
    let reservation = h.memory_reservation;
    if reservation < 0 {
        return Err(invalid(
            "MemoryReservation",
            reservation,
            "must not be negative",
        ));
    }
    if reservation > 0 && reservation < MIN_MEMORY {
        return Err(invalid(
            "MemoryReservation",
            reservation,
            "minimum memory reservation allowed is 6MB",
        ));
    }
    if h.memory > 0 && reservation > h.memory {
        return Err(invalid(
            "MemoryReservation",
            reservation,
            "memory limit can not be less than memory reservation limit",
        ));
    }
    let mut m = LinuxMemory::default();
    m.set_limit((h.memory > 0).then_some(h.memory));
    m.set_reservation((reservation > 0).then_some(reservation));
    m.set_swap((swap > 0).then_some(swap));
    m.set_swappiness(swappiness);
    m.set_disable_oom_killer(Some(h.oom_kill_disable.unwrap_or(false)));
    Ok(m)
}

/// CFS period dockerd uses for `--cpus`: 100ms.
const NANO_CPUS_PERIOD: u64 = 100_000;

/// `linux.resources.cpu`, or `None` when nothing is set. The host's CPU count bounds `--cpus`
/// when the spec is built ([`nano_cpus_within`]).
pub(crate) fn cpu(h: &HostConfig) -> Result<Option<LinuxCpu>, SpecError> {
    if h.cpu_shares < 0 {
        return Err(invalid("CpuShares", h.cpu_shares, "must not be negative"));
    }
    if h.nano_cpus > 0 && h.cpu_period > 0 {
        return Err(SpecError::Conflict(
            "Nano CPUs and CPU Period cannot both be set",
        ));
    }
    if h.nano_cpus > 0 && h.cpu_quota > 0 {
        return Err(SpecError::Conflict(
            "Nano CPUs and CPU Quota cannot both be set",
        ));
    }
    nano_cpus_within(h.nano_cpus, usize::MAX)?;
    if h.cpu_period != 0 && !(1000..=1_000_000).contains(&h.cpu_period) {
        return Err(invalid(
            "CpuPeriod",
            h.cpu_period,
            "CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)",
        ));
    }
    if h.cpu_quota > 0 && h.cpu_quota < 1000 {
        return Err(invalid(
            "CpuQuota",
            h.cpu_quota,
            "CPU cfs quota can not be less than 1ms (i.e. 1000)",
        ));
    }
    for (option, value) in [
        ("CpusetCpus", &h.cpuset_cpus),
        ("CpusetMems", &h.cpuset_mems),
    ] {
        if !value.is_empty() && !valid_cpuset(value) {
            return Err(invalid(option, value, "expected a list like 0-3,5"));
        }
    }

    let mut c = LinuxCpu::default();
    let mut any = false;
    if h.cpu_shares > 0 {
        c.set_shares(Some(h.cpu_shares as u64));
        any = true;
    }
    if !h.cpuset_cpus.is_empty() {
        c.set_cpus(Some(h.cpuset_cpus.clone()));
        any = true;
    }
    if !h.cpuset_mems.is_empty() {
        c.set_mems(Some(h.cpuset_mems.clone()));
        any = true;
    }
    if h.nano_cpus > 0 {
        let quota = h.nano_cpus.saturating_mul(NANO_CPUS_PERIOD as i64) / 1_000_000_000;
        c.set_period(Some(NANO_CPUS_PERIOD));
        c.set_quota(Some(quota));
        any = true;
    }
    if h.cpu_period > 0 {
        c.set_period(Some(h.cpu_period as u64));
        any = true;
    }
    if h.cpu_quota != 0 {
        c.set_quota(Some(h.cpu_quota));
        any = true;
    }
    Ok(any.then_some(c))
}

/// `--cpus` (`NanoCpus`) against the CPUs available to the daemon.
pub(crate) fn nano_cpus_within(nano_cpus: i64, host_cpus: usize) -> Result<(), SpecError> {
    let max_nano = i64::try_from(host_cpus)
        .unwrap_or(i64::MAX)
        .saturating_mul(1_000_000_000);
    if nano_cpus < 0 || nano_cpus > max_nano {
        return Err(invalid(
            "NanoCpus",
            nano_cpus,
            "range of CPUs is from 0.01 to the number of CPUs available",
        ));
    }
    Ok(())
}

/// `0-3,5,7-8`.
fn valid_cpuset(list: &str) -> bool {
    list.split(',').all(|part| {
        let mut ends = part.splitn(2, '-');
        let lo = ends.next().and_then(|s| s.parse::<u32>().ok());
        match (lo, ends.next()) {
            (Some(_), None) => true,
            (Some(lo), Some(hi)) => hi.parse::<u32>().is_ok_and(|hi| lo <= hi),
            _ => false,
        }
    })
}

/// `--pids-limit`: 0 or negative means unlimited, which runc spells -1.
pub(crate) fn pids(h: &HostConfig) -> Option<LinuxPids> {
    h.pids_limit.map(|limit| {
        let mut p = LinuxPids::default();
        p.set_limit(if limit <= 0 { -1 } else { limit });
        p
    })
}

/// `linux.resources.blockIO`: dockerd always writes the weight, 0 meaning unset; per-device
/// weights and limits name their devices by the host node's numbers (`getBlkioThrottleDevices`).
pub(crate) fn block_io(io: &BlockIo, host: &dyn HostDevices) -> Result<LinuxBlockIo, SpecError> {
    let w = io.weight.unwrap_or(0);
    if w > 0 && !(10..=1000).contains(&w) {
        return Err(invalid(
            "BlkioWeight",
            w,
            "range of blkio weight is from 10 to 1000",
        ));
    }
    let numbers = |path: &Path| -> Result<(i64, i64), SpecError> {
        let info = host.stat(path).map_err(|source| SpecError::DeviceStat {
            path: path.to_path_buf(),
            source,
        })?;
        if info.kind != HostFileKind::BlockDevice {
            return Err(SpecError::NotABlockDevice(path.to_path_buf()));
        }
        Ok((info.major, info.minor))
    };
    let mut weights = Vec::new();
    for d in &io.weight_devices {
        if !(10..=1000).contains(&d.weight) {
            return Err(invalid(
                "BlkioWeightDevice",
                d.weight,
                "range of blkio weight is from 10 to 1000",
            ));
        }
        let (major, minor) = numbers(&d.path)?;
        let wd = LinuxWeightDeviceBuilder::default()
            .major(major)
            .minor(minor)
            .weight(d.weight)
            .build()
            .map_err(|_| {
                invalid(
                    "BlkioWeightDevice",
                    d.path.display(),
                    "rejected by the OCI types",
                )
            })?;
        weights.push(wd);
    }
    let throttles = |list: &[DeviceRate]| -> Result<Option<Vec<LinuxThrottleDevice>>, SpecError> {
        let mut out = Vec::new();
        for d in list {
            let (major, minor) = numbers(&d.path)?;
            let td = LinuxThrottleDeviceBuilder::default()
                .major(major)
                .minor(minor)
                .rate(d.rate)
                .build()
                .map_err(|_| {
                    invalid("BlkioDevice", d.path.display(), "rejected by the OCI types")
                })?;
            out.push(td);
        }
        Ok((!out.is_empty()).then_some(out))
    };
    let mut b = LinuxBlockIo::default();
    b.set_weight(Some(w));
    b.set_weight_device((!weights.is_empty()).then_some(weights));
    b.set_throttle_read_bps_device(throttles(&io.read_bps)?);
    b.set_throttle_write_bps_device(throttles(&io.write_bps)?);
    b.set_throttle_read_iops_device(throttles(&io.read_iops)?);
    b.set_throttle_write_iops_device(throttles(&io.write_iops)?);
    Ok(b)
}

pub(crate) fn cgroup_rule(
    allow: bool,
    typ: Option<LinuxDeviceType>,
    major: Option<i64>,
    minor: Option<i64>,
    access: &str,
) -> LinuxDeviceCgroup {
    let mut r = LinuxDeviceCgroup::default();
    r.set_allow(allow);
    r.set_typ(typ);
    r.set_major(major);
    r.set_minor(minor);
    r.set_access(Some(access.to_string()));
    r
}

/// dockerd's device cgroup list: deny all, allow the standard nodes (null, zero, full, urandom,
/// random, tty, console), deny /dev/net/tun (10:229). The runtime appends its own defaults (as
/// runc does), so this is exactly what dockerd writes into config.json.
pub(crate) fn default_device_rules() -> Vec<LinuxDeviceCgroup> {
    use LinuxDeviceType::C;
    let mut rules = vec![cgroup_rule(false, None, None, None, "rwm")];
    for (major, minor) in [(1, 5), (1, 3), (1, 9), (1, 8), (5, 0), (5, 1)] {
        rules.push(cgroup_rule(true, Some(C), Some(major), Some(minor), "rwm"));
    }
    rules.push(cgroup_rule(false, Some(C), Some(10), Some(229), "rwm"));
    rules
}

/// `--privileged`: every device, all access.
pub(crate) fn privileged_device_rules() -> Vec<LinuxDeviceCgroup> {
    vec![cgroup_rule(true, None, None, None, "rwm")]
}

/// Parses a `--device-cgroup-rule` (`"c 1:3 rwm"`, `"a *:* rwm"`) like moby
/// `AppendDevicePermissionsFromCgroupRules`.
pub(crate) fn parse_cgroup_rule(rule: &str) -> Result<LinuxDeviceCgroup, SpecError> {
    let bad = |reason| invalid("DeviceCgroupRules", rule, reason);
    let fields: Vec<&str> = rule.split_whitespace().collect();
    let [typ, numbers, access] = fields.as_slice() else {
        return Err(bad("expected \"type major:minor access\""));
    };
    let typ = match *typ {
        "a" => LinuxDeviceType::A,
        "b" => LinuxDeviceType::B,
        "c" => LinuxDeviceType::C,
        _ => return Err(bad("type must be a, b or c")),
    };
    let (major, minor) = numbers
        .split_once(':')
        .ok_or_else(|| bad("expected major:minor"))?;
    let number = |s: &str| -> Result<Option<i64>, SpecError> {
        if s == "*" {
            return Ok(None);
        }
        s.parse::<i64>()
            .map(Some)
            .map_err(|_| bad("major and minor must be numbers or *"))
    };
    if !valid_access(access) {
        return Err(bad("access must be a combination of r, w and m"));
    }
    let typ = (typ != LinuxDeviceType::A).then_some(typ);
    Ok(cgroup_rule(
        true,
        typ,
        number(major)?,
        number(minor)?,
        access,
    ))
}

fn valid_access(access: &str) -> bool {
    !access.is_empty() && access.chars().all(|c| matches!(c, 'r' | 'w' | 'm')) && access.len() <= 3
}

/// What `stat` says about a host path, as far as devices care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostFileInfo {
    pub kind: HostFileKind,
    /// Permission bits (`mode & 0o7777`).
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub major: i64,
    pub minor: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostFileKind {
    CharDevice,
    BlockDevice,
    Fifo,
    Directory,
    Other,
}

/// The only I/O of spec building: looking at host device nodes for `--device` and
/// `--privileged`. Tests substitute a fake.
pub trait HostDevices {
    /// `stat(2)` of `path`, following symlinks as dockerd does.
    fn stat(&self, path: &Path) -> io::Result<HostFileInfo>;
    /// The entries of directory `path`.
    fn read_dir(&self, path: &Path) -> io::Result<Vec<PathBuf>>;
}

/// The real host.
#[derive(Debug, Clone, Copy, Default)]
pub struct HostFs;

impl HostDevices for HostFs {
    fn stat(&self, path: &Path) -> io::Result<HostFileInfo> {
        use std::os::unix::fs::{FileTypeExt, MetadataExt};
        let meta = std::fs::metadata(path)?;
        let ft = meta.file_type();
        let kind = if ft.is_char_device() {
            HostFileKind::CharDevice
        } else if ft.is_block_device() {
            HostFileKind::BlockDevice
        } else if ft.is_fifo() {
            HostFileKind::Fifo
        } else if ft.is_dir() {
            HostFileKind::Directory
        } else {
            HostFileKind::Other
        };
        let rdev = meta.rdev();
        // glibc's gnu_dev_major / gnu_dev_minor.
        let major = ((rdev >> 8) & 0xfff) | ((rdev >> 32) & !0xfff);
        let minor = (rdev & 0xff) | ((rdev >> 12) & !0xff);
        Ok(HostFileInfo {
            kind,
            mode: meta.mode() & 0o7777,
            uid: meta.uid(),
            gid: meta.gid(),
            major: major as i64,
            minor: minor as i64,
        })
    }

    fn read_dir(&self, path: &Path) -> io::Result<Vec<PathBuf>> {
        std::fs::read_dir(path)?
            .map(|e| e.map(|e| e.path()))
            .collect()
    }
}

/// The device node to create in the container, if `info` is one.
fn device(info: &HostFileInfo, path_in_container: &Path) -> Option<LinuxDevice> {
    let typ = match info.kind {
        HostFileKind::CharDevice => LinuxDeviceType::C,
        HostFileKind::BlockDevice => LinuxDeviceType::B,
        HostFileKind::Fifo => LinuxDeviceType::P,
        _ => return None,
    };
    let mut d = LinuxDevice::default();
    d.set_path(path_in_container.to_path_buf());
    d.set_typ(typ);
    d.set_major(info.major);
    d.set_minor(info.minor);
    d.set_file_mode(Some(info.mode));
    d.set_uid(Some(info.uid));
    d.set_gid(Some(info.gid));
    Some(d)
}

/// `--device`: the node(s) to create and the cgroup rules allowing them (moby
/// `DevicesFromPath`). A directory adds every device below it, at the same relative path.
pub(crate) fn devices_from_request(
    request: &DeviceRequest,
    host: &dyn HostDevices,
) -> Result<(Vec<LinuxDevice>, Vec<LinuxDeviceCgroup>), SpecError> {
    let on_host = request.host_path.clone();
    if !on_host.is_absolute() {
        return Err(SpecError::RelativePath {
            option: "Devices.PathOnHost",
            path: on_host.display().to_string(),
        });
    }
    let in_container = match &request.container_path {
        None => on_host.clone(),
        Some(path) => {
            super::mounts::container_path("Devices.PathInContainer", &path.to_string_lossy())?
        }
    };
    let access = request.access.as_str();
    if !valid_access(access) {
        return Err(invalid(
            "Devices.CgroupPermissions",
            access,
            "must be a combination of r, w and m",
        ));
    }
    let stat_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| SpecError::DeviceStat { path, source }
    };
    let info = host.stat(&on_host).map_err(stat_err(&on_host))?;
    let mut found = Vec::new();
    if info.kind == HostFileKind::Directory {
        walk_devices(host, &on_host, &mut found).map_err(stat_err(&on_host))?;
    } else {
        found.push((on_host.clone(), info));
    }
    let mut devices = Vec::new();
    let mut rules = Vec::new();
    for (path, info) in found {
        let dest = match path.strip_prefix(&on_host) {
            Ok(rel) if !rel.as_os_str().is_empty() => in_container.join(rel),
            _ => in_container.clone(),
        };
        let Some(dev) = device(&info, &dest) else {
            return Err(SpecError::NotADevice(path));
        };
        rules.push(cgroup_rule(
            true,
            Some(dev.typ()),
            Some(dev.major()),
            Some(dev.minor()),
            access,
        ));
        devices.push(dev);
    }
    Ok((devices, rules))
}

fn walk_devices(
    host: &dyn HostDevices,
    dir: &Path,
    out: &mut Vec<(PathBuf, HostFileInfo)>,
) -> io::Result<()> {
    let mut entries = host.read_dir(dir)?;
    entries.sort();
    for path in entries {
        // Entries can vanish while we look; dockerd skips them too.
        let Ok(info) = host.stat(&path) else { continue };
        match info.kind {
            HostFileKind::Directory => walk_devices(host, &path, out)?,
            HostFileKind::CharDevice | HostFileKind::BlockDevice => out.push((path, info)),
            _ => {}
        }
    }
    Ok(())
}

/// `--privileged`: every char and block device of the host's /dev, skipping what the container
/// gets its own of (runc `HostDevices`).
pub(crate) fn host_devices(host: &dyn HostDevices) -> Result<Vec<LinuxDevice>, SpecError> {
    const SKIP_DIRS: [&str; 7] = ["pts", "shm", "fd", "mqueue", ".lxc", ".lxd-mounts", ".udev"];
    fn walk(host: &dyn HostDevices, dir: &Path, out: &mut Vec<LinuxDevice>) -> io::Result<()> {
        let mut entries = host.read_dir(dir)?;
        entries.sort();
        for path in entries {
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            let Ok(info) = host.stat(&path) else { continue };
            match info.kind {
                HostFileKind::Directory if !SKIP_DIRS.contains(&name) => walk(host, &path, out)?,
                HostFileKind::CharDevice | HostFileKind::BlockDevice if name != "console" => {
                    out.extend(device(&info, &path));
                }
                _ => {}
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    walk(host, Path::new("/dev"), &mut out).map_err(|source| SpecError::DeviceStat {
        path: "/dev".into(),
        source,
    })?;
    Ok(out)
}

/// `--ulimit`s as rlimits. -1 means unlimited.
pub(crate) fn rlimits(ulimits: &[Ulimit]) -> Result<Vec<PosixRlimit>, SpecError> {
    let mut seen = Vec::new();
    ulimits
        .iter()
        .map(|u| {
            let err = |reason| SpecError::InvalidUlimit {
                name: u.name.clone(),
                reason,
            };
            let typ = rlimit_type(&u.name)?;
            if seen.contains(&u.name) {
                return Err(err("given twice"));
            }
            seen.push(u.name.clone());
            let value = |v: i64| match v {
                -1 => Ok(u64::MAX),
                v if v < 0 => Err(err("values must be -1 (unlimited) or positive")),
                v => Ok(v as u64),
            };
            let (soft, hard) = (value(u.soft)?, value(u.hard)?);
            if soft > hard {
                return Err(err("soft limit must be less than or equal to hard limit"));
            }
            posix_rlimit(&u.name, typ, soft, hard)
        })
        .collect()
}

/// One `process.rlimits` entry; `u64::MAX` is unlimited.
pub(crate) fn posix_rlimit(
    name: &str,
    typ: PosixRlimitType,
    soft: u64,
    hard: u64,
) -> Result<PosixRlimit, SpecError> {
    PosixRlimitBuilder::default()
        .typ(typ)
        .soft(soft)
        .hard(hard)
        .build()
        .map_err(|_| SpecError::InvalidUlimit {
            name: name.to_string(),
            reason: "rejected by the OCI types",
        })
}

/// The limit a `--ulimit` name (`nofile`, without `RLIMIT_`) stands for.
pub(crate) fn rlimit_type(name: &str) -> Result<PosixRlimitType, SpecError> {
    use PosixRlimitType::*;
    Ok(match name {
        "as" => RlimitAs,
        "core" => RlimitCore,
        "cpu" => RlimitCpu,
        "data" => RlimitData,
        "fsize" => RlimitFsize,
        "locks" => RlimitLocks,
        "memlock" => RlimitMemlock,
        "msgqueue" => RlimitMsgqueue,
        "nice" => RlimitNice,
        "nofile" => RlimitNofile,
        "nproc" => RlimitNproc,
        "rss" => RlimitRss,
        "rtprio" => RlimitRtprio,
        "rttime" => RlimitRttime,
        "sigpending" => RlimitSigpending,
        "stack" => RlimitStack,
        _ => {
            return Err(SpecError::InvalidUlimit {
                name: name.to_string(),
                reason: "unknown resource",
            })
        }
    })
}

/// Which namespaces the container shares with the host, for sysctl checks.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SharedNamespaces {
    pub net: bool,
    pub ipc: bool,
    pub uts: bool,
}

/// Sysctls: dockerd's defaults for a private network namespace (ping without CAP_NET_RAW, low
/// ports without CAP_NET_BIND_SERVICE), then the user's. Only namespaced sysctls are accepted,
/// and not for a namespace shared with the host (runc would refuse them at start).
pub(crate) fn sysctls(
    given: &std::collections::BTreeMap<String, String>,
    shared: SharedNamespaces,
) -> Result<HashMap<String, String>, SpecError> {
    let mut out = HashMap::new();
    if !shared.net {
        out.insert("net.ipv4.ping_group_range".into(), "0 2147483647".into());
        out.insert("net.ipv4.ip_unprivileged_port_start".into(), "0".into());
    }
    const IPC: [&str; 8] = [
        "kernel.msgmax",
        "kernel.msgmnb",
        "kernel.msgmni",
        "kernel.sem",
        "kernel.shmall",
        "kernel.shmmax",
        "kernel.shmmni",
        "kernel.shm_rmid_forced",
    ];
    for (key, value) in given {
        let host_ns = if key.starts_with("net.") {
            shared.net
        } else if IPC.contains(&key.as_str()) || key.starts_with("fs.mqueue.") {
            shared.ipc
        } else if key == "kernel.domainname" || key == "kernel.hostname" {
            shared.uts
        } else {
            return Err(invalid("Sysctls", key, "not a namespaced sysctl"));
        };
        if host_ns {
            return Err(invalid(
                "Sysctls",
                key,
                "not allowed when the namespace is shared with the host",
            ));
        }
        out.insert(key.clone(), value.clone());
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
