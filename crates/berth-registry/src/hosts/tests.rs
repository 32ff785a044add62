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
    let pull = c.endpoints("docker.io", true).unwrap();
    assert_eq!(pull.len(), 2);
    assert!(pull[0].mirror && pull[0].plain_http && pull[0].host == "127.0.0.1:5000");
    assert!(!pull[1].plain_http && pull[1].host == "docker.io");
    assert_eq!(c.endpoints("docker.io", false).unwrap().len(), 1);
    assert_eq!(c.endpoints("quay.io", true).unwrap().len(), 1);
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
    let pull = c.endpoints("docker.io", true).unwrap();
    assert!(pull.len() == 1 && pull[0].mirror);
    assert!(matches!(
        c.endpoints("docker.io", false),
        Err(Error::Blocked { registry, why: BlockedWhy::NotAPull }) if registry == "docker.io"
    ));
    assert!(matches!(
        c.endpoints("quay.io", true),
        Err(Error::Blocked {
            why: BlockedWhy::NoMirror,
            ..
        })
    ));
    assert_eq!(c.endpoints("ghcr.io", true).unwrap().len(), 1);
}

fn by_host(entries: &[(&str, &[&str])]) -> BTreeMap<String, Vec<String>> {
    entries
        .iter()
        .map(|(host, urls)| {
            (
                host.to_string(),
                urls.iter().map(|u| u.to_string()).collect(),
            )
        })
        .collect()
}

fn hosts(endpoints: &[Endpoint]) -> Vec<String> {
    endpoints.iter().map(Endpoint::to_string).collect()
}

#[test]
fn any_registry_has_its_own_mirrors_in_order_then_itself_for_pulls_only() {
    let c = RegistryConfig {
        mirrors: vec!["https://hub-mirror.example".into()],
        mirrors_by_host: by_host(&[
            (
                "registry.k8s.io",
                &["http://127.0.0.1:5000", "https://mirror.example:8443/"],
            ),
            ("docker.io", &["http://127.0.0.1:5001"]),
            ("10.1.2.3:5000", &["http://10.9.9.9:5000"]),
        ]),
        insecure_registries: vec!["10.9.9.9:5000".into()],
        ..Default::default()
    };
    c.validate().unwrap();
    let k8s = c.endpoints("registry.k8s.io", true).unwrap();
    assert_eq!(
        hosts(&k8s),
        [
            "http://127.0.0.1:5000",
            "https://mirror.example:8443",
            "https://registry.k8s.io"
        ]
    );
    assert_eq!(
        k8s.iter().map(|e| e.mirror).collect::<Vec<_>>(),
        [true, true, false]
    );
    // A public mirror's certificate is checked; loopback's is not (as the registry itself).
    assert!(k8s[1].verify_tls && k8s[2].verify_tls);
    // Docker Hub: `registry-mirrors` first, then its entry here.
    assert_eq!(
        hosts(&c.endpoints("docker.io", true).unwrap()),
        [
            "https://hub-mirror.example",
            "http://127.0.0.1:5001",
            "https://docker.io"
        ]
    );
    // An insecure mirror of a registry named with a port.
    let by_ip = c.endpoints("10.1.2.3:5000", true).unwrap();
    assert!(by_ip[0].plain_http && by_ip[0].mirror && by_ip[0].host == "10.9.9.9:5000");
    // Another registry's mirrors are not this one's; pushes never go to mirrors.
    assert_eq!(
        hosts(&c.endpoints("gcr.io", true).unwrap()),
        ["https://gcr.io"]
    );
    assert_eq!(
        hosts(&c.endpoints("registry.k8s.io", false).unwrap()),
        ["https://registry.k8s.io"]
    );
}

#[test]
fn blocked_means_mirrors_only_for_every_registry() {
    let c = RegistryConfig {
        mirrors_by_host: by_host(&[
            ("registry.k8s.io", &["http://127.0.0.1:5000"]),
            ("gcr.io", &["http://127.0.0.1:5000"]),
        ]),
        blocked_registries: vec![
            "registry.k8s.io".into(),
            "gcr.io".into(),
            "k8s.gcr.io".into(),
        ],
        ..Default::default()
    };
    c.validate().unwrap();
    for host in ["registry.k8s.io", "gcr.io"] {
        assert_eq!(
            hosts(&c.endpoints(host, true).unwrap()),
            ["http://127.0.0.1:5000"]
        );
        let push = c.endpoints(host, false).unwrap_err();
        assert!(matches!(
            push,
            Error::Blocked {
                why: BlockedWhy::NotAPull,
                ..
            }
        ));
    }
    let none = c.endpoints("k8s.gcr.io", true).unwrap_err();
    assert_eq!(
        none.to_string(),
        "registry k8s.gcr.io is blocked by the daemon's configuration (blocked-registries): \
         it is reached through mirrors only, and none is configured for it \
         (registry-mirrors-by-host)"
    );
    assert_eq!(none.kind(), berth_types::ErrorKind::Forbidden);
}

#[test]
fn mirrors_by_host_are_checked_at_start() {
    for (host, url) in [
        ("registry.k8s.io", "127.0.0.1:5000"),
        ("registry.k8s.io", "ftp://127.0.0.1"),
        ("registry.k8s.io", "http://127.0.0.1:5000/v2/prefix"),
        ("https://registry.k8s.io", "http://127.0.0.1:5000"),
        ("", "http://127.0.0.1:5000"),
    ] {
        let c = RegistryConfig {
            mirrors_by_host: by_host(&[(host, &[url])]),
            ..Default::default()
        };
        let e = c.validate().unwrap_err();
        assert!(
            e.to_string().contains("in registry-mirrors-by-host"),
            "{host} {url}: {e}"
        );
    }
}
