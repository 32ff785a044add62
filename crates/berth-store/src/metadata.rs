//! The metadata database: images, their tags and layers, and containers. It is the single source
//! of references for GC (containerd's metadata layer).
//!
//! SQLite in WAL mode with foreign keys on; the schema (`MIGRATIONS` in the source, described in
//! `docs/storage.md`) is versioned with `PRAGMA user_version`. Every change that touches more
//! than one row is one transaction.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use berth_types::{ContainerId, Digest};
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension, Transaction};

use crate::error::{sql, Error, Result};
use crate::sqlite;

mod build_cache;
mod image_mounts;
mod networks;
mod pods;
mod volumes;

pub use build_cache::CacheEntry;
pub use image_mounts::ImageMountRef;
pub use networks::NetworkRecord;
pub use pods::PodRecord;
pub use volumes::{Volume, VolumeRef};

/// Append-only schema history; see `docs/storage.md` for what each column means.
///
/// - `images.id` is the config digest (Docker's image id); `config` caches the config JSON so
///   inspect and list never read blobs.
/// - `image_layers.chain_id` is the key of the committed snapshot holding the layer unpacked.
/// - `image_tags.name` is a full reference (`docker.io/library/alpine:3.20`): the primary key
///   makes one name resolve to exactly one image.
/// - `containers.image_id` has no `ON DELETE` action, so an image in use cannot be deleted.
/// - Labels are not split out: they live in the image and container config JSON and the engine
///   filters on them in memory.
/// - Migration 2, volumes: `volume_refs.volume` has no `ON DELETE` action, so a volume some
///   container mounts cannot be deleted; a container's refs go with it (`ON DELETE CASCADE`).
/// - Migration 3, networks: the engine's network definition (JSON, CNI conflist included) by id,
///   names unique. Which containers use a network lives in the containers' config.
/// - Migration 4, `image_digests`: `repository@digest` names a registry holding the image's
///   manifest (Docker's RepoDigests), learnt by pull and push; resolvable like a tag.
/// - Migration 5, `gzip_blobs`: the gzip blob `docker push` made of an uncompressed layer blob
///   (`source`), so every push of the layer sends the same bytes. No foreign key: blobs are not
///   rows; GC keeps `gzip` while `source` is kept and deletes the row with either blob.
/// - Migration 6, containers' `format` and `namespace`: `format` is the layout of `config`, owned
///   by the engine (1: Docker's create body, the engine rewrites such rows at open, see
///   [`MetadataDb::upgrade_containers`]); `namespace` is the API that lists the container
///   (`moby` for Docker's, `k8s.io` for pods'), so one API never lists the other's.
/// - Migration 7, `pods`: Kubernetes pod sandboxes, the engine's pod spec (`config`) and its
///   lifecycle and resources (`state`) as JSON; CRI's identity (name, namespace, uid, attempt)
///   is unique, as containerd reserves the sandbox name. Not containers: no image, no snapshot.
/// - Migration 8, `image_mounts`: the images a container mounts (the CRI's image volumes), each
///   through a read-only view snapshot of its own. `image_id` has no `ON DELETE` action, so a
///   mounted image cannot be deleted, as a container's own image; the view keys are GC roots;
///   the rows go with their container.
/// - Migration 9, the image builder: `images.parent` is the image a build step was made on (as
///   dockerd keeps it beside, not in, the config; `None` for pulled and loaded images), so a
///   build's intermediate images are found as parents; `build_cache` maps a build step's content-addressed key to
///   the image that step made, LRU by `last_used` when pruned to a size; an entry goes with its
///   image.
const MIGRATIONS: &[&str] = &[
    "CREATE TABLE images (
        id              TEXT PRIMARY KEY,
        manifest_digest TEXT NOT NULL,
        index_digest    TEXT,
        media_type      TEXT NOT NULL,
        size            INTEGER NOT NULL,
        config          TEXT NOT NULL,
        created         INTEGER NOT NULL
    );
    CREATE TABLE image_layers (
        image_id    TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
        position    INTEGER NOT NULL,
        diff_id     TEXT NOT NULL,
        blob_digest TEXT NOT NULL,
        blob_size   INTEGER NOT NULL,
        media_type  TEXT NOT NULL,
        chain_id    TEXT NOT NULL,
        PRIMARY KEY (image_id, position)
    );
    CREATE TABLE image_tags (
        name     TEXT PRIMARY KEY,
        image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
        updated  INTEGER NOT NULL
    );
    CREATE INDEX image_tags_image ON image_tags(image_id);
    CREATE TABLE containers (
        id           TEXT PRIMARY KEY,
        name         TEXT NOT NULL UNIQUE,
        image_id     TEXT NOT NULL REFERENCES images(id),
        snapshot_key TEXT NOT NULL UNIQUE,
        config       TEXT NOT NULL,
        state        TEXT NOT NULL,
        created      INTEGER NOT NULL
    );
    CREATE INDEX containers_image ON containers(image_id);",
    "CREATE TABLE volumes (
        name      TEXT PRIMARY KEY,
        driver    TEXT NOT NULL,
        labels    TEXT NOT NULL,
        options   TEXT NOT NULL,
        anonymous INTEGER NOT NULL,
        created   INTEGER NOT NULL
    );
    CREATE TABLE volume_refs (
        volume      TEXT NOT NULL REFERENCES volumes(name),
        container   TEXT NOT NULL REFERENCES containers(id) ON DELETE CASCADE,
        destination TEXT NOT NULL,
        PRIMARY KEY (container, destination)
    );
    CREATE INDEX volume_refs_volume ON volume_refs(volume);",
    "CREATE TABLE networks (
        id      TEXT PRIMARY KEY,
        name    TEXT NOT NULL UNIQUE,
        config  TEXT NOT NULL,
        created INTEGER NOT NULL
    );",
    "CREATE TABLE image_digests (
        name     TEXT PRIMARY KEY,
        image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE
    );
    CREATE INDEX image_digests_image ON image_digests(image_id);",
    "CREATE TABLE gzip_blobs (
        source TEXT PRIMARY KEY,
        gzip   TEXT NOT NULL,
        size   INTEGER NOT NULL
    );",
    "ALTER TABLE containers ADD COLUMN format INTEGER NOT NULL DEFAULT 1;
    ALTER TABLE containers ADD COLUMN namespace TEXT NOT NULL DEFAULT 'moby';",
    "CREATE TABLE pods (
        id        TEXT PRIMARY KEY,
        name      TEXT NOT NULL,
        namespace TEXT NOT NULL,
        uid       TEXT NOT NULL,
        attempt   INTEGER NOT NULL,
        config    TEXT NOT NULL,
        state     TEXT NOT NULL,
        created   INTEGER NOT NULL,
        UNIQUE (name, namespace, uid, attempt)
    );",
    "CREATE TABLE image_mounts (
        container    TEXT NOT NULL REFERENCES containers(id) ON DELETE CASCADE,
        destination  TEXT NOT NULL,
        image_id     TEXT NOT NULL REFERENCES images(id),
        snapshot_key TEXT NOT NULL UNIQUE,
        PRIMARY KEY (container, destination)
    );
    CREATE INDEX image_mounts_image ON image_mounts(image_id);",
    "ALTER TABLE images ADD COLUMN parent TEXT;
    CREATE INDEX images_parent ON images(parent);
    CREATE TABLE build_cache (
        key         TEXT PRIMARY KEY,
        image_id    TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
        size        INTEGER NOT NULL,
        description TEXT NOT NULL,
        created     INTEGER NOT NULL,
        last_used   INTEGER NOT NULL,
        usage_count INTEGER NOT NULL
    );
    CREATE INDEX build_cache_image ON build_cache(image_id);",
];

/// Whether `name` is `repository@digest` rather than `repository:tag`.
fn is_digest_name(name: &str) -> bool {
    name.contains('@')
}

/// The columns `read_containers` maps, in order.
const CONTAINER_COLUMNS: &str = "SELECT id, name, image_id, snapshot_key, config, state, created, \
     format, namespace FROM containers";

/// An image as stored: its identity, the blobs it needs and the snapshots it unpacks to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    /// Digest of the config blob: Docker's image id.
    pub id: Digest,
    pub manifest_digest: Digest,
    /// The manifest list / OCI index the manifest was chosen from, kept so GC keeps it too.
    pub index_digest: Option<Digest>,
    /// Media type of the manifest.
    pub media_type: String,
    /// Manifest, config and compressed layers, in bytes.
    pub size: u64,
    /// The config JSON.
    pub config: String,
    /// Base layer first.
    pub layers: Vec<Layer>,
    /// Stored with millisecond precision.
    pub created: DateTime<Utc>,
    /// The image a build step made this one on.
    pub parent: Option<Digest>,
}

/// One layer of an image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layer {
    /// Digest of the uncompressed tar (from the config's `rootfs.diff_ids`).
    pub diff_id: Digest,
    /// Digest of the blob as the registry serves it (usually gzip or zstd).
    pub blob_digest: Digest,
    pub blob_size: u64,
    pub media_type: String,
    /// Chain id of the layers up to and including this one: the key of its committed snapshot.
    pub chain_id: Digest,
}

/// A container's stored record. The engine owns the meaning of `config` and `state` (JSON).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Container {
    pub id: ContainerId,
    pub name: String,
    pub image_id: Digest,
    /// Key of its active snapshot (the writable rootfs).
    pub snapshot_key: String,
    pub config: String,
    /// The layout of `config`, as the engine numbers it.
    pub format: u32,
    /// The API the container belongs to (`moby`, `k8s.io`).
    pub namespace: String,
    pub state: String,
    /// Stored with millisecond precision.
    pub created: DateTime<Utc>,
}

/// What the database references, for GC.
#[derive(Debug, Default)]
pub(crate) struct Roots {
    pub(crate) blobs: HashSet<Digest>,
    pub(crate) snapshots: HashSet<String>,
    /// `(source, gzip)`: blobs kept only as long as their source is.
    pub(crate) gzip: Vec<(Digest, Digest)>,
}

/// The metadata database. Cheap to share (`Arc`) between threads.
#[derive(Debug)]
pub struct MetadataDb {
    path: PathBuf,
    conn: Mutex<Connection>,
}

impl MetadataDb {
    /// Opens (creating and migrating if needed) the database file at `path`.
    pub fn open(path: impl Into<PathBuf>) -> Result<Self> {
        let path = path.into();
        let conn = sqlite::open(&path, MIGRATIONS)?;
        Ok(Self {
            path,
            conn: Mutex::new(conn),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Stores an image and its layers.
    pub fn create_image(&self, image: &Image) -> Result<()> {
        check_json(&image.config, || format!("config of image {}", image.id))?;
        let mut conn = self.conn();
        let tx = self.begin(&mut conn)?;
        let exists: bool = tx
            .query_row(
                "SELECT EXISTS(SELECT 1 FROM images WHERE id = ?1)",
                [image.id.as_str()],
                |r| r.get(0),
            )
            .map_err(sql("look up image", &self.path))?;
        if exists {
            return Err(Error::ImageExists(image.id.clone()));
        }
        tx.execute(
            "INSERT INTO images
             (id, manifest_digest, index_digest, media_type, size, config, created, parent)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                image.id.as_str(),
                image.manifest_digest.as_str(),
                image.index_digest.as_ref().map(Digest::as_str),
                image.media_type,
                to_i64(image.size),
                image.config,
                image.created.timestamp_millis(),
                image.parent.as_ref().map(Digest::as_str),
            ],
        )
        .map_err(sql("insert image", &self.path))?;
        for (position, l) in image.layers.iter().enumerate() {
            tx.execute(
                "INSERT INTO image_layers
                 (image_id, position, diff_id, blob_digest, blob_size, media_type, chain_id)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    image.id.as_str(),
                    to_i64(position as u64),
                    l.diff_id.as_str(),
                    l.blob_digest.as_str(),
                    to_i64(l.blob_size),
                    l.media_type,
                    l.chain_id.as_str(),
                ],
            )
            .map_err(sql("insert image layer", &self.path))?;
        }
        tx.commit().map_err(sql("commit image", &self.path))
    }

    pub fn get_image(&self, id: &Digest) -> Result<Image> {
        let mut conn = self.conn();
        let tx = self.begin(&mut conn)?;
        self.read_images(&tx, Some(id))?
            .pop()
            .ok_or_else(|| Error::ImageNotFound(id.to_string()))
    }

    /// Every image, oldest first.
    pub fn list_images(&self) -> Result<Vec<Image>> {
        let mut conn = self.conn();
        let tx = self.begin(&mut conn)?;
        self.read_images(&tx, None)
    }

    /// Deletes an image with its tags and layer rows (not its blobs or snapshots: that is GC's
    /// job). Refused while a container uses it. Returns the tags that pointed at it.
    pub fn delete_image(&self, id: &Digest) -> Result<Vec<String>> {
        let mut conn = self.conn();
        let tx = self.begin(&mut conn)?;
        let users = self.strings(
            &tx,
            "SELECT name FROM containers WHERE image_id = ?1 OR id IN
                 (SELECT container FROM image_mounts WHERE image_id = ?1)
             ORDER BY name",
            id.as_str(),
        )?;
        if !users.is_empty() {
            return Err(Error::ImageInUse {
                image: id.clone(),
                containers: users,
            });
        }
        let tags = self.strings(
            &tx,
            "SELECT name FROM image_tags WHERE image_id = ?1 ORDER BY name",
            id.as_str(),
        )?;
        let n = tx
            .execute("DELETE FROM images WHERE id = ?1", [id.as_str()])
            .map_err(sql("delete image", &self.path))?;
        if n == 0 {
            return Err(Error::ImageNotFound(id.to_string()));
        }
        tx.commit().map_err(sql("delete image", &self.path))?;
        Ok(tags)
    }

    /// Points tag `name` at image `id`, moving it from another image if needed (as `docker tag`
    /// and `docker pull` do). Returns the image it pointed at before.
    pub fn tag_image(&self, name: &str, id: &Digest) -> Result<Option<Digest>> {
        let mut conn = self.conn();
        let tx = self.begin(&mut conn)?;
        let exists: bool = tx
            .query_row(
                "SELECT EXISTS(SELECT 1 FROM images WHERE id = ?1)",
                [id.as_str()],
                |r| r.get(0),
            )
            .map_err(sql("look up image", &self.path))?;
        if !exists {
            return Err(Error::ImageNotFound(id.to_string()));
        }
        let previous = self.tag_target(&tx, name)?;
        tx.execute(
            "INSERT INTO image_tags (name, image_id, updated) VALUES (?1, ?2, ?3)
             ON CONFLICT(name) DO UPDATE SET image_id = excluded.image_id, updated = excluded.updated",
            params![name, id.as_str(), Utc::now().timestamp_millis()],
        )
        .map_err(sql("tag image", &self.path))?;
        tx.commit().map_err(sql("tag image", &self.path))?;
        Ok(previous)
    }

    /// Records that `name` (`docker.io/library/busybox@sha256:…`) is where a registry holds
    /// image `id`'s manifest. A digest names one manifest, so the name moves with it.
    pub fn add_repo_digest(&self, name: &str, id: &Digest) -> Result<()> {
        let conn = self.conn();
        conn.execute(
            "INSERT INTO image_digests (name, image_id) VALUES (?1, ?2)
             ON CONFLICT(name) DO UPDATE SET image_id = excluded.image_id",
            params![name, id.as_str()],
        )
        .map_err(sql("record repository digest", &self.path))?;
        Ok(())
    }

    /// The gzip blob (digest, size) made of layer blob `source` by an earlier push, if any.
    pub fn gzip_blob(&self, source: &Digest) -> Result<Option<(Digest, u64)>> {
        let conn = self.conn();
        let row = conn
            .query_row(
                "SELECT gzip, size FROM gzip_blobs WHERE source = ?1",
                [source.as_str()],
                |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)),
            )
            .optional()
            .map_err(sql("look up gzip blob", &self.path))?;
        row.map(|(gzip, size)| {
            Ok((
                self.digest("gzip_blobs", source.as_str(), &gzip)?,
                size.max(0).unsigned_abs(),
            ))
        })
        .transpose()
    }

    /// Records that blob `gzip` (`size` bytes) is layer blob `source` gzipped.
    pub fn add_gzip_blob(&self, source: &Digest, gzip: &Digest, size: u64) -> Result<()> {
        let conn = self.conn();
        conn.execute(
            "INSERT INTO gzip_blobs (source, gzip, size) VALUES (?1, ?2, ?3)
             ON CONFLICT(source) DO UPDATE SET gzip = excluded.gzip, size = excluded.size",
            params![source.as_str(), gzip.as_str(), to_i64(size)],
        )
        .map_err(sql("record gzip blob", &self.path))?;
        Ok(())
    }

    /// Drops the gzip records that name any of `deleted` (blobs GC removed), as source or gzip.
    pub(crate) fn forget_gzip_blobs(&self, deleted: &[Digest]) -> Result<()> {
        let mut conn = self.conn();
        let tx = self.begin(&mut conn)?;
        for d in deleted {
            tx.execute(
                "DELETE FROM gzip_blobs WHERE source = ?1 OR gzip = ?1",
                [d.as_str()],
            )
            .map_err(sql("forget gzip blob", &self.path))?;
        }
        tx.commit().map_err(sql("forget gzip blobs", &self.path))
    }

    /// The `repository@digest` names of image `id`, sorted.
    pub fn repo_digests(&self, id: &Digest) -> Result<Vec<String>> {
        let mut conn = self.conn();
        let tx = self.begin(&mut conn)?;
        self.strings(
            &tx,
            "SELECT name FROM image_digests WHERE image_id = ?1 ORDER BY name",
            id.as_str(),
        )
    }

    /// Removes tag (or `repository@digest`) `name` and returns the image it pointed at.
    pub fn untag(&self, name: &str) -> Result<Digest> {
        let mut conn = self.conn();
        let tx = self.begin(&mut conn)?;
        let target = self
            .tag_target(&tx, name)?
            .ok_or_else(|| Error::TagNotFound(name.to_string()))?;
        let delete = if is_digest_name(name) {
            "DELETE FROM image_digests WHERE name = ?1"
        } else {
            "DELETE FROM image_tags WHERE name = ?1"
        };
        tx.execute(delete, [name])
            .map_err(sql("untag image", &self.path))?;
        tx.commit().map_err(sql("untag image", &self.path))?;
        Ok(target)
    }

    /// The image tag `name` points at.
    pub fn resolve_tag(&self, name: &str) -> Result<Digest> {
        let mut conn = self.conn();
        let tx = self.begin(&mut conn)?;
        self.tag_target(&tx, name)?
            .ok_or_else(|| Error::TagNotFound(name.to_string()))
    }

    /// Tags pointing at image `id`, sorted.
    pub fn image_tags(&self, id: &Digest) -> Result<Vec<String>> {
        let mut conn = self.conn();
        let tx = self.begin(&mut conn)?;
        self.strings(
            &tx,
            "SELECT name FROM image_tags WHERE image_id = ?1 ORDER BY name",
            id.as_str(),
        )
    }

    /// Tags of `repository` (`docker.io/library/busybox`) with the images they point at,
    /// sorted by tag name.
    pub fn repository_tags(&self, repository: &str) -> Result<Vec<(String, Digest)>> {
        let mut conn = self.conn();
        let tx = self.begin(&mut conn)?;
        let prefix = format!("{repository}:");
        let mut stmt = tx
            .prepare(
                "SELECT name, image_id FROM image_tags
                 WHERE substr(name, 1, length(?1)) = ?1 ORDER BY name",
            )
            .map_err(sql("list repository tags", &self.path))?;
        let rows = stmt
            .query_map([&prefix], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
            })
            .map_err(sql("list repository tags", &self.path))?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(sql("list repository tags", &self.path))?;
        rows.into_iter()
            // `localhost:` also prefixes `localhost:5000/app:tag`, another repository.
            .filter(|(name, _)| name.strip_prefix(&prefix).is_some_and(|t| !t.contains('/')))
            .map(|(name, id)| {
                let id = self.digest("image_tags", &name, &id)?;
                Ok((name, id))
            })
            .collect()
    }

    /// Stores a new container; its id and name must both be free and its image must exist.
    pub fn create_container(&self, c: &Container) -> Result<()> {
        self.create_container_with_volumes(c, &[], &[]).map(drop)
    }

    /// Stores a new container together with the volumes it mounts, in one transaction: the
    /// volumes in `volumes` that do not exist yet are created (a named volume another container
    /// created meanwhile is kept as it is), and one ref per `(volume, destination)` in `refs`
    /// records the use. Returns the names of the volumes it created.
    pub fn create_container_with_volumes(
        &self,
        c: &Container,
        volumes: &[Volume],
        refs: &[(String, String)],
    ) -> Result<Vec<String>> {
        self.insert_container(c, volumes, refs, &[])
    }

    /// Stores a new container together with the images it mounts, in one transaction: each
    /// mount's image must exist, and its view snapshot becomes a GC root.
    pub fn create_container_with_image_mounts(
        &self,
        c: &Container,
        mounts: &[ImageMountRef],
    ) -> Result<()> {
        self.insert_container(c, &[], &[], mounts).map(drop)
    }

    fn insert_container(
        &self,
        c: &Container,
        volumes: &[Volume],
        refs: &[(String, String)],
        image_mounts: &[ImageMountRef],
    ) -> Result<Vec<String>> {
        check_json(&c.config, || format!("config of container {}", c.id))?;
        check_json(&c.state, || format!("state of container {}", c.id))?;
        let mut conn = self.conn();
        let tx = self.begin(&mut conn)?;
        if self.find_container(&tx, "id", c.id.as_str())?.is_some() {
            return Err(Error::ContainerExists(c.id.to_string()));
        }
        if let Some(holder) = self.find_container(&tx, "name", &c.name)? {
            return Err(Error::ContainerNameTaken {
                name: c.name.clone(),
                id: holder.id.to_string(),
            });
        }
        let image_exists: bool = tx
            .query_row(
                "SELECT EXISTS(SELECT 1 FROM images WHERE id = ?1)",
                [c.image_id.as_str()],
                |r| r.get(0),
            )
            .map_err(sql("look up image", &self.path))?;
        if !image_exists {
            return Err(Error::ImageNotFound(c.image_id.to_string()));
        }
        tx.execute(
            "INSERT INTO containers
             (id, name, image_id, snapshot_key, config, state, created, format, namespace)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                c.id.as_str(),
                c.name,
                c.image_id.as_str(),
                c.snapshot_key,
                c.config,
                c.state,
                c.created.timestamp_millis(),
                c.format,
                c.namespace,
            ],
        )
        .map_err(sql("insert container", &self.path))?;
        let mut created = Vec::new();
        for v in volumes {
            if self.insert_volume(&tx, v)? {
                created.push(v.name.clone());
            }
        }
        for (volume, destination) in refs {
            tx.execute(
                "INSERT INTO volume_refs (volume, container, destination) VALUES (?1, ?2, ?3)",
                params![volume, c.id.as_str(), destination],
            )
            .map_err(|e| match e {
                rusqlite::Error::SqliteFailure(f, _)
                    if f.code == rusqlite::ErrorCode::ConstraintViolation =>
                {
                    Error::VolumeNotFound(volume.clone())
                }
                e => sql("insert volume ref", &self.path)(e),
            })?;
        }
        for m in image_mounts {
            self.insert_image_mount(&tx, c.id.as_str(), m)?;
        }
        tx.commit().map_err(sql("commit container", &self.path))?;
        Ok(created)
    }

    pub fn get_container(&self, id: &str) -> Result<Container> {
        let mut conn = self.conn();
        let tx = self.begin(&mut conn)?;
        self.find_container(&tx, "id", id)?
            .ok_or_else(|| Error::ContainerNotFound(id.to_string()))
    }

    pub fn container_by_name(&self, name: &str) -> Result<Container> {
        let mut conn = self.conn();
        let tx = self.begin(&mut conn)?;
        self.find_container(&tx, "name", name)?
            .ok_or_else(|| Error::ContainerNotFound(name.to_string()))
    }

    /// Every container, oldest first.
    pub fn list_containers(&self) -> Result<Vec<Container>> {
        let mut conn = self.conn();
        let tx = self.begin(&mut conn)?;
        let query = format!("{CONTAINER_COLUMNS} ORDER BY created, id");
        self.read_containers(&tx, &query, None)
    }

    /// Replaces the state JSON of container `id`.
    pub fn set_container_state(&self, id: &str, state: &str) -> Result<()> {
        check_json(state, || format!("state of container {id}"))?;
        let conn = self.conn();
        let n = conn
            .execute(
                "UPDATE containers SET state = ?1 WHERE id = ?2",
                params![state, id],
            )
            .map_err(sql("update container state", &self.path))?;
        if n == 0 {
            return Err(Error::ContainerNotFound(id.to_string()));
        }
        Ok(())
    }

    /// Brings every container's config to `format` in one transaction, before anything reads
    /// them: `upgrade` rewrites a row of an older format (returning its new config JSON); a row
    /// of a newer format is refused, as this binary could drop what it does not know. Returns
    /// how many rows were rewritten.
    pub fn upgrade_containers<E>(
        &self,
        format: u32,
        mut upgrade: impl FnMut(&Container) -> std::result::Result<String, E>,
    ) -> Result<usize>
    where
        E: std::error::Error + Send + Sync + 'static,
    {
        let mut conn = self.conn();
        let tx = self.begin(&mut conn)?;
        let query = format!("{CONTAINER_COLUMNS} WHERE format != {format} ORDER BY created, id");
        let stale = self.read_containers(&tx, &query, None)?;
        for c in &stale {
            if c.format > format {
                return Err(Error::ContainerFormatTooNew {
                    id: c.id.to_string(),
                    found: c.format,
                    supported: format,
                });
            }
            let config = upgrade(c).map_err(|e| Error::ContainerUpgrade {
                id: c.id.to_string(),
                from: c.format,
                source: Box::new(e),
            })?;
            check_json(&config, || format!("upgraded config of container {}", c.id))?;
            tx.execute(
                "UPDATE containers SET config = ?1, format = ?2 WHERE id = ?3",
                params![config, format, c.id.as_str()],
            )
            .map_err(sql("upgrade container", &self.path))?;
        }
        tx.commit().map_err(sql("upgrade containers", &self.path))?;
        Ok(stale.len())
    }

    /// Replaces the config JSON of container `id` (`docker update` changes its resources).
    pub fn set_container_config(&self, id: &str, config: &str) -> Result<()> {
        check_json(config, || format!("config of container {id}"))?;
        let conn = self.conn();
        let n = conn
            .execute(
                "UPDATE containers SET config = ?1 WHERE id = ?2",
                params![config, id],
            )
            .map_err(sql("update container config", &self.path))?;
        if n == 0 {
            return Err(Error::ContainerNotFound(id.to_string()));
        }
        Ok(())
    }

    pub fn rename_container(&self, id: &str, new_name: &str) -> Result<()> {
        let mut conn = self.conn();
        let tx = self.begin(&mut conn)?;
        if let Some(holder) = self.find_container(&tx, "name", new_name)? {
            if holder.id.as_str() == id {
                return Ok(());
            }
            return Err(Error::ContainerNameTaken {
                name: new_name.to_string(),
                id: holder.id.to_string(),
            });
        }
        let n = tx
            .execute(
                "UPDATE containers SET name = ?1 WHERE id = ?2",
                params![new_name, id],
            )
            .map_err(sql("rename container", &self.path))?;
        if n == 0 {
            return Err(Error::ContainerNotFound(id.to_string()));
        }
        tx.commit().map_err(sql("rename container", &self.path))
    }

    /// Deletes the container record (its snapshot is left to the caller or GC).
    pub fn delete_container(&self, id: &str) -> Result<()> {
        let conn = self.conn();
        let n = conn
            .execute("DELETE FROM containers WHERE id = ?1", [id])
            .map_err(sql("delete container", &self.path))?;
        if n == 0 {
            return Err(Error::ContainerNotFound(id.to_string()));
        }
        Ok(())
    }

    /// Everything images and containers reference, read in one transaction so GC sees one
    /// consistent state.
    pub(crate) fn gc_roots(&self) -> Result<Roots> {
        let mut conn = self.conn();
        let tx = self.begin(&mut conn)?;
        let mut roots = Roots::default();
        for image in self.read_images(&tx, None)? {
            roots.blobs.insert(image.id);
            roots.blobs.insert(image.manifest_digest);
            roots.blobs.extend(image.index_digest);
            for l in image.layers {
                roots.blobs.insert(l.blob_digest);
                roots.snapshots.insert(l.chain_id.to_string());
            }
        }
        let mut stmt = tx
            .prepare("SELECT snapshot_key FROM containers UNION ALL SELECT snapshot_key FROM image_mounts")
            .map_err(sql("list container snapshots", &self.path))?;
        let keys = stmt
            .query_map([], |r| r.get::<_, String>(0))
            .map_err(sql("list container snapshots", &self.path))?;
        for key in keys {
            roots
                .snapshots
                .insert(key.map_err(sql("list container snapshots", &self.path))?);
        }
        let mut stmt = tx
            .prepare("SELECT source, gzip FROM gzip_blobs")
            .map_err(sql("list gzip blobs", &self.path))?;
        let pairs = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
            .map_err(sql("list gzip blobs", &self.path))?;
        for pair in pairs {
            let (source, gzip) = pair.map_err(sql("list gzip blobs", &self.path))?;
            roots.gzip.push((
                self.digest("gzip_blobs", &source, &source)?,
                self.digest("gzip_blobs", &source, &gzip)?,
            ));
        }
        Ok(roots)
    }

    fn read_images(&self, tx: &Transaction<'_>, id: Option<&Digest>) -> Result<Vec<Image>> {
        let mut stmt = tx
            .prepare(
                "SELECT id, manifest_digest, index_digest, media_type, size, config, created, parent
                 FROM images WHERE ?1 IS NULL OR id = ?1 ORDER BY created, id",
            )
            .map_err(sql("list images", &self.path))?;
        let rows = stmt
            .query_map([id.map(Digest::as_str)], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Option<String>>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, i64>(4)?,
                    r.get::<_, String>(5)?,
                    r.get::<_, i64>(6)?,
                    r.get::<_, Option<String>>(7)?,
                ))
            })
            .map_err(sql("list images", &self.path))?;
        let mut images = Vec::new();
        for row in rows {
            let (id, manifest, index, media_type, size, config, created, parent) =
                row.map_err(sql("list images", &self.path))?;
            let d = |s: &str| self.digest("images", &id, s);
            images.push(Image {
                id: d(&id)?,
                manifest_digest: d(&manifest)?,
                index_digest: index.as_deref().map(d).transpose()?,
                media_type,
                size: size.max(0).unsigned_abs(),
                config,
                layers: self.read_layers(tx, &id)?,
                created: crate::fsutil::from_millis(created),
                parent: parent.as_deref().map(d).transpose()?,
            });
        }
        Ok(images)
    }

    fn read_layers(&self, tx: &Transaction<'_>, image_id: &str) -> Result<Vec<Layer>> {
        let mut stmt = tx
            .prepare(
                "SELECT diff_id, blob_digest, blob_size, media_type, chain_id
                 FROM image_layers WHERE image_id = ?1 ORDER BY position",
            )
            .map_err(sql("list image layers", &self.path))?;
        let rows = stmt
            .query_map([image_id], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                ))
            })
            .map_err(sql("list image layers", &self.path))?;
        let mut layers = Vec::new();
        for row in rows {
            let (diff_id, blob, size, media_type, chain) =
                row.map_err(sql("list image layers", &self.path))?;
            let d = |s: &str| self.digest("image_layers", image_id, s);
            layers.push(Layer {
                diff_id: d(&diff_id)?,
                blob_digest: d(&blob)?,
                blob_size: size.max(0).unsigned_abs(),
                media_type,
                chain_id: d(&chain)?,
            });
        }
        Ok(layers)
    }

    /// `column` is a trusted constant ("id" or "name"), never user input.
    fn find_container(
        &self,
        tx: &Transaction<'_>,
        column: &'static str,
        value: &str,
    ) -> Result<Option<Container>> {
        let query = format!("{CONTAINER_COLUMNS} WHERE {column} = ?1");
        Ok(self.read_containers(tx, &query, Some(value))?.pop())
    }

    fn read_containers(
        &self,
        tx: &Transaction<'_>,
        query: &str,
        param: Option<&str>,
    ) -> Result<Vec<Container>> {
        let mut stmt = tx
            .prepare(query)
            .map_err(sql("read containers", &self.path))?;
        let map = |r: &rusqlite::Row<'_>| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, String>(5)?,
                r.get::<_, i64>(6)?,
                r.get::<_, u32>(7)?,
                r.get::<_, String>(8)?,
            ))
        };
        let rows = match param {
            Some(p) => stmt.query_map([p], map),
            None => stmt.query_map([], map),
        }
        .map_err(sql("read containers", &self.path))?;
        let mut out = Vec::new();
        for row in rows {
            let (id, name, image_id, snapshot_key, config, state, created, format, namespace) =
                row.map_err(sql("read containers", &self.path))?;
            out.push(Container {
                id: ContainerId::new(&id).map_err(|e| self.corrupt("containers", &id, e))?,
                image_id: self.digest("containers", &id, &image_id)?,
                name,
                snapshot_key,
                config,
                format,
                namespace,
                state,
                created: crate::fsutil::from_millis(created),
            });
        }
        Ok(out)
    }

    /// The image a tag or a `repository@digest` name points at.
    fn tag_target(&self, tx: &Transaction<'_>, name: &str) -> Result<Option<Digest>> {
        let (table, query) = if is_digest_name(name) {
            (
                "image_digests",
                "SELECT image_id FROM image_digests WHERE name = ?1",
            )
        } else {
            (
                "image_tags",
                "SELECT image_id FROM image_tags WHERE name = ?1",
            )
        };
        tx.query_row(query, [name], |r| r.get::<_, String>(0))
            .optional()
            .map_err(sql("resolve tag", &self.path))?
            .map(|s| self.digest(table, name, &s))
            .transpose()
    }

    fn strings(&self, tx: &Transaction<'_>, query: &str, param: &str) -> Result<Vec<String>> {
        let mut stmt = tx.prepare(query).map_err(sql("query", &self.path))?;
        let rows = stmt
            .query_map([param], |r| r.get::<_, String>(0))
            .map_err(sql("query", &self.path))?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(sql("query", &self.path))
    }

    fn digest(&self, table: &'static str, key: &str, value: &str) -> Result<Digest> {
        value.parse().map_err(|e| self.corrupt(table, key, e))
    }

    fn corrupt(&self, table: &'static str, key: &str, reason: impl ToString) -> Error {
        Error::CorruptRow {
            path: self.path.clone(),
            table,
            key: key.to_string(),
            reason: reason.to_string(),
        }
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        // An unfinished Transaction rolls back on drop, so a panic while holding the lock
        // cannot leave the connection mid-transaction.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn begin<'c>(&self, conn: &'c mut Connection) -> Result<Transaction<'c>> {
        conn.transaction()
            .map_err(sql("begin transaction", &self.path))
    }
}

fn check_json(text: &str, what: impl FnOnce() -> String) -> Result<()> {
    serde_json::from_str::<serde::de::IgnoredAny>(text)
        .map(drop)
        .map_err(|source| Error::InvalidJson {
            what: what(),
            source,
        })
}

/// SQLite integers are signed; sizes beyond i64::MAX cannot occur on real files.
fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
