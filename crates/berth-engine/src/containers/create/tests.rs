use super::*;

fn record(id: char, name: &str) -> metadata::Container {
    metadata::Container {
        id: ContainerId::new(&id.to_string().repeat(64)).unwrap(),
        name: name.into(),
        image_id: berth_types::Digest::sha256_from_bytes(&[0; 32]),
        snapshot_key: id.to_string(),
        config: "{}".into(),
        format: crate::model::ContainerSpec::FORMAT,
        namespace: "moby".into(),
        state: "{}".into(),
        created: chrono::Utc::now(),
    }
}

/// Two creates that drew the same generated name: the later one draws again instead of failing
/// (fifty parallel `docker run`s hit this).
#[test]
fn a_generated_name_taken_meanwhile_is_drawn_again() {
    let dir = tempfile::tempdir().unwrap();
    let store = berth_store::Store::open(dir.path()).unwrap();
    store
        .metadata
        .create_image(&metadata::Image {
            id: berth_types::Digest::sha256_from_bytes(&[0; 32]),
            manifest_digest: berth_types::Digest::sha256_from_bytes(&[1; 32]),
            index_digest: None,
            media_type: "application/vnd.oci.image.manifest.v1+json".into(),
            size: 0,
            config: "{}".into(),
            layers: Vec::new(),
            created: chrono::Utc::now(),
            parent: None,
        })
        .unwrap();
    insert(&store, &mut record('a', "brave_galileo"), true, &[], &[]).unwrap();

    let mut later = record('b', "brave_galileo");
    insert(&store, &mut later, true, &[], &[]).unwrap();
    assert_ne!(later.name, "brave_galileo");
    assert!(store.metadata.container_by_name(&later.name).is_ok());

    let err = insert(&store, &mut record('c', "brave_galileo"), false, &[], &[]).unwrap_err();
    assert!(matches!(err, Error::NameInUse { .. }), "{err}");
}
