//! Image verbs: list, remove, tag, history, prune, commit.

use anyhow::{Context, Result};
use bollard::models::{ContainerConfig, ImageSummary};
use bollard::query_parameters::{
    CommitContainerOptions, ListImagesOptions, PruneImagesOptions, RemoveImageOptions,
    TagImageOptions,
};

use super::{filters, for_each};
use crate::cli::{CommitArgs, HistoryArgs, ImagePruneArgs, ImagesArgs, RmiArgs, TagArgs};
use crate::client::Client;
use crate::output::{self, col, Column, ListStyle, Row};

/// Splits `repo[:tag]` (a registry port is not a tag) into the API's repo and tag.
pub fn split_reference(reference: &str) -> (String, Option<String>) {
    let (name, digest) = match reference.split_once('@') {
        Some((n, d)) => (n, Some(d)),
        None => (reference, None),
    };
    if digest.is_some() {
        return (reference.to_string(), None);
    }
    match name.rsplit_once(':') {
        Some((repo, tag)) if !tag.contains('/') => (repo.to_string(), Some(tag.to_string())),
        _ => (name.to_string(), None),
    }
}

/// `docker images` rows: one per tag, `<none>` for untagged images.
pub fn image_rows(images: &[ImageSummary], no_trunc: bool, now: i64) -> Vec<Row> {
    let mut rows = Vec::new();
    for img in images {
        let tags: Vec<(String, String)> = if img.repo_tags.is_empty() {
            vec![("<none>".into(), "<none>".into())]
        } else {
            img.repo_tags
                .iter()
                .map(|t| {
                    let (repo, tag) = split_reference(t);
                    (repo, tag.unwrap_or_else(|| "<none>".into()))
                })
                .collect()
        };
        let digest = img
            .repo_digests
            .first()
            .and_then(|d| d.split_once('@'))
            .map_or("<none>".to_string(), |(_, d)| d.to_string());
        let id = if no_trunc {
            img.id.clone()
        } else {
            output::short_id(&img.id, false)
        };
        for (repo, tag) in tags {
            rows.push(vec![
                (
                    "Containers",
                    match img.containers {
                        -1 => "N/A".to_string(),
                        n => n.to_string(),
                    },
                ),
                ("CreatedAt", output::created_at(img.created)),
                ("CreatedSince", output::ago(img.created, now)),
                ("Digest", digest.clone()),
                ("ID", id.clone()),
                ("Repository", repo),
                (
                    "SharedSize",
                    match img.shared_size {
                        -1 => "N/A".to_string(),
                        n => output::human_size_prec(n as f64, 3),
                    },
                ),
                ("Size", output::human_size_prec(img.size as f64, 3)),
                ("Tag", tag),
                ("UniqueSize", "N/A".to_string()),
                ("VirtualSize", output::human_size_prec(img.size as f64, 3)),
            ]);
        }
    }
    rows
}

const IMAGE_COLUMNS: [Column; 5] = [
    col("Repository", "REPOSITORY", true),
    col("Tag", "TAG", true),
    col("ID", "IMAGE ID", false),
    col("CreatedSince", "CREATED", false),
    col("Size", "SIZE", false),
];

pub async fn images(c: &Client, a: ImagesArgs) -> Result<()> {
    let mut filter_flags = a.filter.clone();
    if let Some(r) = &a.reference {
        filter_flags.push(format!("reference={r}"));
    }
    let opts = ListImagesOptions {
        all: a.all,
        filters: filters(&filter_flags)?,
        digests: a.digests,
        ..Default::default()
    };
    let mut list = c.api.list_images(Some(opts)).await?;
    list.sort_by_key(|x| std::cmp::Reverse(x.created));
    let mut rows = image_rows(&list, a.no_trunc, output::now_unix());
    if a.quiet {
        // One id per image, not per tag.
        rows.dedup_by(|x, y| x.iter().find(|f| f.0 == "ID") == y.iter().find(|f| f.0 == "ID"));
    }
    let mut columns = IMAGE_COLUMNS.to_vec();
    if a.digests {
        columns.insert(2, col("Digest", "DIGEST", true));
    }
    let style = ListStyle::new(a.format.format.as_deref(), a.quiet, a.no_trunc);
    output::print(&output::render_list(&rows, &columns, &style, "ID"));
    Ok(())
}

pub async fn rmi(c: &Client, a: RmiArgs) -> Result<()> {
    let (force, noprune) = (a.force, a.no_prune);
    for_each(&a.images, |name| async move {
        let opts = RemoveImageOptions {
            force,
            noprune,
            ..Default::default()
        };
        let removed = c.api.remove_image(&name, Some(opts), None).await?;
        let lines: Vec<String> = removed
            .iter()
            .flat_map(|r| {
                r.untagged
                    .iter()
                    .map(|u| format!("Untagged: {u}"))
                    .chain(r.deleted.iter().map(|d| format!("Deleted: {d}")))
            })
            .collect();
        Ok((!lines.is_empty()).then(|| lines.join("\n")))
    })
    .await
}

pub async fn tag(c: &Client, a: TagArgs) -> Result<()> {
    let (repo, tag) = split_reference(&a.target);
    let opts = TagImageOptions {
        repo: Some(repo),
        tag: Some(tag.unwrap_or_else(|| "latest".into())),
    };
    c.api.tag_image(&a.source, Some(opts)).await?;
    Ok(())
}

pub async fn commit(c: &Client, a: CommitArgs) -> Result<()> {
    let (repo, tag) = match &a.reference {
        Some(r) => {
            let (repo, tag) = split_reference(r);
            (Some(repo), tag)
        }
        None => (None, None),
    };
    let opts = CommitContainerOptions {
        container: Some(a.container.clone()),
        repo,
        tag,
        comment: a.message.clone(),
        author: a.author.clone(),
        pause: a.pause,
        changes: (!a.change.is_empty()).then(|| a.change.join("\n")),
    };
    let r = c
        .api
        .commit_container(opts, ContainerConfig::default())
        .await?;
    println!("{}", r.id);
    Ok(())
}

pub async fn history(c: &Client, a: HistoryArgs) -> Result<()> {
    let entries = c.api.image_history(&a.image).await?;
    let now = output::now_unix();
    let rows: Vec<Row> = entries
        .iter()
        .map(|h| {
            let id = if h.id.is_empty() || h.id == "<missing>" {
                "<missing>".to_string()
            } else {
                output::short_id(&h.id, a.no_trunc)
            };
            let created_by = if a.no_trunc {
                h.created_by.clone()
            } else {
                output::ellipsis(&h.created_by, 45)
            };
            vec![
                ("Comment", h.comment.clone()),
                ("CreatedAt", output::created_at(h.created)),
                ("CreatedBy", created_by),
                (
                    "CreatedSince",
                    if a.human {
                        output::ago(h.created, now)
                    } else {
                        output::created_at(h.created)
                    },
                ),
                ("ID", id),
                (
                    "Size",
                    if a.human {
                        output::human_size_prec(h.size as f64, 3)
                    } else {
                        h.size.to_string()
                    },
                ),
            ]
        })
        .collect();
    const COLUMNS: [Column; 5] = [
        col("ID", "IMAGE", false),
        col("CreatedSince", "CREATED", false),
        col("CreatedBy", "CREATED BY", true),
        col("Size", "SIZE", false),
        col("Comment", "COMMENT", true),
    ];
    let style = ListStyle::new(a.format.format.as_deref(), a.quiet, a.no_trunc);
    output::print(&output::render_list(&rows, &COLUMNS, &style, "ID"));
    Ok(())
}

pub async fn prune(c: &Client, a: ImagePruneArgs) -> Result<()> {
    let warning = if a.all {
        "WARNING! This will remove all images without at least one container associated to them."
    } else {
        "WARNING! This will remove all dangling images."
    };
    let filters = super::prune_filters(&a, warning, "dangling=false")?;
    let r = c
        .api
        .prune_images(Some(PruneImagesOptions { filters }))
        .await
        .context("prune images")?;
    let deleted = r.images_deleted.unwrap_or_default();
    if !deleted.is_empty() {
        println!("Deleted Images:");
        for d in &deleted {
            if let Some(u) = &d.untagged {
                println!("untagged: {u}");
            }
            if let Some(x) = &d.deleted {
                println!("deleted: {x}");
            }
        }
        println!();
    }
    super::print_reclaimed(r.space_reclaimed.unwrap_or(0));
    Ok(())
}

#[cfg(test)]
mod tests;
