use super::*;

#[test]
fn errors_name_every_endpoint_tried() {
    let tried = vec![
        Attempt {
            endpoint: "http://127.0.0.1:5000".into(),
            error: Error::ManifestUnknown {
                reference: "127.0.0.1:5000/pause:3.9".into(),
            },
        },
        Attempt {
            endpoint: "https://mirror.example".into(),
            error: Error::BadPlatform("x".into()),
        },
    ];
    let e = Error::Blocked {
        registry: "registry.k8s.io".into(),
        why: BlockedWhy::MirrorsFailed(tried),
    };
    assert!(
        e.to_string().ends_with(
            "none served the request: http://127.0.0.1:5000 (manifest for \
             127.0.0.1:5000/pause:3.9 not found: manifest unknown), https://mirror.example \
             (invalid platform \"x\": expected os[/arch[/variant]])"
        ),
        "{e}"
    );
    let answer = || Error::ManifestUnknown {
        reference: "gcr.io/a/b:c".into(),
    };
    // Nothing tried before: the registry's answer as it is.
    assert_eq!(
        answer().after("gcr.io", Vec::new()).to_string(),
        answer().to_string()
    );
    let after = answer().after(
        "gcr.io",
        vec![Attempt {
            endpoint: "http://127.0.0.1:5000".into(),
            error: Error::BadPlatform("y".into()),
        }],
    );
    assert_eq!(
        after.to_string(),
        "manifest for gcr.io/a/b:c not found: manifest unknown (registry gcr.io; tried before: \
         http://127.0.0.1:5000 (invalid platform \"y\": expected os[/arch[/variant]]))"
    );
    assert_eq!(after.kind(), ErrorKind::NotFound);
}
