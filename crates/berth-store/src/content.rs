//! Content-addressed blob store, modelled on containerd's content store.
//!
//! ```text
//! <root>/blobs/sha256/<hex>          committed blobs, read-only (0444), never written in place
//! <root>/ingest/<sha256(ref)>/meta   JSON: the ref and what the writer expects
//! <root>/ingest/<sha256(ref)>/data   bytes received so far
//! <root>/ingest/<sha256(ref)>/lock   flock'ed by the one live writer of the ref
//! ```
//!
//! An ingest directory is named by the sha256 of its ref so any ref string (`"pull-docker.io/…"`)
//! is a safe file name. A blob only appears under `blobs/` by `rename(2)` of a fully written,
//! fsynced and verified `data` file, so readers never see half-written content.
//!
//! The store keeps no state in memory and no root lock: several processes may share it.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use berth_types::Digest;
use nix::fcntl::Flock;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::error::{io, Error, Result};
use crate::fsutil::{fsync_dir, temp_name, try_lock};

/// A committed blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobInfo {
    pub digest: Digest,
    pub size: u64,
    /// When the last byte was written; GC spares blobs newer than its cut-off.
    pub modified: SystemTime,
}

/// An unfinished write, as [`ContentStore::list_ingests`] reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngestInfo {
    pub reference: String,
    /// Bytes already received: where a resumed download continues (HTTP `Range: bytes=<offset>-`).
    pub offset: u64,
    pub expected: Option<(Digest, u64)>,
    pub updated: SystemTime,
}

/// What `ingest/<h>/meta` holds.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
struct IngestMeta {
    reference: String,
    expected_digest: Option<Digest>,
    expected_size: Option<u64>,
}

/// The blob store rooted at one directory.
#[derive(Debug, Clone)]
pub struct ContentStore {
    root: PathBuf,
}

impl ContentStore {
    /// Opens (creating if needed) the store at `root`.
    pub fn open(root: impl Into<PathBuf>) -> Result<Self> {
        let root = root.into();
        for dir in [root.join("blobs").join("sha256"), root.join("ingest")] {
            fs::create_dir_all(&dir).map_err(io("create directory", &dir))?;
        }
        Ok(Self { root })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where the blob with `digest` lives (whether or not it exists yet).
    pub fn blob_path(&self, digest: &Digest) -> PathBuf {
        self.root
            .join("blobs")
            .join(digest.algorithm())
            .join(digest.hex())
    }

    fn ingest_root(&self) -> PathBuf {
        self.root.join("ingest")
    }

    fn ingest_dir(&self, reference: &str) -> PathBuf {
        let h = Digest::sha256_from_bytes(&Sha256::digest(reference.as_bytes()).into());
        self.ingest_root().join(h.hex())
    }

    /// Opens a writer for `reference`, resuming an earlier ingest of the same ref: the returned
    /// writer's [`Writer::offset`] is how many bytes are already there, and its hash state has
    /// been rebuilt by reading them back.
    ///
    /// An existing ingest that expected a different digest is started over. Only one writer per
    /// ref may be live at a time (across processes): a second one gets [`Error::IngestBusy`].
    /// If `expected` names a blob that is already committed, [`Error::BlobExists`] is returned so
    /// the caller can skip the download.
    pub fn writer(&self, reference: &str, expected: Option<(&Digest, u64)>) -> Result<Writer> {
        if let Some((digest, _)) = expected {
            check_writable(digest)?;
            if self.exists(digest)? {
                return Err(Error::BlobExists(digest.clone()));
            }
        }
        let dir = self.ingest_dir(reference);
        let lock = lock_ingest(&dir, reference)?;
        let meta_path = dir.join("meta");
        let data_path = dir.join("data");
        let wanted = IngestMeta {
            reference: reference.to_string(),
            expected_digest: expected.map(|(d, _)| d.clone()),
            expected_size: expected.map(|(_, s)| s),
        };
        let mut data = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&data_path)
            .map_err(io("open ingest data", &data_path))?;
        // Under the lock, a missing or unreadable meta means a writer crashed while creating the
        // ingest; its data, if any, cannot be trusted to belong to this ref.
        let previous = read_meta(&meta_path, reference).ok().flatten();
        // Resume unless the earlier writer was after different content.
        let same_target = previous.as_ref().is_some_and(|p| {
            p.reference == reference
                && (expected.is_none()
                    || p.expected_digest.is_none()
                    || p.expected_digest == wanted.expected_digest)
        });
        if !same_target {
            data.set_len(0)
                .map_err(io("truncate ingest data", &data_path))?;
            write_meta(&dir, &meta_path, &wanted)?;
        } else if expected.is_some() && previous.as_ref() != Some(&wanted) {
            write_meta(&dir, &meta_path, &wanted)?;
        }
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 1 << 20];
        let mut offset = 0u64;
        loop {
            let n = data
                .read(&mut buf)
                .map_err(io("read ingest data", &data_path))?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            offset += n as u64;
        }
        if let Some((_, size)) = expected {
            if offset > size {
                return Err(Error::IngestTooLong {
                    reference: reference.to_string(),
                    offset,
                    expected: size,
                });
            }
        }
        data.seek(SeekFrom::End(0))
            .map_err(io("seek ingest data", &data_path))?;
        Ok(Writer {
            reference: reference.to_string(),
            dir,
            data,
            hasher: Some(hasher),
            offset,
            writeback_from: offset,
            blobs_dir: self.root.join("blobs").join("sha256"),
            _lock: lock,
        })
    }

    /// Stores `bytes` as one blob and returns its digest (a no-op if it already exists).
    pub fn write_blob(&self, bytes: &[u8]) -> Result<Digest> {
        let digest = Digest::sha256_from_bytes(&Sha256::digest(bytes).into());
        let size = bytes.len() as u64;
        // A unique ref: two threads storing the same bytes must not refuse each other.
        let reference = temp_name(&format!("write-blob-{}-", digest.hex()));
        let mut w = match self.writer(&reference, Some((&digest, size))) {
            Ok(w) => w,
            Err(Error::BlobExists(_)) => return Ok(digest),
            Err(e) => return Err(e),
        };
        if let Err(e) = w.write_all(bytes) {
            let path = w.dir.join("data");
            // Nobody can resume a unique ref: do not leave it for GC.
            let _ = w.abort();
            return Err(io("write ingest data", path)(e));
        }
        w.commit(size, &digest)
    }

    /// Opens a committed blob for reading.
    pub fn reader(&self, digest: &Digest) -> Result<File> {
        let path = self.blob_path(digest);
        File::open(&path).map_err(|e| not_found_or(e, digest, "open blob", &path))
    }

    pub fn info(&self, digest: &Digest) -> Result<BlobInfo> {
        let path = self.blob_path(digest);
        let m = fs::metadata(&path).map_err(|e| not_found_or(e, digest, "stat blob", &path))?;
        Ok(BlobInfo {
            digest: digest.clone(),
            size: m.len(),
            modified: m.modified().map_err(io("stat blob", &path))?,
        })
    }

    pub fn exists(&self, digest: &Digest) -> Result<bool> {
        let path = self.blob_path(digest);
        path.try_exists().map_err(io("stat blob", path))
    }

    /// Deletes a blob and returns its size. Callers must know it is unreferenced (see `gc`).
    pub fn delete(&self, digest: &Digest) -> Result<u64> {
        let info = self.info(digest)?;
        let path = self.blob_path(digest);
        fs::remove_file(&path).map_err(|e| not_found_or(e, digest, "delete blob", &path))?;
        Ok(info.size)
    }

    /// Every committed blob. File names that are not valid digests (foreign files) are skipped.
    pub fn walk(&self) -> Result<Vec<BlobInfo>> {
        let mut out = Vec::new();
        let blobs = self.root.join("blobs");
        for alg in read_dir(&blobs)? {
            if !alg.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            let Some(alg_name) = alg.file_name().to_str().map(str::to_string) else {
                continue;
            };
            for entry in read_dir(&alg.path())? {
                let Some(hex) = entry.file_name().to_str().map(str::to_string) else {
                    continue;
                };
                let Ok(digest) = format!("{alg_name}:{hex}").parse::<Digest>() else {
                    continue;
                };
                match self.info(&digest) {
                    Ok(info) => out.push(info),
                    // Deleted while we walked.
                    Err(Error::BlobNotFound(_)) => {}
                    Err(e) => return Err(e),
                }
            }
        }
        out.sort_by(|a, b| a.digest.cmp(&b.digest));
        Ok(out)
    }

    /// Every unfinished ingest that has valid metadata.
    pub fn list_ingests(&self) -> Result<Vec<IngestInfo>> {
        let mut out = Vec::new();
        for entry in read_dir(&self.ingest_root())? {
            let dir = entry.path();
            let Ok(Some(meta)) = read_meta(&dir.join("meta"), "") else {
                continue;
            };
            let (offset, updated) = ingest_progress(&dir)?;
            out.push(IngestInfo {
                expected: meta.expected_digest.zip(meta.expected_size),
                reference: meta.reference,
                offset,
                updated,
            });
        }
        out.sort_by(|a, b| a.reference.cmp(&b.reference));
        Ok(out)
    }

    /// Removes the ingest of `reference`. Refused with [`Error::IngestBusy`] while a writer holds it.
    pub fn abort_ingest(&self, reference: &str) -> Result<()> {
        let dir = self.ingest_dir(reference);
        if !dir.try_exists().map_err(io("stat ingest", &dir))? {
            return Err(Error::IngestNotFound(reference.to_string()));
        }
        let _lock = lock_ingest(&dir, reference)?;
        fs::remove_dir_all(&dir).map_err(io("remove ingest", &dir))
    }

    /// Removes ingests last written before `cutoff` that no writer holds, including ones left
    /// without metadata by a crash. Returns their refs (or directory names when the ref is
    /// unknown).
    pub fn prune_ingests(&self, cutoff: SystemTime) -> Result<Vec<String>> {
        let mut removed = Vec::new();
        for entry in read_dir(&self.ingest_root())? {
            let dir = entry.path();
            let (_, updated) = ingest_progress(&dir)?;
            if updated >= cutoff {
                continue;
            }
            let name = match read_meta(&dir.join("meta"), "") {
                Ok(Some(m)) => m.reference,
                _ => entry.file_name().to_string_lossy().into_owned(),
            };
            if dir.is_dir() {
                let Some(_lock) = try_lock(&dir.join("lock"))? else {
                    continue;
                };
                fs::remove_dir_all(&dir).map_err(io("remove ingest", &dir))?;
            } else {
                fs::remove_file(&dir).map_err(io("remove stray file", &dir))?;
            }
            removed.push(name);
        }
        Ok(removed)
    }
}

/// Bytes an ingest accumulates before their writeback is started.
const WRITEBACK_CHUNK: u64 = 8 << 20;

/// An open ingest. Dropping it without [`Writer::commit`] keeps the data for a later resume.
#[derive(Debug)]
pub struct Writer {
    reference: String,
    dir: PathBuf,
    data: File,
    /// None once the caller took over digesting ([`Writer::digested_by_caller`]).
    hasher: Option<Sha256>,
    offset: u64,
    /// Where the range not yet handed to writeback starts.
    writeback_from: u64,
    blobs_dir: PathBuf,
    _lock: Flock<File>,
}

impl Writer {
    pub fn reference(&self) -> &str {
        &self.reference
    }

    /// Bytes written so far, including those of a resumed ingest.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The bytes written so far, read from the start through a new file description, so a
    /// resumed download can feed them to the unpacker before the rest arrives.
    pub fn read_back(&self) -> Result<File> {
        let path = self.dir.join("data");
        File::open(&path).map_err(io("reopen ingest data", &path))
    }

    /// Stops digesting what is written, for a caller that digests the same bytes itself (the
    /// layer unpacker hashes every byte it reads: hashing here too would double that work).
    /// [`Writer::commit`] then trusts the digest it is given.
    pub fn digested_by_caller(mut self) -> Self {
        self.hasher = None;
        self
    }

    /// Drops the bytes received so far, for a server that ignored the `Range` request.
    pub fn truncate(&mut self) -> Result<()> {
        let path = self.dir.join("data");
        self.data
            .set_len(0)
            .and_then(|()| self.data.seek(SeekFrom::Start(0)).map(drop))
            .map_err(io("truncate ingest data", &path))?;
        self.writeback_from = 0;
        if self.hasher.is_some() {
            self.hasher = Some(Sha256::new());
        }
        self.offset = 0;
        Ok(())
    }

    /// Verifies size and sha256 and publishes the blob atomically (fsync data, rename into
    /// `blobs/`, fsync the directory). On a mismatch the ingest is deleted, since its bytes can
    /// never become the expected blob. Committing content that already exists succeeds, so two
    /// concurrent downloads of one blob both succeed.
    pub fn commit(mut self, expected_size: u64, expected: &Digest) -> Result<Digest> {
        check_writable(expected)?;
        let data_path = self.dir.join("data");
        self.data.flush().map_err(io("flush", &data_path))?;
        self.data.sync_all().map_err(io("fsync", &data_path))?;
        let actual_size = self.data.metadata().map_err(io("stat", &data_path))?.len();
        if actual_size != expected_size {
            self.remove_dir()?;
            return Err(Error::SizeMismatch {
                reference: self.reference,
                expected: expected_size,
                actual: actual_size,
            });
        }
        if let Some(hasher) = self.hasher.take() {
            let actual = Digest::sha256_from_bytes(&hasher.finalize().into());
            if &actual != expected {
                self.remove_dir()?;
                return Err(Error::DigestMismatch {
                    reference: self.reference,
                    expected: expected.clone(),
                    actual,
                });
            }
        }
        self.data
            .set_permissions(fs::Permissions::from_mode(0o444))
            .map_err(io("chmod", &data_path))?;
        let target = self.blobs_dir.join(expected.hex());
        fs::rename(&data_path, &target).map_err(io("publish blob", &target))?;
        fsync_dir(&self.blobs_dir)?;
        self.remove_dir()?;
        Ok(expected.clone())
    }

    /// Deletes the ingest and everything written to it.
    pub fn abort(self) -> Result<()> {
        self.remove_dir()
    }

    fn remove_dir(&self) -> Result<()> {
        fs::remove_dir_all(&self.dir).map_err(io("remove ingest", &self.dir))
    }
}

impl Write for Writer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.data.write(buf)?;
        if let Some(hasher) = &mut self.hasher {
            hasher.update(&buf[..n]);
        }
        self.offset += n as u64;
        // Writing back as the data arrives keeps the fsync in `commit` short (a 90 MB layer:
        // ~50 ms at commit otherwise). Only a hint: a failure shows at that fsync anyway.
        if self.offset - self.writeback_from >= WRITEBACK_CHUNK {
            let _ = berth_sys::writeback::start(
                &self.data,
                self.writeback_from,
                self.offset - self.writeback_from,
            );
            self.writeback_from = self.offset;
        }
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.data.flush()
    }
}

fn check_writable(digest: &Digest) -> Result<()> {
    if digest.algorithm() == "sha256" {
        Ok(())
    } else {
        Err(Error::UnsupportedDigest(digest.clone()))
    }
}

fn lock_ingest(dir: &Path, reference: &str) -> Result<Flock<File>> {
    let lock_path = dir.join("lock");
    loop {
        fs::create_dir_all(dir).map_err(io("create ingest", dir))?;
        match try_lock(&lock_path) {
            Ok(Some(lock)) => return Ok(lock),
            Ok(None) => {
                return Err(Error::IngestBusy {
                    reference: reference.to_string(),
                })
            }
            // The holder removed the directory between our mkdir and open: start over.
            Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
}

/// `Ok(None)` when there is no meta file yet.
fn read_meta(path: &Path, reference: &str) -> Result<Option<IngestMeta>> {
    match fs::read(path) {
        Ok(bytes) => {
            serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|source| Error::CorruptIngest {
                    reference: reference.to_string(),
                    path: path.to_path_buf(),
                    source,
                })
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io("read ingest meta", path)(e)),
    }
}

/// Writes meta through a temp file and rename so a crash never leaves it torn.
fn write_meta(dir: &Path, path: &Path, meta: &IngestMeta) -> Result<()> {
    let tmp = dir.join("meta.tmp");
    let bytes = serde_json::to_vec(meta).map_err(|source| Error::CorruptIngest {
        reference: meta.reference.clone(),
        path: path.to_path_buf(),
        source,
    })?;
    fs::write(&tmp, bytes).map_err(io("write ingest meta", &tmp))?;
    fs::rename(&tmp, path).map_err(io("write ingest meta", path))
}

/// Size of the data received and when it last changed (the directory's own mtime if no data).
fn ingest_progress(dir: &Path) -> Result<(u64, SystemTime)> {
    let data = dir.join("data");
    let (path, len) = match fs::metadata(&data) {
        Ok(m) => {
            return Ok((m.len(), m.modified().map_err(io("stat", &data))?));
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => (dir, 0),
        Err(e) => return Err(io("stat", &data)(e)),
    };
    let m = fs::symlink_metadata(path).map_err(io("stat", path))?;
    Ok((len, m.modified().map_err(io("stat", path))?))
}

fn read_dir(dir: &Path) -> Result<Vec<fs::DirEntry>> {
    fs::read_dir(dir)
        .and_then(|it| it.collect::<std::io::Result<Vec<_>>>())
        .map_err(io("list", dir))
}

fn not_found_or(e: std::io::Error, digest: &Digest, action: &'static str, path: &Path) -> Error {
    if e.kind() == std::io::ErrorKind::NotFound {
        Error::BlobNotFound(digest.clone())
    } else {
        io(action, path)(e)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
