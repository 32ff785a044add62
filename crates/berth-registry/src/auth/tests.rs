use super::*;

#[test]
fn header_round_trip_and_legacy_encodings() {
    let c = Credentials {
        username: "u".into(),
        password: "p?>".into(),
        server_address: "127.0.0.1:5000".into(),
        ..Default::default()
    };
    assert_eq!(Credentials::from_header(&c.to_header()).unwrap(), c);
    let std =
        base64::engine::general_purpose::STANDARD.encode(br#"{"username":"a","password":"b"}"#);
    let d = Credentials::from_header(&std).unwrap();
    assert!(matches!(d.registry_auth(), RegistryAuth::Basic(u, p) if u == "a" && p == "b"));
    assert!(Credentials::from_header("e30=").unwrap().is_anonymous());
    assert!(Credentials::from_header("").unwrap().is_anonymous());
    assert!(Credentials::from_header("!!!").is_err());
}

#[test]
fn auth_pair_and_token() {
    let c = Credentials {
        auth: base64::engine::general_purpose::STANDARD.encode("x:y:z"),
        ..Default::default()
    };
    assert!(matches!(c.registry_auth(), RegistryAuth::Basic(u, p) if u == "x" && p == "y:z"));
    let t = Credentials {
        registry_token: "tok".into(),
        ..Default::default()
    };
    assert!(matches!(t.registry_auth(), RegistryAuth::Bearer(b) if b == "tok"));
    assert!(!format!("{c:?}").contains("eDp5"));
}

#[test]
fn null_fields_as_bollard_sends_them() {
    let c: Credentials = serde_json::from_str(
        r#"{"username":"u","password":"p","auth":null,"email":null,"serveraddress":"h"}"#,
    )
    .unwrap();
    assert_eq!(c.username, "u");
}
