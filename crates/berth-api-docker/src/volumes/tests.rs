use super::*;

#[test]
fn boolean_filters_take_docker_spellings() {
    let f = Filters::parse(Some(
        r#"{"dangling":["true"],"all":["0"],"x":["1","false"]}"#,
    ))
    .unwrap_or_default();
    assert_eq!(bool_filter(&f, "dangling").ok(), Some(Some(true)));
    assert_eq!(bool_filter(&f, "all").ok(), Some(Some(false)));
    assert_eq!(bool_filter(&f, "missing").ok(), Some(None));
    assert!(bool_filter(&f, "x").is_err());
}

#[test]
fn volume_json_has_dockers_fields() {
    let v = Volume {
        name: "data".into(),
        driver: "local".into(),
        mountpoint: "/var/lib/berth/volumes/data/_data".into(),
        labels: [("a".to_string(), "b".to_string())].into(),
        options: BTreeMap::new(),
        anonymous: false,
        created: chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default(),
    };
    let j = volume_json(&v);
    assert_eq!(j["CreatedAt"], "2023-11-14T22:13:20Z");
    assert_eq!(j["Mountpoint"], "/var/lib/berth/volumes/data/_data");
    assert_eq!(j["Scope"], "local");
    assert_eq!(j["Labels"]["a"], "b");
    let u = usage_json(&VolumeUsage {
        volume: v,
        size: 42,
        ref_count: 2,
    });
    assert_eq!(u["UsageData"], json!({"Size": 42, "RefCount": 2}));
}
