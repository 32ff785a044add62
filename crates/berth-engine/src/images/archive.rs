//! `docker save` and `docker load`: images as one tar file.
//!
//! Berth writes what Docker 25+ writes: a tar that is an OCI image layout (`oci-layout`,
//! `index.json`, `blobs/sha256/<hex>`) and at the same time a Docker archive (`manifest.json`
//! whose `Config` and `Layers` point into `blobs/`, and `repositories`), so both dockerd 20.10
//! and OCI tools read it. Loading reads either shape: `manifest.json` when present (dockerd's
//! own archives, old and new), else `index.json`. Every layer goes through
//! [`store_layer_checked`] and must match the manifest digest (OCI) and the config's diff_id;
//! on any failure the snapshots this load made are removed again and no image row exists
//! (blobs it committed are unreferenced and left to GC). See docs/images.md.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use berth_store::metadata::Image;
use berth_store::Store;
use berth_types::{Digest, Reference};
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::{Digest as _, Sha256};

use super::import::{record_image_bytes, store_layer_checked, Expected, MEDIA_OCI_MANIFEST};
use super::resolve;
use crate::events::EventType;
use crate::{Engine, Error, Result};

const MEDIA_OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
const MEDIA_DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
const MEDIA_DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
/// Annotations naming the image an index entry is (containerd's, then the OCI one).
const ANNOTATION_IMAGE_NAME: &str = "io.containerd.image.name";
const ANNOTATION_REF_NAME: &str = "org.opencontainers.image.ref.name";

/// One image of an archive being written: its blobs already opened, so a GC that runs while
/// the archive streams cannot take them away.
struct SaveImage {
    image: Image,
    tags: Vec<Reference>,
    config: Vec<u8>,
    manifest: Vec<u8>,
    layers: Vec<(Digest, File, u64)>,
}

/// Images resolved and opened for `docker save`; [`SaveArchive::write_to`] streams the tar.
pub struct SaveArchive {
    images: Vec<SaveImage>,
}

fn blob_name(d: &Digest) -> String {
    format!("blobs/{}/{}", d.algorithm(), d.hex())
}

fn read_blob(store: &Store, d: &Digest) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    let path = store.content.blob_path(d);
    store
        .content
        .reader(d)?
        .read_to_end(&mut bytes)
        .map_err(|source| Error::Io {
            action: "read",
            path,
            source,
        })?;
    Ok(bytes)
}

fn tar_io(path: &str) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        action: "write archive entry",
        path: PathBuf::from(path),
        source,
    }
}

fn append(
    tar: &mut tar::Builder<impl Write>,
    path: &str,
    size: u64,
    data: impl Read,
) -> Result<()> {
    let mut h = tar::Header::new_ustar();
    h.set_entry_type(tar::EntryType::Regular);
    h.set_mode(0o644);
    h.set_uid(0);
    h.set_gid(0);
    h.set_size(size);
    h.set_mtime(0);
    tar.append_data(&mut h, path, data).map_err(tar_io(path))
}

fn append_dir(tar: &mut tar::Builder<impl Write>, path: &str) -> Result<()> {
    let mut h = tar::Header::new_ustar();
    h.set_entry_type(tar::EntryType::Directory);
    h.set_mode(0o755);
    h.set_uid(0);
    h.set_gid(0);
    h.set_size(0);
    h.set_mtime(0);
    tar.append_data(&mut h, path, std::io::empty())
        .map_err(tar_io(path))
}

impl SaveArchive {
    /// Writes the archive (blocking; run it on a blocking thread).
    pub fn write_to(self, out: impl Write) -> Result<()> {
        let mut tar = tar::Builder::new(out);
        append_dir(&mut tar, "blobs/")?;
        append_dir(&mut tar, "blobs/sha256/")?;
        let mut written = BTreeSet::new();
        let mut docker_manifest = Vec::new();
        let mut index = Vec::new();
        let mut repositories: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
        for img in self.images {
            for (digest, file, size) in img.layers {
                if written.insert(digest.clone()) {
                    append(&mut tar, &blob_name(&digest), size, file)?;
                }
            }
            for (digest, bytes) in [
                (&img.image.id, &img.config),
                (&img.image.manifest_digest, &img.manifest),
            ] {
                if written.insert(digest.clone()) {
                    append(&mut tar, &blob_name(digest), bytes.len() as u64, &bytes[..])?;
                }
            }
            let top = img.image.layers.last().map(|l| l.diff_id.hex().to_string());
            docker_manifest.push(json!({
                "Config": blob_name(&img.image.id),
                "RepoTags": img.tags.iter().map(Reference::familiar).collect::<Vec<_>>(),
                "Layers": img.image.layers.iter().map(|l| blob_name(&l.blob_digest)).collect::<Vec<_>>(),
            }));
            let descriptor = |annotations: Value| {
                json!({
                    "mediaType": img.image.media_type,
                    "digest": img.image.manifest_digest,
                    "size": img.manifest.len(),
                    "annotations": annotations,
                })
            };
            if img.tags.is_empty() {
                index.push(json!({
                    "mediaType": img.image.media_type,
                    "digest": img.image.manifest_digest,
                    "size": img.manifest.len(),
                }));
            }
            for tag in &img.tags {
                index.push(descriptor(json!({
                    ANNOTATION_IMAGE_NAME: tag.to_string(),
                    ANNOTATION_REF_NAME: tag.tag().unwrap_or("latest"),
                })));
                if let Some(top) = &top {
                    repositories
                        .entry(tag.familiar_repository())
                        .or_default()
                        .insert(tag.tag().unwrap_or("latest").to_string(), top.clone());
                }
            }
        }
        let files = [
            (
                "index.json",
                json!({"schemaVersion": 2, "mediaType": MEDIA_OCI_INDEX, "manifests": index}),
            ),
            ("manifest.json", Value::Array(docker_manifest)),
            ("oci-layout", json!({"imageLayoutVersion": "1.0.0"})),
            ("repositories", json!(repositories)),
        ];
        for (name, value) in files {
            let bytes = serde_json::to_vec(&value).map_err(Error::Json)?;
            append(&mut tar, name, bytes.len() as u64, &bytes[..])?;
        }
        let mut out = tar.into_inner().map_err(tar_io("end of archive"))?;
        out.flush().map_err(tar_io("end of archive"))
    }
}

/// What `docker load` reports for one image.
#[derive(Debug, Clone)]
pub struct LoadedImage {
    pub id: Digest,
    /// Familiar names (`busybox:test`) it was tagged with.
    pub tags: Vec<String>,
}

/// One `manifest.json` entry.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DockerManifestEntry {
    config: String,
    #[serde(default)]
    repo_tags: Option<Vec<String>>,
    layers: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct Descriptor {
    #[serde(rename = "mediaType", default)]
    media_type: String,
    digest: Digest,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
    #[serde(default)]
    platform: Option<Platform>,
}

#[derive(Debug, Deserialize)]
struct Platform {
    #[serde(default)]
    architecture: String,
    #[serde(default)]
    os: String,
}

#[derive(Debug, Deserialize)]
struct IndexJson {
    #[serde(default)]
    manifests: Vec<Descriptor>,
}

#[derive(Debug, Deserialize)]
struct ManifestJson {
    config: Descriptor,
    layers: Vec<Descriptor>,
}

/// One image to load: where its parts are inside the unpacked archive.
struct Plan {
    config: String,
    expected_config: Option<Digest>,
    /// File and, for OCI, the manifest's blob digest.
    layers: Vec<(String, Option<Digest>)>,
    tags: Vec<Reference>,
}

/// The staging directory of a load, removed with everything in it when dropped.
struct Staging(PathBuf);

impl Drop for Staging {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_dir_all(&self.0) {
            tracing::warn!(path = %self.0.display(), error = %e, "remove load staging directory");
        }
    }
}

fn read_file(root: &Path, name: &str) -> Result<Vec<u8>> {
    let mut file = open_in(root, name)?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).map_err(|source| Error::Io {
        action: "read",
        path: root.join(name),
        source,
    })?;
    Ok(bytes)
}

fn open_in(root: &Path, name: &str) -> Result<File> {
    berth_image::open_file_in_root(root, Path::new(name)).map_err(|e| match e {
        berth_image::Error::Io { ref source, .. }
            if matches!(
                source.raw_os_error(),
                Some(libc::ENOENT | libc::ENOTDIR | libc::EINVAL)
            ) =>
        {
            Error::ArchiveMissingFile {
                file: name.to_string(),
            }
        }
        e => e.into(),
    })
}

fn parse_json<T: serde::de::DeserializeOwned>(bytes: &[u8], file: &str) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|source| Error::ArchiveBadJson {
        file: file.to_string(),
        source,
    })
}

fn sha256(bytes: &[u8]) -> Digest {
    let hash: [u8; 32] = Sha256::digest(bytes).into();
    Digest::sha256_from_bytes(&hash)
}

/// The images `manifest.json` describes.
fn plan_docker(root: &Path) -> Result<Vec<Plan>> {
    let entries: Vec<DockerManifestEntry> =
        parse_json(&read_file(root, "manifest.json")?, "manifest.json")?;
    entries
        .into_iter()
        .map(|e| {
            let tags = e
                .repo_tags
                .unwrap_or_default()
                .iter()
                .map(|t| Ok(t.parse::<Reference>()?.with_default_tag()))
                .collect::<Result<Vec<_>>>()?;
            Ok(Plan {
                config: e.config,
                expected_config: None,
                layers: e.layers.into_iter().map(|l| (l, None)).collect(),
                tags,
            })
        })
        .collect()
}

/// The images `index.json` describes; a nested index (multi-platform) contributes the manifest
/// for this machine's platform, else its first one.
fn plan_oci(root: &Path) -> Result<Vec<Plan>> {
    let index: IndexJson = parse_json(&read_file(root, "index.json")?, "index.json")?;
    let mut plans = Vec::new();
    for top in index.manifests {
        let name = top
            .annotations
            .get(ANNOTATION_IMAGE_NAME)
            .or_else(|| top.annotations.get(ANNOTATION_REF_NAME))
            .and_then(|n| n.parse::<Reference>().ok())
            // A bare `org.opencontainers.image.ref.name` like "latest" is no image name.
            .filter(|_| {
                top.annotations.contains_key(ANNOTATION_IMAGE_NAME)
                    || top
                        .annotations
                        .get(ANNOTATION_REF_NAME)
                        .is_some_and(|n| n.contains(':') || n.contains('/'))
            })
            .map(Reference::with_default_tag);
        let mut desc = top;
        if matches!(
            desc.media_type.as_str(),
            MEDIA_OCI_INDEX | MEDIA_DOCKER_LIST
        ) {
            let file = blob_name(&desc.digest);
            let nested: IndexJson = parse_json(&read_blob_checked(root, &desc.digest)?, &file)?;
            let arch = crate::system::go_arch(std::env::consts::ARCH);
            let mut manifests = nested.manifests;
            let pick = manifests
                .iter()
                .position(|m| {
                    m.platform
                        .as_ref()
                        .is_some_and(|p| p.os == "linux" && p.architecture == arch)
                })
                .unwrap_or(0);
            if manifests.is_empty() {
                return Err(Error::ArchiveMissingFile {
                    file: format!("{file} (an index without manifests)"),
                });
            }
            desc = manifests.swap_remove(pick);
        }
        let file = blob_name(&desc.digest);
        if !matches!(
            desc.media_type.as_str(),
            MEDIA_OCI_MANIFEST | MEDIA_DOCKER_MANIFEST | ""
        ) {
            return Err(Error::ArchiveUnsupportedManifest {
                file,
                media_type: desc.media_type,
            });
        }
        let manifest: ManifestJson = parse_json(&read_blob_checked(root, &desc.digest)?, &file)?;
        plans.push(Plan {
            config: blob_name(&manifest.config.digest),
            expected_config: Some(manifest.config.digest),
            layers: manifest
                .layers
                .into_iter()
                .map(|l| (blob_name(&l.digest), Some(l.digest)))
                .collect(),
            tags: name.into_iter().collect(),
        });
    }
    Ok(plans)
}

/// A small blob (index, manifest) of the archive, checked against its digest.
fn read_blob_checked(root: &Path, digest: &Digest) -> Result<Vec<u8>> {
    let file = blob_name(digest);
    let bytes = read_file(root, &file)?;
    let actual = sha256(&bytes);
    if &actual != digest {
        return Err(Error::ArchiveDigestMismatch {
            what: "digest",
            layer: file,
            expected: digest.clone(),
            actual,
        });
    }
    Ok(bytes)
}

/// Stores one planned image; on failure removes the snapshots it created.
fn load_one(store: &Store, root: &Path, plan: &Plan) -> Result<LoadedImage> {
    let config = read_file(root, &plan.config)?;
    let id = sha256(&config);
    if let Some(expected) = &plan.expected_config {
        if expected != &id {
            return Err(Error::ArchiveDigestMismatch {
                what: "digest",
                layer: plan.config.clone(),
                expected: expected.clone(),
                actual: id,
            });
        }
    }
    let parsed: Value = parse_json(&config, &plan.config)?;
    let diff_ids: Vec<Digest> = match parsed["rootfs"]["diff_ids"].as_array() {
        Some(ids) => ids
            .iter()
            .map(|d| serde_json::from_value(d.clone()))
            .collect::<std::result::Result<_, _>>()
            .map_err(|source| Error::ArchiveBadJson {
                file: plan.config.clone(),
                source,
            })?,
        None => Vec::new(),
    };
    if diff_ids.len() != plan.layers.len() {
        return Err(Error::ArchiveLayerCount {
            config: plan.config.clone(),
            layers: plan.layers.len(),
            diff_ids: diff_ids.len(),
        });
    }
    let mut created: Vec<Digest> = Vec::new();
    let mut layers = Vec::new();
    let result = (|| -> Result<Digest> {
        let mut parent: Option<Digest> = None;
        for ((file, blob), diff_id) in plan.layers.iter().zip(&diff_ids) {
            let reader = open_in(root, file)?;
            let ingest = format!("load-{}", crate::random_hex(16));
            let expected = Expected {
                name: file,
                diff_id: Some(diff_id),
                blob: blob.as_ref(),
            };
            let (layer, new) =
                store_layer_checked(store, reader, parent.as_ref(), &ingest, &expected)?;
            if new {
                created.push(layer.chain_id.clone());
            }
            parent = Some(layer.chain_id.clone());
            layers.push(layer);
        }
        record_image_bytes(store, &config, layers, plan.tags.iter(), None)
    })();
    if result.is_err() {
        for chain in created.iter().rev() {
            // Another load may already build on it; then it is that load's to keep.
            let _ = store.snapshots.remove(chain.as_str());
        }
    }
    let id = result?;
    Ok(LoadedImage {
        id,
        tags: plan.tags.iter().map(Reference::familiar).collect(),
    })
}

impl Engine {
    /// Resolves `names` for `docker save` (an unknown name fails here, before anything is
    /// written) and opens every blob the archive needs.
    pub async fn save_images(&self, names: Vec<String>) -> Result<SaveArchive> {
        let archive = self
            .with_store(move |store| {
                let mut images: Vec<SaveImage> = Vec::new();
                for name in &names {
                    for (image, tags) in save_targets(store, name)? {
                        add_save_image(store, &mut images, image, tags)?;
                    }
                }
                Ok(SaveArchive { images })
            })
            .await?;
        for image in &archive.images {
            self.events().publish(
                EventType::Image,
                "save",
                image.image.id.as_str(),
                Default::default(),
            );
        }
        Ok(archive)
    }

    /// `docker load`: stores every image of a `docker save` archive (Docker or OCI layout,
    /// plain or compressed) with its tags.
    pub async fn load_images(
        &self,
        reader: impl Read + Send + 'static,
    ) -> Result<Vec<LoadedImage>> {
        let staging = self
            .config()
            .data_root
            .join("tmp")
            .join(format!("load-{}", crate::random_hex(8)));
        let _gc = self.inner.gc_lock.read().await;
        let loaded = self
            .with_store(move |store| {
                std::fs::create_dir_all(&staging).map_err(|source| Error::Io {
                    action: "create",
                    path: staging.clone(),
                    source,
                })?;
                let staging = Staging(staging);
                let root = staging.0.as_path();
                // The outer tar goes through the same hardened unpacker as layers: names with
                // `..`, symlink tricks and the like cannot leave the staging directory.
                berth_image::unpack_layer(reader, root, &berth_image::UnpackOptions::flattened())?;
                let plans = if root.join("manifest.json").is_file() {
                    plan_docker(root)?
                } else if root.join("index.json").is_file() {
                    plan_oci(root)?
                } else {
                    return Err(Error::ArchiveWithoutManifest);
                };
                plans
                    .iter()
                    .map(|plan| load_one(store, root, plan))
                    .collect::<Result<Vec<_>>>()
            })
            .await?;
        for image in &loaded {
            self.events().publish(
                EventType::Image,
                "load",
                image.id.as_str(),
                Default::default(),
            );
        }
        Ok(loaded)
    }
}

/// What `docker save <name>` saves: a bare repository name means every tagged image of that
/// repository; otherwise the one image, under the tag it was named by (by id: under no name).
fn save_targets(store: &Store, name: &str) -> Result<Vec<(Image, Vec<Reference>)>> {
    let reference = name
        .parse::<Reference>()
        .ok()
        .filter(|_| !name.starts_with("sha256:"));
    if let Some(r) = reference
        .as_ref()
        .filter(|r| r.tag().is_none() && r.digest().is_none())
    {
        let tagged = store.metadata.repository_tags(&r.repository())?;
        if !tagged.is_empty() {
            return tagged
                .into_iter()
                .map(|(tag, id)| {
                    let tag = tag.parse::<Reference>()?;
                    Ok((store.metadata.get_image(&id)?, vec![tag]))
                })
                .collect();
        }
    }
    let image = resolve(store, name)?;
    let tags = match reference.filter(|r| r.digest().is_none()) {
        Some(r) => {
            let full = r.with_default_tag();
            if store
                .metadata
                .image_tags(&image.id)?
                .contains(&full.to_string())
            {
                vec![full]
            } else {
                Vec::new()
            }
        }
        None => Vec::new(),
    };
    Ok(vec![(image, tags)])
}

/// Adds `image` to a save archive, or only its `tags` when another name already added it.
fn add_save_image(
    store: &Store,
    images: &mut Vec<SaveImage>,
    image: Image,
    tags: Vec<Reference>,
) -> Result<()> {
    if let Some(seen) = images.iter_mut().find(|i| i.image.id == image.id) {
        for t in tags {
            if !seen.tags.contains(&t) {
                seen.tags.push(t);
            }
        }
        return Ok(());
    }
    let layers = image
        .layers
        .iter()
        .map(|l| {
            Ok((
                l.blob_digest.clone(),
                store.content.reader(&l.blob_digest)?,
                l.blob_size,
            ))
        })
        .collect::<Result<Vec<_>>>()?;
    images.push(SaveImage {
        config: read_blob(store, &image.id)?,
        manifest: read_blob(store, &image.manifest_digest)?,
        layers,
        tags,
        image,
    });
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
