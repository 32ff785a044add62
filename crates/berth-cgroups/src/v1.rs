//! cgroup v1: the container gets one directory in every mounted hierarchy. Hierarchies are
//! found in /proc/self/mountinfo (never assumed: "cpu" and "cpuacct" may be one mount or two).
//! Controllers that are not mounted are skipped unless the resources need them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use oci_spec::runtime::{
    LinuxBlockIo, LinuxCpu, LinuxDeviceCgroup, LinuxHugepageLimit, LinuxMemory, LinuxNetwork,
    LinuxResources,
};

use crate::convert::{self, set};
use crate::devices::Rule;
use crate::error::{Error, Result};
use crate::fsutil::{self, Ctl, Writer};
use crate::path::{CgroupPath, OwnCgroups};
use crate::stats::{
    parse_dev, parse_list, BlkioEntry, BlkioStats, CpuStats, CpuUsage, HugetlbStats, MemoryEntry,
    MemoryStats, PidsStats, Stats, Throttling,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Controller {
    Cpu,
    Cpuacct,
    Cpuset,
    Memory,
    Devices,
    Freezer,
    Blkio,
    Pids,
    Hugetlb,
    NetCls,
    NetPrio,
    PerfEvent,
    Rdma,
    Misc,
    /// systemd's named hierarchy; joined (as runc does) so tools see the container, never
    /// configured.
    Systemd,
}

impl Controller {
    const ALL: [Self; 15] = [
        Self::Cpu,
        Self::Cpuacct,
        Self::Cpuset,
        Self::Memory,
        Self::Devices,
        Self::Freezer,
        Self::Blkio,
        Self::Pids,
        Self::Hugetlb,
        Self::NetCls,
        Self::NetPrio,
        Self::PerfEvent,
        Self::Rdma,
        Self::Misc,
        Self::Systemd,
    ];

    /// The name in mount options and /proc/self/cgroup.
    fn name(self) -> &'static str {
        match self {
            Self::Cpu => "cpu",
            Self::Cpuacct => "cpuacct",
            Self::Cpuset => "cpuset",
            Self::Memory => "memory",
            Self::Devices => "devices",
            Self::Freezer => "freezer",
            Self::Blkio => "blkio",
            Self::Pids => "pids",
            Self::Hugetlb => "hugetlb",
            Self::NetCls => "net_cls",
            Self::NetPrio => "net_prio",
            Self::PerfEvent => "perf_event",
            Self::Rdma => "rdma",
            Self::Misc => "misc",
            Self::Systemd => "name=systemd",
        }
    }
}

/// A mounted v1 hierarchy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Mount {
    pub controllers: Vec<Controller>,
    pub mountpoint: PathBuf,
    /// The cgroup mounted there ("/" unless a sub-tree was bind-mounted).
    pub root: String,
}

/// The v1 hierarchies below `root`, one per hierarchy, from /proc/self/mountinfo content.
pub(crate) fn parse_mountinfo(content: &str, root: &Path) -> Vec<Mount> {
    let mut mounts: Vec<Mount> = Vec::new();
    for line in content.lines() {
        let Some((pre, post)) = line.split_once(" - ") else {
            continue;
        };
        let mut post = post.split(' ');
        if post.next() != Some("cgroup") {
            continue;
        }
        let Some(options) = post.nth(1) else {
            continue;
        };
        let mut pre = pre.split(' ').skip(3);
        let (Some(mount_root), Some(mountpoint)) = (pre.next(), pre.next()) else {
            continue;
        };
        let mountpoint = PathBuf::from(unescape(mountpoint));
        if !mountpoint.starts_with(root) {
            continue;
        }
        let controllers: Vec<Controller> = options
            .split(',')
            .filter_map(|o| Controller::ALL.into_iter().find(|c| c.name() == o))
            .collect();
        // A hierarchy can be mounted more than once; the first mount serves.
        let seen = mounts
            .iter()
            .any(|m| m.controllers.iter().any(|c| controllers.contains(c)));
        if !controllers.is_empty() && !seen {
            mounts.push(Mount {
                controllers,
                mountpoint,
                root: unescape(mount_root),
            });
        }
    }
    mounts
}

/// mountinfo escapes space, tab, newline and backslash as octal ("\040").
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let octal = b
            .get(i + 1..i + 4)
            .filter(|d| d.iter().all(|c| (b'0'..=b'7').contains(c)));
        match (b[i], octal) {
            (b'\\', Some(d)) => {
                out.push((d[0] - b'0') * 64 + (d[1] - b'0') * 8 + (d[2] - b'0'));
                i += 4;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[derive(Debug)]
struct Hierarchy {
    controllers: Vec<Controller>,
    mountpoint: PathBuf,
    /// The container's cgroup below `mountpoint` ("a/b").
    rel: String,
    dir: PathBuf,
}

impl Hierarchy {
    fn ctl(&self) -> Ctl<'_> {
        // Name the first controller in errors; joined mounts ("cpu,cpuacct") share one dir.
        let name = self.controllers.first().map_or("cgroup", |c| c.name());
        Ctl::new(&self.dir, name)
    }
}

#[derive(Debug)]
pub(crate) struct V1Manager {
    hierarchies: Vec<Hierarchy>,
}

impl V1Manager {
    pub fn new(root: &Path, path: &CgroupPath) -> Result<Self> {
        let mountinfo = fsutil::read(Path::new("/proc/self/mountinfo"))?;
        let mounts = parse_mountinfo(&mountinfo, root);
        if mounts.is_empty() {
            return Err(Error::NoV1Hierarchies {
                root: root.to_owned(),
            });
        }
        let own = if path.is_relative() {
            Some(OwnCgroups::read()?)
        } else {
            None
        };
        Self::with_mounts(mounts, path, own.as_ref())
    }

    /// Builds the manager from already discovered mounts; `own` is needed for relative paths.
    pub fn with_mounts(
        mounts: Vec<Mount>,
        path: &CgroupPath,
        own: Option<&OwnCgroups>,
    ) -> Result<Self> {
        let mut hierarchies = Vec::with_capacity(mounts.len());
        for m in mounts {
            let own_path = match (own, m.controllers.first()) {
                (Some(own), Some(c)) => {
                    let p = own.path_of(c.name())?;
                    // /proc/self/cgroup paths are from the hierarchy root; the mount may show
                    // only a sub-tree of it.
                    p.strip_prefix(m.root.as_str()).unwrap_or(p)
                }
                _ => "",
            };
            let rel = path.resolve(own_path)?;
            hierarchies.push(Hierarchy {
                dir: m.mountpoint.join(&rel),
                controllers: m.controllers,
                mountpoint: m.mountpoint,
                rel,
            });
        }
        Ok(Self { hierarchies })
    }

    pub fn paths(&self) -> Vec<PathBuf> {
        self.hierarchies.iter().map(|h| h.dir.clone()).collect()
    }

    fn dir(&self, c: Controller) -> Option<&Path> {
        self.hierarchies
            .iter()
            .find(|h| h.controllers.contains(&c))
            .map(|h| h.dir.as_path())
    }

    /// The controller's directory, or an error naming it when it is not mounted; only called
    /// once the resources are known to need the controller.
    fn ctl(&self, c: Controller) -> Result<Ctl<'_>> {
        self.dir(c)
            .map(|dir| Ctl::new(dir, c.name()))
            .ok_or(Error::ControllerUnavailable {
                controller: c.name(),
            })
    }

    pub fn create(&self) -> Result<()> {
        for h in &self.hierarchies {
            if h.controllers.contains(&Controller::Cpuset) {
                create_cpuset(h)?;
            } else {
                std::fs::create_dir_all(&h.dir).map_err(|source| Error::Create {
                    path: h.dir.clone(),
                    source,
                })?;
            }
        }
        Ok(())
    }

    pub fn add_task(&self, pid: i32) -> Result<()> {
        let pid = pid.to_string();
        self.hierarchies
            .iter()
            .try_for_each(|h| h.ctl().write("cgroup.procs", &pid))
    }

    /// Every hierarchy's `tasks` file, open for writing; see [`crate::SelfPlacement`].
    pub fn tasks_writers(&self) -> Result<Vec<Writer>> {
        self.hierarchies
            .iter()
            .map(|h| h.ctl().writer("tasks"))
            .collect()
    }

    /// Removes every hierarchy's directory, trying all of them before reporting the first error.
    pub fn remove(&self) -> Result<()> {
        let mut first_err = None;
        for h in &self.hierarchies {
            if let Err(e) = fsutil::remove_cgroup(&h.dir) {
                first_err.get_or_insert(e);
            }
        }
        first_err.map_or(Ok(()), Err)
    }

    pub fn pids(&self) -> Result<Vec<i32>> {
        // Every task is in every hierarchy, so one hierarchy lists them all.
        let mut pids = Vec::new();
        if let Some(h) = self.hierarchies.first() {
            fsutil::pids_recursive(&h.dir, &mut pids)?;
        }
        Ok(pids)
    }

    pub fn apply(&self, r: &LinuxResources) -> Result<()> {
        if r.unified().as_ref().is_some_and(|u| !u.is_empty()) {
            return Err(Error::UnifiedOnV1);
        }
        if let Some(cpu) = r.cpu() {
            self.apply_cpu(cpu)?;
            self.apply_cpuset(cpu)?;
        }
        if let Some(memory) = r.memory() {
            self.apply_memory(memory)?;
        }
        if let Some(pids) = r.pids() {
            self.ctl(Controller::Pids)?
                .write("pids.max", &convert::pids_max(pids.limit()))?;
        }
        if let Some(blkio) = r.block_io() {
            self.apply_blkio(blkio)?;
        }
        if let Some(limits) = r.hugepage_limits() {
            self.apply_hugetlb(limits)?;
        }
        if let Some(network) = r.network() {
            self.apply_network(network)?;
        }
        if let Some(rdma) = r.rdma() {
            let lines = convert::rdma_lines(rdma)?;
            if !lines.is_empty() {
                self.ctl(Controller::Rdma)?.write_each("rdma.max", lines)?;
            }
        }
        if let Some(devices) = r.devices() {
            self.apply_devices(devices)?;
        }
        Ok(())
    }

    fn apply_cpu(&self, cpu: &LinuxCpu) -> Result<()> {
        let shares = set(cpu.shares());
        let quota = set(cpu.quota());
        let period = set(cpu.period());
        let rt_runtime = set(cpu.realtime_runtime());
        let rt_period = set(cpu.realtime_period());
        if shares.is_none()
            && quota.is_none()
            && period.is_none()
            && rt_runtime.is_none()
            && rt_period.is_none()
            && cpu.idle().is_none()
            && cpu.burst().is_none()
        {
            return Ok(());
        }
        let ctl = self.ctl(Controller::Cpu)?;
        // The runtime is checked against the period, so the period goes first.
        if let Some(p) = rt_period {
            ctl.write("cpu.rt_period_us", &p.to_string())?;
        }
        if let Some(r) = rt_runtime {
            ctl.write("cpu.rt_runtime_us", &r.to_string())?;
        }
        if let Some(s) = shares {
            ctl.write("cpu.shares", &s.to_string())?;
        }
        // A shorter period can be refused (EINVAL) while the old quota over the new period
        // exceeds the parent's bandwidth; then set the quota first and the period again.
        let mut period_pending = None;
        if let Some(p) = period {
            match ctl.write("cpu.cfs_period_us", &p.to_string()) {
                Err(Error::Write { source, .. })
                    if quota.is_some() && source.raw_os_error() == Some(libc::EINVAL) =>
                {
                    period_pending = Some(p);
                }
                r => r?,
            }
        }
        if let Some(q) = quota {
            ctl.write("cpu.cfs_quota_us", &q.to_string())?;
        }
        if let Some(p) = period_pending {
            ctl.write("cpu.cfs_period_us", &p.to_string())?;
        }
        if let Some(b) = cpu.burst() {
            ctl.write("cpu.cfs_burst_us", &b.to_string())?;
        }
        if let Some(i) = cpu.idle() {
            ctl.write("cpu.idle", &i.to_string())?;
        }
        Ok(())
    }

    fn apply_cpuset(&self, cpu: &LinuxCpu) -> Result<()> {
        let cpus = cpu.cpus().as_deref().filter(|s| !s.is_empty());
        let mems = cpu.mems().as_deref().filter(|s| !s.is_empty());
        if cpus.is_none() && mems.is_none() {
            return Ok(());
        }
        let ctl = self.ctl(Controller::Cpuset)?;
        if let Some(cpus) = cpus {
            ctl.write("cpuset.cpus", cpus)?;
        }
        if let Some(mems) = mems {
            ctl.write("cpuset.mems", mems)?;
        }
        Ok(())
    }

    fn apply_memory(&self, m: &LinuxMemory) -> Result<()> {
        #[allow(deprecated)] // v1 still has kernel memory files on older kernels.
        let kernel = set(m.kernel());
        let limit = set(m.limit());
        let mut swap = set(m.swap());
        let reservation = set(m.reservation());
        if limit.is_none()
            && swap.is_none()
            && reservation.is_none()
            && kernel.is_none()
            && m.kernel_tcp().is_none()
            && m.swappiness().is_none()
            && m.disable_oom_killer().is_none()
            && m.use_hierarchy().is_none()
        {
            return Ok(());
        }
        let ctl = self.ctl(Controller::Memory)?;
        const LIMIT: &str = "memory.limit_in_bytes";
        const MEMSW: &str = "memory.memsw.limit_in_bytes";
        if let (Some(true), Some(limit)) = (m.check_before_update(), limit) {
            check_usage(limit, ctl.read_u64("memory.usage_in_bytes")?)?;
        }
        // Unlimited memory with no swap setting means unlimited swap too, as in runc; otherwise
        // the kernel would refuse a memsw limit below the new (infinite) memory limit.
        if limit == Some(-1) && swap.is_none() && ctl.exists(MEMSW) {
            swap = Some(-1);
        }
        let write_swap = |s: i64| match ctl.write(MEMSW, &s.to_string()) {
            Err(Error::FileMissing { path, .. }) => Err(Error::SwapAccountingDisabled { path }),
            r => r,
        };
        match (limit, swap) {
            (Some(l), Some(s)) => {
                // The kernel keeps memory <= memory+swap at every step: when raising, write
                // memsw first; when lowering, the memory limit first.
                let current = ctl.read_u64(LIMIT)?;
                if s == -1 || u64::try_from(s).is_ok_and(|s| current < s) {
                    write_swap(s)?;
                    ctl.write(LIMIT, &l.to_string())?;
                } else {
                    ctl.write(LIMIT, &l.to_string())?;
                    write_swap(s)?;
                }
            }
            (Some(l), None) => ctl.write(LIMIT, &l.to_string())?,
            (None, Some(s)) => write_swap(s)?,
            (None, None) => {}
        }
        if let Some(r) = reservation {
            ctl.write("memory.soft_limit_in_bytes", &r.to_string())?;
        }
        // Kernel memory limits are gone from recent kernels; runc ignores them there too.
        if let Some(k) = kernel {
            ctl.write_if_exists("memory.kmem.limit_in_bytes", &k.to_string())?;
        }
        if let Some(k) = m.kernel_tcp() {
            ctl.write_if_exists("memory.kmem.tcp.limit_in_bytes", &k.to_string())?;
        }
        if let Some(s) = m.swappiness() {
            if s > 100 {
                return Err(Error::InvalidSwappiness(s));
            }
            ctl.write("memory.swappiness", &s.to_string())?;
        }
        if let Some(disable) = m.disable_oom_killer() {
            ctl.write("memory.oom_control", if disable { "1" } else { "0" })?;
        }
        if let Some(h) = m.use_hierarchy() {
            ctl.write("memory.use_hierarchy", if h { "1" } else { "0" })?;
        }
        Ok(())
    }

    fn apply_blkio(&self, b: &LinuxBlockIo) -> Result<()> {
        let weight = set(b.weight());
        let leaf_weight = set(b.leaf_weight());
        let weight_devices = b.weight_device().as_deref().unwrap_or_default();
        let throttles = [
            (
                "blkio.throttle.read_bps_device",
                b.throttle_read_bps_device(),
            ),
            (
                "blkio.throttle.write_bps_device",
                b.throttle_write_bps_device(),
            ),
            (
                "blkio.throttle.read_iops_device",
                b.throttle_read_iops_device(),
            ),
            (
                "blkio.throttle.write_iops_device",
                b.throttle_write_iops_device(),
            ),
        ];
        let throttles: Vec<_> = throttles
            .into_iter()
            .filter_map(|(file, list)| Some((file, list.as_deref().filter(|l| !l.is_empty())?)))
            .collect();
        if weight.is_none()
            && leaf_weight.is_none()
            && weight_devices.is_empty()
            && throttles.is_empty()
        {
            return Ok(());
        }
        let ctl = self.ctl(Controller::Blkio)?;
        let device_weights: Vec<String> = weight_devices
            .iter()
            .filter_map(|d| Some(format!("{}:{} {}", d.major(), d.minor(), set(d.weight())?)))
            .collect();
        if weight.is_some() || !device_weights.is_empty() {
            // CFQ's blkio.weight left the kernel in 5.0; BFQ offers the same under its prefix.
            let (file, device_file) = if ctl.exists("blkio.weight") {
                ("blkio.weight", "blkio.weight_device")
            } else {
                ("blkio.bfq.weight", "blkio.bfq.weight_device")
            };
            if let Some(w) = weight {
                ctl.write(file, &w.to_string())?;
            }
            if !device_weights.is_empty() {
                ctl.write_each(device_file, device_weights)?;
            }
        }
        if let Some(w) = leaf_weight {
            ctl.write("blkio.leaf_weight", &w.to_string())?;
        }
        let leaf_devices: Vec<String> = weight_devices
            .iter()
            .filter_map(|d| {
                let w = set(d.leaf_weight())?;
                Some(format!("{}:{} {w}", d.major(), d.minor()))
            })
            .collect();
        if !leaf_devices.is_empty() {
            ctl.write_each("blkio.leaf_weight_device", leaf_devices)?;
        }
        for (file, list) in throttles {
            ctl.write_each(file, convert::throttle_lines(list))?;
        }
        Ok(())
    }

    fn apply_hugetlb(&self, limits: &[LinuxHugepageLimit]) -> Result<()> {
        if limits.is_empty() {
            return Ok(());
        }
        let ctl = self.ctl(Controller::Hugetlb)?;
        for l in limits {
            let size = convert::page_size(l)?;
            let limit = l.limit().to_string();
            ctl.write(&format!("hugetlb.{size}.limit_in_bytes"), &limit)?;
            // The OCI spec prefers reservation limits where the kernel has them (5.7+).
            ctl.write_if_exists(&format!("hugetlb.{size}.rsvd.limit_in_bytes"), &limit)?;
        }
        Ok(())
    }

    fn apply_network(&self, n: &LinuxNetwork) -> Result<()> {
        if let Some(id) = n.class_id() {
            self.ctl(Controller::NetCls)?
                .write("net_cls.classid", &id.to_string())?;
        }
        let priorities = n.priorities().as_deref().unwrap_or_default();
        if !priorities.is_empty() {
            let lines = priorities
                .iter()
                .map(|p| {
                    let name = p.name();
                    if name.is_empty() || name.contains(char::is_whitespace) {
                        return Err(Error::InvalidInterface(name.clone()));
                    }
                    Ok(format!("{name} {}", p.priority()))
                })
                .collect::<Result<Vec<_>>>()?;
            self.ctl(Controller::NetPrio)?
                .write_each("net_prio.ifpriomap", lines)?;
        }
        Ok(())
    }

    fn apply_devices(&self, devices: &[LinuxDeviceCgroup]) -> Result<()> {
        if devices.is_empty() {
            return Ok(());
        }
        let rules = devices
            .iter()
            .filter_map(|d| Rule::from_oci(d).transpose())
            .collect::<Result<Vec<_>>>()?;
        let ctl = self.ctl(Controller::Devices)?;
        // Rules apply in order (a leading deny-all "a" resets the list), so writes to the two
        // files interleave; each is opened once, on first use.
        let (mut allow, mut deny): (Option<Writer>, Option<Writer>) = (None, None);
        for rule in &rules {
            let (slot, file) = if rule.allow {
                (&mut allow, "devices.allow")
            } else {
                (&mut deny, "devices.deny")
            };
            let w = match slot {
                Some(w) => w,
                None => slot.insert(ctl.writer(file)?),
            };
            for line in rule.v1_lines() {
                w.write(&line)?;
            }
        }
        Ok(())
    }

    pub fn freeze(&self) -> Result<()> {
        let ctl = self.ctl(Controller::Freezer)?;
        ctl.write("freezer.state", "FROZEN")?;
        // Freezing is asynchronous; reading the state also advances it in the kernel.
        if fsutil::poll_until(|| Ok(ctl.read("freezer.state")?.trim() == "FROZEN"))? {
            return Ok(());
        }
        // Do not leave the container half frozen.
        ctl.write("freezer.state", "THAWED")?;
        Err(Error::FreezeTimeout {
            path: ctl.dir.to_owned(),
        })
    }

    pub fn thaw(&self) -> Result<()> {
        self.ctl(Controller::Freezer)?
            .write("freezer.state", "THAWED")
    }

    pub fn is_frozen(&self) -> Result<bool> {
        Ok(self.ctl(Controller::Freezer)?.read("freezer.state")?.trim() == "FROZEN")
    }

    /// OOM kills in the container; 0 when the memory controller is not mounted.
    ///
    /// memory.oom_control has an "oom_kill" counter since Linux 4.13. On older kernels this
    /// returns 1 if memory.failcnt is non-zero: the limit was hit at least once, which is the
    /// best available sign of an OOM kill.
    pub fn oom_kill_count(&self) -> Result<u64> {
        let Some(dir) = self.dir(Controller::Memory) else {
            return Ok(0);
        };
        let ctl = Ctl::new(dir, "memory");
        let path = ctl.path("memory.oom_control");
        match fsutil::keyed_value(&path, &fsutil::read(&path)?, "oom_kill")? {
            Some(n) => Ok(n),
            None => Ok(u64::from(ctl.read_u64("memory.failcnt")? > 0)),
        }
    }

    pub fn stats(&self) -> Result<Stats> {
        let pids = match self.dir(Controller::Pids) {
            Some(dir) => {
                let ctl = Ctl::new(dir, "pids");
                Some(PidsStats {
                    current: ctl.read_u64("pids.current")?,
                    // "max" means unlimited, reported as 0 like runc.
                    limit: match ctl.read_u64("pids.max")? {
                        u64::MAX => 0,
                        n => n,
                    },
                })
            }
            None => None,
        };
        Ok(Stats {
            cpu: self.cpu_stats()?,
            memory: self
                .dir(Controller::Memory)
                .map(|d| memory_stats(Ctl::new(d, "memory")))
                .transpose()?,
            pids,
            blkio: self
                .dir(Controller::Blkio)
                .map(|d| blkio_stats(Ctl::new(d, "blkio")))
                .transpose()?,
            hugetlb: match self.dir(Controller::Hugetlb) {
                Some(d) => hugetlb_stats(Ctl::new(d, "hugetlb"))?,
                None => BTreeMap::new(),
            },
        })
    }

    fn cpu_stats(&self) -> Result<Option<CpuStats>> {
        let acct = self
            .dir(Controller::Cpuacct)
            .map(|d| Ctl::new(d, "cpuacct"));
        let cpu = self.dir(Controller::Cpu).map(|d| Ctl::new(d, "cpu"));
        if acct.is_none() && cpu.is_none() {
            return Ok(None);
        }
        let mut usage = CpuUsage::default();
        if let Some(acct) = acct {
            usage.total = acct.read_u64("cpuacct.usage")?;
            let percpu = acct.path("cpuacct.usage_percpu");
            usage.percpu = parse_list(&percpu, &fsutil::read(&percpu)?)?;
            match (
                acct.read_u64_opt("cpuacct.usage_user")?,
                acct.read_u64_opt("cpuacct.usage_sys")?,
            ) {
                (Some(user), Some(sys)) => (usage.user, usage.kernel) = (user, sys),
                // Before 4.7 only cpuacct.stat exists, in USER_HZ ticks (always 100 per second).
                _ => {
                    let stat = acct.read_keyed_opt("cpuacct.stat")?.unwrap_or_default();
                    for (k, v) in stat {
                        match k.as_str() {
                            "user" => usage.user = v * 10_000_000,
                            "system" => usage.kernel = v * 10_000_000,
                            _ => {}
                        }
                    }
                }
            }
        }
        let throttling = match cpu {
            Some(cpu) => cpu.read_keyed_opt("cpu.stat")?.map(|stat| {
                let mut t = Throttling::default();
                for (k, v) in stat {
                    match k.as_str() {
                        "nr_periods" => t.periods = v,
                        "nr_throttled" => t.throttled_periods = v,
                        "throttled_time" => t.throttled_time = v,
                        _ => {}
                    }
                }
                t
            }),
            None => None,
        };
        Ok(Some(CpuStats { usage, throttling }))
    }
}

/// mkdir for the cpuset hierarchy: a new cpuset cgroup starts with empty cpuset.cpus and
/// cpuset.mems, and adding a task to it fails with ENOSPC, so every level we pass through
/// inherits its parent's values when its own are empty.
fn create_cpuset(h: &Hierarchy) -> Result<()> {
    let root = Ctl::new(&h.mountpoint, "cpuset");
    let mut cpus = root.read("cpuset.cpus")?;
    let mut mems = root.read("cpuset.mems")?;
    let mut dir = h.mountpoint.clone();
    for part in h.rel.split('/') {
        dir.push(part);
        let created = fsutil::mkdir(&dir)?;
        let ctl = Ctl::new(&dir, "cpuset");
        for (file, inherited) in [("cpuset.cpus", &mut cpus), ("cpuset.mems", &mut mems)] {
            // A directory we just made is known to be empty; skip reading it.
            let own = if created {
                String::new()
            } else {
                ctl.read(file)?
            };
            if own.trim().is_empty() {
                ctl.write(file, inherited.trim())?;
            } else {
                *inherited = own;
            }
        }
    }
    Ok(())
}

fn check_usage(limit: i64, usage: u64) -> Result<()> {
    if limit > 0 && u64::try_from(limit).is_ok_and(|l| l <= usage) {
        return Err(Error::MemoryBelowUsage { limit, usage });
    }
    Ok(())
}

fn memory_stats(ctl: Ctl<'_>) -> Result<MemoryStats> {
    let entry = |prefix: &str| -> Result<Option<MemoryEntry>> {
        // Optional groups (memsw, kmem) are absent as a whole when the kernel lacks them.
        let Some(usage) = ctl.read_u64_opt(&format!("{prefix}usage_in_bytes"))? else {
            return Ok(None);
        };
        Ok(Some(MemoryEntry {
            limit: ctl.read_u64(&format!("{prefix}limit_in_bytes"))?,
            usage,
            max: ctl.read_u64(&format!("{prefix}max_usage_in_bytes"))?,
            failcnt: ctl.read_u64(&format!("{prefix}failcnt"))?,
        }))
    };
    let raw: BTreeMap<String, u64> = ctl
        .read_keyed_opt("memory.stat")?
        .unwrap_or_default()
        .into_iter()
        .collect();
    Ok(MemoryStats {
        cache: raw.get("cache").copied().unwrap_or_default(),
        usage: entry("memory.")?.unwrap_or_default(),
        swap: entry("memory.memsw.")?,
        kernel: entry("memory.kmem.")?,
        kernel_tcp: entry("memory.kmem.tcp.")?,
        raw,
    })
}

fn blkio_stats(ctl: Ctl<'_>) -> Result<BlkioStats> {
    // Pick the first I/O scheduler with data: CFQ (before 5.0), BFQ, then the throttle layer
    // which counts I/O under any scheduler.
    for prefix in ["blkio.", "blkio.bfq.", "blkio.throttle."] {
        let bytes = blkio_entries(ctl, &format!("{prefix}io_service_bytes_recursive"))?;
        if !bytes.is_empty() {
            return Ok(BlkioStats {
                io_service_bytes_recursive: bytes,
                io_serviced_recursive: blkio_entries(
                    ctl,
                    &format!("{prefix}io_serviced_recursive"),
                )?,
            });
        }
    }
    Ok(BlkioStats::default())
}

/// Parses "MAJ:MIN Op value" lines, skipping the trailing "Total N".
fn blkio_entries(ctl: Ctl<'_>, file: &str) -> Result<Vec<BlkioEntry>> {
    let path = ctl.path(file);
    let Some(content) = fsutil::read_opt(&path)? else {
        return Ok(Vec::new());
    };
    let mut entries = Vec::new();
    for line in content.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [dev, op, value] = fields[..] else {
            continue;
        };
        let (major, minor) = parse_dev(&path, dev)?;
        entries.push(BlkioEntry {
            major,
            minor,
            op: op.to_owned(),
            value: fsutil::parse_u64(&path, value)?,
        });
    }
    Ok(entries)
}

fn hugetlb_stats(ctl: Ctl<'_>) -> Result<BTreeMap<String, HugetlbStats>> {
    let mut out = BTreeMap::new();
    let entries = std::fs::read_dir(ctl.dir).map_err(|source| Error::Read {
        path: ctl.dir.to_owned(),
        source,
    })?;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(size) = name
            .to_str()
            .and_then(|n| n.strip_prefix("hugetlb.")?.strip_suffix(".limit_in_bytes"))
            .filter(|s| !s.contains('.'))
        else {
            continue;
        };
        out.insert(
            size.to_owned(),
            HugetlbStats {
                usage: ctl.read_u64(&format!("hugetlb.{size}.usage_in_bytes"))?,
                max: ctl.read_u64(&format!("hugetlb.{size}.max_usage_in_bytes"))?,
                failcnt: ctl.read_u64(&format!("hugetlb.{size}.failcnt"))?,
            },
        );
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
