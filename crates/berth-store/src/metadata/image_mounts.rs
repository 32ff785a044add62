//! The images containers mount (the CRI's image volumes, KEP 4639): which image, at which
//! destination, through which view snapshot. The engine owns the mounts; this is the single
//! source of "who uses which image" beside `containers.image_id`, and of the views GC keeps.

use berth_types::Digest;
use rusqlite::{params, Transaction};

use super::MetadataDb;
use crate::error::{sql, Error, Result};

/// One image a container mounts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageMountRef {
    /// Where it is mounted in the container.
    pub destination: String,
    pub image_id: Digest,
    /// The key of the read-only view snapshot of the image's layers.
    pub snapshot_key: String,
}

impl MetadataDb {
    pub(super) fn insert_image_mount(
        &self,
        tx: &Transaction<'_>,
        container: &str,
        m: &ImageMountRef,
    ) -> Result<()> {
        tx.execute(
            "INSERT INTO image_mounts (container, destination, image_id, snapshot_key)
             VALUES (?1, ?2, ?3, ?4)",
            params![
                container,
                m.destination,
                m.image_id.as_str(),
                m.snapshot_key
            ],
        )
        .map_err(|e| match e {
            // The only foreign key a new row can miss is its image's (the container's row is
            // inserted in the same transaction).
            rusqlite::Error::SqliteFailure(f, _)
                if f.code == rusqlite::ErrorCode::ConstraintViolation
                    && f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY =>
            {
                Error::ImageNotFound(m.image_id.to_string())
            }
            e => sql("insert image mount", &self.path)(e),
        })?;
        Ok(())
    }

    /// The images container `id` mounts, by destination.
    pub fn container_image_mounts(&self, id: &str) -> Result<Vec<ImageMountRef>> {
        let mut conn = self.conn();
        let tx = self.begin(&mut conn)?;
        let mut stmt = tx
            .prepare(
                "SELECT destination, image_id, snapshot_key FROM image_mounts
                 WHERE container = ?1 ORDER BY destination",
            )
            .map_err(sql("list image mounts", &self.path))?;
        let rows = stmt
            .query_map([id], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                ))
            })
            .map_err(sql("list image mounts", &self.path))?;
        let mut out = Vec::new();
        for row in rows {
            let (destination, image_id, snapshot_key) =
                row.map_err(sql("list image mounts", &self.path))?;
            out.push(ImageMountRef {
                image_id: self.digest("image_mounts", &snapshot_key, &image_id)?,
                destination,
                snapshot_key,
            });
        }
        Ok(out)
    }
}
