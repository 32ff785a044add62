use super::*;

#[test]
fn migrates_in_order_and_refuses_newer_schema() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let v1 = ["CREATE TABLE a (x INTEGER);"];
    drop(open(&path, &v1).unwrap());
    let v2 = [v1[0], "ALTER TABLE a ADD COLUMN y TEXT;"];
    let conn = open(&path, &v2).unwrap();
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, 2);
    conn.execute("INSERT INTO a (x, y) VALUES (1, 'b')", [])
        .unwrap();
    drop(conn);
    assert!(matches!(
        open(&path, &v1),
        Err(Error::SchemaTooNew {
            found: 2,
            supported: 1,
            ..
        })
    ));
}

#[test]
fn failed_migration_leaves_previous_version() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let bad = ["CREATE TABLE a (x INTEGER);", "CREATE TABLE b (; nonsense"];
    assert!(open(&path, &bad).is_err());
    let conn = open(&path, &bad[..1]).unwrap();
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, 1);
}
