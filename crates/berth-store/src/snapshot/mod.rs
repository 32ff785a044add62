//! Overlayfs snapshotter, modelled on containerd's snapshotter interface, with docker overlay2's
//! short links.
//!
//! ```text
//! <root>/lock                 flock: one Snapshotter per root
//! <root>/metadata.db          SQLite: one row per snapshot (see MIGRATIONS)
//! <root>/snapshots/<id>/fs    the layer's files (upperdir while active)
//! <root>/snapshots/<id>/work  overlay workdir (active snapshots only)
//! <root>/l/<26 chars>         symlink -> ../snapshots/<id>/fs, used as lowerdir
//! ```
//!
//! Every operation is one SQLite transaction. A new snapshot's directory is built under
//! `snapshots/tmp-*`, renamed to its id and fsynced before the row is committed, so a crash at
//! any point leaves either a complete snapshot or leftovers without a row, which
//! [`Snapshotter::cleanup`] (run by `open` and by GC) deletes. Removal deletes the row first and
//! the directory after, for the same reason.
//!
//! Lower layers are named by their short link (`<root>/l/XXXX`), as docker does: it keeps the
//! mount options short enough for the one-page `mount(2)` fallback (about 140 layers) and gives
//! readable `/proc/self/mountinfo` lines.

mod mount;

pub use mount::{mount, mount_idmapped, unmount, IdmappedLayers, Mount};

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::fs::{self, File};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::SystemTime;

use chrono::{DateTime, Utc};
use nix::fcntl::Flock;
use rusqlite::{params, Connection, OptionalExtension, Transaction};
use sha2::{Digest as _, Sha256};

use crate::error::{io, sql, Error, Result};
use crate::fsutil::{from_millis, fsync_dir, lock_root, temp_name, unix_millis};
use crate::sqlite;

/// Schema of `<root>/metadata.db`. `parent_id` has no `ON DELETE` action, so SQLite itself refuses
/// to delete a parent; `link` is the short link name under `<root>/l/`.
const MIGRATIONS: &[&str] = &["CREATE TABLE snapshots (
        id        INTEGER PRIMARY KEY AUTOINCREMENT,
        key       TEXT NOT NULL UNIQUE,
        parent_id INTEGER REFERENCES snapshots(id),
        kind      TEXT NOT NULL CHECK (kind IN ('active', 'view', 'committed')),
        link      TEXT NOT NULL UNIQUE,
        labels    TEXT NOT NULL DEFAULT '{}',
        created   INTEGER NOT NULL,
        updated   INTEGER NOT NULL
    );
    CREATE INDEX snapshots_parent ON snapshots(parent_id);"];

/// What a snapshot is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// Writable (an image layer being unpacked, or a container's rootfs).
    Active,
    /// Read-only view of a committed chain.
    View,
    /// Immutable; the only kind that can be a parent.
    Committed,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::View => "view",
            Self::Committed => "committed",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        match s {
            "active" => Some(Self::Active),
            "view" => Some(Self::View),
            "committed" => Some(Self::Committed),
            _ => None,
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A snapshot's metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Info {
    pub key: String,
    pub parent: Option<String>,
    pub kind: Kind,
    pub labels: BTreeMap<String, String>,
    pub created: DateTime<Utc>,
    pub updated: DateTime<Utc>,
}

/// Disk use of a directory tree: one snapshot's own directory (not its parents), a volume.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Usage {
    /// Allocated bytes (`st_blocks * 512`); hard links counted once.
    pub size: u64,
    pub inodes: u64,
}

/// What the tree at `root` occupies; a tree on another filesystem is counted too (a volume's
/// mount), since the walk does not look at mount boundaries. Entries removed while the walk
/// runs (a snapshot deleted, a container writing) are skipped: they use nothing any more.
pub fn disk_usage(root: &Path) -> Result<Usage> {
    let mut usage = Usage::default();
    let mut seen = HashSet::new();
    let mut stack = vec![root.to_path_buf()];
    let gone =
        |e: &std::io::Error, path: &Path| e.kind() == std::io::ErrorKind::NotFound && path != root;
    while let Some(path) = stack.pop() {
        let m = match fs::symlink_metadata(&path) {
            Ok(m) => m,
            Err(e) if gone(&e, &path) => continue,
            Err(e) => return Err(io("stat", &path)(e)),
        };
        if seen.insert((m.dev(), m.ino())) {
            usage.inodes += 1;
            usage.size += m.blocks() * 512;
        }
        if m.is_dir() {
            let entries = match fs::read_dir(&path) {
                Ok(entries) => entries,
                Err(e) if gone(&e, &path) => continue,
                Err(e) => return Err(io("list", &path)(e)),
            };
            for entry in entries {
                stack.push(entry.map_err(io("list", &path))?.path());
            }
        }
    }
    Ok(usage)
}

/// One row, as read inside a transaction.
struct Row {
    id: i64,
    kind: Kind,
    link: String,
}

/// The overlay snapshotter rooted at one directory. Cheap to share (`Arc`) between threads.
#[derive(Debug)]
pub struct Snapshotter {
    root: PathBuf,
    db_path: PathBuf,
    conn: Mutex<Connection>,
    _lock: Flock<File>,
}

impl Snapshotter {
    /// Opens (creating if needed) the snapshotter at `root`, takes its lock and removes leftovers
    /// of operations a crash interrupted.
    pub fn open(root: impl Into<PathBuf>) -> Result<Self> {
        let root = root.into();
        for dir in [root.join("snapshots"), root.join("l")] {
            fs::create_dir_all(&dir).map_err(io("create directory", &dir))?;
        }
        let root = fs::canonicalize(&root).map_err(io("resolve", &root))?;
        // Overlay options are ':' and ',' separated; layers under such a root could not be
        // named in them.
        let text = root.to_string_lossy();
        if text.contains(':') || text.contains(',') {
            return Err(Error::InvalidRoot {
                path: root,
                reason: "overlay mount options cannot express paths containing ':' or ','",
            });
        }
        let lock = lock_root(&root.join("lock"))?;
        let db_path = root.join("metadata.db");
        let conn = sqlite::open(&db_path, MIGRATIONS)?;
        let this = Self {
            root,
            db_path,
            conn: Mutex::new(conn),
            _lock: lock,
        };
        this.cleanup()?;
        Ok(this)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Creates an active (writable) snapshot on top of committed `parent` and returns how to
    /// mount it: a bind mount of an empty directory without a parent, else an overlay.
    pub fn prepare(&self, key: &str, parent: Option<&str>) -> Result<Vec<Mount>> {
        self.create(Kind::Active, key, parent)
    }

    /// Creates a read-only view of committed `parent`.
    pub fn view(&self, key: &str, parent: Option<&str>) -> Result<Vec<Mount>> {
        self.create(Kind::View, key, parent)
    }

    /// Turns active snapshot `key` into committed snapshot `name`; its directory stays where it
    /// is, so committing copies nothing.
    pub fn commit(&self, name: &str, key: &str) -> Result<()> {
        self.commit_with(name, key, None)
    }

    /// Commits active snapshot `key`, prepared without a parent, as `name` on top of committed
    /// `parent`. Layers are unpacked in parallel and stacked afterwards: an unpacked layer's
    /// directory does not depend on what is below it (whiteouts stay whiteouts), so only the
    /// row changes.
    pub fn commit_onto(&self, name: &str, key: &str, parent: &str) -> Result<()> {
        self.commit_with(name, key, Some(parent))
    }

    fn commit_with(&self, name: &str, key: &str, parent: Option<&str>) -> Result<()> {
        check_key(name)?;
        let mut conn = self.conn();
        let tx = self.begin(&mut conn)?;
        let row = self.active_row(&tx, key, "commit")?;
        if self.find(&tx, name)?.is_some() {
            return Err(Error::SnapshotExists(name.to_string()));
        }
        if let Some(parent) = parent {
            let parent_row = self.row(&tx, parent)?;
            if parent_row.kind != Kind::Committed {
                return Err(Error::ParentNotCommitted {
                    key: key.to_string(),
                    parent: parent.to_string(),
                    kind: parent_row.kind,
                });
            }
            let updated = tx
                .execute(
                    "UPDATE snapshots SET parent_id = ?1 WHERE id = ?2 AND parent_id IS NULL",
                    params![parent_row.id, row.id],
                )
                .map_err(sql("commit snapshot", &self.db_path))?;
            if updated == 0 {
                return Err(Error::HasParent {
                    key: key.to_string(),
                });
            }
        }
        tx.execute(
            "UPDATE snapshots SET key = ?1, kind = 'committed', updated = ?2 WHERE id = ?3",
            params![name, unix_millis(SystemTime::now()), row.id],
        )
        .map_err(sql("commit snapshot", &self.db_path))?;
        tx.commit().map_err(sql("commit snapshot", &self.db_path))
    }

    /// How to mount active or view snapshot `key`.
    pub fn mounts(&self, key: &str) -> Result<Vec<Mount>> {
        let mut conn = self.conn();
        let tx = self.begin(&mut conn)?;
        let row = self.row(&tx, key)?;
        if row.kind == Kind::Committed {
            return Err(Error::WrongKind {
                key: key.to_string(),
                kind: row.kind,
                action: "mounts",
                expected: "an active snapshot or a view",
            });
        }
        let chain = self.parent_chain(&tx, row.id)?;
        Ok(self.mounts_for(&row, &chain))
    }

    /// The directory that holds the files of active snapshot `key` (its overlay upperdir).
    /// Layers are unpacked straight into it, as docker's overlay2 does, before commit.
    pub fn upper_dir(&self, key: &str) -> Result<PathBuf> {
        let mut conn = self.conn();
        let tx = self.begin(&mut conn)?;
        let row = self.active_row(&tx, key, "write into")?;
        Ok(self.snapshot_dir(row.id).join("fs"))
    }

    /// The directories of the parents of snapshot `key`, nearest first: the lower layers that
    /// `docker diff` compares an upper directory with.
    pub fn lower_dirs(&self, key: &str) -> Result<Vec<PathBuf>> {
        let mut conn = self.conn();
        let tx = self.begin(&mut conn)?;
        let row = self.row(&tx, key)?;
        Ok(self
            .parent_chain(&tx, row.id)?
            .iter()
            .map(|r| self.snapshot_dir(r.id).join("fs"))
            .collect())
    }

    /// A read-only mount of what active snapshot `key` holds now (its upper directory over its
    /// parents), for reading a stopped container's files (`export`, `cp`). The upper becomes
    /// the top lowerdir, so nothing can write to it and no workdir is involved; overlayfs honours
    /// the whiteouts and opaque directories in it as in any lower layer. Do not use it while the
    /// snapshot is mounted writable elsewhere.
    pub fn read_only_mounts(&self, key: &str) -> Result<Vec<Mount>> {
        let mut conn = self.conn();
        let tx = self.begin(&mut conn)?;
        let row = self.row(&tx, key)?;
        if row.kind != Kind::Active {
            return Err(Error::WrongKind {
                key: key.to_string(),
                kind: row.kind,
                action: "mount read-only",
                expected: "an active snapshot",
            });
        }
        let chain = self.parent_chain(&tx, row.id)?;
        let upper = self.snapshot_dir(row.id).join("fs");
        if chain.is_empty() {
            return Ok(vec![Mount::bind(&upper, true)]);
        }
        let lowers: Vec<String> = std::iter::once(upper.display().to_string())
            .chain(
                chain
                    .iter()
                    .map(|r| self.root.join("l").join(&r.link).display().to_string()),
            )
            .collect();
        Ok(vec![Mount::overlay(vec![
            format!("lowerdir={}", lowers.join(":")),
            "ro".to_string(),
        ])])
    }

    /// Removes snapshot `key`, refusing while other snapshots use it as their parent.
    ///
    /// The row goes first; if deleting the directory then fails (say, it is still mounted), the
    /// snapshot is already gone and [`Snapshotter::cleanup`] retries the directory later.
    pub fn remove(&self, key: &str) -> Result<()> {
        let row = match self.delete_row(key) {
            Ok(row) => row,
            Err(e) => match self.upper_dir(key) {
                // On a full disk SQLite has no room to record the delete. An active
                // snapshot's files are its own: they go first, then the delete is retried.
                Ok(upper) if upper.is_dir() => {
                    fs::remove_dir_all(&upper).map_err(io("empty snapshot", &upper))?;
                    fs::create_dir(&upper).map_err(io("empty snapshot", &upper))?;
                    self.delete_row(key)?
                }
                _ => return Err(e),
            },
        };
        let link = self.root.join("l").join(&row.link);
        match fs::remove_file(&link) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(io("remove link", &link)(e))
            }
            _ => {}
        }
        let dir = self.snapshot_dir(row.id);
        fs::remove_dir_all(&dir).map_err(io("remove snapshot directory", &dir))
    }

    pub fn stat(&self, key: &str) -> Result<Info> {
        let conn = self.conn();
        let infos = self.query_infos(&conn, Some(key))?;
        infos
            .into_iter()
            .next()
            .ok_or_else(|| Error::SnapshotNotFound(key.to_string()))
    }

    /// Replaces the labels of snapshot `key`.
    pub fn set_labels(&self, key: &str, labels: &BTreeMap<String, String>) -> Result<()> {
        let json = serde_json::to_string(labels).map_err(|source| Error::InvalidJson {
            what: format!("labels of snapshot {key:?}"),
            source,
        })?;
        let conn = self.conn();
        let n = conn
            .execute(
                "UPDATE snapshots SET labels = ?1, updated = ?2 WHERE key = ?3",
                params![json, unix_millis(SystemTime::now()), key],
            )
            .map_err(sql("set labels", &self.db_path))?;
        if n == 0 {
            return Err(Error::SnapshotNotFound(key.to_string()));
        }
        Ok(())
    }

    /// Every snapshot, parents before children.
    pub fn walk(&self) -> Result<Vec<Info>> {
        let conn = self.conn();
        self.query_infos(&conn, None)
    }

    /// Bytes and inodes used by snapshot `key`'s own directory.
    pub fn usage(&self, key: &str) -> Result<Usage> {
        let id = {
            let mut conn = self.conn();
            let tx = self.begin(&mut conn)?;
            self.row(&tx, key)?.id
        };
        disk_usage(&self.snapshot_dir(id).join("fs"))
    }

    /// Deletes directories and links that no row owns: leftovers of a crash during create or
    /// remove, or of a directory a removal could not delete. Returns what it deleted.
    pub fn cleanup(&self) -> Result<Vec<PathBuf>> {
        // Holding the connection keeps every create/remove of this process out meanwhile, and
        // the root lock keeps other processes out.
        let conn = self.conn();
        let mut ids = HashSet::new();
        let mut links = HashSet::new();
        {
            let mut stmt = conn
                .prepare("SELECT id, link FROM snapshots")
                .map_err(sql("list snapshots", &self.db_path))?;
            let rows = stmt
                .query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))
                .map_err(sql("list snapshots", &self.db_path))?;
            for row in rows {
                let (id, link) = row.map_err(sql("list snapshots", &self.db_path))?;
                ids.insert(id.to_string());
                links.insert(link);
            }
        }
        let mut removed = Vec::new();
        let snapshots = self.root.join("snapshots");
        for entry in fs::read_dir(&snapshots).map_err(io("list", &snapshots))? {
            let entry = entry.map_err(io("list", &snapshots))?;
            if !ids.contains(&*entry.file_name().to_string_lossy()) {
                let path = entry.path();
                remove_any(&path)?;
                removed.push(path);
            }
        }
        let l = self.root.join("l");
        for entry in fs::read_dir(&l).map_err(io("list", &l))? {
            let entry = entry.map_err(io("list", &l))?;
            if !links.contains(&*entry.file_name().to_string_lossy()) {
                let path = entry.path();
                remove_any(&path)?;
                removed.push(path);
            }
        }
        Ok(removed)
    }

    fn create(&self, kind: Kind, key: &str, parent: Option<&str>) -> Result<Vec<Mount>> {
        check_key(key)?;
        let mut conn = self.conn();
        let tx = self.begin(&mut conn)?;
        if self.find(&tx, key)?.is_some() {
            return Err(Error::SnapshotExists(key.to_string()));
        }
        let parent_row = match parent {
            None => None,
            Some(p) => {
                let row = self.row(&tx, p)?;
                if row.kind != Kind::Committed {
                    return Err(Error::ParentNotCommitted {
                        key: key.to_string(),
                        parent: p.to_string(),
                        kind: row.kind,
                    });
                }
                Some(row)
            }
        };
        let link = new_link(key);
        let now = unix_millis(SystemTime::now());
        tx.execute(
            "INSERT INTO snapshots (key, parent_id, kind, link, created, updated)
             VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
            params![
                key,
                parent_row.as_ref().map(|p| p.id),
                kind.as_str(),
                link,
                now
            ],
        )
        .map_err(sql("insert snapshot", &self.db_path))?;
        let row = Row {
            id: tx.last_insert_rowid(),
            kind,
            link,
        };
        // Everything on disk is in place and durable before the row becomes visible; on error
        // the guard undoes it and the transaction rolls back when dropped.
        let mut guard = CreateGuard::new(self, &row);
        guard.build()?;
        let chain = self.parent_chain(&tx, row.id)?;
        tx.commit().map_err(sql("commit snapshot", &self.db_path))?;
        guard.keep();
        Ok(self.mounts_for(&row, &chain))
    }

    fn mounts_for(&self, row: &Row, chain: &[Row]) -> Vec<Mount> {
        let dir = self.snapshot_dir(row.id);
        let fs_dir = dir.join("fs");
        let lowers = || {
            chain
                .iter()
                .map(|r| self.root.join("l").join(&r.link).display().to_string())
                .collect::<Vec<_>>()
                .join(":")
        };
        match (row.kind, chain) {
            (Kind::Active, []) => vec![Mount::bind(&fs_dir, false)],
            (Kind::Active, _) => vec![Mount::overlay(vec![
                format!("workdir={}", dir.join("work").display()),
                format!("upperdir={}", fs_dir.display()),
                format!("lowerdir={}", lowers()),
            ])],
            (_, []) => vec![Mount::bind(&fs_dir, true)],
            // Overlay needs two lowers when it has no upper; one layer is just a bind mount.
            (_, [only]) => vec![Mount::bind(&self.snapshot_dir(only.id).join("fs"), true)],
            (_, _) => vec![Mount::overlay(vec![format!("lowerdir={}", lowers())])],
        }
    }

    /// The parents of snapshot `id`, nearest first.
    fn parent_chain(&self, tx: &Transaction<'_>, id: i64) -> Result<Vec<Row>> {
        let mut stmt = tx
            .prepare(
                "WITH RECURSIVE chain(id, parent_id, kind, link, depth) AS (
                    SELECT id, parent_id, kind, link, 0 FROM snapshots WHERE id = ?1
                    UNION ALL
                    SELECT s.id, s.parent_id, s.kind, s.link, c.depth + 1
                    FROM snapshots s JOIN chain c ON s.id = c.parent_id
                 )
                 SELECT id, kind, link FROM chain WHERE depth > 0 ORDER BY depth",
            )
            .map_err(sql("read parent chain", &self.db_path))?;
        let rows = stmt
            .query_map([id], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                ))
            })
            .map_err(sql("read parent chain", &self.db_path))?;
        let mut out = Vec::new();
        for row in rows {
            let (id, kind, link) = row.map_err(sql("read parent chain", &self.db_path))?;
            out.push(Row {
                id,
                kind: self.parse_kind(&id.to_string(), &kind)?,
                link,
            });
        }
        Ok(out)
    }

    fn query_infos(&self, conn: &Connection, key: Option<&str>) -> Result<Vec<Info>> {
        let mut stmt = conn
            .prepare(
                "SELECT s.key, p.key, s.kind, s.labels, s.created, s.updated
                 FROM snapshots s LEFT JOIN snapshots p ON s.parent_id = p.id
                 WHERE ?1 IS NULL OR s.key = ?1
                 ORDER BY s.id",
            )
            .map_err(sql("list snapshots", &self.db_path))?;
        let rows = stmt
            .query_map([key], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, Option<String>>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, i64>(4)?,
                    r.get::<_, i64>(5)?,
                ))
            })
            .map_err(sql("list snapshots", &self.db_path))?;
        let mut out = Vec::new();
        for row in rows {
            let (key, parent, kind, labels, created, updated) =
                row.map_err(sql("list snapshots", &self.db_path))?;
            let labels = serde_json::from_str(&labels).map_err(|e| Error::CorruptRow {
                path: self.db_path.clone(),
                table: "snapshots",
                key: key.clone(),
                reason: format!("labels: {e}"),
            })?;
            out.push(Info {
                kind: self.parse_kind(&key, &kind)?,
                key,
                parent,
                labels,
                created: from_millis(created),
                updated: from_millis(updated),
            });
        }
        Ok(out)
    }

    fn parse_kind(&self, key: &str, kind: &str) -> Result<Kind> {
        Kind::parse(kind).ok_or_else(|| Error::CorruptRow {
            path: self.db_path.clone(),
            table: "snapshots",
            key: key.to_string(),
            reason: format!("unknown kind {kind:?}"),
        })
    }

    fn find(&self, tx: &Transaction<'_>, key: &str) -> Result<Option<Row>> {
        let row = tx
            .query_row(
                "SELECT id, kind, link FROM snapshots WHERE key = ?1",
                [key],
                |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                    ))
                },
            )
            .optional()
            .map_err(sql("look up snapshot", &self.db_path))?;
        row.map(|(id, kind, link)| {
            Ok(Row {
                id,
                kind: self.parse_kind(key, &kind)?,
                link,
            })
        })
        .transpose()
    }

    /// The row of `key`, which `action` needs to be an active snapshot.
    fn active_row(&self, tx: &Transaction<'_>, key: &str, action: &'static str) -> Result<Row> {
        let row = self.row(tx, key)?;
        if row.kind != Kind::Active {
            return Err(Error::WrongKind {
                key: key.to_string(),
                kind: row.kind,
                action,
                expected: "an active snapshot",
            });
        }
        Ok(row)
    }

    /// Deletes the row of childless snapshot `key`, returning it.
    fn delete_row(&self, key: &str) -> Result<Row> {
        let mut conn = self.conn();
        let tx = self.begin(&mut conn)?;
        let row = self.row(&tx, key)?;
        let children: u64 = tx
            .query_row(
                "SELECT COUNT(*) FROM snapshots WHERE parent_id = ?1",
                [row.id],
                |r| r.get(0),
            )
            .map_err(sql("count children", &self.db_path))?;
        if children > 0 {
            return Err(Error::SnapshotHasChildren {
                key: key.to_string(),
                children,
            });
        }
        tx.execute("DELETE FROM snapshots WHERE id = ?1", [row.id])
            .map_err(sql("remove snapshot", &self.db_path))?;
        tx.commit().map_err(sql("remove snapshot", &self.db_path))?;
        Ok(row)
    }

    fn row(&self, tx: &Transaction<'_>, key: &str) -> Result<Row> {
        self.find(tx, key)?
            .ok_or_else(|| Error::SnapshotNotFound(key.to_string()))
    }

    fn snapshot_dir(&self, id: i64) -> PathBuf {
        self.root.join("snapshots").join(id.to_string())
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave the connection mid-transaction: an
        // unfinished Transaction rolls back on drop. So a poisoned lock is still usable.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn begin<'c>(&self, conn: &'c mut Connection) -> Result<Transaction<'c>> {
        conn.transaction()
            .map_err(sql("begin transaction", &self.db_path))
    }
}

/// Builds a new snapshot's directory and link, and removes them again unless `keep` is called.
struct CreateGuard<'a> {
    snapshotter: &'a Snapshotter,
    kind: Kind,
    tmp: PathBuf,
    dir: PathBuf,
    link: PathBuf,
    link_target: PathBuf,
    kept: bool,
}

impl<'a> CreateGuard<'a> {
    fn new(snapshotter: &'a Snapshotter, row: &Row) -> Self {
        let snapshots = snapshotter.root.join("snapshots");
        Self {
            snapshotter,
            kind: row.kind,
            tmp: snapshots.join(temp_name("tmp-")),
            dir: snapshotter.snapshot_dir(row.id),
            link: snapshotter.root.join("l").join(&row.link),
            link_target: Path::new("../snapshots")
                .join(row.id.to_string())
                .join("fs"),
            kept: false,
        }
    }

    fn build(&mut self) -> Result<()> {
        let mut dirs = vec![self.tmp.clone(), self.tmp.join("fs")];
        if self.kind == Kind::Active {
            dirs.push(self.tmp.join("work"));
        }
        for d in &dirs {
            fs::create_dir(d).map_err(io("create directory", d))?;
        }
        // A rename onto an existing non-empty directory fails, so a leftover with the same id
        // (a crash before cleanup ran) cannot be silently adopted.
        fs::rename(&self.tmp, &self.dir).map_err(io("rename into place", &self.dir))?;
        std::os::unix::fs::symlink(&self.link_target, &self.link)
            .map_err(io("create link", &self.link))?;
        fsync_dir(&self.snapshotter.root.join("snapshots"))?;
        fsync_dir(&self.snapshotter.root.join("l"))
    }

    fn keep(mut self) {
        self.kept = true;
    }
}

impl Drop for CreateGuard<'_> {
    fn drop(&mut self) {
        if self.kept {
            return;
        }
        // Best effort: whatever stays behind has no row and is removed by the next cleanup.
        let _ = fs::remove_file(&self.link);
        let _ = fs::remove_dir_all(&self.dir);
        let _ = fs::remove_dir_all(&self.tmp);
    }
}

fn check_key(key: &str) -> Result<()> {
    if key.is_empty() {
        Err(Error::EmptyKey)
    } else {
        Ok(())
    }
}

/// A fresh 26-character `[A-Z0-9]` link name, like docker overlay2's.
fn new_link(key: &str) -> String {
    const ALPHABET: &[u8; 36] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let seed = format!("{key}\0{}", temp_name(""));
    Sha256::digest(seed.as_bytes())
        .iter()
        .take(26)
        .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
        .collect()
}

fn remove_any(path: &Path) -> Result<()> {
    let m = fs::symlink_metadata(path).map_err(io("stat", path))?;
    if m.is_dir() {
        fs::remove_dir_all(path).map_err(io("remove", path))
    } else {
        fs::remove_file(path).map_err(io("remove", path))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
