use super::*;
use crate::metadata::{Container, Image, Layer};
use crate::Store;
use berth_types::ContainerId;
use std::io::Write;
use std::time::Duration;

fn later() -> SystemTime {
    SystemTime::now() + Duration::from_secs(3600)
}

/// A digest that names no blob (chain ids are computed, not stored).
fn name_digest(seed: &str) -> Digest {
    use sha2::Digest as _;
    Digest::sha256_from_bytes(&sha2::Sha256::digest(seed.as_bytes()).into())
}

/// An image of two layers (snapshots `chain(0)`, `chain(1)`) whose blobs all exist.
fn add_image(store: &Store, seed: &str) -> Image {
    let blob = |s: String| store.content.write_blob(s.as_bytes()).unwrap();
    let mut layers = Vec::new();
    let mut parent: Option<String> = None;
    for i in 0..2 {
        let chain_id = name_digest(&format!("{seed}-chain-{i}"));
        let key = format!("extract-{seed}-{i}");
        store.snapshots.prepare(&key, parent.as_deref()).unwrap();
        store.snapshots.commit(chain_id.as_str(), &key).unwrap();
        parent = Some(chain_id.to_string());
        layers.push(Layer {
            diff_id: name_digest(&format!("{seed}-diff-{i}")),
            blob_digest: blob(format!("{seed}-layer-{i}")),
            blob_size: 10,
            media_type: "application/vnd.oci.image.layer.v1.tar+gzip".to_string(),
            chain_id,
        });
    }
    let image = Image {
        id: blob(format!(r#"{{"seed":"{seed}"}}"#)),
        manifest_digest: blob(format!("{seed}-manifest")),
        index_digest: None,
        media_type: "application/vnd.oci.image.manifest.v1+json".to_string(),
        size: 100,
        config: "{}".to_string(),
        layers,
        created: crate::fsutil::from_millis(chrono::Utc::now().timestamp_millis()),
        parent: None,
    };
    store.metadata.create_image(&image).unwrap();
    image
}

#[test]
fn keeps_referenced_and_removes_unreferenced() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let img = add_image(&store, "kept");
    let top = img.layers[1].chain_id.to_string();
    store.snapshots.prepare("ctr-1", Some(&top)).unwrap();
    store
        .metadata
        .create_container(&Container {
            id: ContainerId::new("c1").unwrap(),
            name: "web".to_string(),
            image_id: img.id.clone(),
            snapshot_key: "ctr-1".to_string(),
            config: "{}".to_string(),
            format: 2,
            namespace: "moby".to_string(),
            state: "{}".to_string(),
            created: chrono::Utc::now(),
        })
        .unwrap();
    // Garbage: a blob, an abandoned unpack on a kept layer, a whole unreferenced chain, and
    // a half-finished download.
    let junk = store.content.write_blob(b"junk!").unwrap();
    store.snapshots.prepare("abandoned", Some(&top)).unwrap();
    store.snapshots.prepare("u1", None).unwrap();
    store.snapshots.commit("u1c", "u1").unwrap();
    store.snapshots.view("u2", Some("u1c")).unwrap();
    let mut w = store.content.writer("stale-pull", None).unwrap();
    w.write_all(b"part").unwrap();
    drop(w);

    // Everything is new: a cut-off in the past protects it all.
    let nothing = collect(
        &store.content,
        &store.snapshots,
        &store.metadata,
        SystemTime::UNIX_EPOCH,
    )
    .unwrap();
    assert_eq!(nothing, GcReport::default());

    let report = store.gc(later()).unwrap();
    assert_eq!(report.blobs, [(junk.clone(), 5)]);
    assert_eq!(report.bytes_freed, 5);
    let mut removed = report.snapshots.clone();
    removed.sort();
    assert_eq!(removed, ["abandoned", "u1c", "u2"]);
    assert_eq!(report.ingests, ["stale-pull"]);

    assert!(!store.content.exists(&junk).unwrap());
    for d in [&img.id, &img.manifest_digest, &img.layers[0].blob_digest] {
        assert!(store.content.exists(d).unwrap(), "{d} was collected");
    }
    let left: Vec<String> = store
        .snapshots
        .walk()
        .unwrap()
        .into_iter()
        .map(|i| i.key)
        .collect();
    assert_eq!(
        left,
        [img.layers[0].chain_id.to_string(), top, "ctr-1".into()]
    );

    // Deleting the container and the image makes the rest garbage.
    store.metadata.delete_container("c1").unwrap();
    store.metadata.delete_image(&img.id).unwrap();
    let report = store.gc(later()).unwrap();
    assert_eq!(report.snapshots.len(), 3);
    assert_eq!(report.snapshots[0], "ctr-1", "children go first");
    assert!(store.content.walk().unwrap().is_empty());
    assert!(store.snapshots.walk().unwrap().is_empty());
}

#[test]
fn open_and_gc_clean_crash_leftovers() {
    let dir = tempfile::tempdir().unwrap();
    let img = {
        let store = Store::open(dir.path()).unwrap();
        add_image(&store, "a")
    };
    let overlay = dir.path().join("overlay");
    // A crash before a snapshot's rename, one after it but before the row, a dangling link,
    // an ingest whose writer died, and one that crashed right after mkdir.
    std::fs::create_dir_all(overlay.join("snapshots/tmp-1-2-3/fs")).unwrap();
    std::fs::create_dir_all(overlay.join("snapshots/999/work")).unwrap();
    std::os::unix::fs::symlink(
        "../snapshots/999/fs",
        overlay.join("l/ZZZZZZZZZZZZZZZZZZZZZZZZZZ"),
    )
    .unwrap();
    let ingest = dir.path().join("content/ingest");
    std::fs::create_dir_all(ingest.join("0123")).unwrap();
    {
        let cs = ContentStore::open(dir.path().join("content")).unwrap();
        let mut w = cs.writer("died", None).unwrap();
        w.write_all(b"xx").unwrap();
    }

    let store = Store::open(dir.path()).unwrap();
    let report = store.gc(later()).unwrap();
    assert!(!overlay.join("snapshots/tmp-1-2-3").exists());
    assert!(!overlay.join("snapshots/999").exists());
    assert!(std::fs::symlink_metadata(overlay.join("l/ZZZZZZZZZZZZZZZZZZZZZZZZZZ")).is_err());
    let mut ingests = report.ingests.clone();
    ingests.sort();
    assert_eq!(ingests, ["0123", "died"]);
    assert!(std::fs::read_dir(&ingest).unwrap().next().is_none());
    // The image survived untouched.
    assert!(report.blobs.is_empty() && report.snapshots.is_empty());
    assert_eq!(store.metadata.get_image(&img.id).unwrap(), img);
    assert_eq!(store.snapshots.walk().unwrap().len(), 2);
}

#[test]
fn a_pushed_gzip_copy_lives_as_long_as_its_layer() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let img = add_image(&store, "pushed");
    let source = &img.layers[0].blob_digest;
    let gzip = store.content.write_blob(b"gzip of layer 0").unwrap();
    store.metadata.add_gzip_blob(source, &gzip, 15).unwrap();
    // A gzip copy whose source is already gone is garbage, and so is its record.
    let orphan = store.content.write_blob(b"gzip of nothing").unwrap();
    let gone = name_digest("gone");
    store.metadata.add_gzip_blob(&gone, &orphan, 15).unwrap();
    let report = store.gc(later()).unwrap();
    assert_eq!(report.blobs, [(orphan.clone(), 15)]);
    assert!(store.content.exists(&gzip).unwrap());
    assert_eq!(
        store.metadata.gzip_blob(source).unwrap(),
        Some((gzip.clone(), 15))
    );
    assert_eq!(store.metadata.gzip_blob(&gone).unwrap(), None);

    store.metadata.delete_image(&img.id).unwrap();
    let report = store.gc(later()).unwrap();
    assert!(report.blobs.iter().any(|(d, _)| d == &gzip), "{report:?}");
    assert!(store.content.walk().unwrap().is_empty());
    assert_eq!(store.metadata.gzip_blob(source).unwrap(), None);
}
