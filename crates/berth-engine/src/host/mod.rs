//! What the engine asks of the host it runs on: kernel, memory, CPUs, capabilities and
//! cgroups. One reader per fact, so `docker info`, `docker stats` and the spec builder agree.

mod caps;
mod cgroups;
mod cpu;
mod kernel;
mod memory;
mod oom;

pub(crate) use caps::bounding_set;
pub use cgroups::CgroupSupport;
pub(crate) use cgroups::{cgroup_support, cgroup_v2, CGROUP_ROOT};
pub(crate) use cpu::{online_cpus, system_cpu_usage};
pub use kernel::{idmapped_layers, recursive_readonly_mounts};
pub(crate) use kernel::{kernel_version, uname};
pub(crate) use memory::mem_total;
pub(crate) use oom::own_oom_score_adj;

#[cfg(test)]
mod tests;
