//! `info`, `version`, `events`, `system df`, `system prune`, `completion`.

use anyhow::Result;
use bollard::query_parameters::{EventsOptions, PruneContainersOptions, PruneImagesOptions};
use futures_util::StreamExt;
use serde_json::Value;

use super::filters;
use crate::cli::{DfArgs, EventsArgs, FormatArg, SystemPruneArgs};
use crate::client::Client;
use crate::output::{self, col, fill_value, Column, Format, ListStyle, Row};

/// Prints a single object (info, version) as JSON or through a template; `None` means the
/// caller prints its human form.
fn print_object(format: &Option<String>, value: &Value) -> Option<()> {
    match Format::parse(format.as_deref()) {
        Format::Table => None,
        Format::Json => {
            println!("{value}");
            Some(())
        }
        Format::Template(t) | Format::TableTemplate(t) => {
            println!("{}", fill_value(&t, value));
            Some(())
        }
    }
}

pub async fn info(c: &Client, a: FormatArg) -> Result<()> {
    let info = c.api.info().await?;
    let v = serde_json::to_value(&info)?;
    if print_object(&a.format, &v).is_some() {
        return Ok(());
    }
    let s = |k: &str| match &v[k] {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    };
    let mut out = String::new();
    out.push_str(&format!(
        "Client:\n Version:    {}\n Context:    {}\n\n",
        env!("CARGO_PKG_VERSION"),
        c.host
    ));
    out.push_str("Server:\n");
    for (label, key) in [
        ("Containers", "Containers"),
        (" Running", "ContainersRunning"),
        (" Paused", "ContainersPaused"),
        (" Stopped", "ContainersStopped"),
        ("Images", "Images"),
        ("Server Version", "ServerVersion"),
        ("Storage Driver", "Driver"),
        ("Logging Driver", "LoggingDriver"),
        ("Cgroup Driver", "CgroupDriver"),
        ("Cgroup Version", "CgroupVersion"),
        ("Default Runtime", "DefaultRuntime"),
        ("Kernel Version", "KernelVersion"),
        ("Operating System", "OperatingSystem"),
        ("OSType", "OSType"),
        ("Architecture", "Architecture"),
        ("CPUs", "NCPU"),
        ("Name", "Name"),
        ("ID", "ID"),
        ("Berth Root Dir", "DockerRootDir"),
        ("Live Restore Enabled", "LiveRestoreEnabled"),
    ] {
        let value = if key == "MemTotal" {
            String::new()
        } else {
            s(key)
        };
        out.push_str(&format!(" {label}: {value}\n"));
    }
    out.push_str(&format!(
        " Total Memory: {}\n",
        output::bytes_size(v["MemTotal"].as_f64().unwrap_or(0.0))
    ));
    let warnings: Vec<String> = v["Warnings"]
        .as_array()
        .map(|w| {
            w.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    output::print(&out);
    for w in warnings {
        eprintln!("{w}");
    }
    Ok(())
}

pub async fn version(c: &Client, a: FormatArg) -> Result<()> {
    let client = serde_json::json!({
        "Version": env!("CARGO_PKG_VERSION"),
        "ApiVersion": format!("{}.{}", crate::client::API_VERSION.major_version, crate::client::API_VERSION.minor_version),
        "Os": std::env::consts::OS,
        "Arch": std::env::consts::ARCH,
    });
    let server = c.api.version().await;
    let server_json = match &server {
        Ok(v) => serde_json::to_value(v)?,
        Err(_) => Value::Null,
    };
    let both = serde_json::json!({"Client": client, "Server": server_json});
    if print_object(&a.format, &both).is_some() {
        return server.map(|_| ()).map_err(Into::into);
    }
    let mut out = format!(
        "Client:\n Version:           {}\n API version:       {}\n OS/Arch:           {}/{}\n",
        client["Version"].as_str().unwrap_or_default(),
        client["ApiVersion"].as_str().unwrap_or_default(),
        client["Os"].as_str().unwrap_or_default(),
        client["Arch"].as_str().unwrap_or_default(),
    );
    if let Ok(v) = &server {
        out.push_str(&format!(
            "\nServer: {}\n Engine:\n  Version:          {}\n  API version:      {} (minimum version {})\n  OS/Arch:          {}/{}\n  Kernel Version:   {}\n",
            v.platform.as_ref().map(|p| p.name.clone()).unwrap_or_default(),
            v.version.clone().unwrap_or_default(),
            v.api_version.clone().unwrap_or_default(),
            v.min_api_version.clone().unwrap_or_default(),
            v.os.clone().unwrap_or_default(),
            v.arch.clone().unwrap_or_default(),
            v.kernel_version.clone().unwrap_or_default(),
        ));
    }
    output::print(&out);
    server.map(|_| ()).map_err(Into::into)
}

/// docker's events line: `2024-01-02T15:04:05.000000000Z container start <id> (image=.., name=..)`.
fn event_line(e: &bollard::models::EventMessage) -> String {
    let time = e
        .time_nano
        .map(|n| chrono::DateTime::from_timestamp(n / 1_000_000_000, (n % 1_000_000_000) as u32))
        .or_else(|| e.time.map(|t| chrono::DateTime::from_timestamp(t, 0)))
        .flatten()
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true))
        .unwrap_or_default();
    let kind = e.typ.map(|t| t.to_string()).unwrap_or_default();
    let actor = e.actor.clone().unwrap_or_default();
    let mut attrs: Vec<String> = actor
        .attributes
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    attrs.sort();
    format!(
        "{time} {kind} {} {} ({})",
        e.action.clone().unwrap_or_default(),
        actor.id.unwrap_or_default(),
        attrs.join(", ")
    )
}

pub async fn events(c: &Client, a: EventsArgs) -> Result<()> {
    let now = output::now_unix();
    let time = |v: &Option<String>| -> Result<Option<String>> {
        v.as_deref()
            .map(|t| {
                output::parse_time(t, now)
                    .map(|s| s.to_string())
                    .ok_or_else(|| anyhow::anyhow!("invalid time {t:?}"))
            })
            .transpose()
    };
    let opts = EventsOptions {
        since: time(&a.since)?,
        until: time(&a.until)?,
        filters: filters(&a.filter)?,
    };
    let format = Format::parse(a.format.format.as_deref());
    let mut stream = Box::pin(c.api.events(Some(opts)));
    while let Some(e) = stream.next().await {
        let e = e?;
        let line = match &format {
            Format::Table => event_line(&e),
            Format::Json => serde_json::to_string(&e)?,
            Format::Template(t) | Format::TableTemplate(t) => {
                fill_value(t, &serde_json::to_value(&e)?)
            }
        };
        output::print(&format!("{line}\n"));
    }
    Ok(())
}

/// `system df`: read as the daemon sends it (API 1.44 shape: `LayersSize`, `Images`,
/// `Containers`, `Volumes`, `BuildCache`).
pub async fn df(c: &Client, a: DfArgs) -> Result<()> {
    let v = c.get_json("/system/df").await?;
    let list = |k: &str| v[k].as_array().cloned().unwrap_or_default();
    let images = list("Images");
    let containers = list("Containers");
    let volumes = list("Volumes");
    let cache = list("BuildCache");
    let num = |x: &Value, k: &str| x[k].as_i64().unwrap_or(0);
    let active_images = images.iter().filter(|i| num(i, "Containers") > 0).count();
    let images_size = v["LayersSize"]
        .as_i64()
        .unwrap_or_else(|| images.iter().map(|i| num(i, "Size")).sum());
    let unused_images: i64 = images
        .iter()
        .filter(|i| num(i, "Containers") == 0)
        .map(|i| num(i, "Size"))
        .sum();
    let running = containers
        .iter()
        .filter(|c| c["State"].as_str() == Some("running"))
        .count();
    let containers_size: i64 = containers.iter().map(|c| num(c, "SizeRw")).sum();
    let stopped_size: i64 = containers
        .iter()
        .filter(|c| c["State"].as_str() != Some("running"))
        .map(|c| num(c, "SizeRw"))
        .sum();
    let vol_size: i64 = volumes
        .iter()
        .map(|x| x["UsageData"]["Size"].as_i64().unwrap_or(0).max(0))
        .sum();
    let active_vols = volumes
        .iter()
        .filter(|x| x["UsageData"]["RefCount"].as_i64().unwrap_or(0) > 0)
        .count();
    let cache_size: i64 = cache.iter().map(|x| num(x, "Size")).sum();
    let reclaim = |r: i64, total: i64| {
        let pct = if total > 0 { r * 100 / total } else { 0 };
        format!("{} ({pct}%)", output::human_size(r as f64))
    };
    let row = |kind: &str, total: usize, active: usize, size: i64, r: i64| -> Row {
        vec![
            ("Active", active.to_string()),
            ("Reclaimable", reclaim(r, size)),
            ("Size", output::human_size(size as f64)),
            ("TotalCount", total.to_string()),
            ("Type", kind.to_string()),
        ]
    };
    let rows = vec![
        row(
            "Images",
            images.len(),
            active_images,
            images_size,
            unused_images,
        ),
        row(
            "Containers",
            containers.len(),
            running,
            containers_size,
            stopped_size,
        ),
        row("Local Volumes", volumes.len(), active_vols, vol_size, 0),
        row("Build Cache", cache.len(), 0, cache_size, cache_size),
    ];
    const COLUMNS: [Column; 5] = [
        col("Type", "TYPE", false),
        col("TotalCount", "TOTAL", false),
        col("Active", "ACTIVE", false),
        col("Size", "SIZE", false),
        col("Reclaimable", "RECLAIMABLE", false),
    ];
    let style = ListStyle::new(a.format.format.as_deref(), false, false);
    output::print(&output::render_list(&rows, &COLUMNS, &style, "Type"));
    if a.verbose && style.format == Format::Table {
        let now = output::now_unix();
        let summaries: Vec<bollard::models::ImageSummary> = images
            .iter()
            .filter_map(|i| serde_json::from_value(i.clone()).ok())
            .collect();
        println!("\nImages space usage:\n");
        let rows = super::image::image_rows(&summaries, false, now);
        const IMG: [Column; 5] = [
            col("Repository", "REPOSITORY", true),
            col("Tag", "TAG", true),
            col("ID", "IMAGE ID", false),
            col("CreatedSince", "CREATED", false),
            col("Size", "SIZE", false),
        ];
        output::print(&output::render_list(&rows, &IMG, &style, "ID"));
        println!("\nContainers space usage:\n");
        let summaries: Vec<bollard::models::ContainerSummary> = containers
            .iter()
            .filter_map(|c| serde_json::from_value(c.clone()).ok())
            .collect();
        let rows: Vec<Row> = summaries
            .iter()
            .map(|s| super::container::ps_row(s, false, now))
            .collect();
        const CT: [Column; 6] = [
            col("ID", "CONTAINER ID", false),
            col("Image", "IMAGE", true),
            col("Command", "COMMAND", true),
            col("Size", "SIZE", false),
            col("RunningFor", "CREATED", false),
            col("Names", "NAMES", false),
        ];
        output::print(&output::render_list(&rows, &CT, &style, "ID"));
    }
    Ok(())
}

pub async fn prune(c: &Client, a: SystemPruneArgs) -> Result<()> {
    let what = if a.all {
        "all images without at least one container associated to them"
    } else {
        "all dangling images"
    };
    super::container::confirm(
        a.prune.force,
        &format!("WARNING! This will remove:\n  - all stopped containers\n  - {what}"),
    )?;
    let f = filters(&a.prune.filter)?;
    let containers = c
        .api
        .prune_containers(Some(PruneContainersOptions { filters: f.clone() }))
        .await?;
    let mut image_filters = f.unwrap_or_default();
    if a.all {
        image_filters
            .entry("dangling".into())
            .or_default()
            .push("false".into());
    }
    let images = c
        .api
        .prune_images(Some(PruneImagesOptions {
            filters: (!image_filters.is_empty()).then_some(image_filters),
        }))
        .await?;
    let deleted = containers.containers_deleted.unwrap_or_default();
    if !deleted.is_empty() {
        println!("Deleted Containers:");
        deleted.iter().for_each(|d| println!("{d}"));
        println!();
    }
    let images_deleted = images.images_deleted.unwrap_or_default();
    if !images_deleted.is_empty() {
        println!("Deleted Images:");
        for d in &images_deleted {
            if let Some(u) = &d.untagged {
                println!("untagged: {u}");
            }
            if let Some(x) = &d.deleted {
                println!("deleted: {x}");
            }
        }
        println!();
    }
    let total = containers.space_reclaimed.unwrap_or(0) + images.space_reclaimed.unwrap_or(0);
    super::print_reclaimed(total);
    Ok(())
}

pub fn completion(shell: clap_complete::Shell) -> Result<()> {
    let mut cmd = <crate::cli::Cli as clap::CommandFactory>::command();
    clap_complete::generate(shell, &mut cmd, "berth", &mut std::io::stdout());
    Ok(())
}
