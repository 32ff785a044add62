use super::*;

#[test]
fn loopback_is_insecure_by_default_and_ranges_match() {
    let c = RegistryConfig {
        insecure_registries: vec!["reg.local:5000".into(), "10.1.0.0/16".into()],
        ..Default::default()
    };
    assert!(c.is_insecure("127.0.0.1:5000"));
    assert!(c.is_insecure("127.4.5.6"));
    assert!(c.is_insecure("localhost:5000"));
    assert!(c.is_insecure("[::1]:5000"));
    assert!(c.is_insecure("reg.local:5000"));
    assert!(!c.is_insecure("reg.local:5001"));
    assert!(c.is_insecure("10.1.200.3:443"));
    assert!(!c.is_insecure("10.2.0.1"));
    assert!(!c.is_insecure("docker.io"));
    c.validate().unwrap();
}

#[test]
fn mirrors_only_for_docker_hub_pulls_and_certs_force_tls() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("127.0.0.1:5443")).unwrap();
    std::fs::write(dir.path().join("127.0.0.1:5443/ca.crt"), "pem").unwrap();
    let c = RegistryConfig {
        mirrors: vec!["http://127.0.0.1:5000/".into()],
        certs_dir: Some(dir.path().to_path_buf()),
        ..Default::default()
    };
    let pull = c.endpoints("docker.io", false).unwrap();
    assert_eq!(pull.len(), 2);
    assert!(pull[0].mirror && pull[0].plain_http && pull[0].host == "127.0.0.1:5000");
    assert!(!pull[1].plain_http && pull[1].host == "docker.io");
    assert_eq!(c.endpoints("docker.io", true).unwrap().len(), 1);
    assert_eq!(c.endpoints("quay.io", false).unwrap().len(), 1);
    let tls = c.endpoint("127.0.0.1:5443").unwrap();
    assert!(!tls.plain_http && tls.ca_files.len() == 1);
    assert!(c.endpoint("127.0.0.1:5000").unwrap().plain_http);
    let bad = RegistryConfig {
        mirrors: vec!["ftp://x".into()],
        insecure_registries: vec![],
        certs_dir: None,
    };
    assert!(bad.validate().is_err());
}
