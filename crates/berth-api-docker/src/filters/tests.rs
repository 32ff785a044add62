use super::*;

#[test]
fn both_json_shapes_and_label_rules() {
    let f = Filters::parse(Some(r#"{"type":["container"],"label":{"a=1":true}}"#)).unwrap();
    assert!(f.accepts("type", "container"));
    assert!(!f.accepts("type", "image"));
    assert!(f.accepts("event", "anything"));
    let labels = BTreeMap::from([("a".to_string(), "1".to_string())]);
    assert!(f.accepts_labels(&labels));
    assert!(!f.accepts_labels(&BTreeMap::new()));
    assert!(Filters::parse(Some("[1]")).is_err());
    assert!(f.only(&["type"]).is_err());
}
