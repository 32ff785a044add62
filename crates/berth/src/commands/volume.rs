//! Volume verbs: create, ls, rm, prune (inspect is `inspect --type volume`).

use std::collections::HashMap;

use anyhow::{bail, Context, Result};
use bollard::models::{Volume, VolumeCreateRequest};
use bollard::query_parameters::{ListVolumesOptions, PruneVolumesOptions, RemoveVolumeOptions};

use super::{filters, for_each};
use crate::cli::{ImagePruneArgs, VolumeCreateArgs, VolumeLsArgs, VolumeRmArgs};
use crate::client::Client;
use crate::output::{self, col, Column, ListStyle, Row};

/// `key=value` flags (`--label`, `--opt`) as a map; a bare key has an empty value.
pub fn key_values(flag: &str, items: &[String]) -> Result<HashMap<String, String>> {
    items
        .iter()
        .map(|i| match i.split_once('=') {
            Some(("", _)) => bail!("invalid {flag} {i:?}: empty key"),
            Some((k, v)) => Ok((k.to_string(), v.to_string())),
            None => Ok((i.clone(), String::new())),
        })
        .collect()
}

pub async fn create(c: &Client, a: VolumeCreateArgs) -> Result<()> {
    let v = c
        .api
        .create_volume(VolumeCreateRequest {
            name: a.name,
            driver: Some(a.driver),
            driver_opts: Some(key_values("--opt", &a.opt)?),
            labels: Some(key_values("--label", &a.label)?),
            ..Default::default()
        })
        .await
        .context("create volume")?;
    println!("{}", v.name);
    Ok(())
}

/// `docker volume ls` rows.
pub fn volume_rows(volumes: &[Volume]) -> Vec<Row> {
    volumes
        .iter()
        .map(|v| {
            vec![
                ("Driver", v.driver.clone()),
                ("Labels", output::labels_text(&v.labels)),
                ("Mountpoint", v.mountpoint.clone()),
                ("Name", v.name.clone()),
                ("Scope", "local".to_string()),
            ]
        })
        .collect()
}

const VOLUME_COLUMNS: [Column; 2] = [
    col("Driver", "DRIVER", false),
    col("Name", "VOLUME NAME", true),
];

pub async fn ls(c: &Client, a: VolumeLsArgs) -> Result<()> {
    let list = c
        .api
        .list_volumes(Some(ListVolumesOptions {
            filters: filters(&a.filter)?,
        }))
        .await
        .context("list volumes")?;
    let rows = volume_rows(&list.volumes.unwrap_or_default());
    let style = ListStyle::new(a.format.format.as_deref(), a.quiet, true);
    output::print(&output::render_list(&rows, &VOLUME_COLUMNS, &style, "Name"));
    Ok(())
}

pub async fn rm(c: &Client, a: VolumeRmArgs) -> Result<()> {
    let force = a.force;
    for_each(&a.volumes, |name| async move {
        c.api
            .remove_volume(&name, Some(RemoveVolumeOptions { force }))
            .await?;
        Ok(Some(name))
    })
    .await
}

pub async fn prune(c: &Client, a: ImagePruneArgs) -> Result<()> {
    let warning = if a.all {
        "WARNING! This will remove all local volumes not used by at least one container."
    } else {
        "WARNING! This will remove anonymous local volumes not used by at least one container."
    };
    let filters = super::prune_filters(&a, warning, "all=true")?;
    let r = c
        .api
        .prune_volumes(Some(PruneVolumesOptions { filters }))
        .await
        .context("prune volumes")?;
    super::print_pruned(
        "Deleted Volumes",
        &r.volumes_deleted.unwrap_or_default(),
        r.space_reclaimed.unwrap_or(0),
    );
    Ok(())
}

#[cfg(test)]
mod tests;
