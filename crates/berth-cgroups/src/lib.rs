//! cgroup management for Berth containers.
//!
//! A [`Manager`] owns one container's cgroup: it creates the directories, applies the OCI
//! `linux.resources`, moves tasks in, freezes and thaws, reports [`Stats`], and removes
//! everything again. The cgroup version is detected at run time: on cgroup v2 the container has
//! one directory; on v1 (including "hybrid" hosts, where v1 does the work and a v2 tree is
//! merely mounted alongside) it has one directory per mounted hierarchy.
//!
//! Everything that can be done without the filesystem happens in [`Manager::new`], so the start
//! path pays only for the writes the resources ask for.

// unwrap_used is denied workspace-wide; expect() panics just the same on bad input.
#![cfg_attr(not(test), deny(clippy::expect_used))]

mod convert;
mod devices;
mod ebpf;
mod error;
mod fsutil;
mod path;
mod stats;
mod v1;
mod v2;

use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use nix::sys::statfs::{statfs, CGROUP2_SUPER_MAGIC, CGROUP_SUPER_MAGIC, TMPFS_MAGIC};
use oci_spec::runtime::LinuxResources;

pub use error::{Error, Result};
pub use path::CgroupPath;
pub use stats::{
    BlkioEntry, BlkioStats, CpuStats, CpuUsage, HugetlbStats, MemoryEntry, MemoryStats, PidsStats,
    Stats, Throttling,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CgroupVersion {
    V1,
    V2,
}

/// Detects the cgroup version of the hierarchy root (normally /sys/fs/cgroup): v2 if it is a
/// cgroup2 mount, v1 if it is the tmpfs holding v1 hierarchies. A plain directory containing
/// "cgroup.controllers" also counts as v2, so tests can use a fake tree.
pub fn detect(root: &Path) -> Result<CgroupVersion> {
    let fs = statfs(root).map_err(|source| Error::Statfs {
        path: root.to_owned(),
        source,
    })?;
    let fs_type = fs.filesystem_type();
    if fs_type == CGROUP2_SUPER_MAGIC || root.join("cgroup.controllers").exists() {
        Ok(CgroupVersion::V2)
    } else if fs_type == TMPFS_MAGIC || fs_type == CGROUP_SUPER_MAGIC {
        Ok(CgroupVersion::V1)
    } else {
        Err(Error::NotCgroupFs {
            path: root.to_owned(),
        })
    }
}

/// Open `tasks` files of a v1 cgroup (from [`Manager::self_placement`]), inherited across fork.
pub struct SelfPlacement(Vec<fsutil::Writer>);

impl SelfPlacement {
    /// Moves the calling thread into the cgroup in every hierarchy. Only for a single-threaded
    /// process (the runtime's freshly cloned child): its one thread is then the whole process,
    /// and its later children start inside. The files were opened by the runtime, whose
    /// credentials the kernel checks, so this works before any user namespace maps exist.
    pub fn join(mut self) -> Result<()> {
        self.0.iter_mut().try_for_each(|w| w.write("0"))
    }
}

/// One container's cgroup, on whichever cgroup version the host runs.
#[derive(Debug)]
pub struct Manager(Backend);

#[derive(Debug)]
enum Backend {
    V1(v1::V1Manager),
    V2(v2::V2Manager),
}

impl Manager {
    /// Detects the version and resolves the container's directories. Reads only: statfs, plus
    /// /proc/self/mountinfo on v1 and /proc/self/cgroup for a relative `cgroups_path`.
    pub fn new(root: &Path, cgroups_path: Option<&str>, container_id: &str) -> Result<Self> {
        let path = CgroupPath::parse(cgroups_path, container_id)?;
        Ok(Self(match detect(root)? {
            CgroupVersion::V1 => Backend::V1(v1::V1Manager::new(root, &path)?),
            CgroupVersion::V2 => Backend::V2(v2::V2Manager::new(root, &path)?),
        }))
    }

    /// The cgroup for a process exec'd into the container whose init is `init_pid`: the
    /// container's own, or on v2 the init's when the container made its cgroup a non-leaf (see
    /// `V2Manager::for_exec`).
    pub fn for_exec(self, init_pid: i32) -> Self {
        match self.0 {
            Backend::V2(m) => {
                let init = std::fs::read_to_string(format!("/proc/{init_pid}/cgroup"));
                Self(Backend::V2(m.for_exec(&init.unwrap_or_default())))
            }
            v1 => Self(v1),
        }
    }

    pub fn version(&self) -> CgroupVersion {
        match &self.0 {
            Backend::V1(_) => CgroupVersion::V1,
            Backend::V2(_) => CgroupVersion::V2,
        }
    }

    /// Creates the directories (mkdir -p). On v2 this also enables every available controller
    /// in the ancestors' cgroup.subtree_control; on v1 it seeds an empty cpuset from its parent.
    pub fn create(&self) -> Result<()> {
        match &self.0 {
            Backend::V1(m) => m.create(),
            Backend::V2(m) => m.create(),
        }
    }

    /// Writes the resource limits; only values that are set are written.
    pub fn apply(&self, resources: &LinuxResources) -> Result<()> {
        match &self.0 {
            Backend::V1(m) => m.apply(resources),
            Backend::V2(m) => m.apply(resources),
        }
    }

    /// Moves `pid` (with all its threads) into the cgroup, in every hierarchy.
    pub fn add_task(&self, pid: i32) -> Result<()> {
        match &self.0 {
            Backend::V1(m) => m.add_task(pid),
            Backend::V2(m) => m.add_task(pid),
        }
    }

    /// On v1, the cgroup's `tasks` files opened now (by the runtime, before it forks), so the
    /// new single-threaded process can move itself in with [`SelfPlacement::join`]. `None` on
    /// v2, where [`Manager::cgroup_dir_fd`] does better.
    ///
    /// Why: writing another process's pid into `cgroup.procs` takes the kernel's global
    /// threadgroup lock for writing, which first waits for an RCU grace period: 7-16 ms on a
    /// 2-core VM, on every container start. A thread that moves itself (`0` into `tasks`) does
    /// not take that lock, and costs ~0.25 ms.
    pub fn self_placement(&self) -> Result<Option<SelfPlacement>> {
        match &self.0 {
            Backend::V1(m) => m.tasks_writers().map(|w| Some(SelfPlacement(w))),
            Backend::V2(_) => Ok(None),
        }
    }

    /// On v2, a directory fd for clone3's CLONE_INTO_CGROUP, which starts the child in the
    /// cgroup and spares the later cgroup.procs write. `None` on v1, for a cgroup that narrows
    /// the cpuset (see `V2Manager::dir_fd`), or if the directory cannot be opened; callers then
    /// fall back to [`Manager::add_task`], which reports the error.
    pub fn cgroup_dir_fd(&self) -> Option<OwnedFd> {
        match &self.0 {
            Backend::V1(_) => None,
            Backend::V2(m) => m.dir_fd(),
        }
    }

    /// Freezes every task and waits until the kernel reports the cgroup frozen.
    pub fn freeze(&self) -> Result<()> {
        match &self.0 {
            Backend::V1(m) => m.freeze(),
            Backend::V2(m) => m.freeze(),
        }
    }

    pub fn thaw(&self) -> Result<()> {
        match &self.0 {
            Backend::V1(m) => m.thaw(),
            Backend::V2(m) => m.thaw(),
        }
    }

    pub fn is_frozen(&self) -> Result<bool> {
        match &self.0 {
            Backend::V1(m) => m.is_frozen(),
            Backend::V2(m) => m.is_frozen(),
        }
    }

    /// Every pid in the container's cgroup and its sub-cgroups.
    pub fn pids(&self) -> Result<Vec<i32>> {
        match &self.0 {
            Backend::V1(m) => m.pids(),
            Backend::V2(m) => m.pids(),
        }
    }

    pub fn stats(&self) -> Result<Stats> {
        match &self.0 {
            Backend::V1(m) => m.stats(),
            Backend::V2(m) => m.stats(),
        }
    }

    /// How many tasks the kernel OOM-killed in the cgroup; 0 without a memory controller.
    /// On v1 kernels older than 4.13, which do not count OOM kills, this is 1 if the memory
    /// limit was ever hit (memory.failcnt > 0) and 0 otherwise.
    pub fn oom_kill_count(&self) -> Result<u64> {
        match &self.0 {
            Backend::V1(m) => m.oom_kill_count(),
            Backend::V2(m) => m.oom_kill_count(),
        }
    }

    /// Removes the directories (sub-cgroups first), retrying briefly while exiting tasks keep
    /// them busy. Directories that are already gone are fine, so this can be repeated.
    pub fn remove(&self) -> Result<()> {
        match &self.0 {
            Backend::V1(m) => m.remove(),
            Backend::V2(m) => m.remove(),
        }
    }

    /// The container's cgroup directories: one on v2, one per hierarchy on v1.
    pub fn paths(&self) -> Vec<PathBuf> {
        match &self.0 {
            Backend::V1(m) => m.paths(),
            Backend::V2(m) => vec![m.path().to_owned()],
        }
    }
}
