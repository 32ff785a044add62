//! Images as users name them: by reference (`busybox`, `localhost:5000/app:v1`), by id or by a
//! unique id prefix; tags, removal with Docker's rules, history.

mod archive;
pub(crate) mod import;
mod progress;
mod prune;
mod pull;
mod push;

pub use archive::{LoadedImage, SaveArchive};
pub use berth_registry::{Credentials, Distribution, RawManifest};
pub use import::ImportOptions;
pub use progress::{Progress, Pushed, Reporter};
pub use prune::{ImagePruneOptions, Pruned};
pub use pull::PullOptions;
pub use push::PushOptions;

use std::collections::{BTreeMap, HashSet};

use berth_store::metadata::Image;
use berth_store::Store;
use berth_types::{Digest, Reference};
use serde::Serialize;
use serde_json::Value;

use crate::events::EventType;
use crate::{Engine, Error, Result};

/// A row of `docker images`.
#[derive(Debug, Clone, Serialize)]
pub struct ImageSummary {
    pub id: Digest,
    pub repo_tags: Vec<String>,
    pub repo_digests: Vec<String>,
    /// Unix seconds, from the image config's `created` (0 when absent).
    pub created: i64,
    pub size: u64,
    pub labels: BTreeMap<String, String>,
    pub containers: u64,
    /// The image a build step made this one on.
    pub parent: Option<Digest>,
    /// Untagged, with images built on it: a build's intermediate step, which `docker images`
    /// lists only with `--all`.
    pub intermediate: bool,
}

/// Everything `docker image inspect` shows.
#[derive(Debug, Clone)]
pub struct ImageDetails {
    pub summary: ImageSummary,
    /// The image config JSON (architecture, os, config, rootfs, history, ...).
    pub config: Value,
    pub layers: Vec<Digest>,
    pub manifest_media_type: String,
}

impl ImageDetails {
    /// The config's `User` (`name`, `uid`, `uid:gid`, `name:group`); `None` when unset.
    pub fn user(&self) -> Option<&str> {
        self.config["config"]["User"]
            .as_str()
            .filter(|u| !u.is_empty())
    }
}

/// One line of `docker rmi` output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Removed {
    Untagged(String),
    Deleted(Digest),
}

/// One row of `docker history`, newest first.
#[derive(Debug, Clone, Serialize)]
pub struct HistoryEntry {
    /// The image an entry's step made (the build chain up from the image), else `<missing>`.
    pub id: String,
    pub created: i64,
    pub created_by: String,
    pub size: u64,
    pub comment: String,
    pub tags: Vec<String>,
}

/// Docker's short form of a stored tag (`docker.io/library/busybox:latest` → `busybox:latest`).
fn familiar(tag: &str) -> String {
    tag.parse::<Reference>()
        .map(|r| r.familiar())
        .unwrap_or_else(|_| tag.to_string())
}

fn parse_config(image: &Image) -> Value {
    serde_json::from_str(&image.config).unwrap_or(Value::Null)
}

fn created_of(config: &Value) -> i64 {
    config["created"]
        .as_str()
        .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
        .map_or(0, |t| t.timestamp())
}

fn labels_of(config: &Value) -> BTreeMap<String, String> {
    config["config"]["Labels"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect()
        })
        .unwrap_or_default()
}

/// How the user named an image: a reference to look up as a tag, or an id (prefix).
enum ImageName {
    Tag(String),
    Id(String),
}

fn classify(name: &str) -> Result<ImageName> {
    if let Some(hex) = name.strip_prefix("sha256:") {
        return Ok(ImageName::Id(hex.to_string()));
    }
    // A bare hex string is an id prefix unless an image is tagged with that name, as Docker.
    let reference: Reference = name.parse()?;
    Ok(ImageName::Tag(reference.with_default_tag().to_string()))
}

/// Finds an image by tag, full id or unique id prefix (inside a store call).
pub(crate) fn resolve(store: &Store, name: &str) -> Result<Image> {
    let not_found = || Error::NoSuchImage(name.to_string());
    let by_id_prefix = |hex: &str| -> Result<Image> {
        if hex.is_empty() || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(not_found());
        }
        let mut hits = store
            .metadata
            .list_images()?
            .into_iter()
            .filter(|i| i.id.hex().starts_with(hex));
        match (hits.next(), hits.next()) {
            (Some(image), None) => Ok(image),
            (Some(_), Some(_)) => Err(Error::AmbiguousImage(name.to_string())),
            _ => Err(not_found()),
        }
    };
    match classify(name) {
        Ok(ImageName::Id(hex)) => by_id_prefix(&hex),
        Ok(ImageName::Tag(tag)) => match store.metadata.resolve_tag(&tag) {
            Ok(id) => Ok(store.metadata.get_image(&id)?),
            Err(berth_store::Error::TagNotFound(_)) => by_id_prefix(name),
            Err(e) => Err(e.into()),
        },
        // Not a valid reference, but maybe an id prefix with uppercase? Ids are lowercase.
        Err(e) => by_id_prefix(name).map_err(|_| e),
    }
}

fn summarize(store: &Store, image: &Image) -> Result<ImageSummary> {
    let config = parse_config(image);
    let tags = store.metadata.image_tags(&image.id)?;
    let containers = store
        .metadata
        .list_containers()?
        .iter()
        .filter(|c| c.image_id == image.id)
        .count() as u64;
    let digests = store.metadata.repo_digests(&image.id)?;
    let intermediate = tags.is_empty() && !store.metadata.image_children(&image.id)?.is_empty();
    Ok(ImageSummary {
        id: image.id.clone(),
        repo_tags: tags.iter().map(|t| familiar(t)).collect(),
        repo_digests: digests.iter().map(|d| familiar(d)).collect(),
        created: created_of(&config),
        size: image.size,
        labels: labels_of(&config),
        containers,
        parent: image.parent.clone(),
        intermediate,
    })
}

/// Deletes `start`, then the image it was built on, and so on up the chain, each only while it
/// is untagged and unused: no image built on it, no container, not in `keep`. dockerd's `rmi`
/// (without `--no-prune`) removes a built image's steps this way. Returns what went.
pub(crate) fn remove_unused_chain(
    store: &Store,
    start: &Digest,
    keep: &HashSet<Digest>,
) -> Result<Vec<Digest>> {
    let containers = store.metadata.list_containers()?;
    let mut removed = Vec::new();
    let mut next = Some(start.clone());
    while let Some(id) = next {
        let image = match store.metadata.get_image(&id) {
            Ok(image) => image,
            Err(berth_store::Error::ImageNotFound(_)) => break,
            Err(e) => return Err(e.into()),
        };
        let used = keep.contains(&id)
            || !store.metadata.image_tags(&id)?.is_empty()
            || !store.metadata.image_children(&id)?.is_empty()
            || containers.iter().any(|c| c.image_id == id);
        if used {
            break;
        }
        store.metadata.delete_image(&id)?;
        removed.push(id);
        next = image.parent;
    }
    Ok(removed)
}

fn details(store: &Store, image: &Image) -> Result<ImageDetails> {
    Ok(ImageDetails {
        summary: summarize(store, image)?,
        config: parse_config(image),
        layers: image.layers.iter().map(|l| l.diff_id.clone()).collect(),
        manifest_media_type: image.media_type.clone(),
    })
}

impl Engine {
    pub async fn list_images(&self) -> Result<Vec<ImageSummary>> {
        self.with_store(|store| {
            let mut out = store
                .metadata
                .list_images()?
                .iter()
                .map(|i| summarize(store, i))
                .collect::<Result<Vec<_>>>()?;
            out.sort_by_key(|s| std::cmp::Reverse(s.created));
            Ok(out)
        })
        .await
    }

    pub async fn inspect_image(&self, name: &str) -> Result<ImageDetails> {
        let name = name.to_string();
        self.with_store(move |store| details(store, &resolve(store, &name)?))
            .await
    }

    /// Every image with its config, in one store call (the CRI lists images with their user).
    pub async fn list_image_details(&self) -> Result<Vec<ImageDetails>> {
        self.with_store(|store| {
            store
                .metadata
                .list_images()?
                .iter()
                .map(|i| details(store, i))
                .collect()
        })
        .await
    }

    /// `docker tag SOURCE TARGET`.
    pub async fn tag_image(&self, source: &str, target: &str) -> Result<()> {
        let target_ref: Reference = target.parse()?;
        if target_ref.digest().is_some() {
            return Err(Error::TagWithDigest(target.to_string()));
        }
        let tag = target_ref.with_default_tag();
        let source = source.to_string();
        let tag_name = tag.to_string();
        let id = self
            .with_store(move |store| {
                let image = resolve(store, &source)?;
                store.metadata.tag_image(&tag_name, &image.id)?;
                Ok(image.id)
            })
            .await?;
        self.events().publish(
            EventType::Image,
            "tag",
            id.as_str(),
            BTreeMap::from([("name".to_string(), tag.familiar())]),
        );
        Ok(())
    }

    /// `docker rmi`: a tag of an image with other tags is only untagged; otherwise the image
    /// goes (refused while containers use it, or when named by id with several tags, unless
    /// `force`).
    pub async fn remove_image(&self, name: &str, force: bool) -> Result<Vec<Removed>> {
        let name = name.to_string();
        let removed = self
            .with_store(move |store| {
                let image = resolve(store, &name)?;
                let tags = store.metadata.image_tags(&image.id)?;
                let named_tag = match classify(&name) {
                    Ok(ImageName::Tag(t)) if tags.contains(&t) => Some(t),
                    _ => None,
                };
                let mut removed = Vec::new();
                if let Some(tag) = &named_tag {
                    if tags.len() > 1 {
                        store.metadata.untag(tag)?;
                        return Ok(vec![Removed::Untagged(familiar(tag))]);
                    }
                } else if tags.len() > 1 && !force {
                    return Err(Error::ImageHasTags {
                        image: image.id.short().to_string(),
                    });
                }
                let users: Vec<_> = store
                    .metadata
                    .list_containers()?
                    .into_iter()
                    .filter(|c| c.image_id == image.id)
                    .collect();
                if let Some(user) = users.first() {
                    if !force || named_tag.is_none() {
                        return Err(Error::ImageInUse {
                            reference: name.clone(),
                            container: user.id.as_str()[..12.min(user.id.as_str().len())]
                                .to_string(),
                            image: image.id.short().to_string(),
                        });
                    }
                    // Forced with a tag: Docker only untags an image that containers use.
                    if let Some(tag) = &named_tag {
                        store.metadata.untag(tag)?;
                        return Ok(vec![Removed::Untagged(familiar(tag))]);
                    }
                }
                for tag in store.metadata.delete_image(&image.id)? {
                    removed.push(Removed::Untagged(familiar(&tag)));
                }
                removed.push(Removed::Deleted(image.id.clone()));
                if let Some(parent) = &image.parent {
                    let gone = remove_unused_chain(store, parent, &HashSet::new())?;
                    removed.extend(gone.into_iter().map(Removed::Deleted));
                }
                Ok(removed)
            })
            .await?;
        for r in &removed {
            let (action, id) = match r {
                Removed::Untagged(t) => ("untag", t.clone()),
                Removed::Deleted(d) => ("delete", d.to_string()),
            };
            self.events()
                .publish(EventType::Image, action, &id, BTreeMap::new());
        }
        if removed.iter().any(|r| matches!(r, Removed::Deleted(_))) {
            // The image row is gone; free its blobs and snapshots now, as dockerd does. The
            // removal itself succeeded, so a failed collection is only logged (the next one
            // retries).
            if let Err(e) = self.collect_garbage().await {
                tracing::warn!(error = %e, "garbage collection after image removal");
            }
        }
        Ok(removed)
    }

    /// `docker history`: the config's history, newest first, layer sizes matched in order.
    pub async fn image_history(&self, name: &str) -> Result<Vec<HistoryEntry>> {
        let name = name.to_string();
        self.with_store(move |store| {
            let image = resolve(store, &name)?;
            let config = parse_config(&image);
            let tags: Vec<String> = store
                .metadata
                .image_tags(&image.id)?
                .iter()
                .map(|t| familiar(t))
                .collect();
            let mut layer_sizes = image.layers.iter().map(|l| l.blob_size);
            let history = config["history"].as_array().cloned().unwrap_or_default();
            let mut entries: Vec<HistoryEntry> = if history.is_empty() {
                image
                    .layers
                    .iter()
                    .map(|l| HistoryEntry {
                        id: "<missing>".into(),
                        created: created_of(&config),
                        created_by: String::new(),
                        size: l.blob_size,
                        comment: String::new(),
                        tags: Vec::new(),
                    })
                    .collect()
            } else {
                history
                    .iter()
                    .map(|h| {
                        let empty = h["empty_layer"].as_bool().unwrap_or(false);
                        HistoryEntry {
                            id: "<missing>".into(),
                            created: created_of(h),
                            created_by: h["created_by"].as_str().unwrap_or_default().into(),
                            size: if empty {
                                0
                            } else {
                                layer_sizes.next().unwrap_or(0)
                            },
                            comment: h["comment"].as_str().unwrap_or_default().into(),
                            tags: Vec::new(),
                        }
                    })
                    .collect()
            };
            entries.reverse();
            // One entry per image up the build chain (each step adds one entry), as dockerd
            // fills in ids: the rest, from images not built here, stay `<missing>`.
            let mut current = Some((image.id.clone(), tags, image.parent.clone()));
            for entry in &mut entries {
                let Some((id, tags, parent)) = current.take() else {
                    break;
                };
                entry.id = id.to_string();
                entry.tags = tags;
                current = match parent.map(|p| store.metadata.get_image(&p)) {
                    Some(Ok(up)) => {
                        let tags = store.metadata.image_tags(&up.id)?;
                        Some((up.id, tags.iter().map(|t| familiar(t)).collect(), up.parent))
                    }
                    _ => None,
                };
            }
            Ok(entries)
        })
        .await
    }
}
