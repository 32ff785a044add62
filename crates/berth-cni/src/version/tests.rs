use super::*;

#[test]
fn parses_full_and_short_versions() {
    assert_eq!("1.0.0".parse::<Version>(), Ok(Version::V1_0_0));
    assert_eq!("0.3".parse::<Version>(), Ok(Version::V0_3_0));
    assert_eq!("1".parse::<Version>(), Ok(Version::V1_0_0));
}

#[test]
fn refuses_garbage() {
    for bad in ["", "1.0.0.0", "1..0", "v1.0.0", "+1.0.0", "1.0.0-rc1"] {
        assert!(bad.parse::<Version>().is_err(), "{bad}");
    }
}

#[test]
fn orders_numerically() {
    assert!("0.10.0".parse::<Version>().unwrap() > "0.4.0".parse().unwrap());
    assert!(Version::V1_1_0 > Version::V1_0_0);
    assert!(SUPPORTED_VERSIONS.windows(2).all(|w| w[0] < w[1]));
}

#[test]
fn version_info_without_list_supports_only_its_own_version() {
    let info: VersionInfo = serde_json::from_str(r#"{"cniVersion":"0.2.0"}"#).unwrap();
    assert!(info.supports("0.2.0".parse().unwrap()));
    assert!(!info.supports(Version::V1_0_0));

    let info: VersionInfo =
        serde_json::from_str(r#"{"cniVersion":"1.0.0","supportedVersions":["0.4.0","1.0.0"]}"#)
            .unwrap();
    assert!(info.supports(Version::V0_4_0));
    assert!(!info.supports(Version::V1_1_0));
}
