use std::io::Write;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use berth_oci::StateRoot;
use berth_types::ContainerStatus;
use serde_json::json;

fn parse_interval(s: &str) -> Result<Duration> {
    let (num, unit) = s
        .find(|c: char| !c.is_ascii_digit())
        .map_or((s, "s"), |i| s.split_at(i));
    let n: u64 = num
        .parse()
        .with_context(|| format!("invalid interval {s:?}"))?;
    Ok(match unit {
        "ms" => Duration::from_millis(n),
        "s" => Duration::from_secs(n),
        "m" => Duration::from_secs(n * 60),
        _ => bail!("invalid interval {s:?}: use ms, s or m"),
    })
}

/// Streams JSON events like runc: `stats` every interval, `oom` when the OOM-kill count grows.
pub fn events(root: &StateRoot, id: &str, once: bool, interval: &str) -> Result<i32> {
    let interval = parse_interval(interval)?;
    let c = root.load(id)?;
    let cg = c
        .cgroup()
        .with_context(|| format!("container {id:?} has no cgroup"))?;
    let mut ooms = cg.oom_kill_count().unwrap_or(0);
    loop {
        if c.status() == ContainerStatus::Stopped {
            bail!("container not running: {id}");
        }
        emit(&json!({"type": "stats", "id": id, "data": cg.stats()?}))?;
        if once {
            return Ok(0);
        }
        let now = cg.oom_kill_count().unwrap_or(ooms);
        if now > ooms {
            emit(&json!({"type": "oom", "id": id}))?;
            ooms = now;
        }
        std::thread::sleep(interval);
    }
}

/// Writes one event as one line in one `write`: stdout's line buffer (1 KiB) would split a
/// stats event, and a reader (or a kill) between the pieces would see half an event.
fn emit(event: &serde_json::Value) -> Result<()> {
    let mut line = event.to_string().into_bytes();
    line.push(b'\n');
    let mut out = std::io::stdout().lock();
    out.write_all(&line)
        .and_then(|()| out.flush())
        .context("write event")
}
