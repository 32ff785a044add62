//! The "OOM killed" hint of the exit record, as Docker gives it: did the container's memory
//! cgroup record an OOM kill. Read from the cgroup files the kernel keeps anyway, found once from
//! `/proc/<pid>/cgroup` while the process is alive, so the hint costs two small reads.

use std::fs;
use std::path::PathBuf;

/// The file whose `oom_kill N` line counts OOM kills in the container's memory cgroup.
pub struct OomWatch {
    counter: PathBuf,
}

impl OomWatch {
    /// `None` when the process is gone or has no memory cgroup we can see.
    pub fn for_pid(pid: i32) -> Option<Self> {
        let text = fs::read_to_string(format!("/proc/{pid}/cgroup")).ok()?;
        // cgroup v1 (or hybrid): "N:memory:/path" → memory.oom_control.
        for line in text.lines() {
            let mut parts = line.splitn(3, ':');
            let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
            if controllers.split(',').any(|c| c == "memory") {
                let counter = PathBuf::from("/sys/fs/cgroup/memory")
                    .join(path.trim_start_matches('/'))
                    .join("memory.oom_control");
                return counter.exists().then_some(Self { counter });
            }
        }
        // cgroup v2: "0::/path" → memory.events.
        let path = text.lines().find_map(|l| l.strip_prefix("0::"))?;
        let counter = PathBuf::from("/sys/fs/cgroup")
            .join(path.trim_start_matches('/'))
            .join("memory.events");
        counter.exists().then_some(Self { counter })
    }

    /// Whether the kernel counted at least one OOM kill (false when the cgroup is already gone).
    pub fn oom_killed(&self) -> bool {
        fs::read_to_string(&self.counter)
            .ok()
            .and_then(|text| {
                text.lines()
                    .find_map(|l| l.strip_prefix("oom_kill "))
                    .and_then(|n| n.trim().parse::<u64>().ok())
            })
            .is_some_and(|n| n > 0)
    }
}
