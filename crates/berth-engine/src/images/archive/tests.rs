use super::*;

/// Writes `value` as a blob of `root`'s layout and returns its digest.
fn blob(root: &Path, value: &Value) -> Digest {
    let bytes = serde_json::to_vec(value).unwrap();
    let d = sha256(&bytes);
    std::fs::create_dir_all(root.join("blobs/sha256")).unwrap();
    std::fs::write(root.join(blob_name(&d)), bytes).unwrap();
    d
}

fn manifest(root: &Path, seed: &str) -> Digest {
    let config = sha256(seed.as_bytes());
    let layer = sha256(format!("{seed}-layer").as_bytes());
    blob(
        root,
        &json!({
            "schemaVersion": 2, "mediaType": MEDIA_OCI_MANIFEST,
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config, "size": 1},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer, "size": 1}],
        }),
    )
}

#[test]
fn oci_index_picks_this_platform_and_the_image_name() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let other = manifest(root, "other");
    let ours = manifest(root, "ours");
    let arch = crate::system::go_arch(std::env::consts::ARCH);
    let nested = blob(
        root,
        &json!({"schemaVersion": 2, "mediaType": MEDIA_OCI_INDEX, "manifests": [
            {"mediaType": MEDIA_OCI_MANIFEST, "digest": other, "size": 1,
             "platform": {"os": "linux", "architecture": "s390x-not-this-one"}},
            {"mediaType": MEDIA_OCI_MANIFEST, "digest": ours, "size": 1,
             "platform": {"os": "linux", "architecture": arch}},
        ]}),
    );
    let index = json!({"schemaVersion": 2, "manifests": [
        {"mediaType": MEDIA_OCI_INDEX, "digest": nested, "size": 1,
         "annotations": {ANNOTATION_IMAGE_NAME: "docker.io/library/x:1", ANNOTATION_REF_NAME: "1"}},
        {"mediaType": MEDIA_OCI_MANIFEST, "digest": ours, "size": 1,
         "annotations": {ANNOTATION_REF_NAME: "latest"}},
    ]});
    std::fs::write(root.join("index.json"), serde_json::to_vec(&index).unwrap()).unwrap();
    let plans = plan_oci(root).unwrap();
    assert_eq!(plans.len(), 2);
    assert_eq!(plans[0].expected_config, Some(sha256(b"ours")));
    assert_eq!(plans[0].tags[0].familiar(), "x:1");
    assert_eq!(
        plans[0].layers[0].1,
        Some(sha256(b"ours-layer")),
        "layer digests come from the chosen manifest"
    );
    // A bare tag annotation names no image.
    assert!(plans[1].tags.is_empty());

    // A manifest blob that does not match its digest is refused.
    std::fs::write(root.join(blob_name(&ours)), b"{}").unwrap();
    assert!(matches!(
        plan_oci(root),
        Err(Error::ArchiveDigestMismatch { .. })
    ));
}

#[test]
fn blob_names_are_layout_paths() {
    let d = sha256(b"x");
    assert_eq!(blob_name(&d), format!("blobs/sha256/{}", d.hex()));
}
