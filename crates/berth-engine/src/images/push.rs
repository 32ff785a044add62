//! `docker push`: the image's blobs as stored (so its manifest digest is the same on every
//! registry), up to three layers at a time; blobs the repository has are skipped (`HEAD`), ones
//! another repository of the same registry has are mounted, the rest uploaded in one streamed
//! request each. The manifest goes last, byte for byte as pulled, loaded or built.

use berth_registry::{Credentials, Session};
use berth_types::{Digest, Reference};
use futures_util::{StreamExt, TryStreamExt};
use sha2::{Digest as _, Sha256};
use tokio_util::io::ReaderStream;

use super::progress::{short, Meter, Pushed, Reporter};
use crate::events::EventType;
use crate::{Engine, Error, Result};

const PARALLEL_UPLOADS: usize = 3;

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
    path: std::path::PathBuf,
    /// Layers are shown; the config is not (as Docker).
    shown: bool,
}

/// What the store holds for the image behind a tag.
#[derive(Debug)]
struct Local {
    id: Digest,
    manifest: Vec<u8>,
    media_type: String,
    blobs: Vec<Blob>,
    /// Other repositories of the same registry with this image: mount sources.
    siblings: Vec<String>,
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
        let _gc = self.inner.gc_lock.read().await;
        let local = {
            let reference = reference.clone();
            self.with_store(move |store| {
                let image = match super::resolve(store, &reference.to_string()) {
                    Ok(i) => i,
                    Err(Error::NoSuchImage(_)) => {
                        return Err(Error::NoSuchTagToPush(reference.familiar()))
                    }
                    Err(e) => return Err(e),
                };
                let manifest = std::fs::read(store.content.blob_path(&image.manifest_digest))
                    .map_err(|source| Error::Io {
                        action: "read manifest",
                        path: store.content.blob_path(&image.manifest_digest),
                        source,
                    })?;
                let config_size = store.content.info(&image.id)?.size;
                let mut blobs: Vec<Blob> = image
                    .layers
                    .iter()
                    .map(|l| Blob {
                        path: store.content.blob_path(&l.blob_digest),
                        digest: l.blob_digest.clone(),
                        size: l.blob_size,
                        shown: true,
                    })
                    .collect();
                blobs.push(Blob {
                    path: store.content.blob_path(&image.id),
                    digest: image.id.clone(),
                    size: config_size,
                    shown: false,
                });
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
                    blobs,
                    siblings,
                })
            })
            .await?
        };
        reporter.status(format!(
            "The push refers to repository [{}]",
            reference.repository()
        ));
        let endpoint = self.inner.config.registry.endpoint(reference.domain())?;
        let session = Session::new(endpoint, reference.path(), &opts.credentials)?;
        session.authenticate(true).await?;
        for b in local.blobs.iter().filter(|b| b.shown) {
            reporter.item(&short(&b.digest), "Preparing");
        }
        // Owned arguments: a future borrowing from this stack frame is not `Send` for every
        // lifetime the executor may pick.
        let session = std::sync::Arc::new(session);
        let siblings = std::sync::Arc::new(local.siblings);
        futures_util::stream::iter(
            local
                .blobs
                .into_iter()
                .map(|b| push_blob(session.clone(), b, siblings.clone(), reporter.clone())),
        )
        .buffer_unordered(PARALLEL_UPLOADS)
        .try_collect::<Vec<()>>()
        .await?;
        session
            .push_manifest(&tag, local.manifest.clone(), &local.media_type)
            .await?;
        let digest = Digest::sha256_from_bytes(&Sha256::digest(&local.manifest).into());
        let repo_digest = format!("{}@{digest}", reference.repository());
        let id = local.id.clone();
        self.with_store(move |store| Ok(store.metadata.add_repo_digest(&repo_digest, &id)?))
            .await?;
        let pushed = Pushed {
            tag,
            digest,
            size: local.manifest.len() as u64,
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
}

async fn push_blob(
    session: std::sync::Arc<Session>,
    blob: Blob,
    siblings: std::sync::Arc<Vec<String>>,
    reporter: Reporter,
) -> Result<()> {
    let id = short(&blob.digest);
    let say = |status: &str| {
        if blob.shown {
            reporter.item(&id, status.to_string());
        }
    };
    if session.blob_exists(&blob.digest).await? {
        say("Layer already exists");
        return Ok(());
    }
    for from in siblings.iter() {
        if session.mount(&blob.digest, from).await.is_ok() {
            say(&format!("Mounted from {from}"));
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
        .shown
        .then(|| Meter::new(reporter.clone(), id.clone(), "Pushing", 0, blob.size));
    let stream = ReaderStream::with_capacity(file, 1 << 20).inspect_ok(move |b| {
        if let Some(m) = meter.as_mut() {
            m.add(b.len());
        }
    });
    session.push_blob(&blob.digest, blob.size, stream).await?;
    say("Pushed");
    Ok(())
}
