//! Volume records and the references containers hold on them. The engine owns the files
//! (`<root>/volumes/<name>/_data`); this is the single source of "who uses which volume".

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rusqlite::{params, OptionalExtension, Transaction};

use super::MetadataDb;
use crate::error::{sql, Error, Result};

/// A volume as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Volume {
    pub name: String,
    /// `local`: the only driver the engine has.
    pub driver: String,
    pub labels: BTreeMap<String, String>,
    /// Driver options (`type`, `device`, `o` for `local`).
    pub options: BTreeMap<String, String>,
    /// Created for one container (`-v /path`, an image `VOLUME`), removed with it by `rm -v`.
    pub anonymous: bool,
    /// Stored with millisecond precision.
    pub created: DateTime<Utc>,
}

/// One container's use of a volume at one mount point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeRef {
    pub volume: String,
    pub container: String,
    pub destination: String,
}

const VOLUME_COLUMNS: &str =
    "SELECT name, driver, labels, options, anonymous, created FROM volumes";

impl MetadataDb {
    /// Stores a new volume; `VolumeExists` if the name is taken.
    pub fn create_volume(&self, v: &Volume) -> Result<()> {
        let mut conn = self.conn();
        let tx = self.begin(&mut conn)?;
        if !self.insert_volume(&tx, v)? {
            return Err(Error::VolumeExists(v.name.clone()));
        }
        tx.commit().map_err(sql("commit volume", &self.path))
    }

    /// Inserts `v` unless a volume of that name exists; true if it was inserted.
    pub(super) fn insert_volume(&self, tx: &Transaction<'_>, v: &Volume) -> Result<bool> {
        let json = |map: &BTreeMap<String, String>, what: &str| {
            serde_json::to_string(map).map_err(|source| Error::InvalidJson {
                what: format!("{what} of volume {}", v.name),
                source,
            })
        };
        let n = tx
            .execute(
                "INSERT OR IGNORE INTO volumes (name, driver, labels, options, anonymous, created)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    v.name,
                    v.driver,
                    json(&v.labels, "labels")?,
                    json(&v.options, "options")?,
                    v.anonymous,
                    v.created.timestamp_millis(),
                ],
            )
            .map_err(sql("insert volume", &self.path))?;
        Ok(n == 1)
    }

    pub fn get_volume(&self, name: &str) -> Result<Volume> {
        let mut conn = self.conn();
        let tx = self.begin(&mut conn)?;
        tx.query_row(
            &format!("{VOLUME_COLUMNS} WHERE name = ?1"),
            [name],
            read_row,
        )
        .optional()
        .map_err(sql("read volume", &self.path))?
        .ok_or_else(|| Error::VolumeNotFound(name.to_string()))
        .and_then(|row| self.volume_from_row(row))
    }

    /// Every volume, by name.
    pub fn list_volumes(&self) -> Result<Vec<Volume>> {
        let mut conn = self.conn();
        let tx = self.begin(&mut conn)?;
        let mut stmt = tx
            .prepare(&format!("{VOLUME_COLUMNS} ORDER BY name"))
            .map_err(sql("list volumes", &self.path))?;
        let rows = stmt
            .query_map([], read_row)
            .map_err(sql("list volumes", &self.path))?;
        let mut out = Vec::new();
        for row in rows {
            out.push(self.volume_from_row(row.map_err(sql("list volumes", &self.path))?)?);
        }
        Ok(out)
    }

    /// The refs on volume `name`, or on every volume (`None`), by volume then container.
    pub fn volume_refs(&self, name: Option<&str>) -> Result<Vec<VolumeRef>> {
        self.refs("volume", name)
    }

    /// The volumes container `id` mounts.
    pub fn container_volume_refs(&self, id: &str) -> Result<Vec<VolumeRef>> {
        self.refs("container", Some(id))
    }

    /// `column` is a trusted constant, never user input.
    fn refs(&self, column: &'static str, value: Option<&str>) -> Result<Vec<VolumeRef>> {
        let mut conn = self.conn();
        let tx = self.begin(&mut conn)?;
        let mut stmt = tx
            .prepare(&format!(
                "SELECT volume, container, destination FROM volume_refs
                 WHERE ?1 IS NULL OR {column} = ?1 ORDER BY volume, container, destination"
            ))
            .map_err(sql("list volume refs", &self.path))?;
        let rows = stmt
            .query_map([value], |r| {
                Ok(VolumeRef {
                    volume: r.get(0)?,
                    container: r.get(1)?,
                    destination: r.get(2)?,
                })
            })
            .map_err(sql("list volume refs", &self.path))?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(sql("list volume refs", &self.path))
    }

    /// Deletes the record of volume `name` (not its files). Refused while a container uses it,
    /// naming the containers (running or not).
    pub fn delete_volume(&self, name: &str) -> Result<()> {
        let mut conn = self.conn();
        let tx = self.begin(&mut conn)?;
        let users = self.strings(
            &tx,
            "SELECT DISTINCT container FROM volume_refs WHERE volume = ?1 ORDER BY container",
            name,
        )?;
        if !users.is_empty() {
            return Err(Error::VolumeInUse {
                volume: name.to_string(),
                containers: users,
            });
        }
        let n = tx
            .execute("DELETE FROM volumes WHERE name = ?1", [name])
            .map_err(sql("delete volume", &self.path))?;
        if n == 0 {
            return Err(Error::VolumeNotFound(name.to_string()));
        }
        tx.commit().map_err(sql("delete volume", &self.path))
    }

    fn volume_from_row(&self, row: Row) -> Result<Volume> {
        let (name, driver, labels, options, anonymous, created) = row;
        let map = |text: &str| {
            serde_json::from_str::<BTreeMap<String, String>>(text)
                .map_err(|e| self.corrupt("volumes", &name, e))
        };
        Ok(Volume {
            labels: map(&labels)?,
            options: map(&options)?,
            name,
            driver,
            anonymous,
            created: crate::fsutil::from_millis(created),
        })
    }
}

type Row = (String, String, String, String, bool, i64);

fn read_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Row> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
    ))
}
