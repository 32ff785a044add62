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
    // certs.d says the registry speaks TLS: no plain-HTTP fallback, even on loopback.
    let tls = c.registry_endpoints("127.0.0.1:5443").unwrap();
    assert!(tls.len() == 1 && !tls[0].plain_http && tls[0].ca_files.len() == 1);
    // Insecure: TLS without verification first, then plain HTTP (dockerd's order).
    let insecure = c.registry_endpoints("127.0.0.1:5000").unwrap();
    assert_eq!(insecure.len(), 2);
    assert!(!insecure[0].plain_http && !insecure[0].verify_tls);
    assert!(insecure[1].plain_http);
    let secure = c.registry_endpoints("quay.io").unwrap();
    assert!(secure.len() == 1 && !secure[0].plain_http && secure[0].verify_tls);
    let bad = RegistryConfig {
        mirrors: vec!["ftp://x".into()],
        ..Default::default()
    };
    assert!(bad.validate().is_err());
    let bad = RegistryConfig {
        blocked_registries: vec!["docker.io/library".into()],
        ..Default::default()
    };
    assert!(bad.validate().is_err());
}

#[test]
fn a_blocked_registry_is_reached_through_its_mirrors_only() {
    let c = RegistryConfig {
        mirrors: vec!["http://127.0.0.1:5000".into()],
        blocked_registries: vec!["docker.io".into(), "quay.io".into()],
        ..Default::default()
    };
    c.validate().unwrap();
    let pull = c.endpoints("docker.io", false).unwrap();
    assert!(pull.len() == 1 && pull[0].mirror);
    assert!(matches!(
        c.endpoints("docker.io", true),
        Err(Error::Blocked(r)) if r == "docker.io"
    ));
    assert!(matches!(
        c.endpoints("quay.io", false),
        Err(Error::Blocked(_))
    ));
    assert_eq!(c.endpoints("ghcr.io", false).unwrap().len(), 1);
}
