use super::*;

#[test]
fn default_and_rootless_specs_parse_as_oci() {
    let _: oci_spec::runtime::Spec = serde_json::from_value(default_spec()).unwrap();
    let mut r = default_spec();
    make_rootless(&mut r);
    let spec: oci_spec::runtime::Spec = serde_json::from_value(r).unwrap();
    let ns = spec
        .linux()
        .as_ref()
        .unwrap()
        .namespaces()
        .as_ref()
        .unwrap();
    assert!(ns
        .iter()
        .any(|n| n.typ() == oci_spec::runtime::LinuxNamespaceType::User));
}
