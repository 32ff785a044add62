//! cgroup v2: the container is one directory of the unified hierarchy. Controllers become
//! available to it through the ancestors' cgroup.subtree_control; devices are controlled by an
//! eBPF program (see `ebpf`).

use std::collections::BTreeMap;
use std::fs::File;
use std::os::fd::OwnedFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use oci_spec::runtime::{
    LinuxBlockIo, LinuxCpu, LinuxDeviceCgroup, LinuxHugepageLimit, LinuxMemory, LinuxResources,
};

use crate::convert::{self, set};
use crate::devices::Rule;
use crate::ebpf;
use crate::error::{Error, Result};
use crate::fsutil::{self, Ctl};
use crate::path::{CgroupPath, OwnCgroups};
use crate::stats::{
    parse_dev, BlkioEntry, BlkioStats, CpuStats, CpuUsage, HugetlbStats, MemoryEntry, MemoryStats,
    PidsStats, Stats, Throttling,
};

#[derive(Debug)]
pub(crate) struct V2Manager {
    root: PathBuf,
    /// The container's cgroup below `root` ("a/b").
    rel: String,
    dir: PathBuf,
}

impl V2Manager {
    pub fn new(root: &Path, path: &CgroupPath) -> Result<Self> {
        let own = if path.is_relative() {
            OwnCgroups::read()?.path_of("")?.to_owned()
        } else {
            String::new()
        };
        let rel = path.resolve(&own)?;
        Ok(Self {
            root: root.to_owned(),
            dir: root.join(&rel),
            rel,
        })
    }

    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Where a process exec'd into the container goes. Its cgroup, unless the container gave
    /// that cgroup's controllers to child cgroups (systemd inside does): v2 then takes no process
    /// there (EBUSY), so, as runc, the cgroup the init is in now. `cgroup` is the init's
    /// `/proc/<pid>/cgroup`.
    pub fn for_exec(self, cgroup: &str) -> Self {
        let delegated = fsutil::read_opt(&self.dir.join("cgroup.subtree_control"))
            .ok()
            .flatten()
            .is_some_and(|c| !c.trim().is_empty());
        let init = cgroup
            .lines()
            .find_map(|l| l.strip_prefix("0::"))
            .map(|p| p.trim().trim_start_matches('/').to_string());
        match init {
            // Only a cgroup below the container's: anything else is not the container's to use.
            Some(rel) if delegated && rel.starts_with(&format!("{}/", self.rel)) => Self {
                dir: self.root.join(&rel),
                root: self.root,
                rel,
            },
            _ => self,
        }
    }

    fn ctl(&self, controller: &'static str) -> Ctl<'_> {
        Ctl::new(&self.dir, controller)
    }

    pub fn create(&self) -> Result<()> {
        let mut dir = self.root.clone();
        for part in self.rel.split('/') {
            enable_controllers(&dir)?;
            dir.push(part);
            fsutil::mkdir(&dir)?;
        }
        Ok(())
    }

    pub fn add_task(&self, pid: i32) -> Result<()> {
        self.ctl("cgroup").write("cgroup.procs", &pid.to_string())
    }

    /// An fd of the cgroup's directory for clone3's CLONE_INTO_CGROUP; `None` when the cgroup
    /// narrows the cpuset. A child cloned into a cgroup keeps its parent's CPU and memory-node
    /// masks on kernels whose cpuset_fork ignores CLONE_INTO_CGROUP (fixed in 6.3 and some
    /// stable series; Debian 11's 5.10 still has it), while a cgroup.procs write applies them
    /// everywhere, so such cgroups take the write.
    pub fn dir_fd(&self) -> Option<OwnedFd> {
        if self.narrows_cpuset() {
            return None;
        }
        File::options()
            .read(true)
            .custom_flags(libc::O_PATH | libc::O_DIRECTORY)
            .open(&self.dir)
            .ok()
            .map(OwnedFd::from)
    }

    /// Whether the effective CPUs or memory nodes here differ from the root's (all of them).
    fn narrows_cpuset(&self) -> bool {
        ["cpuset.cpus.effective", "cpuset.mems.effective"]
            .iter()
            .any(|file| {
                let here = fsutil::read_opt(&self.dir.join(file)).ok().flatten();
                here.is_some() && here != fsutil::read_opt(&self.root.join(file)).ok().flatten()
            })
    }

    pub fn remove(&self) -> Result<()> {
        fsutil::remove_cgroup(&self.dir)
    }

    pub fn pids(&self) -> Result<Vec<i32>> {
        let mut pids = Vec::new();
        fsutil::pids_recursive(&self.dir, &mut pids)?;
        Ok(pids)
    }

    pub fn apply(&self, r: &LinuxResources) -> Result<()> {
        if let Some(cpu) = r.cpu() {
            self.apply_cpu(cpu)?;
            self.apply_cpuset(cpu)?;
        }
        if let Some(memory) = r.memory() {
            self.apply_memory(memory)?;
        }
        if let Some(pids) = r.pids() {
            self.ctl("pids")
                .write("pids.max", &convert::pids_max(pids.limit()))?;
        }
        if let Some(blkio) = r.block_io() {
            self.apply_io(blkio)?;
        }
        if let Some(limits) = r.hugepage_limits() {
            self.apply_hugetlb(limits)?;
        }
        if let Some(network) = r.network() {
            if network.class_id().is_some() {
                return Err(Error::UnsupportedOnV2 {
                    controller: "net_cls",
                    setting: "classID",
                });
            }
            if network.priorities().as_ref().is_some_and(|p| !p.is_empty()) {
                return Err(Error::UnsupportedOnV2 {
                    controller: "net_prio",
                    setting: "priorities",
                });
            }
        }
        if let Some(rdma) = r.rdma() {
            let lines = convert::rdma_lines(rdma)?;
            if !lines.is_empty() {
                self.ctl("rdma").write_each("rdma.max", lines)?;
            }
        }
        if let Some(devices) = r.devices() {
            self.apply_devices(devices)?;
        }
        // Last, so that explicit unified values override the converted ones.
        if let Some(unified) = r.unified() {
            self.apply_unified(unified)?;
        }
        Ok(())
    }

    fn apply_cpu(&self, cpu: &LinuxCpu) -> Result<()> {
        if set(cpu.realtime_runtime()).is_some() || set(cpu.realtime_period()).is_some() {
            return Err(Error::UnsupportedOnV2 {
                controller: "cpu",
                setting: "realtime scheduling",
            });
        }
        let shares = set(cpu.shares());
        let quota = set(cpu.quota());
        let period = set(cpu.period());
        if shares.is_none()
            && quota.is_none()
            && period.is_none()
            && cpu.burst().is_none()
            && cpu.idle().is_none()
        {
            return Ok(());
        }
        let ctl = self.ctl("cpu");
        if let Some(s) = shares {
            ctl.write("cpu.weight", &convert::cpu_weight(s).to_string())?;
        }
        if quota.is_some() || period.is_some() {
            // cpu.max is "<quota> <period>"; a period alone keeps the current quota.
            let quota = match quota {
                Some(q) if q > 0 => q.to_string(),
                Some(_) => "max".to_owned(),
                None => {
                    let current = ctl.read("cpu.max")?;
                    current
                        .split_whitespace()
                        .next()
                        .unwrap_or("max")
                        .to_owned()
                }
            };
            let value = match period {
                Some(p) => format!("{quota} {p}"),
                None => quota,
            };
            ctl.write("cpu.max", &value)?;
        }
        // After cpu.max: the kernel checks the burst against the quota.
        if let Some(b) = cpu.burst() {
            ctl.write("cpu.max.burst", &b.to_string())?;
        }
        if let Some(i) = cpu.idle() {
            ctl.write("cpu.idle", &i.to_string())?;
        }
        Ok(())
    }

    fn apply_cpuset(&self, cpu: &LinuxCpu) -> Result<()> {
        let ctl = self.ctl("cpuset");
        if let Some(cpus) = cpu.cpus().as_deref().filter(|s| !s.is_empty()) {
            ctl.write("cpuset.cpus", cpus)?;
        }
        if let Some(mems) = cpu.mems().as_deref().filter(|s| !s.is_empty()) {
            ctl.write("cpuset.mems", mems)?;
        }
        Ok(())
    }

    /// Swappiness, disableOOMKiller, useHierarchy and kernel memory have no v2 files; like
    /// runc, we leave them out rather than fail containers written for v1.
    fn apply_memory(&self, m: &LinuxMemory) -> Result<()> {
        let limit = set(m.limit());
        let swap = set(m.swap());
        let reservation = set(m.reservation());
        if limit.is_none() && swap.is_none() && reservation.is_none() {
            return Ok(());
        }
        let ctl = self.ctl("memory");
        if let (Some(true), Some(limit)) = (m.check_before_update(), limit) {
            let usage = ctl.read_u64("memory.current")?;
            if limit > 0 && u64::try_from(limit).is_ok_and(|l| l <= usage) {
                return Err(Error::MemoryBelowUsage { limit, usage });
            }
        }
        let swap = match (swap, limit) {
            // Unlimited memory with no swap setting means unlimited swap too, as in runc.
            (None, Some(-1)) => Some(-1),
            (Some(s), limit) => Some(convert::v2_swap(s, limit)?),
            (None, _) => None,
        };
        if let Some(s) = swap {
            match ctl.write("memory.swap.max", &convert::v2_limit(s)) {
                // Without swap accounting, "no limit" and "no swap" already hold.
                Err(Error::FileMissing { .. }) if s == -1 || s == 0 => {}
                Err(Error::FileMissing { path, .. }) => {
                    return Err(Error::SwapAccountingDisabled { path })
                }
                r => r?,
            }
        }
        if let Some(l) = limit {
            ctl.write("memory.max", &convert::v2_limit(l))?;
        }
        if let Some(r) = reservation {
            ctl.write("memory.low", &convert::v2_limit(r))?;
        }
        Ok(())
    }

    /// leafWeight is a CFQ (v1) notion with no v2 counterpart, and is left out as in runc.
    fn apply_io(&self, b: &LinuxBlockIo) -> Result<()> {
        let ctl = self.ctl("io");
        let weight = set(b.weight());
        let weight_devices: Vec<(i64, i64, u16)> = b
            .weight_device()
            .as_deref()
            .unwrap_or_default()
            .iter()
            .filter_map(|d| Some((d.major(), d.minor(), set(d.weight())?)))
            .collect();
        if weight.is_some() || !weight_devices.is_empty() {
            // BFQ takes blkio's weight range as is; io.weight needs converting.
            let bfq = ctl.exists("io.bfq.weight");
            let (file, convert): (&str, fn(u16) -> u64) = if bfq {
                ("io.bfq.weight", u64::from)
            } else {
                ("io.weight", convert::io_weight)
            };
            let lines = weight.map(|w| convert(w).to_string()).into_iter().chain(
                weight_devices
                    .iter()
                    .map(|(major, minor, w)| format!("{major}:{minor} {}", convert(*w))),
            );
            ctl.write_each(file, lines)?;
        }
        let throttles = [
            ("rbps", b.throttle_read_bps_device()),
            ("wbps", b.throttle_write_bps_device()),
            ("riops", b.throttle_read_iops_device()),
            ("wiops", b.throttle_write_iops_device()),
        ];
        let lines: Vec<String> = throttles
            .iter()
            .flat_map(|(key, list)| {
                list.as_deref()
                    .unwrap_or_default()
                    .iter()
                    .map(move |t| format!("{}:{} {key}={}", t.major(), t.minor(), t.rate()))
            })
            .collect();
        if !lines.is_empty() {
            ctl.write_each("io.max", lines)?;
        }
        Ok(())
    }

    fn apply_hugetlb(&self, limits: &[LinuxHugepageLimit]) -> Result<()> {
        let ctl = self.ctl("hugetlb");
        for l in limits {
            let size = convert::page_size(l)?;
            let limit = convert::v2_limit(l.limit());
            ctl.write(&format!("hugetlb.{size}.max"), &limit)?;
            // The OCI spec prefers reservation limits where the kernel has them (5.7+).
            ctl.write_if_exists(&format!("hugetlb.{size}.rsvd.max"), &limit)?;
        }
        Ok(())
    }

    /// An empty list leaves device access alone, as on v1; the OCI default rules always begin
    /// with a deny-all, so a configured container gets a filter.
    fn apply_devices(&self, devices: &[LinuxDeviceCgroup]) -> Result<()> {
        if devices.is_empty() {
            return Ok(());
        }
        let rules = devices
            .iter()
            .filter_map(|d| Rule::from_oci(d).transpose())
            .collect::<Result<Vec<_>>>()?;
        ebpf::install(&self.dir, &ebpf::program(&rules))
    }

    fn apply_unified(&self, unified: &std::collections::HashMap<String, String>) -> Result<()> {
        for (key, value) in unified {
            if key.is_empty() || key.contains('/') || key == "." || key == ".." {
                return Err(Error::InvalidUnifiedKey { key: key.clone() });
            }
            match self.ctl("unified").write(key, value) {
                Err(Error::FileMissing { path, .. }) => {
                    return Err(Error::UnifiedKeyMissing {
                        key: key.clone(),
                        path,
                    })
                }
                r => r?,
            }
        }
        Ok(())
    }

    pub fn freeze(&self) -> Result<()> {
        let ctl = self.ctl("freezer");
        ctl.write("cgroup.freeze", "1")?;
        if fsutil::poll_until(|| self.is_frozen())? {
            return Ok(());
        }
        // Do not leave the container half frozen.
        ctl.write("cgroup.freeze", "0")?;
        Err(Error::FreezeTimeout {
            path: self.dir.clone(),
        })
    }

    pub fn thaw(&self) -> Result<()> {
        self.ctl("freezer").write("cgroup.freeze", "0")
    }

    /// Reads the state the kernel reached (cgroup.events), not the one requested.
    pub fn is_frozen(&self) -> Result<bool> {
        let path = self.dir.join("cgroup.events");
        Ok(fsutil::keyed_value(&path, &fsutil::read(&path)?, "frozen")? == Some(1))
    }

    /// OOM kills from memory.events; 0 when the memory controller is not enabled.
    pub fn oom_kill_count(&self) -> Result<u64> {
        let path = self.dir.join("memory.events");
        match fsutil::read_opt(&path)? {
            Some(content) => Ok(fsutil::keyed_value(&path, &content, "oom_kill")?.unwrap_or(0)),
            None => Ok(0),
        }
    }

    pub fn stats(&self) -> Result<Stats> {
        let pids = self.ctl("pids");
        let pids = match pids.read_u64_opt("pids.current")? {
            Some(current) => Some(PidsStats {
                current,
                // "max" means unlimited, reported as 0 like runc.
                limit: match pids.read_u64("pids.max")? {
                    u64::MAX => 0,
                    n => n,
                },
            }),
            None => None,
        };
        Ok(Stats {
            cpu: self.cpu_stats()?,
            memory: self.memory_stats()?,
            pids,
            blkio: self.io_stats()?,
            hugetlb: self.hugetlb_stats()?,
        })
    }

    fn cpu_stats(&self) -> Result<Option<CpuStats>> {
        let Some(stat) = self.ctl("cpu").read_keyed_opt("cpu.stat")? else {
            return Ok(None);
        };
        let mut usage = CpuUsage::default();
        let mut throttling = None;
        for (k, v) in stat {
            // v2 reports microseconds; runc's format is nanoseconds.
            match k.as_str() {
                "usage_usec" => usage.total = v * 1000,
                "user_usec" => usage.user = v * 1000,
                "system_usec" => usage.kernel = v * 1000,
                // Present only with the cpu controller enabled.
                "nr_periods" => throttling.get_or_insert_with(Throttling::default).periods = v,
                "nr_throttled" => {
                    throttling
                        .get_or_insert_with(Throttling::default)
                        .throttled_periods = v
                }
                "throttled_usec" => {
                    throttling
                        .get_or_insert_with(Throttling::default)
                        .throttled_time = v * 1000
                }
                _ => {}
            }
        }
        Ok(Some(CpuStats { usage, throttling }))
    }

    fn memory_stats(&self) -> Result<Option<MemoryStats>> {
        let ctl = self.ctl("memory");
        let Some(usage) = ctl.read_u64_opt("memory.current")? else {
            return Ok(None);
        };
        let limit = ctl.read_u64("memory.max")?;
        let events_path = ctl.path("memory.events");
        let failcnt = match fsutil::read_opt(&events_path)? {
            Some(events) => fsutil::keyed_value(&events_path, &events, "max")?.unwrap_or(0),
            None => 0,
        };
        // Report swap as memory+swap, the v1 meaning the runc format carries.
        let swap = match ctl.read_u64_opt("memory.swap.current")? {
            Some(swap_usage) => Some(MemoryEntry {
                limit: ctl.read_u64("memory.swap.max")?.saturating_add(limit),
                usage: swap_usage + usage,
                max: 0,
                failcnt: 0,
            }),
            None => None,
        };
        let raw: BTreeMap<String, u64> = ctl
            .read_keyed_opt("memory.stat")?
            .unwrap_or_default()
            .into_iter()
            .collect();
        Ok(Some(MemoryStats {
            cache: raw.get("file").copied().unwrap_or_default(),
            usage: MemoryEntry {
                limit,
                usage,
                max: ctl.read_u64_opt("memory.peak")?.unwrap_or(0),
                failcnt,
            },
            swap,
            kernel: None,
            kernel_tcp: None,
            raw,
        }))
    }

    /// io.stat lines: "MAJ:MIN rbytes=1 wbytes=2 rios=3 wios=4 dbytes=5 dios=6".
    fn io_stats(&self) -> Result<Option<BlkioStats>> {
        let path = self.dir.join("io.stat");
        let Some(content) = fsutil::read_opt(&path)? else {
            return Ok(None);
        };
        let mut stats = BlkioStats::default();
        for line in content.lines() {
            let mut fields = line.split_whitespace();
            let Some(dev) = fields.next() else {
                continue;
            };
            let (major, minor) = parse_dev(&path, dev)?;
            for field in fields {
                let Some((key, value)) = field.split_once('=') else {
                    continue;
                };
                let (list, op) = match key {
                    "rbytes" => (&mut stats.io_service_bytes_recursive, "Read"),
                    "wbytes" => (&mut stats.io_service_bytes_recursive, "Write"),
                    "dbytes" => (&mut stats.io_service_bytes_recursive, "Discard"),
                    "rios" => (&mut stats.io_serviced_recursive, "Read"),
                    "wios" => (&mut stats.io_serviced_recursive, "Write"),
                    "dios" => (&mut stats.io_serviced_recursive, "Discard"),
                    _ => continue,
                };
                list.push(BlkioEntry {
                    major,
                    minor,
                    op: op.to_owned(),
                    value: fsutil::parse_u64(&path, value)?,
                });
            }
        }
        Ok(Some(stats))
    }

    fn hugetlb_stats(&self) -> Result<BTreeMap<String, HugetlbStats>> {
        let ctl = self.ctl("hugetlb");
        let mut out = BTreeMap::new();
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(source) => {
                return Err(Error::Read {
                    path: self.dir.clone(),
                    source,
                })
            }
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(size) = name
                .to_str()
                .and_then(|n| n.strip_prefix("hugetlb.")?.strip_suffix(".current"))
                .filter(|s| !s.contains('.'))
            else {
                continue;
            };
            let events = ctl.path(&format!("hugetlb.{size}.events"));
            let failcnt = match fsutil::read_opt(&events)? {
                Some(content) => fsutil::keyed_value(&events, &content, "max")?.unwrap_or(0),
                None => 0,
            };
            out.insert(
                size.to_owned(),
                HugetlbStats {
                    usage: ctl.read_u64(&format!("hugetlb.{size}.current"))?,
                    max: 0,
                    failcnt,
                },
            );
        }
        Ok(out)
    }
}

/// Makes every controller available in `dir` also available to its children. Reading first
/// spares the write (and the kernel's locking) once the controllers are enabled.
fn enable_controllers(dir: &Path) -> Result<()> {
    let ctl = Ctl::new(dir, "cgroup");
    let available = ctl.read("cgroup.controllers")?;
    let enabled = ctl.read("cgroup.subtree_control")?;
    let missing: Vec<&str> = available
        .split_whitespace()
        .filter(|c| !enabled.split_whitespace().any(|e| e == *c))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let all: Vec<String> = missing.iter().map(|c| format!("+{c}")).collect();
    if ctl.write("cgroup.subtree_control", &all.join(" ")).is_ok() {
        return Ok(());
    }
    // One controller can refuse (e.g. cpu while a realtime task is in the cgroup). Enable the
    // rest; if the resources need the refused one, apply reports its missing files.
    for c in all {
        let _ = ctl.write("cgroup.subtree_control", &c);
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
