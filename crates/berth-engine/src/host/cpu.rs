//! Host CPUs, as `docker stats` reports them.

/// Sum of the `cpu` line of /proc/stat (user..softirq) in nanoseconds, like dockerd's
/// `getSystemCPUUsage`.
pub(crate) fn system_cpu_usage() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    let ticks = u64::try_from(ticks).ok().filter(|t| *t > 0).unwrap_or(100);
    std::fs::read_to_string("/proc/stat")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("cpu ")).map(|l| {
                l.split_whitespace()
                    .skip(1)
                    .take(7)
                    .filter_map(|v| v.parse::<u64>().ok())
                    .sum::<u64>()
            })
        })
        .map_or(0, |t| t.saturating_mul(1_000_000_000 / ticks))
}

/// CPUs online now, as dockerd's `online_cpus` in stats.
pub(crate) fn online_cpus() -> u32 {
    // SAFETY: sysconf has no preconditions.
    let n = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
    u32::try_from(n).ok().filter(|n| *n > 0).unwrap_or(1)
}
