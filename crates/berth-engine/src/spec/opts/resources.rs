//! Cgroup limits: memory, CPU, pids, block I/O and the cgroup's path (moby `WithResources`,
//! `WithCgroups`), and `--cpus` within the host's CPUs. Devices and their rules are the devices
//! step's.

use std::collections::HashMap;

use oci_spec::runtime::{
    LinuxCpu, LinuxHugepageLimit, LinuxMemory, LinuxPids, LinuxResources, Spec,
};

use super::{linux_resources, SpecContext};
use crate::model::{ContainerSpec, Cpu, Memory, Resources};
use crate::spec::build::cgroups_path;
use crate::spec::error::SpecError;
use crate::spec::resources::{block_io, nano_cpus_within};

/// Sets `linux.resources` memory, cpu, pids and blockIO and `linux.cgroupsPath`.
pub(in crate::spec) fn resources(
    spec: &mut Spec,
    model: &ContainerSpec,
    ctx: &SpecContext<'_>,
) -> Result<(), SpecError> {
    let r = &model.resources;
    if let Some(nano) = r.cpu.nano_cpus {
        nano_cpus_within(i64::try_from(nano).unwrap_or(i64::MAX), ctx.host_cpus)?;
    }
    let block_io = block_io(&r.block_io, ctx.devices)?;
    let path = cgroups_path(r.cgroup_parent.as_deref().unwrap_or_default(), &ctx.id)?;
    let res = linux_resources(spec);
    set_live(res, r);
    res.set_block_io(Some(block_io));
    if let Some(linux) = spec.linux_mut() {
        linux.set_cgroups_path(Some(path));
    }
    Ok(())
}

/// What `runtime update` can change on a running container: memory, CPU, pids, hugepages
/// and raw cgroup v2 files.
fn set_live(res: &mut LinuxResources, r: &Resources) {
    res.set_memory(Some(memory(&r.memory)));
    res.set_cpu(cpu(&r.cpu));
    res.set_pids(r.pids_limit.map(|limit| {
        let mut p = LinuxPids::default();
        p.set_limit(limit);
        p
    }));
    let hugepages: Vec<LinuxHugepageLimit> = r
        .hugepages
        .iter()
        .map(|(size, limit)| {
            let mut h = LinuxHugepageLimit::default();
            h.set_page_size(size.clone());
            h.set_limit(i64::try_from(*limit).unwrap_or(i64::MAX));
            h
        })
        .collect();
    res.set_hugepage_limits((!hugepages.is_empty()).then_some(hugepages));
    res.set_unified(
        (!r.unified.is_empty()).then(|| r.unified.clone().into_iter().collect::<HashMap<_, _>>()),
    );
}

/// The `linux.resources` a `runtime update` applies for `r` (the CRI's
/// UpdateContainerResources).
pub(crate) fn live_resources(r: &Resources) -> LinuxResources {
    let mut res = LinuxResources::default();
    set_live(&mut res, r);
    res
}

/// dockerd writes `disableOOMKiller` even when false.
fn memory(m: &Memory) -> LinuxMemory {
    let mut out = LinuxMemory::default();
    out.set_limit(m.limit);
    out.set_reservation(m.reservation);
    out.set_swap(m.swap);
    out.set_swappiness(m.swappiness);
    out.set_disable_oom_killer(Some(m.disable_oom_killer));
    out
}

/// `None` when nothing is set, as dockerd leaves `cpu` out.
fn cpu(c: &Cpu) -> Option<LinuxCpu> {
    if *c == Cpu::default() {
        return None;
    }
    let mut out = LinuxCpu::default();
    out.set_shares(c.shares);
    out.set_quota(c.quota);
    out.set_period(c.period);
    out.set_cpus(c.cpus.clone());
    out.set_mems(c.mems.clone());
    Some(out)
}
