/// berthd's own `oom_score_adj`: the lowest a process it starts may get where the kernel
/// refuses a lower one to a process without CAP_SYS_RESOURCE in its user namespace (nested
/// or rootless daemons), as containerd's `restrict_oom_score_adj`.
pub(crate) fn own_oom_score_adj() -> i32 {
    std::fs::read_to_string("/proc/self/oom_score_adj")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}
