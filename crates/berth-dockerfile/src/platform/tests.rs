use super::*;

fn parse(spec: &str) -> String {
    Platform::parse(spec).unwrap().to_string()
}

#[test]
fn parse_and_normalize() {
    let cases = [
        ("linux/amd64", "linux/amd64"),
        ("linux/arm64", "linux/arm64"),
        ("linux/arm64/v8", "linux/arm64"),
        ("linux/aarch64", "linux/arm64"),
        ("linux/arm", "linux/arm/v7"),
        ("linux/arm/v6", "linux/arm/v6"),
        ("linux/arm/7", "linux/arm/v7"),
        ("linux/armhf", "linux/arm/v7"),
        ("linux/armel", "linux/arm/v6"),
        ("linux/x86_64", "linux/amd64"),
        ("linux/amd64/v1", "linux/amd64"),
        ("linux/amd64/v3", "linux/amd64/v3"),
        ("linux/i386", "linux/386"),
        ("Linux/AMD64", "linux/amd64"),
        ("windows/amd64", "windows/amd64"),
        ("macos/arm64", "darwin/arm64"),
        ("linux/riscv64", "linux/riscv64"),
    ];
    for (spec, expected) in cases {
        assert_eq!(parse(spec), expected, "{spec}");
    }
    let host = Platform::host();
    assert_eq!(
        parse("linux"),
        format!("linux/{}", &host.to_string()["linux/".len()..])
    );
    let arm64 = Platform::parse("arm64").unwrap();
    assert_eq!(
        (arm64.os.as_str(), arm64.arch.as_str()),
        (host.os.as_str(), "arm64")
    );
    for spec in [
        "",
        "*",
        "linux/*",
        "linux/",
        "foo",
        "linux/amd64/v2/x",
        "linux/am d64",
        "li(nux)/amd64",
    ] {
        assert!(Platform::parse(spec).is_err(), "{spec}");
    }
}

/// The reference's "Automatic platform ARGs in the global scope".
#[test]
fn predefined() {
    let build = Platform::parse("linux/amd64").unwrap();
    let target = Platform::parse("linux/arm/v7").unwrap();
    let args = predefined_args(&build, &target);
    let get = |k: &str| args.get(k).map(String::as_str);
    assert_eq!(get("TARGETPLATFORM"), Some("linux/arm/v7"));
    assert_eq!(get("TARGETOS"), Some("linux"));
    assert_eq!(get("TARGETARCH"), Some("arm"));
    assert_eq!(get("TARGETVARIANT"), Some("v7"));
    assert_eq!(get("BUILDPLATFORM"), Some("linux/amd64"));
    assert_eq!(get("BUILDOS"), Some("linux"));
    assert_eq!(get("BUILDARCH"), Some("amd64"));
    assert_eq!(get("BUILDVARIANT"), Some(""));
    assert_eq!(args.len(), 8);
}
