use super::*;

fn full(s: &str) -> String {
    s.parse::<Reference>()
        .unwrap()
        .with_default_tag()
        .to_string()
}

#[test]
fn normalizes_like_docker() {
    assert_eq!(full("busybox"), "docker.io/library/busybox:latest");
    assert_eq!(full("user/app:1.0"), "docker.io/user/app:1.0");
    assert_eq!(full("localhost:5000/app"), "localhost:5000/app:latest");
    assert_eq!(full("localhost/app:x"), "localhost/app:x");
    assert_eq!(full("quay.io/a/b/c:v"), "quay.io/a/b/c:v");
    let d = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    let r: Reference = format!("busybox:1@{d}").parse().unwrap();
    assert_eq!(r.tag(), Some("1"));
    assert_eq!(r.digest().unwrap().as_str(), d);
    let r: Reference = format!("busybox@{d}").parse().unwrap();
    assert_eq!(r.clone().with_default_tag().tag(), None);
}

#[test]
fn familiar_forms() {
    let r: Reference = "docker.io/library/busybox:latest".parse().unwrap();
    assert_eq!(r.familiar(), "busybox:latest");
    let r: Reference = "localhost:5000/app:v1".parse().unwrap();
    assert_eq!(r.familiar(), "localhost:5000/app:v1");
    assert_eq!(r.familiar_repository(), "localhost:5000/app");
}

#[test]
fn refuses_bad_names() {
    assert!(matches!(
        "BusyBox".parse::<Reference>(),
        Err(InvalidReference::Uppercase(_))
    ));
    assert!("".parse::<Reference>().is_err());
    assert!("a//b".parse::<Reference>().is_err());
    assert!("-a".parse::<Reference>().is_err());
    assert!("a:".parse::<Reference>().is_err());
    assert!("a:b:c".parse::<Reference>().is_err());
    assert!("a@sha256:zz".parse::<Reference>().is_err());
    assert!("a..b".parse::<Reference>().is_err());
    assert!("a__b".parse::<Reference>().is_ok());
    assert!("a---b".parse::<Reference>().is_ok());
}
