use super::*;

#[test]
fn reserve_refuses_duplicates_and_load_reports_missing() {
    let dir = tempfile::tempdir().unwrap();
    let root = StateRoot(dir.path().join("r"));
    let id = ContainerId::new("c1").unwrap();
    root.reserve(&id).unwrap();
    assert!(matches!(root.reserve(&id), Err(Error::Exists(_))));
    assert!(matches!(root.load("c1"), Err(Error::NotFound(_))));
    assert!(matches!(root.load("../etc"), Err(Error::InvalidId(_))));
}
