//! Opening a SQLite database the way every Berth store wants it: WAL, foreign keys, full sync,
//! and a schema brought up to date by an ordered list of migrations.

use std::path::Path;
use std::time::Duration;

use rusqlite::Connection;

use crate::error::{sql, Error, Result};

/// Opens `path` and applies the migrations it has not seen yet. `PRAGMA user_version` is the
/// number of migrations applied; each migration runs in its own transaction together with the
/// version bump, so a crash leaves the schema at a whole version. Migrations are append-only:
/// never edit one that has shipped.
pub(crate) fn open(path: &Path, migrations: &[&str]) -> Result<Connection> {
    let mut conn = Connection::open(path).map_err(sql("open database", path))?;
    conn.busy_timeout(Duration::from_secs(10))
        .map_err(sql("set busy timeout", path))?;
    // journal_mode answers with a row, so it cannot go through execute_batch.
    let mode: String = conn
        .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
        .map_err(sql("enable WAL", path))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(Error::Sqlite {
            action: "enable WAL",
            path: path.to_path_buf(),
            source: rusqlite::Error::InvalidQuery,
        });
    }
    // NORMAL in WAL mode: a committed transaction survives a crash of the process (what the
    // daemon must ride out) without an fsync per commit, which was a measurable share of
    // `docker run --rm`; after a power loss the last commits can be lost but the database stays
    // consistent, and the engine's start-up reconcile (snapshotter cleanup, GC) removes what no
    // record describes.
    conn.execute_batch("PRAGMA foreign_keys=ON; PRAGMA synchronous=NORMAL;")
        .map_err(sql("set pragmas", path))?;
    let supported = i64::try_from(migrations.len()).unwrap_or(i64::MAX);
    let found: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(sql("read schema version", path))?;
    if found > supported {
        return Err(Error::SchemaTooNew {
            path: path.to_path_buf(),
            found,
            supported,
        });
    }
    for (i, migration) in migrations.iter().enumerate().skip(found.max(0) as usize) {
        let tx = conn.transaction().map_err(sql("begin migration", path))?;
        tx.execute_batch(migration)
            .map_err(sql("apply migration", path))?;
        tx.execute_batch(&format!("PRAGMA user_version = {}", i + 1))
            .map_err(sql("bump schema version", path))?;
        tx.commit().map_err(sql("commit migration", path))?;
    }
    Ok(conn)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
