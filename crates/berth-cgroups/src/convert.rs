//! Turning OCI resource values into cgroup file contents, where v1 and v2 share the rules.

use std::collections::HashMap;

use oci_spec::runtime::{LinuxHugepageLimit, LinuxRdma, LinuxThrottleDevice};

use crate::error::{Error, Result};

/// runc treats 0 as "not set" for most numeric resources; so do we.
pub(crate) fn set<T: Default + PartialEq>(v: Option<T>) -> Option<T> {
    v.filter(|v| *v != T::default())
}

/// pids.max: a positive limit, otherwise unlimited.
pub(crate) fn pids_max(limit: i64) -> String {
    if limit > 0 {
        limit.to_string()
    } else {
        "max".to_owned()
    }
}

/// v2 limits write -1 as "max".
pub(crate) fn v2_limit(v: i64) -> String {
    if v < 0 {
        "max".to_owned()
    } else {
        v.to_string()
    }
}

/// cpu.weight (1..=10000) from v1-style cpu.shares (2..=262144), runc's formula.
pub(crate) fn cpu_weight(shares: u64) -> u64 {
    let shares = shares.clamp(2, 262_144);
    1 + ((shares - 2) * 9999) / 262_142
}

/// io.weight (1..=10000) from a blkio weight (10..=1000), runc's formula.
pub(crate) fn io_weight(blkio_weight: u16) -> u64 {
    let w = u64::from(blkio_weight.clamp(10, 1000));
    1 + (w - 10) * 9999 / 990
}

/// memory.swap.max from OCI's memory+swap total, as runc converts it: v2 limits swap alone.
pub(crate) fn v2_swap(swap: i64, limit: Option<i64>) -> Result<i64> {
    if swap == -1 {
        return Ok(-1);
    }
    match limit {
        None | Some(-1) => Err(Error::SwapWithoutMemory),
        Some(limit) if swap < limit => Err(Error::SwapBelowMemory { swap, limit }),
        Some(limit) => Ok(swap - limit),
    }
}

/// "MAJ:MIN <rate>" lines for v1's blkio.throttle.* files.
pub(crate) fn throttle_lines(list: &[LinuxThrottleDevice]) -> impl Iterator<Item = String> + '_ {
    list.iter()
        .map(|t| format!("{}:{} {}", t.major(), t.minor(), t.rate()))
}

/// Page size as it appears in hugetlb file names ("2MB"), checked so it cannot add path parts.
pub(crate) fn page_size(limit: &LinuxHugepageLimit) -> Result<&str> {
    let size = limit.page_size().as_str();
    let (digits, unit) = size.split_at(size.find(|c: char| !c.is_ascii_digit()).unwrap_or(0));
    if digits.is_empty() || !matches!(unit, "KB" | "MB" | "GB" | "TB" | "PB") {
        return Err(Error::InvalidPageSize(size.to_owned()));
    }
    Ok(size)
}

/// rdma.max lines ("mlx5_0 hca_handle=2 hca_object=2000"), one per device with a limit.
pub(crate) fn rdma_lines(rdma: &HashMap<String, LinuxRdma>) -> Result<Vec<String>> {
    let mut lines = Vec::with_capacity(rdma.len());
    for (device, limits) in rdma {
        if device.is_empty() || device.contains(char::is_whitespace) {
            return Err(Error::InvalidRdmaDevice(device.clone()));
        }
        let mut line = device.clone();
        if let Some(h) = limits.hca_handles() {
            line.push_str(&format!(" hca_handle={h}"));
        }
        if let Some(o) = limits.hca_objects() {
            line.push_str(&format!(" hca_object={o}"));
        }
        if line.len() > device.len() {
            lines.push(line);
        }
    }
    Ok(lines)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
