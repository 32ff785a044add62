//! Container verbs that map to one API call each, plus the list and log views.

use anyhow::{Context, Result};
use bollard::models::{ContainerSummary, ContainerUpdateBody};
use bollard::query_parameters::{
    KillContainerOptions, ListContainersOptions, LogsOptions, PruneContainersOptions,
    RemoveContainerOptions, RenameContainerOptions, RestartContainerOptions, StatsOptions,
    StopContainerOptions, TopOptions, WaitContainerOptions,
};
use futures_util::StreamExt;

use super::{filters, for_each};
use crate::cli::{
    ContainerArg, Containers, KillArgs, LogsArgs, PruneArgs, PsArgs, RenameArgs, RmArgs, StatsArgs,
    StopArgs, TopArgs, UpdateArgs,
};
use crate::client::{Client, Exit};
use crate::output::{self, col, Column, ListStyle, Row};

pub async fn stop(c: &Client, a: StopArgs) -> Result<()> {
    let (t, signal) = (a.time, a.signal.clone());
    for_each(&a.containers, |name| {
        let signal = signal.clone();
        async move {
            let opts = StopContainerOptions { t, signal };
            c.api.stop_container(&name, Some(opts)).await?;
            Ok(Some(name))
        }
    })
    .await
}

pub async fn restart(c: &Client, a: StopArgs) -> Result<()> {
    let (t, signal) = (a.time, a.signal.clone());
    for_each(&a.containers, |name| {
        let signal = signal.clone();
        async move {
            let opts = RestartContainerOptions { t, signal };
            c.api.restart_container(&name, Some(opts)).await?;
            Ok(Some(name))
        }
    })
    .await
}

pub async fn kill(c: &Client, a: KillArgs) -> Result<()> {
    let signal = a.signal.clone();
    for_each(&a.containers, |name| {
        let signal = signal.clone();
        async move {
            c.api
                .kill_container(&name, Some(KillContainerOptions { signal }))
                .await?;
            Ok(Some(name))
        }
    })
    .await
}

pub async fn pause(c: &Client, a: Containers, pause: bool) -> Result<()> {
    for_each(&a.containers, |name| async move {
        if pause {
            c.api.pause_container(&name).await?;
        } else {
            c.api.unpause_container(&name).await?;
        }
        Ok(Some(name))
    })
    .await
}

pub async fn rm(c: &Client, a: RmArgs) -> Result<()> {
    let (force, v) = (a.force, a.volumes);
    for_each(&a.containers, |name| async move {
        let opts = RemoveContainerOptions {
            force,
            v,
            link: false,
        };
        c.api.remove_container(&name, Some(opts)).await?;
        Ok(Some(name))
    })
    .await
}

pub async fn wait(c: &Client, a: Containers) -> Result<()> {
    for_each(&a.containers, |name| async move {
        let opts = WaitContainerOptions {
            condition: "not-running".into(),
        };
        let mut s = c.api.wait_container(&name, Some(opts));
        let code = match s.next().await {
            Some(Ok(r)) => r.status_code,
            Some(Err(bollard::errors::Error::DockerContainerWaitError { code, .. })) => code,
            Some(Err(e)) => return Err(e.into()),
            None => anyhow::bail!("wait ended without a status"),
        };
        Ok(Some(code.to_string()))
    })
    .await
}

pub async fn rename(c: &Client, a: RenameArgs) -> Result<()> {
    c.api
        .rename_container(
            &a.container,
            RenameContainerOptions {
                name: a.new_name.clone(),
            },
        )
        .await?;
    Ok(())
}

pub async fn update(c: &Client, a: UpdateArgs) -> Result<()> {
    let ram = |flag: &str, v: &Option<String>| -> Result<Option<i64>> {
        v.as_deref()
            .map(|m| match m {
                "-1" => Ok(-1),
                _ => output::parse_ram(m).with_context(|| format!("invalid {flag} value {m:?}")),
            })
            .transpose()
    };
    let body = ContainerUpdateBody {
        nano_cpus: a.cpus.map(|c| (c * 1e9) as i64),
        cpu_shares: a.cpu_shares,
        cpuset_cpus: a.cpuset_cpus.clone(),
        memory: ram("--memory", &a.memory)?,
        memory_swap: ram("--memory-swap", &a.memory_swap)?,
        pids_limit: a.pids_limit,
        restart_policy: a
            .restart
            .as_deref()
            .map(super::run::restart_policy)
            .transpose()?,
        ..Default::default()
    };
    for_each(&a.containers, |name| {
        let body = body.clone();
        async move {
            c.api.update_container(&name, body).await?;
            Ok(Some(name))
        }
    })
    .await
}

pub async fn prune(c: &Client, a: PruneArgs) -> Result<()> {
    confirm(a.force, "WARNING! This will remove all stopped containers.")?;
    let r = c
        .api
        .prune_containers(Some(PruneContainersOptions {
            filters: filters(&a.filter)?,
        }))
        .await?;
    super::print_pruned(
        "Deleted Containers",
        &r.containers_deleted.unwrap_or_default(),
        r.space_reclaimed.unwrap_or(0),
    );
    Ok(())
}

/// docker's "Are you sure you want to continue? [y/N]" unless `-f`.
pub fn confirm(force: bool, warning: &str) -> Result<()> {
    if force {
        return Ok(());
    }
    eprint!("{warning}\nAre you sure you want to continue? [y/N] ");
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer)?;
    if matches!(answer.trim(), "y" | "Y" | "yes") {
        Ok(())
    } else {
        Err(Exit::code(1))
    }
}

/// One `ps` row with docker's field names (`docker ps --format '{{json .}}'`).
pub fn ps_row(s: &ContainerSummary, no_trunc: bool, now: i64) -> Row {
    let command = s.command.clone().unwrap_or_default();
    let command = if no_trunc {
        format!("\"{command}\"")
    } else {
        format!("\"{}\"", output::ellipsis(&command, 20))
    };
    let names: Vec<String> = s
        .names
        .iter()
        .flatten()
        .map(|n| n.trim_start_matches('/').to_string())
        .filter(|n| no_trunc || !n.contains('/'))
        .collect();
    let created = s.created.unwrap_or(0);
    let size = match (s.size_rw, s.size_root_fs) {
        (Some(rw), Some(root)) => format!(
            "{} (virtual {})",
            output::human_size_prec(rw as f64, 3),
            output::human_size_prec(root as f64, 3)
        ),
        (Some(rw), None) => output::human_size_prec(rw as f64, 3),
        _ => "0B".to_string(),
    };
    let networks: Vec<String> = s
        .network_settings
        .as_ref()
        .and_then(|n| n.networks.as_ref())
        .map(|n| {
            let mut k: Vec<String> = n.keys().cloned().collect();
            k.sort();
            k
        })
        .unwrap_or_default();
    let mounts: Vec<String> = s
        .mounts
        .iter()
        .flatten()
        .filter_map(|m| m.name.clone().or_else(|| m.source.clone()))
        .collect();
    vec![
        ("Command", command),
        ("CreatedAt", output::created_at(created)),
        (
            "ID",
            output::short_id(s.id.as_deref().unwrap_or_default(), no_trunc),
        ),
        ("Image", s.image.clone().unwrap_or_default()),
        ("Labels", output::labels_text(s.labels.iter().flatten())),
        ("LocalVolumes", mounts.len().to_string()),
        ("Mounts", mounts.join(",")),
        ("Names", names.join(",")),
        ("Networks", networks.join(",")),
        (
            "Ports",
            super::ports::display_ports(s.ports.as_deref().unwrap_or_default()),
        ),
        ("RunningFor", output::ago(created, now)),
        ("Size", size),
        (
            "State",
            s.state.map(|st| st.to_string()).unwrap_or_default(),
        ),
        ("Status", s.status.clone().unwrap_or_default()),
    ]
}

const PS_COLUMNS: [Column; 7] = [
    col("ID", "CONTAINER ID", false),
    col("Image", "IMAGE", true),
    col("Command", "COMMAND", true),
    col("RunningFor", "CREATED", true),
    col("Status", "STATUS", true),
    col("Ports", "PORTS", true),
    col("Names", "NAMES", false),
];

pub async fn ps(c: &Client, a: PsArgs) -> Result<()> {
    let limit = if a.latest { Some(1) } else { a.last };
    let opts = ListContainersOptions {
        all: a.all || limit.is_some(),
        limit,
        size: a.size,
        filters: filters(&a.filter)?,
    };
    let list = c.api.list_containers(Some(opts)).await?;
    let now = output::now_unix();
    let rows: Vec<Row> = list.iter().map(|s| ps_row(s, a.no_trunc, now)).collect();
    let mut columns = PS_COLUMNS.to_vec();
    if a.size {
        columns.push(col("Size", "SIZE", true));
    }
    let style = ListStyle::new(a.format.format.as_deref(), a.quiet, a.no_trunc);
    output::print(&output::render_list(&rows, &columns, &style, "ID"));
    Ok(())
}

pub async fn logs(c: &Client, a: LogsArgs) -> Result<()> {
    let now = output::now_unix();
    let time = |flag: &str, v: &Option<String>| -> Result<i32> {
        v.as_deref()
            .map(|t| {
                output::parse_time(t, now)
                    .and_then(|s| i32::try_from(s).ok())
                    .with_context(|| format!("invalid value for {flag}: {t:?}"))
            })
            .transpose()
            .map(Option::unwrap_or_default)
    };
    let opts = LogsOptions {
        follow: a.follow,
        stdout: true,
        stderr: true,
        since: time("--since", &a.since)?,
        until: time("--until", &a.until)?,
        timestamps: a.timestamps,
        tail: a.tail.clone(),
    };
    let stream = c.api.logs(&a.container, Some(opts));
    crate::stream::copy_output(Box::pin(stream)).await
}

pub async fn top(c: &Client, a: TopArgs) -> Result<()> {
    let opts = (!a.ps_args.is_empty()).then(|| TopOptions {
        ps_args: a.ps_args.join(" "),
    });
    let r = c.api.top_processes(&a.container, opts).await?;
    let header = r.titles.unwrap_or_default();
    let rows = r.processes.unwrap_or_default();
    let shrink = vec![false; header.len()];
    output::print(&output::table(&header, &rows, &shrink, None));
    Ok(())
}

pub async fn diff(c: &Client, a: ContainerArg) -> Result<()> {
    let changes = c.api.container_changes(&a.container).await?;
    for ch in changes.unwrap_or_default() {
        let kind = match ch.kind as i32 {
            0 => 'C',
            1 => 'A',
            _ => 'D',
        };
        println!("{kind} {}", ch.path);
    }
    Ok(())
}

/// One `docker stats` line: CPU %, memory usage / limit, memory %, net and block I/O, pids.
fn stats_row(s: &bollard::models::ContainerStatsResponse, no_trunc: bool) -> Row {
    let cpu = s.cpu_stats.clone().unwrap_or_default();
    let pre = s.precpu_stats.clone().unwrap_or_default();
    let usage = |c: &bollard::models::ContainerCpuStats| {
        c.cpu_usage
            .as_ref()
            .and_then(|u| u.total_usage)
            .unwrap_or(0) as f64
    };
    let cpu_delta = usage(&cpu) - usage(&pre);
    let sys_delta =
        cpu.system_cpu_usage.unwrap_or(0) as f64 - pre.system_cpu_usage.unwrap_or(0) as f64;
    let ncpu = cpu.online_cpus.unwrap_or(1).max(1) as f64;
    let cpu_pct = if cpu_delta > 0.0 && sys_delta > 0.0 {
        cpu_delta / sys_delta * ncpu * 100.0
    } else {
        0.0
    };
    let mem = s.memory_stats.clone().unwrap_or_default();
    let cache = mem
        .stats
        .as_ref()
        .and_then(|m| {
            m.get("inactive_file")
                .or_else(|| m.get("total_inactive_file"))
                .copied()
        })
        .unwrap_or(0);
    let used = mem.usage.unwrap_or(0).saturating_sub(cache) as f64;
    let limit = mem.limit.unwrap_or(0) as f64;
    let mem_pct = if limit > 0.0 {
        used / limit * 100.0
    } else {
        0.0
    };
    let (rx, tx) = s
        .networks
        .iter()
        .flatten()
        .fold((0u64, 0u64), |(r, t), (_, n)| {
            (r + n.rx_bytes.unwrap_or(0), t + n.tx_bytes.unwrap_or(0))
        });
    let (read, write) = s
        .blkio_stats
        .as_ref()
        .and_then(|b| b.io_service_bytes_recursive.clone())
        .unwrap_or_default()
        .iter()
        .fold((0u64, 0u64), |(r, w), e| {
            match e.op.as_deref().map(str::to_lowercase).as_deref() {
                Some("read") => (r + e.value.unwrap_or(0), w),
                Some("write") => (r, w + e.value.unwrap_or(0)),
                _ => (r, w),
            }
        });
    let pids = s.pids_stats.as_ref().and_then(|p| p.current).unwrap_or(0);
    vec![
        (
            "BlockIO",
            format!(
                "{} / {}",
                output::human_size(read as f64),
                output::human_size(write as f64)
            ),
        ),
        ("CPUPerc", format!("{cpu_pct:.2}%")),
        (
            "Container",
            output::short_id(s.id.as_deref().unwrap_or_default(), no_trunc),
        ),
        (
            "ID",
            output::short_id(s.id.as_deref().unwrap_or_default(), no_trunc),
        ),
        ("MemPerc", format!("{mem_pct:.2}%")),
        (
            "MemUsage",
            format!(
                "{} / {}",
                output::bytes_size(used),
                output::bytes_size(limit)
            ),
        ),
        (
            "Name",
            s.name
                .clone()
                .unwrap_or_default()
                .trim_start_matches('/')
                .to_string(),
        ),
        (
            "NetIO",
            format!(
                "{} / {}",
                output::human_size(rx as f64),
                output::human_size(tx as f64)
            ),
        ),
        ("PIDs", pids.to_string()),
    ]
}

const STATS_COLUMNS: [Column; 8] = [
    col("ID", "CONTAINER ID", false),
    col("Name", "NAME", true),
    col("CPUPerc", "CPU %", false),
    col("MemUsage", "MEM USAGE / LIMIT", false),
    col("MemPerc", "MEM %", false),
    col("NetIO", "NET I/O", false),
    col("BlockIO", "BLOCK I/O", false),
    col("PIDs", "PIDS", false),
];

pub async fn stats(c: &Client, a: StatsArgs) -> Result<()> {
    let names = if a.containers.is_empty() {
        let opts = ListContainersOptions {
            all: a.all,
            ..Default::default()
        };
        c.api
            .list_containers(Some(opts))
            .await?
            .into_iter()
            .filter_map(|s| s.id)
            .collect()
    } else {
        a.containers.clone()
    };
    let style = ListStyle::new(a.format.format.as_deref(), false, a.no_trunc);
    let stream_mode = !a.no_stream;
    let tty = crate::tty::is_terminal(libc::STDOUT_FILENO);
    loop {
        let mut rows = Vec::new();
        for name in &names {
            let opts = StatsOptions {
                stream: false,
                one_shot: false,
            };
            let mut s = c.api.stats(name, Some(opts));
            if let Some(item) = s.next().await {
                rows.push(stats_row(&item?, a.no_trunc));
            }
        }
        let text = output::render_list(&rows, &STATS_COLUMNS, &style, "ID");
        if stream_mode && tty {
            // Clear the screen and redraw, as docker stats does.
            output::print(&format!("\x1b[2J\x1b[H{text}"));
        } else {
            output::print(&text);
        }
        if !stream_mode {
            return Ok(());
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
}

#[cfg(test)]
mod tests;
