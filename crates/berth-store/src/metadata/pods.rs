//! Pod sandbox records: CRI's identity of a pod (name, namespace, uid, attempt) as columns, so
//! the database enforces that one identity names one sandbox; the engine owns the meaning of
//! `config` (its pod spec) and `state` (phase and the resources made for it), both JSON.

use chrono::{DateTime, Utc};
use rusqlite::{params, OptionalExtension};

use super::MetadataDb;
use crate::error::{sql, Error, Result};

/// A pod sandbox as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodRecord {
    pub id: String,
    pub name: String,
    pub namespace: String,
    pub uid: String,
    pub attempt: u32,
    pub config: String,
    pub state: String,
    /// Stored with millisecond precision.
    pub created: DateTime<Utc>,
}

impl PodRecord {
    /// containerd's sandbox name: the identity the kubelet may not reuse while it exists.
    pub fn full_name(&self) -> String {
        format!(
            "{}_{}_{}_{}",
            self.name, self.namespace, self.uid, self.attempt
        )
    }
}

const POD_COLUMNS: &str =
    "SELECT id, name, namespace, uid, attempt, config, state, created FROM pods";

fn read_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<PodRecord> {
    Ok(PodRecord {
        id: r.get(0)?,
        name: r.get(1)?,
        namespace: r.get(2)?,
        uid: r.get(3)?,
        attempt: r.get(4)?,
        config: r.get(5)?,
        state: r.get(6)?,
        created: crate::fsutil::from_millis(r.get(7)?),
    })
}

impl MetadataDb {
    /// Stores a new pod; `PodNameReserved` when its identity is taken.
    pub fn create_pod(&self, p: &PodRecord) -> Result<()> {
        let mut conn = self.conn();
        let tx = self.begin(&mut conn)?;
        let holder: Option<String> = tx
            .query_row(
                "SELECT id FROM pods WHERE name = ?1 AND namespace = ?2 AND uid = ?3 AND attempt = ?4",
                params![p.name, p.namespace, p.uid, p.attempt],
                |r| r.get(0),
            )
            .optional()
            .map_err(sql("look up pod", &self.path))?;
        if let Some(id) = holder {
            return Err(Error::PodNameReserved {
                name: p.full_name(),
                id,
            });
        }
        tx.execute(
            "INSERT INTO pods (id, name, namespace, uid, attempt, config, state, created)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                p.id,
                p.name,
                p.namespace,
                p.uid,
                p.attempt,
                p.config,
                p.state,
                p.created.timestamp_millis()
            ],
        )
        .map_err(sql("insert pod", &self.path))?;
        tx.commit().map_err(sql("commit pod", &self.path))
    }

    pub fn set_pod_state(&self, id: &str, state: &str) -> Result<()> {
        let n = self
            .conn()
            .execute(
                "UPDATE pods SET state = ?2 WHERE id = ?1",
                params![id, state],
            )
            .map_err(sql("update pod", &self.path))?;
        if n == 0 {
            return Err(Error::PodNotFound(id.to_string()));
        }
        Ok(())
    }

    pub fn get_pod(&self, id: &str) -> Result<PodRecord> {
        self.conn()
            .query_row(&format!("{POD_COLUMNS} WHERE id = ?1"), [id], read_row)
            .optional()
            .map_err(sql("read pod", &self.path))?
            .ok_or_else(|| Error::PodNotFound(id.to_string()))
    }

    /// Every pod, oldest first.
    pub fn list_pods(&self) -> Result<Vec<PodRecord>> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare(&format!("{POD_COLUMNS} ORDER BY created, id"))
            .map_err(sql("list pods", &self.path))?;
        let rows = stmt
            .query_map([], read_row)
            .map_err(sql("list pods", &self.path))?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(sql("list pods", &self.path))
    }

    /// Removes the record; one already gone is fine (removal is idempotent).
    pub fn delete_pod(&self, id: &str) -> Result<()> {
        self.conn()
            .execute("DELETE FROM pods WHERE id = ?1", [id])
            .map_err(sql("delete pod", &self.path))?;
        Ok(())
    }
}
