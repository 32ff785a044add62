//! `docker pull` and `docker login`: resolve a reference on a registry (its mirrors first),
//! then fetch up to three layers at a time, each streamed once through the content
//! store's ingest, its digest, decompression and the unpacker; layers are stacked in order as
//! they finish. An interrupted download stays in its ingest and resumes with `Range` next time.

use std::io::Read;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use berth_registry::{
    Attempt, BlockedWhy, Credentials, Descriptor, Distribution, Endpoint, Platform, RawManifest,
    ResolvedManifest, Session,
};
use berth_store::metadata::Layer;
use berth_types::{Digest, Reference};
use futures_util::{StreamExt, TryStreamExt};
use serde::Deserialize;
use sha2::{Digest as _, Sha256};
use tokio_util::io::{StreamReader, SyncIoBridge};

use super::import::{
    chain_id, commit_layer, layer_media_type, record_manifest, unpack_blob, Expected,
    ManifestRecord, Unpacked,
};
use super::progress::{short, Meter, Reporter};
use crate::events::EventType;
use crate::{Engine, Error, Result};

/// Layers fetched at once, as dockerd's `max-concurrent-downloads` default.
const PARALLEL_DOWNLOADS: usize = 3;

/// How often a pull waiting for another pull's ingest of the same blob looks again.
const INGEST_BUSY_RETRY: std::time::Duration = std::time::Duration::from_millis(100);

/// Options of `docker pull`.
#[derive(Debug, Default, Clone)]
pub struct PullOptions {
    /// `os/arch[/variant]`; the host's when empty.
    pub platform: Option<String>,
    pub credentials: Credentials,
}

#[derive(Deserialize)]
struct ConfigRootfs {
    rootfs: RootFs,
}

#[derive(Deserialize)]
struct RootFs {
    #[serde(default)]
    diff_ids: Vec<Digest>,
}

/// One layer to have: where it is in the registry and what it must unpack to.
#[derive(Debug, Clone)]
struct Wanted {
    desc: Descriptor,
    diff_id: Digest,
    chain: Digest,
    present: bool,
}

/// Whether a registry request may be served by the registry's mirrors (pulls only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mirrors {
    Yes,
    No,
}

/// What every layer download of one pull shares.
struct Job {
    session: Arc<Session>,
    reference: String,
    reporter: Reporter,
    cancel: Arc<AtomicBool>,
}

/// A download that stops at its next read once the pull has failed elsewhere; the bytes it
/// got stay in its ingest, for the next pull to resume from.
struct Cancellable<R> {
    inner: R,
    cancel: Arc<AtomicBool>,
}

impl<R: Read> Read for Cancellable<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.cancel.load(Ordering::Relaxed) {
            return Err(std::io::Error::other(
                "pull cancelled: another layer failed",
            ));
        }
        self.inner.read(buf)
    }
}

/// A layer ready to be stacked.
enum Fetched {
    Present(Layer),
    Unpacked { key: String, unpacked: Unpacked },
}

/// What to ask a registry's manifests endpoint for: the digest if any, else the tag.
fn remote_name(reference: &Reference) -> String {
    match (reference.digest(), reference.tag()) {
        (Some(d), _) => d.to_string(),
        (None, t) => t.unwrap_or("latest").to_string(),
    }
}

/// `docker login`'s server address (`https://index.docker.io/v1/`, `http://host:port`,
/// `host:port`) as a registry name.
fn registry_name(server: &str) -> String {
    let host = server
        .split_once("://")
        .map_or(server, |(_, rest)| rest)
        .split('/')
        .next()
        .unwrap_or_default();
    match host {
        "" | "index.docker.io" | "registry-1.docker.io" => "docker.io".to_string(),
        h => h.to_string(),
    }
}

impl Engine {
    /// `POST /auth`: checks credentials against the registry they name.
    pub async fn login(&self, credentials: &Credentials) -> Result<()> {
        let domain = registry_name(&credentials.server_address);
        // Any repository will do: the answer (401 or not) is about the credentials.
        self.on_endpoints(&domain, Mirrors::No, |endpoint| async move {
            let session = Session::new(endpoint, "library/berth-login-check", credentials)?;
            session.check_login().await
        })
        .await
    }

    /// Runs `attempt` on the endpoints of registry `domain` in turn until one works, as
    /// dockerd: a failing mirror passes to the next endpoint whatever the error; the registry's
    /// own HTTPS passes to plain HTTP (insecure registries) only when it got no HTTP answer.
    /// The error names every endpoint that failed.
    pub(crate) async fn on_endpoints<T, F, Fut>(
        &self,
        domain: &str,
        mirrors: Mirrors,
        mut attempt: F,
    ) -> Result<T>
    where
        F: FnMut(Endpoint) -> Fut,
        Fut: std::future::Future<Output = berth_registry::Result<T>>,
    {
        let mut endpoints = self
            .inner
            .config
            .registry
            .endpoints(domain, mirrors == Mirrors::Yes)?
            .into_iter()
            .peekable();
        let mut tried = Vec::new();
        while let Some(endpoint) = endpoints.next() {
            let (url, mirror) = (endpoint.to_string(), endpoint.mirror);
            let e = match attempt(endpoint).await {
                Ok(found) => return Ok(found),
                Err(e) => e,
            };
            let last = endpoints.peek().is_none();
            if !mirror && (last || !e.is_transport()) {
                return Err(e.after(domain, tried).into());
            }
            tracing::warn!(registry = domain, endpoint = %url, mirror, error = %e, "registry endpoint failed");
            tried.push(Attempt {
                endpoint: url,
                error: e,
            });
        }
        // Only mirrors were tried: the registry itself is blocked.
        Err(berth_registry::Error::Blocked {
            registry: domain.to_string(),
            why: BlockedWhy::MirrorsFailed(tried),
        }
        .into())
    }

    /// `berth manifest inspect`: what the registry serves for `reference` (an index stays an
    /// index), asked with `credentials`.
    pub async fn remote_manifest(
        &self,
        reference: &str,
        credentials: &Credentials,
    ) -> Result<RawManifest> {
        let (session, wanted) = self.remote_session(reference, credentials).await?;
        Ok(session.raw_manifest(&wanted).await?)
    }

    /// `GET /distribution/{name}/json`: the descriptor of what the registry serves for
    /// `reference` and its platforms, asked with `credentials`.
    pub async fn distribution_inspect(
        &self,
        reference: &str,
        credentials: &Credentials,
    ) -> Result<Distribution> {
        let (session, wanted) = self.remote_session(reference, credentials).await?;
        Ok(session.distribution(&wanted).await?)
    }

    /// An authenticated pull session on the registry of `reference` (no mirrors: these ask
    /// about the registry itself), and the tag or digest to ask it for.
    async fn remote_session(
        &self,
        reference: &str,
        credentials: &Credentials,
    ) -> Result<(Session, String)> {
        let reference = reference.parse::<Reference>()?.with_default_tag();
        let path = reference.path();
        let session = self
            .on_endpoints(reference.domain(), Mirrors::No, |endpoint| async move {
                Session::authenticated(endpoint, path, credentials, false).await
            })
            .await?;
        Ok((session, remote_name(&reference)))
    }

    /// The session and image manifest for `reference`, trying mirrors before the registry.
    pub(crate) async fn resolve_remote(
        &self,
        reference: &Reference,
        platform: &Platform,
        credentials: &Credentials,
    ) -> Result<(Session, ResolvedManifest)> {
        let wanted = &remote_name(reference);
        let path = reference.path();
        self.on_endpoints(reference.domain(), Mirrors::Yes, |endpoint| async move {
            let session = Session::authenticated(endpoint, path, credentials, false).await?;
            let manifest = session.resolve(wanted, platform).await?;
            Ok((session, manifest))
        })
        .await
    }

    /// `docker pull`: returns the image id.
    pub async fn pull_image(
        &self,
        reference: &str,
        opts: PullOptions,
        reporter: Reporter,
    ) -> Result<Digest> {
        let reference = reference.parse::<Reference>()?.with_default_tag();
        let platform = Platform::parse(opts.platform.as_deref().unwrap_or_default())?;
        let (session, manifest) = self
            .resolve_remote(&reference, &platform, &opts.credentials)
            .await?;
        let shown = reference
            .digest()
            .map(Digest::to_string)
            .or(reference.tag().map(str::to_string))
            .unwrap_or_default();
        reporter.item(&shown, format!("Pulling from {}", reference.path()));
        let config_bytes = session.blob_bytes(&manifest.config).await?;
        let config: ConfigRootfs =
            serde_json::from_slice(&config_bytes).map_err(|source| Error::BadImageConfig {
                reference: reference.to_string(),
                digest: manifest.config.digest.clone(),
                source,
            })?;
        if config.rootfs.diff_ids.len() != manifest.layers.len() {
            return Err(Error::LayerCountMismatch {
                reference: reference.to_string(),
                layers: manifest.layers.len(),
                diff_ids: config.rootfs.diff_ids.len(),
            });
        }
        let mut wanted = Vec::new();
        let mut parent: Option<Digest> = None;
        for (desc, diff_id) in manifest.layers.iter().zip(config.rootfs.diff_ids) {
            if desc.is_foreign() {
                reporter.item(&short(&desc.digest), "Skipping foreign layer");
                continue;
            }
            let chain = chain_id(parent.as_ref(), &diff_id);
            parent = Some(chain.clone());
            wanted.push(Wanted {
                desc: desc.clone(),
                diff_id,
                chain,
                present: false,
            });
        }
        let _gc = self.inner.gc_lock.read().await;
        let wanted = self
            .with_store(move |store| {
                for w in &mut wanted {
                    w.present = store.snapshots.stat(w.chain.as_str()).is_ok()
                        && store.content.exists(&w.desc.digest)?;
                }
                Ok(wanted)
            })
            .await?;
        let up_to_date = wanted.iter().all(|w| w.present);
        for w in wanted.iter().filter(|w| !w.present) {
            reporter.item(&short(&w.desc.digest), "Pulling fs layer");
        }
        let session = Arc::new(session);
        let name = reference.to_string();
        // Set when a layer fails: the downloads still running stop at their next read.
        let cancel = Arc::new(AtomicBool::new(false));
        let mut ready: Vec<Option<Fetched>> = wanted.iter().map(|_| None).collect();
        // Unordered: a big layer does not hold back the downloads of the small ones after it
        // (unpacked layers do not depend on each other); they are stacked in order as soon as
        // every layer below is.
        let mut fetched =
            futures_util::stream::iter(wanted.into_iter().enumerate().map(|(i, w)| {
                let job = Job {
                    session: session.clone(),
                    reference: name.clone(),
                    reporter: reporter.clone(),
                    cancel: cancel.clone(),
                };
                async move { (i, self.fetch_layer(job, w).await) }
            }))
            .buffer_unordered(PARALLEL_DOWNLOADS);
        let mut layers: Vec<Layer> = Vec::new();
        let mut failure = None;
        // Every started download is awaited, even after a failure, so none is left writing
        // into the store behind the error: a failed pull leaves no half-made snapshot.
        while let Some((i, next)) = fetched.next().await {
            match next {
                Err(e) => {
                    cancel.store(true, Ordering::Relaxed);
                    failure.get_or_insert(e);
                }
                Ok(layer) if failure.is_some() => self.discard(layer).await,
                Ok(layer) => {
                    ready[i] = Some(layer);
                    while let Some(next) = ready.get_mut(layers.len()).and_then(Option::take) {
                        match self.stack(next, layers.last(), &reporter).await {
                            Ok(layer) => layers.push(layer),
                            Err(e) => {
                                cancel.store(true, Ordering::Relaxed);
                                failure = Some(e);
                                break;
                            }
                        }
                    }
                }
            }
        }
        if let Some(e) = failure {
            for layer in ready.into_iter().flatten() {
                self.discard(layer).await;
            }
            return Err(e);
        }
        let tag = reference.digest().is_none().then(|| reference.clone());
        let manifest_digest = manifest.digest.clone();
        let repository = reference.repository();
        let started = std::time::Instant::now();
        let id = self
            .with_store(move |store| {
                let config_id = Digest::sha256_from_bytes(&Sha256::digest(&config_bytes).into());
                let existed = store.metadata.get_image(&config_id).is_ok();
                let record = ManifestRecord {
                    bytes: &manifest.bytes,
                    media_type: &manifest.media_type,
                    index_digest: manifest.index_digest.clone(),
                    parent: None,
                };
                let id = record_manifest(store, &config_bytes, &record, layers, tag.iter())?;
                // What was asked for by tag: the list's digest when it came from one (Docker).
                let pulled = manifest.index_digest.as_ref().unwrap_or(&manifest.digest);
                store
                    .metadata
                    .add_repo_digest(&format!("{repository}@{pulled}"), &id)?;
                Ok((id, existed))
            })
            .await;
        let (id, existed) = id?;
        tracing::debug!(%id, elapsed = ?started.elapsed(), "image recorded");
        reporter.status(format!("Digest: {manifest_digest}"));
        reporter.status(if up_to_date && existed {
            format!("Status: Image is up to date for {}", reference.familiar())
        } else {
            format!(
                "Status: Downloaded newer image for {}",
                reference.familiar()
            )
        });
        self.events().publish(
            EventType::Image,
            "pull",
            &reference.familiar(),
            Default::default(),
        );
        Ok(id)
    }

    /// Commits a fetched layer onto `below` (the layer stacked last).
    async fn stack(
        &self,
        fetched: Fetched,
        below: Option<&Layer>,
        reporter: &Reporter,
    ) -> Result<Layer> {
        let (key, unpacked) = match fetched {
            Fetched::Present(layer) => return Ok(layer),
            Fetched::Unpacked { key, unpacked } => (key, unpacked),
        };
        let below = below.map(|l| l.chain_id.clone());
        let active = key.clone();
        let started = std::time::Instant::now();
        let committed = self
            .with_store(move |store| commit_layer(store, &key, below.as_ref(), true, unpacked))
            .await;
        match committed {
            Ok((layer, _)) => {
                tracing::debug!(%layer.chain_id, elapsed = ?started.elapsed(), "layer stacked");
                reporter.item(&short(&layer.blob_digest), "Pull complete");
                Ok(layer)
            }
            Err(e) => {
                self.discard_snapshot(active).await;
                Err(e)
            }
        }
    }

    /// Drops a fetched layer that will not be stacked (its blob stays, for the next pull).
    async fn discard(&self, fetched: Fetched) {
        if let Fetched::Unpacked { key, .. } = fetched {
            self.discard_snapshot(key).await;
        }
    }

    /// Removes an unpacked layer's active snapshot that will not be stacked.
    async fn discard_snapshot(&self, key: String) {
        let removed = self
            .with_store(move |store| Ok(store.snapshots.remove(&key)?))
            .await;
        if let Err(e) = removed {
            tracing::warn!(error = %e, "remove the snapshot of an abandoned layer");
        }
    }

    /// Downloads and unpacks one layer into a parentless snapshot (or reports it present).
    async fn fetch_layer(&self, job: Job, w: Wanted) -> Result<Fetched> {
        let Job {
            session,
            reference,
            reporter,
            cancel,
        } = job;
        let id = short(&w.desc.digest);
        let media_type = layer_media_type_of(&w.desc);
        if cancel.load(Ordering::Relaxed) {
            return Err(Error::PullCancelled(w.desc.digest));
        }
        if w.present {
            reporter.item(&id, "Already exists");
            return Ok(Fetched::Present(Layer {
                diff_id: w.diff_id,
                blob_digest: w.desc.digest,
                blob_size: w.desc.size,
                media_type,
                chain_id: w.chain,
            }));
        }
        let key = format!("extract-pull-{id}-{}", crate::random_hex(8));
        let (digest, size) = (w.desc.digest.clone(), w.desc.size);
        let prepare = || {
            let key = key.clone();
            let digest = digest.clone();
            self.with_store(move |store| {
                store.snapshots.prepare(&key, None)?;
                let ingest = format!("pull-{digest}");
                match store.content.writer(&ingest, Some((&digest, size))) {
                    Ok(w) => Ok((w, None)),
                    // The blob is here but not this snapshot chain: unpack the local copy.
                    Err(berth_store::Error::BlobExists(_)) => {
                        let local = store.content.reader(&digest)?;
                        let mut w = store
                            .content
                            .writer(&format!("unpack-{}", crate::random_hex(8)), None)?;
                        w.truncate()?;
                        Ok((w, Some(local)))
                    }
                    Err(e) => {
                        let _ = store.snapshots.remove(&key);
                        Err(e.into())
                    }
                }
            })
        };
        // Another pull of the same blob (two pods of one image at once) holds its ingest: wait
        // for it, then resume what it left or unpack what it committed (containerd retries too).
        let (mut blob, local) = loop {
            match prepare().await {
                Err(Error::Store(berth_store::Error::IngestBusy { .. })) => {
                    tokio::time::sleep(INGEST_BUSY_RETRY).await;
                }
                other => break other?,
            }
        };
        let broke = Arc::new(AtomicBool::new(false));
        let reader: Box<dyn Read + Send> = match local {
            Some(file) => Box::new(file),
            None => {
                let offset = blob.offset();
                let remote = match session.blob(&digest, offset).await {
                    Ok(r) => r,
                    Err(e) => {
                        let key = key.clone();
                        let _ = self
                            .with_store(move |store| Ok(store.snapshots.remove(&key)?))
                            .await;
                        return Err(e.into());
                    }
                };
                let start = if remote.resumed {
                    tracing::info!(%digest, offset, "resuming layer download");
                    reporter.item(&id, format!("Resuming download at byte {offset}"));
                    offset
                } else {
                    if offset > 0 {
                        blob = self
                            .with_store(move |_| {
                                blob.truncate()?;
                                Ok(blob)
                            })
                            .await?;
                    }
                    0
                };
                let prefix = blob.read_back()?.take(start);
                let mut meter =
                    Meter::new(reporter.clone(), id.clone(), "Downloading", start, size);
                let flag = broke.clone();
                let stream = remote
                    .stream
                    .inspect_ok(move |b| meter.add(b.len()))
                    .inspect_err(move |_| flag.store(true, Ordering::Relaxed));
                Box::new(Cancellable {
                    inner: prefix.chain(SyncIoBridge::new(StreamReader::new(stream))),
                    cancel,
                })
            }
        };
        let diff_id = w.diff_id.clone();
        let name = reference.clone();
        let started = std::time::Instant::now();
        let unpacked = {
            let key = key.clone();
            self.with_store(move |store| {
                let expected = Expected {
                    name: &name,
                    diff_id: Some(&diff_id),
                    blob: Some(&digest),
                };
                unpack_blob(store, &key, reader, blob, &expected)
            })
            .await
        };
        match unpacked {
            Ok(unpacked) => {
                tracing::debug!(%w.desc.digest, elapsed = ?started.elapsed(), "layer downloaded and unpacked");
                Ok(Fetched::Unpacked { key, unpacked })
            }
            Err(Error::ArchiveDigestMismatch {
                what,
                expected,
                actual,
                ..
            }) => Err(Error::PulledLayerMismatch {
                reference,
                digest: w.desc.digest,
                what,
                expected,
                actual,
            }),
            Err(e) if broke.load(Ordering::Relaxed) => Err(Error::DownloadInterrupted {
                reference,
                digest: w.desc.digest,
                source: Box::new(e),
            }),
            Err(e) => Err(Error::PullLayer {
                reference,
                digest: w.desc.digest,
                source: Box::new(e),
            }),
        }
    }
}

/// The OCI layer type a pulled layer is recorded with.
fn layer_media_type_of(desc: &Descriptor) -> String {
    berth_image::Compression::from_media_type(&desc.media_type).map_or_else(
        || desc.media_type.clone(),
        |c| layer_media_type(c).to_string(),
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
