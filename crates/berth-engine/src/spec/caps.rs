//! Capabilities: Docker's default set and `--cap-add`/`--cap-drop` (moby `oci/caps`).

use oci_spec::runtime::{Capabilities, Capability, LinuxCapabilities};

use super::error::SpecError;

/// Every capability Linux defines, in kernel order, with its canonical name. `--privileged` and
/// `--cap-add ALL` grant these.
pub const ALL_CAPABILITIES: [(&str, Capability); 41] = [
    ("CAP_CHOWN", Capability::Chown),
    ("CAP_DAC_OVERRIDE", Capability::DacOverride),
    ("CAP_DAC_READ_SEARCH", Capability::DacReadSearch),
    ("CAP_FOWNER", Capability::Fowner),
    ("CAP_FSETID", Capability::Fsetid),
    ("CAP_KILL", Capability::Kill),
    ("CAP_SETGID", Capability::Setgid),
    ("CAP_SETUID", Capability::Setuid),
    ("CAP_SETPCAP", Capability::Setpcap),
    ("CAP_LINUX_IMMUTABLE", Capability::LinuxImmutable),
    ("CAP_NET_BIND_SERVICE", Capability::NetBindService),
    ("CAP_NET_BROADCAST", Capability::NetBroadcast),
    ("CAP_NET_ADMIN", Capability::NetAdmin),
    ("CAP_NET_RAW", Capability::NetRaw),
    ("CAP_IPC_LOCK", Capability::IpcLock),
    ("CAP_IPC_OWNER", Capability::IpcOwner),
    ("CAP_SYS_MODULE", Capability::SysModule),
    ("CAP_SYS_RAWIO", Capability::SysRawio),
    ("CAP_SYS_CHROOT", Capability::SysChroot),
    ("CAP_SYS_PTRACE", Capability::SysPtrace),
    ("CAP_SYS_PACCT", Capability::SysPacct),
    ("CAP_SYS_ADMIN", Capability::SysAdmin),
    ("CAP_SYS_BOOT", Capability::SysBoot),
    ("CAP_SYS_NICE", Capability::SysNice),
    ("CAP_SYS_RESOURCE", Capability::SysResource),
    ("CAP_SYS_TIME", Capability::SysTime),
    ("CAP_SYS_TTY_CONFIG", Capability::SysTtyConfig),
    ("CAP_MKNOD", Capability::Mknod),
    ("CAP_LEASE", Capability::Lease),
    ("CAP_AUDIT_WRITE", Capability::AuditWrite),
    ("CAP_AUDIT_CONTROL", Capability::AuditControl),
    ("CAP_SETFCAP", Capability::Setfcap),
    ("CAP_MAC_OVERRIDE", Capability::MacOverride),
    ("CAP_MAC_ADMIN", Capability::MacAdmin),
    ("CAP_SYSLOG", Capability::Syslog),
    ("CAP_WAKE_ALARM", Capability::WakeAlarm),
    ("CAP_BLOCK_SUSPEND", Capability::BlockSuspend),
    ("CAP_AUDIT_READ", Capability::AuditRead),
    ("CAP_PERFMON", Capability::Perfmon),
    ("CAP_BPF", Capability::Bpf),
    ("CAP_CHECKPOINT_RESTORE", Capability::CheckpointRestore),
];

/// Docker's default capability set (moby `oci/caps/defaults.go`), in its order.
pub const DEFAULT_CAPABILITIES: [&str; 14] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
];

const ALL: &str = "ALL";

/// Upper-cases and adds the `CAP_` prefix; `ALL` stays `ALL`. Unknown names are an error.
pub(crate) fn normalize(names: &[String]) -> Result<Vec<&'static str>, SpecError> {
    names
        .iter()
        .map(|name| {
            let upper = name.to_ascii_uppercase();
            if upper == ALL {
                return Ok(ALL);
            }
            let full = if upper.starts_with("CAP_") {
                upper
            } else {
                format!("CAP_{upper}")
            };
            ALL_CAPABILITIES
                .iter()
                .find(|(n, _)| *n == full)
                .map(|(n, _)| *n)
                .ok_or(SpecError::UnknownCapability(full))
        })
        .collect()
}

/// The container's capability names after `--privileged`, `--cap-add` and `--cap-drop`, with
/// moby's `TweakCapabilities` precedence: add ALL beats drop ALL, and drop applies before add.
pub fn effective_capabilities(
    cap_add: &[String],
    cap_drop: &[String],
    privileged: bool,
) -> Result<Vec<&'static str>, SpecError> {
    if privileged {
        return Ok(ALL_CAPABILITIES.iter().map(|(n, _)| *n).collect());
    }
    let drop = normalize(cap_drop)?;
    let add = normalize(cap_add)?;
    let mut caps: Vec<&'static str> = if add.contains(&ALL) {
        ALL_CAPABILITIES
            .iter()
            .map(|(n, _)| *n)
            .filter(|n| !drop.contains(n))
            .collect()
    } else if drop.contains(&ALL) {
        add
    } else {
        DEFAULT_CAPABILITIES
            .iter()
            .copied()
            .filter(|n| !drop.contains(n))
            .chain(add)
            .collect()
    };
    let mut seen = std::collections::HashSet::new();
    caps.retain(|c| seen.insert(*c));
    Ok(caps)
}

/// Keeps only the capabilities this host can grant (`host`: a mask of berthd's bounding set,
/// bit N = capability N, the order of [`ALL_CAPABILITIES`]). `--privileged` and `--cap-add ALL`
/// shrink silently, as Docker limits them to what the kernel offers; a capability named
/// explicitly in `cap_add` that the host cannot grant is an error naming it.
pub fn available_only(
    caps: Vec<&'static str>,
    host: Option<u64>,
    cap_add: &[String],
) -> Result<Vec<&'static str>, SpecError> {
    let Some(mask) = host else { return Ok(caps) };
    let bit = |name: &str| ALL_CAPABILITIES.iter().position(|(n, _)| *n == name);
    let grantable = |name: &str| bit(name).is_some_and(|b| mask & (1u64 << b) != 0);
    if let Some(missing) = normalize(cap_add)?
        .into_iter()
        .find(|n| *n != ALL && !grantable(n))
    {
        return Err(SpecError::CapabilityUnavailable(missing.to_string()));
    }
    Ok(caps.into_iter().filter(|n| grantable(n)).collect())
}

/// The oci-spec value of a canonical name from [`ALL_CAPABILITIES`].
pub(crate) fn to_oci(names: &[&str]) -> oci_spec::runtime::Capabilities {
    names
        .iter()
        .filter_map(|name| ALL_CAPABILITIES.iter().find(|(n, _)| n == name))
        .map(|(_, c)| *c)
        .collect()
}

/// The canonical names of an oci-spec capability set, the inverse of [`to_oci`].
pub(crate) fn from_oci(caps: &oci_spec::runtime::Capabilities) -> Vec<&'static str> {
    ALL_CAPABILITIES
        .iter()
        .filter(|(_, c)| caps.contains(c))
        .map(|(n, _)| *n)
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;

/// A process's capability sets for `caps`: bounding, effective and permitted, no inheritable
/// or ambient ones (as dockerd and containerd give every container process).
pub(crate) fn process_capabilities(caps: Capabilities) -> LinuxCapabilities {
    let mut sets = LinuxCapabilities::default();
    sets.set_bounding(Some(caps.clone()));
    sets.set_effective(Some(caps.clone()));
    sets.set_permitted(Some(caps));
    sets.set_inheritable(None);
    sets.set_ambient(None);
    sets
}
