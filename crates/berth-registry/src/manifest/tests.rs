use super::*;

const D1: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
const D2: &str = "sha256:2222222222222222222222222222222222222222222222222222222222222222";

fn index() -> String {
    format!(
        r#"{{"schemaVersion":2,"mediaType":"{}","manifests":[
        {{"mediaType":"{}","digest":"{D1}","size":1,"platform":{{"os":"linux","architecture":"arm64","variant":"v8"}}}},
        {{"mediaType":"{}","digest":"{D2}","size":2,"platform":{{"os":"linux","architecture":"amd64"}}}}]}}"#,
        media::DOCKER_LIST,
        media::DOCKER_MANIFEST,
        media::DOCKER_MANIFEST
    )
}

#[test]
fn index_selects_platform() {
    let m = Manifest::parse("r", index().as_bytes()).unwrap();
    let amd = m
        .select("r", &Platform::parse("linux/amd64").unwrap())
        .unwrap()
        .unwrap();
    assert_eq!(amd.digest.as_str(), D2);
    let arm = m
        .select("r", &Platform::parse("linux/arm64").unwrap())
        .unwrap()
        .unwrap();
    assert_eq!(arm.digest.as_str(), D1);
    let arm8 = m
        .select("r", &Platform::parse("linux/aarch64/v8").unwrap())
        .unwrap()
        .unwrap();
    assert_eq!(arm8.digest.as_str(), D1);
    let err = m
        .select("r", &Platform::parse("linux/s390x").unwrap())
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("no matching manifest for linux/s390x"),
        "{err}"
    );
}

#[test]
fn image_manifests_and_foreign_layers() {
    let oci = format!(
        r#"{{"schemaVersion":2,"config":{{"mediaType":"{}","digest":"{D1}","size":3}},
        "layers":[{{"mediaType":"application/vnd.oci.image.layer.nondistributable.v1.tar+gzip","digest":"{D2}","size":4,"urls":["https://x"]}},
                  {{"mediaType":"application/vnd.oci.image.layer.v1.tar+zstd","digest":"{D2}","size":4}}]}}"#,
        media::OCI_CONFIG
    );
    let Manifest::Image {
        media_type, layers, ..
    } = Manifest::parse("r", oci.as_bytes()).unwrap()
    else {
        panic!("not an image manifest");
    };
    assert_eq!(media_type, media::OCI_MANIFEST);
    assert!(layers[0].is_foreign() && !layers[1].is_foreign());
    let v1 = br#"{"schemaVersion":1,"name":"x"}"#;
    assert!(matches!(
        Manifest::parse("r", v1),
        Err(Error::UnsupportedManifest { .. })
    ));
    assert!(Manifest::parse("r", b"{").is_err());
}

#[test]
fn platform_parsing() {
    assert_eq!(Platform::parse("").unwrap(), Platform::host());
    assert_eq!(
        Platform::parse("linux/arm/v7").unwrap().to_string(),
        "linux/arm/v7"
    );
    assert!(Platform::parse("a/b/c/d").is_err());
    assert!(Platform::parse("/amd64").is_err());
}
