use super::*;
use std::io::Read;
use std::sync::{Arc, Barrier};

fn sha(bytes: &[u8]) -> Digest {
    Digest::sha256_from_bytes(&Sha256::digest(bytes).into())
}

fn store() -> (tempfile::TempDir, ContentStore) {
    let dir = tempfile::tempdir().unwrap();
    let cs = ContentStore::open(dir.path().join("content")).unwrap();
    (dir, cs)
}

#[test]
fn write_commit_read_round_trip() {
    let (_d, cs) = store();
    let body = b"hello layer".to_vec();
    let dg = sha(&body);
    let mut w = cs.writer("pull-1", Some((&dg, body.len() as u64))).unwrap();
    w.write_all(&body).unwrap();
    assert_eq!(w.offset(), body.len() as u64);
    assert_eq!(w.commit(body.len() as u64, &dg).unwrap(), dg);
    let mut got = Vec::new();
    cs.reader(&dg).unwrap().read_to_end(&mut got).unwrap();
    assert_eq!(got, body);
    assert_eq!(cs.info(&dg).unwrap().size, body.len() as u64);
    assert!(cs.list_ingests().unwrap().is_empty());
    assert_eq!(cs.walk().unwrap().len(), 1);
    let mode = fs::metadata(cs.blob_path(&dg))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o444);
    // Knowing the blob is there, a second download is refused up front.
    assert!(matches!(
        cs.writer("pull-2", Some((&dg, 11))),
        Err(Error::BlobExists(_))
    ));
}

#[test]
fn torn_write_is_invisible_and_resumes() {
    let (_d, cs) = store();
    let body: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    let dg = sha(&body);
    let size = body.len() as u64;
    {
        let mut w = cs.writer("layer", Some((&dg, size))).unwrap();
        w.write_all(&body[..40_000]).unwrap();
        // Dropped: the download was interrupted.
    }
    assert!(!cs.exists(&dg).unwrap());
    assert!(matches!(cs.reader(&dg), Err(Error::BlobNotFound(_))));
    assert!(cs.walk().unwrap().is_empty());
    let ingests = cs.list_ingests().unwrap();
    assert_eq!(ingests.len(), 1);
    assert_eq!(ingests[0].reference, "layer");
    assert_eq!(ingests[0].offset, 40_000);
    assert_eq!(ingests[0].expected, Some((dg.clone(), size)));

    let mut w = cs.writer("layer", Some((&dg, size))).unwrap();
    assert_eq!(w.offset(), 40_000);
    let mut prefix = Vec::new();
    w.read_back().unwrap().read_to_end(&mut prefix).unwrap();
    assert_eq!(prefix, body[..40_000]);
    let at = w.offset() as usize;
    w.write_all(&body[at..]).unwrap();
    assert_eq!(w.commit(size, &dg).unwrap(), dg);
    assert_eq!(cs.info(&dg).unwrap().size, size);
}

#[test]
fn resume_with_other_expected_digest_starts_over() {
    let (_d, cs) = store();
    let mut w = cs.writer("r", Some((&sha(b"a"), 1))).unwrap();
    w.write_all(b"a").unwrap();
    drop(w);
    let w = cs.writer("r", Some((&sha(b"bb"), 2))).unwrap();
    assert_eq!(w.offset(), 0);
}

#[test]
fn resume_keeps_data_once_the_digest_becomes_known() {
    let (_d, cs) = store();
    let mut w = cs.writer("r", None).unwrap();
    w.write_all(b"he").unwrap();
    drop(w);
    let mut w = cs.writer("r", Some((&sha(b"hello"), 5))).unwrap();
    assert_eq!(w.offset(), 2);
    w.write_all(b"llo").unwrap();
    assert_eq!(w.commit(5, &sha(b"hello")).unwrap(), sha(b"hello"));
}

#[test]
fn truncate_restarts_hash() {
    let (_d, cs) = store();
    let mut w = cs.writer("r", None).unwrap();
    w.write_all(b"garbage").unwrap();
    w.truncate().unwrap();
    w.write_all(b"ok").unwrap();
    assert_eq!(w.commit(2, &sha(b"ok")).unwrap(), sha(b"ok"));
}

#[test]
fn wrong_digest_is_rejected_and_ingest_removed() {
    let (_d, cs) = store();
    let claimed = sha(b"what the manifest said");
    let mut w = cs.writer("bad", Some((&claimed, 5))).unwrap();
    w.write_all(b"evil!").unwrap();
    let err = w.commit(5, &claimed).unwrap_err();
    assert!(matches!(err, Error::DigestMismatch { .. }), "{err}");
    assert_eq!(err.kind(), berth_types::ErrorKind::InvalidArgument);
    assert!(err.to_string().contains("bad"));
    assert!(!cs.exists(&claimed).unwrap());
    assert!(cs.list_ingests().unwrap().is_empty());
    assert!(!cs.exists(&sha(b"evil!")).unwrap());
}

#[test]
fn wrong_size_is_rejected_and_ingest_removed() {
    let (_d, cs) = store();
    let mut w = cs.writer("short", None).unwrap();
    w.write_all(b"abc").unwrap();
    let err = w.commit(4, &sha(b"abc")).unwrap_err();
    assert!(matches!(
        err,
        Error::SizeMismatch {
            expected: 4,
            actual: 3,
            ..
        }
    ));
    assert!(cs.list_ingests().unwrap().is_empty());
}

#[test]
fn concurrent_writer_of_same_ref_is_refused() {
    let (_d, cs) = store();
    let w = cs.writer("same", None).unwrap();
    let err = cs.writer("same", None).unwrap_err();
    assert!(matches!(err, Error::IngestBusy { .. }));
    assert_eq!(err.kind(), berth_types::ErrorKind::Conflict);
    assert!(matches!(
        cs.abort_ingest("same"),
        Err(Error::IngestBusy { .. })
    ));
    drop(w);
    let w = cs.writer("same", None).unwrap();
    w.abort().unwrap();
    assert!(matches!(
        cs.abort_ingest("same"),
        Err(Error::IngestNotFound(_))
    ));
}

#[test]
fn concurrent_commits_of_same_digest_both_succeed() {
    let (_d, cs) = store();
    let body = vec![7u8; 256 * 1024];
    let dg = sha(&body);
    let barrier = Arc::new(Barrier::new(2));
    // Both writers are open before either commits, as two racing pulls would be.
    let writers: Vec<Writer> = (0..2)
        .map(|i| {
            let mut w = cs.writer(&format!("pull-{i}"), None).unwrap();
            w.write_all(&body).unwrap();
            w
        })
        .collect();
    let handles: Vec<_> = writers
        .into_iter()
        .map(|w| {
            let (b, dg) = (barrier.clone(), dg.clone());
            std::thread::spawn(move || {
                b.wait();
                w.commit(256 * 1024, &dg)
            })
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().unwrap().unwrap(), dg);
    }
    assert_eq!(cs.walk().unwrap().len(), 1);
    assert!(cs.list_ingests().unwrap().is_empty());
}

#[test]
fn write_blob_is_idempotent_and_delete_frees() {
    let (_d, cs) = store();
    let a = cs.write_blob(b"{}").unwrap();
    assert_eq!(cs.write_blob(b"{}").unwrap(), a);
    assert_eq!(a, sha(b"{}"));
    assert_eq!(cs.delete(&a).unwrap(), 2);
    assert!(matches!(cs.delete(&a), Err(Error::BlobNotFound(_))));
}

#[test]
fn sha512_writes_are_refused() {
    let (_d, cs) = store();
    let d: Digest = format!("sha512:{}", "0".repeat(128)).parse().unwrap();
    assert!(matches!(
        cs.writer("x", Some((&d, 1))),
        Err(Error::UnsupportedDigest(_))
    ));
}

#[test]
fn prune_removes_old_unlocked_and_metaless_ingests() {
    let (_d, cs) = store();
    let mut w = cs.writer("old", None).unwrap();
    w.write_all(b"x").unwrap();
    drop(w);
    let held = cs.writer("held", None).unwrap();
    // A crash right after mkdir: no meta, no data.
    fs::create_dir(cs.ingest_root().join("deadbeef")).unwrap();
    let future = SystemTime::now() + std::time::Duration::from_secs(60);
    let mut removed = cs.prune_ingests(future).unwrap();
    removed.sort();
    assert_eq!(removed, vec!["deadbeef".to_string(), "old".to_string()]);
    assert_eq!(cs.list_ingests().unwrap().len(), 1);
    // Nothing is older than the past.
    let past = SystemTime::UNIX_EPOCH;
    assert!(cs.prune_ingests(past).unwrap().is_empty());
    drop(held);
}
