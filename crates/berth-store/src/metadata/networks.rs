//! Network records: the engine's definition of each network as JSON, keyed by id, names unique.
//! The engine owns the meaning of the JSON (driver, subnets, the CNI configuration list).

use chrono::{DateTime, Utc};
use rusqlite::{params, OptionalExtension};

use super::MetadataDb;
use crate::error::{sql, Error, Result};

/// A network as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkRecord {
    pub id: String,
    pub name: String,
    pub config: String,
    /// Stored with millisecond precision.
    pub created: DateTime<Utc>,
}

const NETWORK_COLUMNS: &str = "SELECT id, name, config, created FROM networks";

fn read_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<NetworkRecord> {
    Ok(NetworkRecord {
        id: r.get(0)?,
        name: r.get(1)?,
        config: r.get(2)?,
        created: crate::fsutil::from_millis(r.get(3)?),
    })
}

impl MetadataDb {
    /// Stores a new network; `NetworkExists` when the name is taken.
    pub fn create_network(&self, n: &NetworkRecord) -> Result<()> {
        let mut conn = self.conn();
        let tx = self.begin(&mut conn)?;
        let inserted = tx
            .execute(
                "INSERT OR IGNORE INTO networks (id, name, config, created) VALUES (?1, ?2, ?3, ?4)",
                params![n.id, n.name, n.config, n.created.timestamp_millis()],
            )
            .map_err(sql("insert network", &self.path))?;
        if inserted == 0 {
            return Err(Error::NetworkExists(n.name.clone()));
        }
        tx.commit().map_err(sql("commit network", &self.path))
    }

    /// Replaces the definition of network `id` (the name stays).
    pub fn set_network_config(&self, id: &str, config: &str) -> Result<()> {
        let n = self
            .conn()
            .execute(
                "UPDATE networks SET config = ?2 WHERE id = ?1",
                params![id, config],
            )
            .map_err(sql("update network", &self.path))?;
        if n == 0 {
            return Err(Error::NetworkNotFound(id.to_string()));
        }
        Ok(())
    }

    /// The network with this exact id or name.
    pub fn get_network(&self, id_or_name: &str) -> Result<NetworkRecord> {
        self.conn()
            .query_row(
                &format!("{NETWORK_COLUMNS} WHERE id = ?1 OR name = ?1 ORDER BY id = ?1 DESC"),
                [id_or_name],
                read_row,
            )
            .optional()
            .map_err(sql("read network", &self.path))?
            .ok_or_else(|| Error::NetworkNotFound(id_or_name.to_string()))
    }

    /// Every network, by name.
    pub fn list_networks(&self) -> Result<Vec<NetworkRecord>> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare(&format!("{NETWORK_COLUMNS} ORDER BY name"))
            .map_err(sql("list networks", &self.path))?;
        let rows = stmt
            .query_map([], read_row)
            .map_err(sql("list networks", &self.path))?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(sql("list networks", &self.path))
    }

    pub fn delete_network(&self, id: &str) -> Result<()> {
        let n = self
            .conn()
            .execute("DELETE FROM networks WHERE id = ?1", [id])
            .map_err(sql("delete network", &self.path))?;
        if n == 0 {
            return Err(Error::NetworkNotFound(id.to_string()));
        }
        Ok(())
    }
}
