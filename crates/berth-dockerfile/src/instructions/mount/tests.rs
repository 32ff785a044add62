use super::*;

#[test]
fn invalid_mounts() {
    let mount = |spec: &str| MountSpec::parse(spec).and_then(|s| s.to_mount());
    let cases: &[(&str, MountError)] = &[
        ("type=foo", MountError::UnknownType("foo".into())),
        (
            "type=cache,sharing=all",
            MountError::UnknownSharing("all".into()),
        ),
        (
            "type=cache,frmo=x",
            MountError::UnknownKey {
                key: "frmo".into(),
                field: "frmo=x".into(),
            },
        ),
        (
            "target=/x,size=1m",
            MountError::KeyNotForType {
                key: "size".into(),
                mount_type: "bind".into(),
            },
        ),
        (
            "required,type=secret,id=a",
            MountError::KeyNotForType {
                key: "required".into(),
                mount_type: "bind".into(),
            },
        ),
        (
            "type=bind,target=/x,uid=1",
            MountError::FileInfoNotAllowed {
                option: "uid",
                mount_type: "bind".into(),
            },
        ),
        ("type=secret", MountError::SecretWithoutTarget),
        ("type=secret,id=a,src=b", MountError::SecretSourceAndId),
        ("type=secret,id=a,from=b", MountError::SecretWithFrom),
        (
            "type=tmpfs,target=/t,sharing=shared",
            MountError::SharingNotForType("tmpfs".into()),
        ),
        (
            "type=cache,target=/x,mode=9",
            MountError::InvalidValue {
                key: "mode".into(),
                value: "9".into(),
            },
        ),
        (
            "type=cache,target=/x,ro=maybe",
            MountError::InvalidValue {
                key: "ro".into(),
                value: "maybe".into(),
            },
        ),
        ("target", MountError::NotKeyValue("target".into())),
        (
            "\"target=/a",
            MountError::Csv("extraneous or missing \" in quoted-field".into()),
        ),
        (
            "target=/a\"b",
            MountError::Csv("bare \" in non-quoted-field".into()),
        ),
        ("type=bind,from=$STAGE", MountError::FromVariable),
    ];
    for (spec, expected) in cases {
        assert_eq!(mount(spec).unwrap_err(), *expected, "{spec}");
    }
    let quoted = mount("type=bind,\"target=/a,b\"").unwrap();
    assert_eq!(quoted.target.as_deref(), Some("/a,b"));
}
