use super::*;
use berth_types::ErrorKind;

fn digest(seed: &str) -> Digest {
    use sha2::Digest as _;
    Digest::sha256_from_bytes(&sha2::Sha256::digest(seed.as_bytes()).into())
}

fn image(seed: &str, layers: usize) -> Image {
    Image {
        id: digest(&format!("{seed}-config")),
        manifest_digest: digest(&format!("{seed}-manifest")),
        index_digest: None,
        media_type: "application/vnd.oci.image.manifest.v1+json".to_string(),
        size: 1234,
        config: r#"{"architecture":"amd64"}"#.to_string(),
        layers: (0..layers)
            .map(|i| Layer {
                diff_id: digest(&format!("{seed}-diff-{i}")),
                blob_digest: digest(&format!("{seed}-blob-{i}")),
                blob_size: 100,
                media_type: "application/vnd.oci.image.layer.v1.tar+gzip".to_string(),
                chain_id: digest(&format!("{seed}-chain-{i}")),
            })
            .collect(),
        created: crate::fsutil::from_millis(1_700_000_000_123),
        parent: None,
    }
}

fn container(id: &str, name: &str, image: &Digest) -> Container {
    Container {
        id: ContainerId::new(id).unwrap(),
        name: name.to_string(),
        image_id: image.clone(),
        snapshot_key: format!("ctr-{id}"),
        config: "{}".to_string(),
        format: 2,
        namespace: "moby".to_string(),
        state: r#"{"status":"created"}"#.to_string(),
        created: crate::fsutil::from_millis(1_700_000_000_000),
    }
}

fn db() -> (tempfile::TempDir, MetadataDb) {
    let dir = tempfile::tempdir().unwrap();
    let db = MetadataDb::open(dir.path().join("meta.db")).unwrap();
    (dir, db)
}

#[test]
fn migrates_empty_db_and_reopens_with_data() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("meta.db");
    let img = image("a", 2);
    {
        let db = MetadataDb::open(&path).unwrap();
        db.create_image(&img).unwrap();
        db.tag_image("docker.io/library/a:latest", &img.id).unwrap();
    }
    let db = MetadataDb::open(&path).unwrap();
    let conn = db.conn();
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    let fk: i64 = conn
        .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
        .unwrap();
    drop(conn);
    assert_eq!(version, MIGRATIONS.len() as i64);
    assert_eq!(mode, "wal");
    assert_eq!(fk, 1);
    assert_eq!(db.get_image(&img.id).unwrap(), img);
    assert_eq!(
        db.resolve_tag("docker.io/library/a:latest").unwrap(),
        img.id
    );
}

#[test]
fn image_round_trip_and_duplicates() {
    let (_d, db) = db();
    let mut img = image("a", 3);
    img.index_digest = Some(digest("index"));
    db.create_image(&img).unwrap();
    assert_eq!(db.get_image(&img.id).unwrap(), img);
    let err = db.create_image(&img).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AlreadyExists);
    assert!(err.to_string().contains(img.id.as_str()));
    assert_eq!(db.list_images().unwrap().len(), 1);
    let missing = digest("nope");
    assert_eq!(
        db.get_image(&missing).unwrap_err().kind(),
        ErrorKind::NotFound
    );
    let mut bad = image("b", 0);
    bad.config = "{not json".to_string();
    assert!(matches!(
        db.create_image(&bad),
        Err(Error::InvalidJson { .. })
    ));
}

#[test]
fn a_tag_names_one_image() {
    let (_d, db) = db();
    let (a, b) = (image("a", 1), image("b", 1));
    db.create_image(&a).unwrap();
    db.create_image(&b).unwrap();
    assert_eq!(db.tag_image("x:1", &a.id).unwrap(), None);
    assert_eq!(db.tag_image("x:1", &b.id).unwrap(), Some(a.id.clone()));
    assert_eq!(db.resolve_tag("x:1").unwrap(), b.id);
    assert!(db.image_tags(&a.id).unwrap().is_empty());
    assert_eq!(db.image_tags(&b.id).unwrap(), ["x:1"]);
    assert!(matches!(
        db.tag_image("y:1", &digest("missing")),
        Err(Error::ImageNotFound(_))
    ));
    assert_eq!(db.untag("x:1").unwrap(), b.id);
    assert!(matches!(db.resolve_tag("x:1"), Err(Error::TagNotFound(n)) if n == "x:1"));
    assert!(matches!(db.untag("x:1"), Err(Error::TagNotFound(_))));
}

#[test]
fn repo_digests_resolve_and_go_with_their_image() {
    let (_d, db) = db();
    let (a, b) = (image("a", 1), image("b", 1));
    db.create_image(&a).unwrap();
    db.create_image(&b).unwrap();
    let name = format!("r/x@{}", digest("m"));
    db.add_repo_digest(&name, &a.id).unwrap();
    db.add_repo_digest(&format!("q/x@{}", digest("m")), &a.id)
        .unwrap();
    assert_eq!(db.resolve_tag(&name).unwrap(), a.id);
    assert_eq!(db.repo_digests(&a.id).unwrap().len(), 2);
    // A tag of the same text is another table.
    assert!(db.image_tags(&a.id).unwrap().is_empty());
    db.add_repo_digest(&name, &b.id).unwrap();
    assert_eq!(db.repo_digests(&b.id).unwrap(), std::slice::from_ref(&name));
    assert_eq!(db.untag(&name).unwrap(), b.id);
    assert!(db.repo_digests(&b.id).unwrap().is_empty());
    db.delete_image(&a.id).unwrap();
    assert!(db.repo_digests(&a.id).unwrap().is_empty());
}

#[test]
fn container_names_are_unique() {
    let (_d, db) = db();
    let img = image("a", 1);
    db.create_image(&img).unwrap();
    db.create_container(&container("c1", "web", &img.id))
        .unwrap();
    let err = db
        .create_container(&container("c2", "web", &img.id))
        .unwrap_err();
    assert!(matches!(&err, Error::ContainerNameTaken { name, id } if name == "web" && id == "c1"));
    assert_eq!(err.kind(), ErrorKind::AlreadyExists);
    assert!(matches!(
        db.create_container(&container("c1", "other", &img.id)),
        Err(Error::ContainerExists(_))
    ));
    assert!(matches!(
        db.create_container(&container("c3", "x", &digest("none"))),
        Err(Error::ImageNotFound(_))
    ));
    db.create_container(&container("c2", "db", &img.id))
        .unwrap();
    assert!(matches!(
        db.rename_container("c2", "web"),
        Err(Error::ContainerNameTaken { .. })
    ));
    db.rename_container("c2", "cache").unwrap();
    assert_eq!(db.container_by_name("cache").unwrap().id.as_str(), "c2");
    db.set_container_state("c2", r#"{"status":"running"}"#)
        .unwrap();
    assert_eq!(
        db.get_container("c2").unwrap().state,
        r#"{"status":"running"}"#
    );
    assert_eq!(db.list_containers().unwrap().len(), 2);
    db.delete_container("c2").unwrap();
    assert!(matches!(
        db.get_container("c2"),
        Err(Error::ContainerNotFound(_))
    ));
    assert!(matches!(
        db.delete_container("c2"),
        Err(Error::ContainerNotFound(_))
    ));
}

#[test]
fn a_mounted_image_is_in_use_and_its_view_a_gc_root() {
    let (_d, db) = db();
    let own = image("own", 1);
    let mounted = image("mounted", 1);
    db.create_image(&own).unwrap();
    db.create_image(&mounted).unwrap();
    let mount = ImageMountRef {
        destination: "/mnt/data".into(),
        image_id: mounted.id.clone(),
        snapshot_key: "c1-image-0".into(),
    };
    db.create_container_with_image_mounts(
        &container("c1", "web", &own.id),
        std::slice::from_ref(&mount),
    )
    .unwrap();
    assert_eq!(db.container_image_mounts("c1").unwrap(), [mount]);
    assert!(db.gc_roots().unwrap().snapshots.contains("c1-image-0"));
    let err = db.delete_image(&mounted.id).unwrap_err();
    assert!(matches!(&err, Error::ImageInUse { containers, .. } if containers == &["web"]));

    // An image that is not there is refused, and nothing of that container stays.
    let ghost = ImageMountRef {
        destination: "/x".into(),
        image_id: digest("ghost"),
        snapshot_key: "c2-image-0".into(),
    };
    let err = db
        .create_container_with_image_mounts(&container("c2", "two", &own.id), &[ghost])
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(db.get_container("c2").is_err());

    // The rows go with their container.
    db.delete_container("c1").unwrap();
    assert!(db.container_image_mounts("c1").unwrap().is_empty());
    assert!(!db.gc_roots().unwrap().snapshots.contains("c1-image-0"));
    db.delete_image(&mounted.id).unwrap();
}

#[test]
fn image_in_use_cannot_be_deleted() {
    let (_d, db) = db();
    let img = image("a", 2);
    db.create_image(&img).unwrap();
    db.tag_image("a:1", &img.id).unwrap();
    db.tag_image("a:latest", &img.id).unwrap();
    db.create_container(&container("c1", "web", &img.id))
        .unwrap();
    let err = db.delete_image(&img.id).unwrap_err();
    assert!(matches!(&err, Error::ImageInUse { containers, .. } if containers == &["web"]));
    assert_eq!(err.kind(), ErrorKind::Conflict);
    db.delete_container("c1").unwrap();
    assert_eq!(db.delete_image(&img.id).unwrap(), ["a:1", "a:latest"]);
    // Tags and layer rows went with it.
    assert!(matches!(db.resolve_tag("a:1"), Err(Error::TagNotFound(_))));
    let layers: i64 = db
        .conn()
        .query_row("SELECT COUNT(*) FROM image_layers", [], |r| r.get(0))
        .unwrap();
    assert_eq!(layers, 0);
    assert!(matches!(
        db.delete_image(&img.id),
        Err(Error::ImageNotFound(_))
    ));
}

#[test]
fn gc_roots_cover_images_and_containers() {
    let (_d, db) = db();
    let mut img = image("a", 2);
    img.index_digest = Some(digest("idx"));
    db.create_image(&img).unwrap();
    db.create_container(&container("c1", "web", &img.id))
        .unwrap();
    let roots = db.gc_roots().unwrap();
    assert_eq!(roots.blobs.len(), 5); // config, manifest, index, 2 layers
    assert!(roots.blobs.contains(&img.layers[1].blob_digest));
    assert!(roots.snapshots.contains(img.layers[1].chain_id.as_str()));
    assert!(roots.snapshots.contains("ctr-c1"));
}

fn cache_entry(seed: &str, image_id: &Digest, used_ms: i64) -> CacheEntry {
    CacheEntry {
        key: digest(&format!("{seed}-key")),
        image_id: image_id.clone(),
        size: 42,
        description: format!("RUN make {seed}"),
        created: crate::fsutil::from_millis(1_700_000_000_000),
        last_used: crate::fsutil::from_millis(used_ms),
        usage_count: 0,
    }
}

#[test]
fn build_cache_entries_round_trip_in_lru_order_and_go_with_their_image() {
    let (_d, db) = db();
    let (a, b) = (image("a", 1), image("b", 2));
    db.create_image(&a).unwrap();
    db.create_image(&b).unwrap();
    let old = cache_entry("old", &a.id, 1_700_000_000_500);
    let new = cache_entry("new", &b.id, 1_700_000_000_900);
    db.put_cache_entry(&new).unwrap();
    db.put_cache_entry(&old).unwrap();
    assert_eq!(db.cache_entries().unwrap(), vec![old.clone(), new.clone()]);
    assert_eq!(db.use_cache_entry(&digest("missing")).unwrap(), None);
    let hit = db.use_cache_entry(&old.key).unwrap().unwrap();
    assert_eq!((hit.usage_count, &hit.image_id), (1, &a.id));
    assert!(hit.last_used > old.last_used);
    // Used now, `old` is the most recently used.
    let keys: Vec<Digest> = db
        .cache_entries()
        .unwrap()
        .into_iter()
        .map(|e| e.key)
        .collect();
    assert_eq!(keys, vec![new.key.clone(), old.key.clone()]);
    // Replacing keeps one row, now for the other image.
    db.put_cache_entry(&cache_entry("old", &b.id, 1)).unwrap();
    assert_eq!(
        db.use_cache_entry(&old.key).unwrap().unwrap().image_id,
        b.id
    );
    assert_eq!(
        db.delete_cache_entries(&[old.key.clone(), digest("missing")])
            .unwrap(),
        1
    );
    assert_eq!(db.cache_entries().unwrap(), vec![new]);
    // An entry for a missing image is refused; deleting the image deletes its entries.
    let e = db
        .put_cache_entry(&cache_entry("x", &digest("nope"), 1))
        .unwrap_err();
    assert!(matches!(e, Error::ImageNotFound(_)), "{e}");
    db.delete_image(&b.id).unwrap();
    assert!(db.cache_entries().unwrap().is_empty());
}

#[test]
fn image_children_are_the_images_made_on_it() {
    let (_d, db) = db();
    let base = image("base", 1);
    db.create_image(&base).unwrap();
    let mut children = Vec::new();
    for seed in ["c1", "c2"] {
        let mut child = image(seed, 2);
        child.parent = Some(base.id.clone());
        db.create_image(&child).unwrap();
        children.push(child.id);
    }
    children.sort();
    assert_eq!(db.image_children(&base.id).unwrap(), children);
    assert!(db.image_children(&children[0]).unwrap().is_empty());
}

fn volume(name: &str, anonymous: bool) -> Volume {
    Volume {
        name: name.to_string(),
        driver: "local".to_string(),
        labels: [("k".to_string(), "v".to_string())].into(),
        options: [("type".to_string(), "tmpfs".to_string())].into(),
        anonymous,
        created: crate::fsutil::from_millis(1_700_000_000_000),
    }
}

#[test]
fn volumes_round_trip_and_names_are_unique() {
    let (_dir, db) = db();
    let v = volume("data", false);
    db.create_volume(&v).unwrap();
    assert_eq!(db.get_volume("data").unwrap(), v);
    let e = db.create_volume(&volume("data", true)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AlreadyExists);
    db.create_volume(&volume("anon", true)).unwrap();
    let names: Vec<String> = db
        .list_volumes()
        .unwrap()
        .into_iter()
        .map(|v| v.name)
        .collect();
    assert_eq!(names, ["anon", "data"]);
    assert_eq!(
        db.get_volume("nope").unwrap_err().kind(),
        ErrorKind::NotFound
    );
}

#[test]
fn volume_in_use_by_any_container_cannot_be_deleted() {
    let (_dir, db) = db();
    let img = image("a", 1);
    db.create_image(&img).unwrap();
    db.create_volume(&volume("shared", false)).unwrap();
    let created = db
        .create_container_with_volumes(
            &container("c1", "one", &img.id),
            &[volume("shared", false), volume("anon1", true)],
            &[
                ("shared".to_string(), "/data".to_string()),
                ("anon1".to_string(), "/cache".to_string()),
            ],
        )
        .unwrap();
    // The named volume existed already: only the anonymous one is new.
    assert_eq!(created, ["anon1"]);
    db.create_container_with_volumes(
        &container("c2", "two", &img.id),
        &[],
        &[("shared".to_string(), "/data".to_string())],
    )
    .unwrap();

    let e = db.delete_volume("shared").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Conflict);
    assert_eq!(e.to_string(), "remove shared: volume is in use - [c1, c2]");
    assert_eq!(db.volume_refs(Some("shared")).unwrap().len(), 2);
    assert_eq!(
        db.container_volume_refs("c1").unwrap(),
        [
            VolumeRef {
                volume: "anon1".into(),
                container: "c1".into(),
                destination: "/cache".into()
            },
            VolumeRef {
                volume: "shared".into(),
                container: "c1".into(),
                destination: "/data".into()
            },
        ]
    );

    // A ref on a volume that does not exist is refused, and nothing of that container stays.
    let e = db
        .create_container_with_volumes(
            &container("c3", "three", &img.id),
            &[],
            &[("ghost".to_string(), "/x".to_string())],
        )
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert!(db.get_container("c3").is_err());

    // Refs go with their container.
    db.delete_container("c1").unwrap();
    db.delete_container("c2").unwrap();
    assert!(db.volume_refs(None).unwrap().is_empty());
    db.delete_volume("shared").unwrap();
    db.delete_volume("anon1").unwrap();
    assert_eq!(
        db.delete_volume("anon1").unwrap_err().kind(),
        ErrorKind::NotFound
    );
}

#[test]
fn networks_round_trip_by_id_or_name() {
    let (_dir, db) = db();
    let net = NetworkRecord {
        id: "a".repeat(64),
        name: "front".into(),
        config: "{}".into(),
        created: crate::fsutil::from_millis(1_700_000_000_000),
    };
    db.create_network(&net).unwrap();
    assert_eq!(db.get_network("front").unwrap(), net);
    assert_eq!(db.get_network(&net.id).unwrap(), net);
    let taken = db
        .create_network(&NetworkRecord {
            id: "b".repeat(64),
            ..net.clone()
        })
        .unwrap_err();
    assert_eq!(taken.kind(), ErrorKind::AlreadyExists);
    db.set_network_config(&net.id, r#"{"x":1}"#).unwrap();
    assert_eq!(db.list_networks().unwrap()[0].config, r#"{"x":1}"#);
    db.delete_network(&net.id).unwrap();
    assert_eq!(
        db.get_network("front").unwrap_err().kind(),
        ErrorKind::NotFound
    );
}

#[test]
fn gzip_blobs_map_a_source_to_one_gzip_copy() {
    let (_dir, db) = db();
    let source = digest("layer");
    assert_eq!(db.gzip_blob(&source).unwrap(), None);
    db.add_gzip_blob(&source, &digest("gz"), 42).unwrap();
    assert_eq!(db.gzip_blob(&source).unwrap(), Some((digest("gz"), 42)));
    // Recorded again (a gzip copy GC lost is remade): the newest wins.
    db.add_gzip_blob(&source, &digest("gz2"), 43).unwrap();
    assert_eq!(db.gzip_blob(&source).unwrap(), Some((digest("gz2"), 43)));
    db.forget_gzip_blobs(&[digest("gz2")]).unwrap();
    assert_eq!(db.gzip_blob(&source).unwrap(), None);
}

#[test]
fn containers_of_schema_5_read_as_format_1_in_moby() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("meta.db");
    let img = image("a", 1);
    {
        let conn = sqlite::open(&path, &MIGRATIONS[..5]).unwrap();
        conn.execute(
            "INSERT INTO images (id, manifest_digest, media_type, size, config, created)
             VALUES (?1, ?1, 'm', 1, '{}', 0)",
            [img.id.as_str()],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO containers (id, name, image_id, snapshot_key, config, state, created)
             VALUES ('c1', 'web', ?1, 'k', '{\"Image\":\"a\"}', '{}', 0)",
            [img.id.as_str()],
        )
        .unwrap();
    }
    let db = MetadataDb::open(&path).unwrap();
    let c = db.get_container("c1").unwrap();
    assert_eq!((c.format, c.namespace.as_str()), (1, "moby"));
    assert_eq!(c.config, r#"{"Image":"a"}"#);
}

#[test]
fn upgrade_rewrites_older_rows_at_once_and_refuses_newer_ones() {
    let (_dir, db) = db();
    let img = image("a", 1);
    db.create_image(&img).unwrap();
    for (id, name, format) in [("c1", "old", 1), ("c2", "new", 2)] {
        let mut c = container(id, name, &img.id);
        c.format = format;
        c.config = format!(r#"{{"v":{format}}}"#);
        db.create_container(&c).unwrap();
    }
    let seen = std::cell::RefCell::new(Vec::new());
    let n = db
        .upgrade_containers(2, |c| {
            seen.borrow_mut().push(c.id.to_string());
            Ok::<_, std::io::Error>(r#"{"v":2}"#.to_string())
        })
        .unwrap();
    assert_eq!((n, seen.into_inner()), (1, vec!["c1".to_string()]));
    let old = db.get_container("c1").unwrap();
    assert_eq!((old.format, old.config.as_str()), (2, r#"{"v":2}"#));

    // A failed upgrade leaves every row as it was.
    let mut c = container("c3", "third", &img.id);
    c.format = 1;
    db.create_container(&c).unwrap();
    let err = db
        .upgrade_containers(2, |_| Err(std::io::Error::other("bad body")))
        .unwrap_err();
    assert!(err.to_string().contains("c3"), "{err}");
    assert_eq!(db.get_container("c3").unwrap().format, 1);

    let err = db
        .upgrade_containers(1, |_| Ok::<_, std::io::Error>("{}".into()))
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::ContainerFormatTooNew {
                found: 2,
                supported: 1,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(db.get_container("c3").unwrap().format, 1);
}

#[test]
fn a_pod_identity_names_one_sandbox() {
    let (_dir, db) = db();
    let pod = |id: &str, attempt| PodRecord {
        id: id.into(),
        name: "web".into(),
        namespace: "default".into(),
        uid: "u1".into(),
        attempt,
        config: "{}".into(),
        state: "{}".into(),
        created: Utc::now(),
    };
    db.create_pod(&pod("a", 0)).unwrap();
    let err = db.create_pod(&pod("b", 0)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AlreadyExists);
    assert!(err.to_string().contains("\"a\""), "{err}");
    // The next attempt is another sandbox.
    db.create_pod(&pod("b", 1)).unwrap();
    db.set_pod_state("b", "{\"phase\":\"ready\"}").unwrap();
    assert_eq!(db.get_pod("b").unwrap().state, "{\"phase\":\"ready\"}");
    assert_eq!(db.list_pods().unwrap().len(), 2);
    db.delete_pod("a").unwrap();
    db.delete_pod("a").unwrap();
    assert_eq!(db.get_pod("a").unwrap_err().kind(), ErrorKind::NotFound);
}
