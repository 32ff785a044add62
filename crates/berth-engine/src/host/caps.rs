//! The capabilities the daemon itself may hand out.

/// berthd's capability bounding set (`CapBnd`), in kernel bit order as
/// [`crate::spec::ALL_CAPABILITIES`]: what a container here can be given at most. Asking for a
/// capability outside it (a restricted host, a daemon in a container) makes the runtime's
/// capset fail.
pub(crate) fn bounding_set() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    parse_cap_bnd(&status)
}

pub(super) fn parse_cap_bnd(status: &str) -> Option<u64> {
    let hex = status.lines().find_map(|l| l.strip_prefix("CapBnd:"))?;
    u64::from_str_radix(hex.trim(), 16).ok()
}
