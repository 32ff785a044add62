//! `docker push`, as dockerd does it. Layers stored uncompressed (made by `commit`, `import`,
//! or `load` of a plain archive) are gzipped into the content store first, once: `gzip_blobs`
//! remembers the copy, so every push sends the same bytes and gets the same manifest digest.
//! Such an image goes up under a new manifest (Docker v2.2; OCI when a layer is zstd, which
//! v2.2 cannot name) over the same config, so its id stays. An image whose layers are all
//! compressed (pulled ones) goes up as stored, its manifest byte for byte, so its digest is the
//! same on every registry.
//!
//! Up to three layers at a time; blobs the repository has are skipped (`HEAD`), ones another
//! repository of the same registry has are mounted, the rest uploaded in one streamed request
//! each. The manifest goes last.

use std::sync::Arc;

use berth_image::Compression;
use berth_registry::{media, Credentials, Descriptor, Session};
use berth_types::{Digest, Reference};
use futures_util::{StreamExt, TryStreamExt};
use serde::Serialize;
use sha2::{Digest as _, Sha256};
use tokio_util::io::ReaderStream;

use super::import::layer_media_type;
use super::progress::{short, Meter, Pushed, Reporter};
use super::pull::Mirrors;
use crate::events::EventType;
use crate::{Engine, Error, Result};

const PARALLEL_UPLOADS: usize = 3;

/// Docker v2.2's gzip layer (the OCI one is `import::layer_media_type`).
const DOCKER_LAYER_GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";

/// Options of `docker push`.
#[derive(Debug, Default, Clone)]
pub struct PushOptions {
    pub credentials: Credentials,
}

/// A blob to send and where it is.
#[derive(Debug, Clone)]
struct Blob {
    digest: Digest,
    size: u64,
    media_type: String,
    path: std::path::PathBuf,
    /// The progress id of a layer (the short digest of the blob stored, so it stays the same
    /// once the layer is gzipped); `None` for the config, which Docker does not show.
    id: Option<String>,
}

impl Blob {
    fn compression(&self) -> Option<Compression> {
        Compression::from_media_type(&self.media_type)
    }

    /// A plain tar layer, which goes up gzipped.
    fn uncompressed(&self) -> bool {
        self.compression() == Some(Compression::None)
    }

    fn say(&self, reporter: &Reporter, status: &str) {
        if let Some(id) = &self.id {
            reporter.item(id, status);
        }
    }
}

/// What the store holds for the image behind a tag.
#[derive(Debug)]
struct Local {
    id: Digest,
    /// Pushed as it is unless a layer is gzipped on the way.
    manifest: Vec<u8>,
    media_type: String,
    config: Blob,
    layers: Vec<Blob>,
    /// Other repositories of the same registry with this image: mount sources.
    siblings: Vec<String>,
}

/// What every upload of one push shares.
#[derive(Debug)]
struct Upload {
    engine: Engine,
    session: Session,
    siblings: Vec<String>,
    reporter: Reporter,
}

/// An image manifest as Berth writes it (the field order of Docker's).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ImageManifest<'a> {
    schema_version: u32,
    media_type: &'a str,
    config: Descriptor,
    layers: Vec<Descriptor>,
}

impl Engine {
    pub async fn push_image(
        &self,
        name: &str,
        opts: PushOptions,
        reporter: Reporter,
    ) -> Result<Pushed> {
        let reference = name.parse::<Reference>()?.with_default_tag();
        let tag = match (reference.tag(), reference.digest()) {
            (Some(t), None) => t.to_string(),
            _ => return Err(Error::TagWithDigest(name.to_string())),
        };
        // Held for reading to the end: GC must not take a gzip copy between its making and
        // its record, nor the blobs being uploaded.
        let _gc = self.inner.gc_lock.read().await;
        let local = {
            let reference = reference.clone();
            self.with_store(move |store| local_image(store, &reference))
                .await?
        };
        reporter.status(format!(
            "The push refers to repository [{}]",
            reference.repository()
        ));
        let (path, credentials) = (reference.path(), &opts.credentials);
        let session = self
            .on_endpoints(reference.domain(), Mirrors::No, |endpoint| async move {
                Session::authenticated(endpoint, path, credentials, true).await
            })
            .await?;
        for b in &local.layers {
            b.say(&reporter, "Preparing");
        }
        for b in local.layers.iter().skip(PARALLEL_UPLOADS) {
            b.say(&reporter, "Waiting");
        }
        let regenerate = local.layers.iter().any(Blob::uncompressed);
        // Owned, shared arguments: a future borrowing from this stack frame is not `Send` for
        // every lifetime the executor may pick.
        let upload = Arc::new(Upload {
            engine: self.clone(),
            session,
            siblings: local.siblings,
            reporter: reporter.clone(),
        });
        let layers: Vec<Blob> = futures_util::stream::iter(local.layers.into_iter().map(|b| {
            let upload = upload.clone();
            async move {
                let b = if b.uncompressed() {
                    upload.engine.gzip_copy(b).await?
                } else {
                    b
                };
                push_blob(&upload, &b).await?;
                Ok::<_, Error>(b)
            }
        }))
        .buffered(PARALLEL_UPLOADS)
        .try_collect()
        .await?;
        push_blob(&upload, &local.config).await?;
        let (manifest, media_type) = if regenerate {
            let (bytes, media_type) = manifest_for(&local.config, &layers)?;
            (bytes, media_type.to_string())
        } else {
            (local.manifest, local.media_type)
        };
        upload
            .session
            .push_manifest(&tag, manifest.clone(), &media_type)
            .await?;
        let digest = Digest::sha256_from_bytes(&Sha256::digest(&manifest).into());
        let repo_digest = format!("{}@{digest}", reference.repository());
        let id = local.id.clone();
        self.with_store(move |store| Ok(store.metadata.add_repo_digest(&repo_digest, &id)?))
            .await?;
        let pushed = Pushed {
            tag,
            digest,
            size: manifest.len() as u64,
        };
        reporter.pushed(pushed.clone());
        self.events().publish(
            EventType::Image,
            "push",
            &reference.familiar(),
            Default::default(),
        );
        Ok(pushed)
    }

    /// The gzip copy of the uncompressed layer `layer`: the one an earlier push made, or a new
    /// one streamed from the layer blob into the content store (and recorded).
    async fn gzip_copy(&self, layer: Blob) -> Result<Blob> {
        self.with_store(move |store| {
            let source = &layer.digest;
            let known = match store.metadata.gzip_blob(source)? {
                Some((digest, size)) if store.content.exists(&digest)? => Some((digest, size)),
                _ => None,
            };
            let (digest, size) = match known {
                Some(k) => k,
                None => {
                    let tar = store.content.reader(source)?;
                    // A ref of its own: two pushes of the layer at once each make a copy (the
                    // same bytes) instead of refusing each other.
                    let ingest = format!("push-gzip-{}-{}", source.hex(), crate::random_hex(8));
                    let mut blob = store.content.writer(&ingest, None)?;
                    let (digest, size) =
                        match berth_image::gzip_layer(tar, &mut blob, source.as_str()) {
                            Ok(made) => made,
                            Err(e) => {
                                let _ = blob.abort();
                                return Err(e.into());
                            }
                        };
                    blob.commit(size, &digest)?;
                    store.metadata.add_gzip_blob(source, &digest, size)?;
                    (digest, size)
                }
            };
            Ok(Blob {
                path: store.content.blob_path(&digest),
                digest,
                size,
                media_type: layer_media_type(Compression::Gzip).to_string(),
                id: layer.id,
            })
        })
        .await
    }
}

/// The image behind `reference` with the blobs a push sends.
fn local_image(store: &berth_store::Store, reference: &Reference) -> Result<Local> {
    let image = match super::resolve(store, &reference.to_string()) {
        Ok(i) => i,
        Err(Error::NoSuchImage(_)) => return Err(Error::NoSuchTagToPush(reference.familiar())),
        Err(e) => return Err(e),
    };
    let manifest_path = store.content.blob_path(&image.manifest_digest);
    let manifest = std::fs::read(&manifest_path).map_err(|source| Error::Io {
        action: "read manifest",
        path: manifest_path,
        source,
    })?;
    let config = Blob {
        path: store.content.blob_path(&image.id),
        digest: image.id.clone(),
        size: store.content.info(&image.id)?.size,
        media_type: media::DOCKER_CONFIG.to_string(),
        id: None,
    };
    let layers = image
        .layers
        .iter()
        .map(|l| Blob {
            path: store.content.blob_path(&l.blob_digest),
            digest: l.blob_digest.clone(),
            size: l.blob_size,
            media_type: l.media_type.clone(),
            id: Some(short(&l.blob_digest)),
        })
        .collect();
    let siblings = store
        .metadata
        .image_tags(&image.id)?
        .iter()
        .filter_map(|t| t.parse::<Reference>().ok())
        .filter(|r| r.domain() == reference.domain() && r.path() != reference.path())
        .map(|r| r.path().to_string())
        .collect();
    Ok(Local {
        id: image.id,
        manifest,
        media_type: image.media_type,
        config,
        layers,
        siblings,
    })
}

/// The manifest dockerd writes for `config` and the pushed `layers`: Docker v2.2, or OCI when a
/// layer is zstd. Returns its bytes and media type.
fn manifest_for(config: &Blob, layers: &[Blob]) -> Result<(Vec<u8>, &'static str)> {
    let oci = layers
        .iter()
        .any(|l| l.compression() == Some(Compression::Zstd));
    let (manifest_type, config_type) = if oci {
        (media::OCI_MANIFEST, media::OCI_CONFIG)
    } else {
        (media::DOCKER_MANIFEST, media::DOCKER_CONFIG)
    };
    let descriptor = |b: &Blob, media_type: String| Descriptor {
        media_type,
        digest: b.digest.clone(),
        size: b.size,
        urls: None,
        platform: None,
    };
    let manifest = ImageManifest {
        schema_version: 2,
        media_type: manifest_type,
        config: descriptor(config, config_type.to_string()),
        layers: layers
            .iter()
            .map(|l| {
                let media_type = match (l.compression(), oci) {
                    (Some(Compression::Gzip), false) => DOCKER_LAYER_GZIP.to_string(),
                    (Some(c), true) => layer_media_type(c).to_string(),
                    // Not a layer type Berth knows: as stored.
                    _ => l.media_type.clone(),
                };
                descriptor(l, media_type)
            })
            .collect(),
    };
    let bytes = serde_json::to_vec(&manifest).map_err(Error::Json)?;
    Ok((bytes, manifest_type))
}

/// Sends one blob unless the repository has it or can mount it, reporting as Docker does.
async fn push_blob(upload: &Upload, blob: &Blob) -> Result<()> {
    let (session, reporter) = (&upload.session, &upload.reporter);
    if session.blob_exists(&blob.digest).await? {
        blob.say(reporter, "Layer already exists");
        return Ok(());
    }
    for from in &upload.siblings {
        if session.mount(&blob.digest, from).await.is_ok() {
            blob.say(reporter, &format!("Mounted from {from}"));
            return Ok(());
        }
    }
    let file = tokio::fs::File::open(&blob.path)
        .await
        .map_err(|source| Error::Io {
            action: "open blob",
            path: blob.path.clone(),
            source,
        })?;
    let mut meter = blob
        .id
        .clone()
        .map(|id| Meter::new(reporter.clone(), id, "Pushing", 0, blob.size));
    let stream = ReaderStream::with_capacity(file, 1 << 20).inspect_ok(move |b| {
        if let Some(m) = meter.as_mut() {
            m.add(b.len());
        }
    });
    session.push_blob(&blob.digest, blob.size, stream).await?;
    blob.say(reporter, "Pushed");
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
