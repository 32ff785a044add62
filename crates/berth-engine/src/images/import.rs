//! Turning a layer stream into stored content: the blob in the content store, its files in a
//! committed snapshot, in one pass (`import`, `load` and registry pulls all come through here);
//! and `docker import`, which makes a one-layer image from a rootfs tarball.

use std::io::{Read, Write};

use berth_image::{UnpackOptions, UnpackStats};
use berth_store::metadata::{Image, Layer};
use berth_store::Store;
use berth_types::{Digest, Reference};
use serde_json::{json, Value};
use sha2::{Digest as _, Sha256};

use crate::events::EventType;
use crate::{Engine, Error, Result};

pub(crate) const MEDIA_OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub(crate) const MEDIA_OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";

/// Copies what is read through it into the content writer (except the first `skip` bytes,
/// which a resumed ingest already holds). Remembers whether the source failed, which makes a
/// kept ingest worth resuming.
struct Tee<'a, R> {
    inner: R,
    blob: &'a mut berth_store::content::Writer,
    skip: u64,
    source_failed: bool,
}

impl<R: Read> Read for Tee<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self
            .inner
            .read(buf)
            .inspect_err(|_| self.source_failed = true)?;
        let kept = (self.skip.min(n as u64)) as usize;
        self.skip -= kept as u64;
        self.blob.write_all(&buf[kept..n])?;
        Ok(n)
    }
}

pub(crate) fn layer_media_type(c: berth_image::Compression) -> &'static str {
    match c {
        berth_image::Compression::None => "application/vnd.oci.image.layer.v1.tar",
        berth_image::Compression::Gzip => "application/vnd.oci.image.layer.v1.tar+gzip",
        berth_image::Compression::Zstd => "application/vnd.oci.image.layer.v1.tar+zstd",
    }
}

/// `sha256(parent_chain + " " + diff_id)`: the OCI chain id, the key of a layer's snapshot.
pub(crate) fn chain_id(parent: Option<&Digest>, diff_id: &Digest) -> Digest {
    match parent {
        None => diff_id.clone(),
        Some(p) => {
            let hash: [u8; 32] = Sha256::digest(format!("{p} {diff_id}").as_bytes()).into();
            Digest::sha256_from_bytes(&hash)
        }
    }
}

/// Stores one layer: the stream lands in the content store as a blob and is unpacked into a
/// new snapshot on top of `parent` (a chain id), committed under its own chain id. A layer
/// already present is unpacked again only to verify nothing; its snapshot is reused.
pub(crate) fn store_layer(
    store: &Store,
    reader: impl Read + Send,
    parent: Option<&Digest>,
    ingest_ref: &str,
) -> Result<Layer> {
    store_layer_checked(store, reader, parent, ingest_ref, &Expected::default()).map(|(l, _)| l)
}

/// What a layer must turn out to be, from an archive's manifest and image config.
#[derive(Debug, Default)]
pub(crate) struct Expected<'a> {
    /// How the layer is named in errors (its file in the archive).
    pub name: &'a str,
    pub diff_id: Option<&'a Digest>,
    pub blob: Option<&'a Digest>,
}

/// [`store_layer`], refusing the layer before anything is committed when its digests are not
/// the expected ones. Also says whether the snapshot is new (false: the same layer on the same
/// parent was already stored), so a caller that fails later can remove what it made.
pub(crate) fn store_layer_checked(
    store: &Store,
    reader: impl Read + Send,
    parent: Option<&Digest>,
    ingest_ref: &str,
    expected: &Expected<'_>,
) -> Result<(Layer, bool)> {
    let mut blob = store.content.writer(ingest_ref, None)?;
    // An old partial ingest under this ref is not ours to resume.
    blob.truncate()?;
    let key = format!("extract-{ingest_ref}");
    let parent_key = parent.map(Digest::to_string);
    store.snapshots.prepare(&key, parent_key.as_deref())?;
    let unpacked = unpack_blob(store, &key, reader, blob, expected)?;
    commit_layer(store, &key, parent, false, unpacked)
}

/// A layer unpacked into an active snapshot, its blob committed.
#[derive(Debug)]
pub(crate) struct Unpacked {
    stats: UnpackStats,
    blob_digest: Digest,
    blob_size: u64,
}

/// Unpacks `reader` into the active snapshot `key` while writing it to `blob` (resumed at
/// `blob.offset()`: `reader` then starts with the bytes the ingest already holds), and commits
/// the blob once both digests are as expected. On failure the snapshot is removed and the ingest
/// too, unless the source broke off (a download to resume).
pub(crate) fn unpack_blob(
    store: &Store,
    key: &str,
    reader: impl Read + Send,
    blob: berth_store::content::Writer,
    expected: &Expected<'_>,
) -> Result<Unpacked> {
    // The unpacker digests every byte it reads, the resumed prefix included: its compressed
    // digest is the blob's, so the bytes are hashed once.
    let mut blob = blob.digested_by_caller();
    let skip = blob.offset();
    let mut source_failed = false;
    let result = (|| -> Result<(UnpackStats, Digest, u64)> {
        let dest = store.snapshots.upper_dir(key)?;
        let mut tee = Tee {
            inner: reader,
            blob: &mut blob,
            skip,
            source_failed: false,
        };
        let unpacked = berth_image::unpack_layer(&mut tee, &dest, &UnpackOptions::default());
        source_failed = tee.source_failed;
        let stats = unpacked?;
        let (digest, size) = (stats.compressed_digest.clone(), stats.compressed_size);
        Ok((stats, digest, size))
    })();
    let checked = result.and_then(|(stats, blob_digest, blob_size)| {
        let mismatch = |what, want: Option<&Digest>, actual: &Digest| match want {
            Some(e) if e != actual => Err(Error::ArchiveDigestMismatch {
                what,
                layer: expected.name.to_string(),
                expected: e.clone(),
                actual: actual.clone(),
            }),
            _ => Ok(()),
        };
        mismatch("digest", expected.blob, &blob_digest)?;
        mismatch("diff_id", expected.diff_id, &stats.diff_id)?;
        Ok((stats, blob_digest, blob_size))
    });
    match checked {
        Ok((stats, blob_digest, blob_size)) => {
            let started = std::time::Instant::now();
            let committed = blob.commit(blob_size, &blob_digest);
            tracing::debug!(%blob_digest, elapsed = ?started.elapsed(), "blob committed");
            if let Err(e) = committed {
                let _ = store.snapshots.remove(key);
                return Err(e.into());
            }
            Ok(Unpacked {
                stats,
                blob_digest,
                blob_size,
            })
        }
        Err(e) => {
            let _ = store.snapshots.remove(key);
            if !source_failed {
                let _ = blob.abort();
            }
            Err(e)
        }
    }
}

/// Commits the active snapshot `key` of an unpacked layer under its chain id on `parent`;
/// `onto` when `key` was prepared without a parent (parallel pulls). Reuses an identical
/// snapshot that is already there and says whether a new one was made.
pub(crate) fn commit_layer(
    store: &Store,
    key: &str,
    parent: Option<&Digest>,
    onto: bool,
    unpacked: Unpacked,
) -> Result<(Layer, bool)> {
    let chain = chain_id(parent, &unpacked.stats.diff_id);
    let committed = match (parent, onto) {
        (Some(p), true) => store.snapshots.commit_onto(chain.as_str(), key, p.as_str()),
        _ => store.snapshots.commit(chain.as_str(), key),
    };
    let created = match committed {
        Ok(()) => true,
        Err(berth_store::Error::SnapshotExists(_)) => {
            store.snapshots.remove(key)?;
            false
        }
        Err(e) => {
            let _ = store.snapshots.remove(key);
            return Err(e.into());
        }
    };
    let layer = Layer {
        diff_id: unpacked.stats.diff_id,
        blob_digest: unpacked.blob_digest,
        blob_size: unpacked.blob_size,
        media_type: layer_media_type(unpacked.stats.compression).to_string(),
        chain_id: chain,
    };
    Ok((layer, created))
}

/// What `docker images` shows as an image's size: the disk its unpacked layers use, not the
/// (often compressed) blobs a registry serves.
fn unpacked_size(store: &Store, layers: &[Layer]) -> Result<u64> {
    layers.iter().try_fold(0, |sum, l| {
        Ok(sum + store.snapshots.usage(l.chain_id.as_str())?.size)
    })
}

/// Writes the config and manifest blobs for `layers` and records the image (tagging it).
pub(crate) fn record_image(
    store: &Store,
    config: &Value,
    layers: Vec<Layer>,
    tag: Option<&Reference>,
) -> Result<Digest> {
    let config_bytes = serde_json::to_vec(config).map_err(Error::Json)?;
    record_image_bytes(store, &config_bytes, layers, tag.into_iter(), None)
}

/// [`record_image`] with the config as given: its bytes are the image id, so an image loaded
/// from an archive keeps the id it had where it was saved. `parent`: the image a build step
/// made this one on.
pub(crate) fn record_image_bytes<'t>(
    store: &Store,
    config_bytes: &[u8],
    layers: Vec<Layer>,
    tags: impl Iterator<Item = &'t Reference>,
    parent: Option<&Digest>,
) -> Result<Digest> {
    let config_digest = store.content.write_blob(config_bytes)?;
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": MEDIA_OCI_MANIFEST,
        "config": {"mediaType": MEDIA_OCI_CONFIG, "digest": config_digest, "size": config_bytes.len()},
        "layers": layers.iter().map(|l| json!({
            "mediaType": l.media_type, "digest": l.blob_digest, "size": l.blob_size,
        })).collect::<Vec<_>>(),
    });
    let manifest_bytes = serde_json::to_vec(&manifest).map_err(Error::Json)?;
    record_manifest(
        store,
        config_bytes,
        &ManifestRecord {
            bytes: &manifest_bytes,
            media_type: MEDIA_OCI_MANIFEST,
            index_digest: None,
            parent: parent.cloned(),
        },
        layers,
        tags,
    )
}

/// A manifest as it is to be kept: the exact bytes (their digest is what registries name).
#[derive(Debug)]
pub(crate) struct ManifestRecord<'a> {
    pub bytes: &'a [u8],
    pub media_type: &'a str,
    pub index_digest: Option<Digest>,
    /// The image a build step made this one on.
    pub parent: Option<Digest>,
}

/// Stores config and manifest blobs and records the image with its layers and tags.
pub(crate) fn record_manifest<'t>(
    store: &Store,
    config_bytes: &[u8],
    manifest: &ManifestRecord<'_>,
    layers: Vec<Layer>,
    tags: impl Iterator<Item = &'t Reference>,
) -> Result<Digest> {
    let config_digest = store.content.write_blob(config_bytes)?;
    let manifest_digest = store.content.write_blob(manifest.bytes)?;
    let size = unpacked_size(store, &layers)?;
    let image = Image {
        id: config_digest.clone(),
        manifest_digest,
        index_digest: manifest.index_digest.clone(),
        media_type: manifest.media_type.to_string(),
        size,
        config: String::from_utf8_lossy(config_bytes).into_owned(),
        layers,
        created: chrono::Utc::now(),
        parent: manifest.parent.clone(),
    };
    match store.metadata.create_image(&image) {
        // Same content imported again: the same image.
        Ok(()) | Err(berth_store::Error::ImageExists(_)) => {}
        Err(e) => return Err(e.into()),
    }
    for tag in tags {
        store.metadata.tag_image(&tag.to_string(), &config_digest)?;
    }
    Ok(config_digest)
}

/// A Go duration (`1s`, `500ms`, `1m30s`) in nanoseconds.
fn go_duration(s: &str) -> Option<i64> {
    let mut total: i64 = 0;
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let value: f64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let nanos_per = match &rest[..unit_len] {
            "ns" => 1.0,
            "us" | "µs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        rest = &rest[unit_len..];
        total = total.checked_add((value * nanos_per) as i64)?;
    }
    (!s.is_empty()).then_some(total)
}

/// `HEALTHCHECK [--interval=D] [--timeout=D] [--start-period=D] [--start-interval=D]
/// [--retries=N] CMD command` or `HEALTHCHECK NONE`, as the Dockerfile instruction.
fn healthcheck_change(arg: &str) -> std::result::Result<Value, &'static str> {
    let mut check = json!({"Test": [], "Interval": 0, "Timeout": 0, "StartPeriod": 0, "StartInterval": 0, "Retries": 0});
    let mut rest = arg.trim();
    while let Some(flag) = rest.strip_prefix("--") {
        let (opt, after) = flag.split_once(char::is_whitespace).unwrap_or((flag, ""));
        let (name, value) = opt.split_once('=').ok_or("expected --flag=value")?;
        let key = match name {
            "interval" => "Interval",
            "timeout" => "Timeout",
            "start-period" => "StartPeriod",
            "start-interval" => "StartInterval",
            "retries" => "Retries",
            _ => return Err("unknown HEALTHCHECK flag"),
        };
        check[key] = if key == "Retries" {
            json!(value
                .parse::<i64>()
                .map_err(|_| "--retries needs a number")?)
        } else {
            json!(go_duration(value).ok_or("invalid duration")?)
        };
        rest = after.trim_start();
    }
    let (kind, cmd) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
    check["Test"] = match kind.to_ascii_uppercase().as_str() {
        "NONE" => json!(["NONE"]),
        "CMD" if cmd.trim().starts_with('[') => {
            let args: Vec<String> =
                serde_json::from_str(cmd.trim()).map_err(|_| "expected a JSON array of strings")?;
            json!(std::iter::once("CMD".to_string())
                .chain(args)
                .collect::<Vec<_>>())
        }
        "CMD" if !cmd.trim().is_empty() => json!(["CMD-SHELL", cmd.trim()]),
        _ => return Err("expected CMD command or NONE"),
    };
    Ok(check)
}

/// Applies Dockerfile-style `--change` instructions to an image config's `config` object.
pub(crate) fn apply_changes(config: &mut Value, changes: &[String]) -> Result<()> {
    for change in changes {
        let bad = |reason: &str| Error::BadChange {
            change: change.clone(),
            reason: reason.to_string(),
        };
        let (instruction, arg) = change
            .trim()
            .split_once(char::is_whitespace)
            .unwrap_or((change.trim(), ""));
        let arg = arg.trim();
        let exec_form = |arg: &str| -> Result<Value> {
            if arg.starts_with('[') {
                let v: Vec<String> = serde_json::from_str(arg)
                    .map_err(|_| bad("expected a JSON array of strings"))?;
                Ok(json!(v))
            } else {
                Ok(json!(["/bin/sh", "-c", arg]))
            }
        };
        match instruction.to_ascii_uppercase().as_str() {
            "CMD" => config["Cmd"] = exec_form(arg)?,
            "ENTRYPOINT" => config["Entrypoint"] = exec_form(arg)?,
            "WORKDIR" => config["WorkingDir"] = json!(arg),
            "USER" => config["User"] = json!(arg),
            "STOPSIGNAL" => config["StopSignal"] = json!(arg),
            "ENV" => {
                let pairs: Vec<(String, String)> = if arg.contains('=') {
                    arg.split_whitespace()
                        .map(|kv| kv.split_once('=').map(|(k, v)| (k.to_string(), v.trim_matches('"').to_string())))
                        .collect::<Option<_>>()
                        .ok_or_else(|| bad("expected KEY=VALUE"))?
                } else {
                    let (k, v) = arg.split_once(char::is_whitespace).ok_or_else(|| bad("expected KEY VALUE"))?;
                    vec![(k.to_string(), v.trim().to_string())]
                };
                let mut env: Vec<String> = config["Env"]
                    .as_array()
                    .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
                    .unwrap_or_default();
                for (k, v) in pairs {
                    env.retain(|e| e.split_once('=').map_or(e.as_str(), |(ek, _)| ek) != k);
                    env.push(format!("{k}={v}"));
                }
                config["Env"] = json!(env);
            }
            "LABEL" => {
                for kv in arg.split_whitespace() {
                    let (k, v) = kv.split_once('=').ok_or_else(|| bad("expected KEY=VALUE"))?;
                    if !config["Labels"].is_object() {
                        config["Labels"] = json!({});
                    }
                    config["Labels"][k] = json!(v.trim_matches('"'));
                }
            }
            "EXPOSE" => {
                for port in arg.split_whitespace() {
                    let port = if port.contains('/') { port.to_string() } else { format!("{port}/tcp") };
                    if !config["ExposedPorts"].is_object() {
                        config["ExposedPorts"] = json!({});
                    }
                    config["ExposedPorts"][port] = json!({});
                }
            }
            "VOLUME" => {
                let paths: Vec<String> = if arg.starts_with('[') {
                    serde_json::from_str(arg).map_err(|_| bad("expected a JSON array of strings"))?
                } else {
                    arg.split_whitespace().map(str::to_string).collect()
                };
                if !config["Volumes"].is_object() {
                    config["Volumes"] = json!({});
                }
                for p in paths {
                    config["Volumes"][p] = json!({});
                }
            }
            "HEALTHCHECK" => config["Healthcheck"] = healthcheck_change(arg).map_err(&bad)?,
            _ => return Err(bad("unsupported instruction (CMD, ENTRYPOINT, ENV, EXPOSE, HEALTHCHECK, LABEL, USER, VOLUME, WORKDIR, STOPSIGNAL)")),
        }
    }
    Ok(())
}

pub(crate) fn go_arch() -> &'static str {
    crate::system::go_arch(std::env::consts::ARCH)
}

/// Options of `docker import`.
#[derive(Debug, Default, Clone)]
pub struct ImportOptions {
    pub reference: Option<String>,
    pub changes: Vec<String>,
    pub message: Option<String>,
}

impl Engine {
    /// `docker import`: a rootfs tarball (plain, gzip or zstd) becomes a one-layer image.
    pub async fn import_image(
        &self,
        reader: impl Read + Send + 'static,
        opts: ImportOptions,
    ) -> Result<Digest> {
        let tag = opts
            .reference
            .as_deref()
            .filter(|r| !r.is_empty())
            .map(|r| r.parse::<Reference>().map(Reference::with_default_tag))
            .transpose()?;
        let mut config_obj = json!({});
        apply_changes(&mut config_obj, &opts.changes)?;
        let _gc = self.inner.gc_lock.read().await;
        let id = self
            .with_store(move |store| {
                let ingest = format!("import-{}", crate::random_hex(16));
                let layer = store_layer(store, reader, None, &ingest)?;
                let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
                // dockerd's: the message, else where the layer came from.
                let comment = opts
                    .message
                    .filter(|m| !m.is_empty())
                    .unwrap_or_else(|| "Imported from -".to_string());
                let config = json!({
                    "architecture": go_arch(),
                    "comment": comment,
                    "os": "linux",
                    "created": now,
                    "config": config_obj,
                    "rootfs": {"type": "layers", "diff_ids": [layer.diff_id]},
                    "history": [{"created": now, "comment": comment}],
                });
                record_image(store, &config, vec![layer], tag.as_ref())
            })
            .await?;
        self.events()
            .publish(EventType::Image, "import", id.as_str(), Default::default());
        Ok(id)
    }
}

#[cfg(test)]
mod tests;
