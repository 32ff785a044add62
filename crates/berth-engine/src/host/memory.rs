//! Host memory, as `docker info` and `docker stats` report it.

/// `MemTotal` of /proc/meminfo in bytes; 0 when unreadable.
pub(crate) fn mem_total() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|text| parse_mem_total(&text))
        .map_or(0, |kib| kib * 1024)
}

/// The kernel reports kB (KiB).
pub(super) fn parse_mem_total(meminfo: &str) -> Option<u64> {
    meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}
