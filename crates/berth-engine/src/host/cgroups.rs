//! What the host's cgroups can limit, asked of the cgroup filesystem as dockerd's `sysinfo`
//! does, so options the kernel cannot apply are dropped with dockerd's warnings instead of
//! failing the container.

use std::path::{Path, PathBuf};

/// The cgroup filesystem root the runtime uses.
pub(crate) const CGROUP_ROOT: &str = "/sys/fs/cgroup";

/// Whether `root` is a pure cgroup v2 hierarchy (hybrid hosts count as v1, as for dockerd).
pub(crate) fn cgroup_v2(root: &Path) -> bool {
    matches!(nix::sys::statfs::statfs(root),
        Ok(fs) if fs.filesystem_type() == nix::sys::statfs::CGROUP2_SUPER_MAGIC)
}

/// Limits the kernel may lack: swap accounting (`swapaccount=0`, or no CONFIG_MEMCG_SWAP) and
/// a proportional I/O weight (no BFQ scheduler, no io.cost).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct CgroupSupport {
    pub swap_limit: bool,
    pub blkio_weight: bool,
    /// The hugetlb controller (a v1 hierarchy, or enabled at the v2 root).
    pub hugetlb: bool,
}

impl CgroupSupport {
    /// Looks at the files the kernel offers. On v2 the root cgroup has no limit files, so the
    /// first cgroup below it with the controller enabled answers (containers' `berth/` parent,
    /// then berthd's own cgroup); where none has it yet, the limit is assumed to be there and
    /// the runtime names the missing file if it is not.
    pub fn probe(root: &Path) -> Self {
        // A v2 root lists its controllers; a v1 or hybrid root is a tmpfs of hierarchies.
        if !root.join("cgroup.controllers").exists() {
            let any =
                |dir: &str, files: &[&str]| files.iter().any(|f| root.join(dir).join(f).exists());
            return Self {
                swap_limit: any("memory", &["memory.memsw.limit_in_bytes"]),
                blkio_weight: any("blkio", &["blkio.weight", "blkio.bfq.weight"]),
                hugetlb: root.join("hugetlb").is_dir(),
            };
        }
        let own = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
        let mut dirs = vec![root.join("berth")];
        dirs.extend(
            own.lines()
                .filter_map(|l| l.strip_prefix("0::"))
                .map(|p| root.join(p.trim().trim_start_matches('/')))
                .filter(|d| d != root),
        );
        let answer = |enabled: &str, files: &[&str]| {
            dirs.iter()
                .find(|d| d.join(enabled).exists())
                .is_none_or(|d| files.iter().any(|f| d.join(f).exists()))
        };
        let controllers = std::fs::read_to_string(root.join("cgroup.controllers"));
        Self {
            swap_limit: answer("memory.max", &["memory.swap.max"]),
            blkio_weight: answer("io.max", &["io.weight", "io.bfq.weight"]),
            hugetlb: controllers.is_ok_and(|c| c.split_whitespace().any(|c| c == "hugetlb")),
        }
    }

    /// dockerd's `verifyPlatformContainerResources` for these two: the option goes, a warning
    /// says so.
    pub(crate) fn drop_unsupported(&self, h: &mut crate::spec::HostConfig) -> Vec<String> {
        let mut warnings = Vec::new();
        if h.memory > 0 && h.memory_swap != -1 && !self.swap_limit {
            warnings.push(
                "Your kernel does not support swap limit capabilities or the cgroup is not \
                 mounted. Memory limited without swap."
                    .to_string(),
            );
            h.memory_swap = -1;
        }
        if h.blkio_weight > 0 && !self.blkio_weight {
            warnings.push(
                "Your kernel does not support Block I/O weight or the cgroup is not mounted. \
                 Weight discarded."
                    .to_string(),
            );
            h.blkio_weight = 0;
        }
        if !h.blkio_weight_device.is_empty() && !self.blkio_weight {
            warnings.push(
                "Your kernel does not support Block I/O weight_device or the cgroup is not \
                 mounted. Weight-device discarded."
                    .to_string(),
            );
            h.blkio_weight_device.clear();
        }
        warnings
    }

    /// Hugepage limits on a host without the hugetlb controller (a v1 host that does not mount
    /// it, as this project's VM) cannot be applied. The kubelet sends a limit for every page
    /// size the kernel has, 0 unless the pod asks for hugepages, and runc skips a controller
    /// that is not mounted: so does this, with a warning, rather than fail every pod.
    pub(crate) fn drop_unsupported_hugepages(
        &self,
        hugepages: &mut std::collections::BTreeMap<String, u64>,
    ) -> Option<String> {
        if self.hugetlb || hugepages.is_empty() {
            return None;
        }
        let sizes: Vec<String> = std::mem::take(hugepages).into_keys().collect();
        Some(format!(
            "the kernel has no hugetlb cgroup controller mounted: hugepage limits ({}) discarded",
            sizes.join(", ")
        ))
    }
}

/// The probe's view of the real host.
pub(crate) fn cgroup_support() -> CgroupSupport {
    CgroupSupport::probe(&PathBuf::from(CGROUP_ROOT))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
