//! Cgroup limits: memory, CPU, pids, block I/O and the cgroup's path (moby `WithResources`,
//! `WithCgroups`), and `--cpus` within the host's CPUs. Devices and their rules are the devices
//! step's.

use oci_spec::runtime::{LinuxCpu, LinuxMemory, LinuxPids, Spec};

use super::{linux_resources, SpecContext};
use crate::model::{ContainerSpec, Cpu, Memory};
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
    res.set_memory(Some(memory(&r.memory)));
    res.set_cpu(cpu(&r.cpu));
    res.set_pids(r.pids_limit.map(|limit| {
        let mut p = LinuxPids::default();
        p.set_limit(limit);
        p
    }));
    res.set_block_io(Some(block_io));
    if let Some(linux) = spec.linux_mut() {
        linux.set_cgroups_path(Some(path));
    }
    Ok(())
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
