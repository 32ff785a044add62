use super::*;

fn blob(seed: &str, media_type: &str) -> Blob {
    let hash: [u8; 32] = Sha256::digest(seed.as_bytes()).into();
    let digest = Digest::sha256_from_bytes(&hash);
    Blob {
        path: std::path::PathBuf::from("/nowhere"),
        id: Some(short(&digest)),
        digest,
        size: seed.len() as u64,
        media_type: media_type.to_string(),
    }
}

fn parse(bytes: &[u8]) -> serde_json::Value {
    serde_json::from_slice(bytes).unwrap()
}

#[test]
fn gzipped_layers_go_up_under_a_docker_v2_2_manifest() {
    let config = blob("config", media::DOCKER_CONFIG);
    let layers = [
        blob("pulled", "application/vnd.oci.image.layer.v1.tar+gzip"),
        blob("gzipped", layer_media_type(Compression::Gzip)),
    ];
    let (bytes, media_type) = manifest_for(&config, &layers).unwrap();
    assert_eq!(media_type, media::DOCKER_MANIFEST);
    // The same inputs give the same bytes: the digest of a second push.
    assert_eq!(manifest_for(&config, &layers).unwrap().0, bytes);
    let m = parse(&bytes);
    assert_eq!(m["schemaVersion"], 2);
    assert_eq!(m["mediaType"], media::DOCKER_MANIFEST);
    assert_eq!(m["config"]["mediaType"], media::DOCKER_CONFIG);
    assert_eq!(m["config"]["digest"], config.digest.as_str());
    assert_eq!(m["config"]["size"], config.size);
    for (i, l) in layers.iter().enumerate() {
        assert_eq!(m["layers"][i]["mediaType"], DOCKER_LAYER_GZIP);
        assert_eq!(m["layers"][i]["digest"], l.digest.as_str());
        assert_eq!(m["layers"][i]["size"], l.size);
    }
    let text = String::from_utf8(bytes).unwrap();
    assert!(
        text.starts_with(r#"{"schemaVersion":2,"mediaType":"#),
        "{text}"
    );
}

#[test]
fn a_zstd_layer_makes_it_an_oci_manifest() {
    let config = blob("config", media::DOCKER_CONFIG);
    let layers = [
        blob("zstd", layer_media_type(Compression::Zstd)),
        blob("gzipped", layer_media_type(Compression::Gzip)),
    ];
    let (bytes, media_type) = manifest_for(&config, &layers).unwrap();
    assert_eq!(media_type, media::OCI_MANIFEST);
    let m = parse(&bytes);
    assert_eq!(m["config"]["mediaType"], media::OCI_CONFIG);
    assert_eq!(
        m["layers"][0]["mediaType"],
        layer_media_type(Compression::Zstd)
    );
    assert_eq!(
        m["layers"][1]["mediaType"],
        layer_media_type(Compression::Gzip)
    );
}
