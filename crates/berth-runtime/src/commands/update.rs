use std::io::Read;

use anyhow::{Context, Result};
use berth_oci::StateRoot;
use oci_spec::runtime::LinuxResources;
use serde_json::{json, Map, Value};

use crate::cli::UpdateArgs;

/// Parses sizes like runc/docker: plain bytes or a k/m/g suffix; -1 means unlimited.
fn parse_size(s: &str) -> Result<i64> {
    let lower = s.trim().to_ascii_lowercase();
    if lower == "-1" {
        return Ok(-1);
    }
    let digits = lower.trim_end_matches(['b']);
    let (num, mult) = match digits.chars().last() {
        Some('k') => (&digits[..digits.len() - 1], 1i64 << 10),
        Some('m') => (&digits[..digits.len() - 1], 1 << 20),
        Some('g') => (&digits[..digits.len() - 1], 1 << 30),
        _ => (digits, 1),
    };
    let n: i64 = num.parse().with_context(|| format!("invalid size {s:?}"))?;
    // `--memory 99999999999g` would overflow: a panic in debug builds, a wrapped (wrong) limit
    // in release ones.
    n.checked_mul(mult)
        .with_context(|| format!("size {s:?} does not fit in 64 bits"))
}

fn resources_from_flags(a: &UpdateArgs) -> Result<LinuxResources> {
    let mut memory = Map::new();
    let mut cpu = Map::new();
    if let Some(m) = &a.memory {
        memory.insert("limit".into(), json!(parse_size(m)?));
    }
    if let Some(m) = &a.memory_swap {
        memory.insert("swap".into(), json!(parse_size(m)?));
    }
    if let Some(m) = &a.memory_reservation {
        memory.insert("reservation".into(), json!(parse_size(m)?));
    }
    for (key, v) in [
        ("shares", a.cpu_shares.map(|v| json!(v))),
        ("period", a.cpu_period.map(|v| json!(v))),
        ("quota", a.cpu_quota.map(|v| json!(v))),
        ("realtimePeriod", a.cpu_rt_period.map(|v| json!(v))),
        ("realtimeRuntime", a.cpu_rt_runtime.map(|v| json!(v))),
        ("cpus", a.cpuset_cpus.as_ref().map(|v| json!(v))),
        ("mems", a.cpuset_mems.as_ref().map(|v| json!(v))),
    ] {
        if let Some(v) = v {
            cpu.insert(key.into(), v);
        }
    }
    let mut res = Map::new();
    if !memory.is_empty() {
        res.insert("memory".into(), Value::Object(memory));
    }
    if !cpu.is_empty() {
        res.insert("cpu".into(), Value::Object(cpu));
    }
    if let Some(p) = a.pids_limit {
        res.insert("pids".into(), json!({"limit": p}));
    }
    if let Some(w) = a.blkio_weight {
        res.insert("blockIO".into(), json!({"weight": w}));
    }
    Ok(serde_json::from_value(Value::Object(res))?)
}

pub fn update(root: &StateRoot, args: &UpdateArgs) -> Result<i32> {
    let resources = match &args.resources {
        Some(path) => {
            let mut data = Vec::new();
            if path.as_os_str() == "-" {
                std::io::stdin()
                    .read_to_end(&mut data)
                    .context("read resources from stdin")?;
            } else {
                data = std::fs::read(path).with_context(|| format!("read {}", path.display()))?;
            }
            serde_json::from_slice(&data)
                .with_context(|| format!("{}: invalid resources JSON", path.display()))?
        }
        None => resources_from_flags(args)?,
    };
    berth_oci::update(root, &args.id, &resources)?;
    Ok(0)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
