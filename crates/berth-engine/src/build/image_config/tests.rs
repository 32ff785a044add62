use super::*;

/// A config dockerd 20.10's builder wrote (`docker save` of an image built from a Dockerfile
/// with every metadata instruction, RUN, COPY and ADD), byte for byte.
const DOCKERD: &str = include_str!("dockerd-20.10.json");

#[test]
fn a_dockerd_built_config_reads_and_writes_back_byte_for_byte() {
    let config: ImageConfig = serde_json::from_str(DOCKERD).unwrap();
    assert!(config.other.is_empty(), "unmodelled: {:?}", config.other);
    assert_eq!(config.config.user, "app");
    assert_eq!(config.history.len(), 23);
    assert!(config.history[1].empty_layer);
    assert_eq!(
        String::from_utf8(config.to_bytes().unwrap()).unwrap(),
        DOCKERD
    );
}

#[test]
fn unknown_fields_of_a_base_image_are_kept() {
    let text = r#"{"architecture":"arm64","config":{},"os":"linux","rootfs":{"type":"layers","diff_ids":[]},"os.version":"10","moby.buildkit.buildinfo.v1":"e30="}"#;
    let config: ImageConfig = serde_json::from_str(text).unwrap();
    let back: serde_json::Value = serde_json::from_slice(&config.to_bytes().unwrap()).unwrap();
    assert_eq!(back["os.version"], "10");
    assert_eq!(back["moby.buildkit.buildinfo.v1"], "e30=");
}

#[test]
fn go_escaping_covers_the_html_characters_only() {
    assert_eq!(
        go_html_escape(br#"{"a":"<x> & \u001b"}"#),
        br#"{"a":"\u003cx\u003e \u0026 \u001b"}"#.to_vec()
    );
}
