//! Resource usage in the JSON shape of the "data" object of `runc events --stats`, so tools that
//! parse runc's output can parse ours. Groups a host lacks are left out.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use crate::error::Result;
use crate::fsutil::{parse_error, parse_u64};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu: Option<CpuStats>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory: Option<MemoryStats>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pids: Option<PidsStats>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blkio: Option<BlkioStats>,
    /// Keyed by page size as the kernel names it ("2MB", "1GB").
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub hugetlb: BTreeMap<String, HugetlbStats>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CpuStats {
    pub usage: CpuUsage,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub throttling: Option<Throttling>,
}

/// All times in nanoseconds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CpuUsage {
    pub total: u64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub percpu: Vec<u64>,
    pub kernel: u64,
    pub user: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Throttling {
    pub periods: u64,
    pub throttled_periods: u64,
    /// Nanoseconds.
    pub throttled_time: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MemoryStats {
    /// Page cache bytes ("cache" in v1 memory.stat, "file" in v2).
    pub cache: u64,
    pub usage: MemoryEntry,
    /// Memory plus swap, as in v1's memsw files (v2 values are converted to match).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub swap: Option<MemoryEntry>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kernel: Option<MemoryEntry>,
    #[serde(rename = "kernelTCP", skip_serializing_if = "Option::is_none")]
    pub kernel_tcp: Option<MemoryEntry>,
    /// memory.stat, key by key.
    pub raw: BTreeMap<String, u64>,
}

/// Bytes; an unlimited `limit` is `u64::MAX` on v2 and the kernel's page-rounded maximum on v1.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MemoryEntry {
    pub limit: u64,
    pub usage: u64,
    pub max: u64,
    pub failcnt: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PidsStats {
    pub current: u64,
    /// 0 means unlimited, as in runc.
    pub limit: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BlkioStats {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub io_service_bytes_recursive: Vec<BlkioEntry>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub io_serviced_recursive: Vec<BlkioEntry>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct BlkioEntry {
    pub major: u64,
    pub minor: u64,
    /// "Read", "Write", "Sync", "Async", "Discard" or "Total".
    pub op: String,
    pub value: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct HugetlbStats {
    pub usage: u64,
    pub max: u64,
    pub failcnt: u64,
}

/// Parses "MAJ:MIN" from `path`'s content.
pub(crate) fn parse_dev(path: &Path, s: &str) -> Result<(u64, u64)> {
    let (major, minor) = s.split_once(':').ok_or_else(|| parse_error(path, s))?;
    Ok((parse_u64(path, major)?, parse_u64(path, minor)?))
}

/// Parses a list of cpu times ("123 456 ...", as in cpuacct.usage_percpu).
pub(crate) fn parse_list(path: &Path, s: &str) -> Result<Vec<u64>> {
    s.split_whitespace().map(|v| parse_u64(path, v)).collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
