//! The image builder's cache: a build step's content-addressed key (what the step read: its
//! parent, instruction, build args in use, the contents it copied) to the image the step made,
//! as dockerd's builder keeps every step's result as an image. A hit reuses that image without
//! running the step. An entry goes with its image; pruning drops the least recently used first.

use berth_types::Digest;
use chrono::{DateTime, Utc};
use rusqlite::{params, Transaction};

use super::{to_i64, MetadataDb};
use crate::error::{sql, Error, Result};

/// One cached step result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheEntry {
    /// The step's cache key.
    pub key: Digest,
    /// The image the step made.
    pub image_id: Digest,
    /// Bytes the step's own layer takes unpacked (0 for a step that only changes the config).
    pub size: u64,
    /// The instruction, for `docker system df -v`.
    pub description: String,
    /// Millisecond precision, as every time the database keeps.
    pub created: DateTime<Utc>,
    pub last_used: DateTime<Utc>,
    pub usage_count: u64,
}

impl MetadataDb {
    /// Stores `entry`, replacing one under the same key (a rebuild with `--no-cache`).
    pub fn put_cache_entry(&self, entry: &CacheEntry) -> Result<()> {
        let conn = self.conn();
        conn.execute(
            "INSERT OR REPLACE INTO build_cache
             (key, image_id, size, description, created, last_used, usage_count)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                entry.key.as_str(),
                entry.image_id.as_str(),
                to_i64(entry.size),
                entry.description,
                entry.created.timestamp_millis(),
                entry.last_used.timestamp_millis(),
                to_i64(entry.usage_count),
            ],
        )
        .map_err(|e| match e {
            rusqlite::Error::SqliteFailure(f, _)
                if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY =>
            {
                Error::ImageNotFound(entry.image_id.to_string())
            }
            e => sql("insert build cache entry", &self.path)(e),
        })?;
        Ok(())
    }

    /// The entry under `key`, counted as used now; `None` on a miss.
    pub fn use_cache_entry(&self, key: &Digest) -> Result<Option<CacheEntry>> {
        let mut conn = self.conn();
        let tx = self.begin(&mut conn)?;
        let n = tx
            .execute(
                "UPDATE build_cache SET last_used = ?2, usage_count = usage_count + 1
                 WHERE key = ?1",
                params![key.as_str(), Utc::now().timestamp_millis()],
            )
            .map_err(sql("use build cache entry", &self.path))?;
        if n == 0 {
            return Ok(None);
        }
        let entry = self.read_cache_entries(&tx, Some(key))?.pop();
        tx.commit()
            .map_err(sql("use build cache entry", &self.path))?;
        Ok(entry)
    }

    /// Every entry, least recently used first.
    pub fn cache_entries(&self) -> Result<Vec<CacheEntry>> {
        let mut conn = self.conn();
        let tx = self.begin(&mut conn)?;
        self.read_cache_entries(&tx, None)
    }

    /// Deletes the entries under `keys` (missing ones are no error); returns how many went.
    pub fn delete_cache_entries(&self, keys: &[Digest]) -> Result<usize> {
        let mut conn = self.conn();
        let tx = self.begin(&mut conn)?;
        let mut n = 0;
        for key in keys {
            n += tx
                .execute("DELETE FROM build_cache WHERE key = ?1", [key.as_str()])
                .map_err(sql("delete build cache entry", &self.path))?;
        }
        tx.commit()
            .map_err(sql("delete build cache entries", &self.path))?;
        Ok(n)
    }

    /// The images a build made on `id`.
    pub fn image_children(&self, id: &Digest) -> Result<Vec<Digest>> {
        let mut conn = self.conn();
        let tx = self.begin(&mut conn)?;
        self.strings(
            &tx,
            "SELECT id FROM images WHERE parent = ?1 ORDER BY id",
            id.as_str(),
        )?
        .iter()
        .map(|child| self.digest("images", child, child))
        .collect()
    }

    fn read_cache_entries(
        &self,
        tx: &Transaction<'_>,
        key: Option<&Digest>,
    ) -> Result<Vec<CacheEntry>> {
        let mut stmt = tx
            .prepare(
                "SELECT key, image_id, size, description, created, last_used, usage_count
                 FROM build_cache WHERE ?1 IS NULL OR key = ?1
                 ORDER BY last_used, created, key",
            )
            .map_err(sql("list build cache", &self.path))?;
        let rows = stmt
            .query_map([key.map(Digest::as_str)], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, i64>(4)?,
                    r.get::<_, i64>(5)?,
                    r.get::<_, i64>(6)?,
                ))
            })
            .map_err(sql("list build cache", &self.path))?;
        let mut out = Vec::new();
        for row in rows {
            let (key, image_id, size, description, created, last_used, count) =
                row.map_err(sql("list build cache", &self.path))?;
            out.push(CacheEntry {
                image_id: self.digest("build_cache", &key, &image_id)?,
                size: size.max(0).unsigned_abs(),
                description,
                created: crate::fsutil::from_millis(created),
                last_used: crate::fsutil::from_millis(last_used),
                usage_count: count.max(0).unsigned_abs(),
                key: self.digest("build_cache", &key, &key)?,
            });
        }
        Ok(out)
    }
}
