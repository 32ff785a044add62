use anyhow::{bail, Context, Result};
use berth_oci::StateRoot;

use crate::cli::ListFormat;

/// Like runc: JSON is the pid list; the table is ps(1) output filtered to the container's pids.
pub fn ps(root: &StateRoot, id: &str, format: ListFormat, ps_args: &[String]) -> Result<i32> {
    let c = root.load(id)?;
    let cg = c
        .cgroup()
        .with_context(|| format!("container {id:?} has no cgroup"))?;
    let pids = cg.pids()?;
    if format == ListFormat::Json {
        println!("{}", serde_json::to_string(&pids)?);
        return Ok(0);
    }
    let args: Vec<String> = if ps_args.is_empty() {
        vec!["-ef".into()]
    } else {
        ps_args.to_vec()
    };
    let out = std::process::Command::new("ps")
        .args(&args)
        .output()
        .context("run ps")?;
    if !out.status.success() {
        bail!(
            "ps {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut lines = text.lines();
    let header = lines.next().unwrap_or_default();
    let Some(col) = header.split_whitespace().position(|h| h == "PID") else {
        bail!("ps output has no PID column");
    };
    println!("{header}");
    for line in lines {
        let pid: Option<i32> = line
            .split_whitespace()
            .nth(col)
            .and_then(|p| p.parse().ok());
        if pid.is_some_and(|p| pids.contains(&p)) {
            println!("{line}");
        }
    }
    Ok(0)
}
