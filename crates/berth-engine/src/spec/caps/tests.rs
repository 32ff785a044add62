use super::*;

fn caps(add: &[&str], drop: &[&str]) -> Result<Vec<&'static str>, SpecError> {
    let s = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    effective_capabilities(&s(add), &s(drop), false)
}

#[test]
fn default_set() {
    assert_eq!(caps(&[], &[]).unwrap(), DEFAULT_CAPABILITIES);
}

#[test]
fn add_and_drop_accept_any_case_and_prefix() {
    let c = caps(&["sys_admin", "CAP_NET_ADMIN"], &["cap_chown", "Kill"]).unwrap();
    assert!(c.contains(&"CAP_SYS_ADMIN") && c.contains(&"CAP_NET_ADMIN"));
    assert!(!c.contains(&"CAP_CHOWN") && !c.contains(&"CAP_KILL"));
    assert_eq!(c.len(), DEFAULT_CAPABILITIES.len());
}

#[test]
fn all_forms() {
    assert_eq!(caps(&["ALL"], &[]).unwrap().len(), 41);
    assert!(!caps(&["all"], &["SYS_ADMIN"])
        .unwrap()
        .contains(&"CAP_SYS_ADMIN"));
    assert_eq!(caps(&["NET_ADMIN"], &["ALL"]).unwrap(), ["CAP_NET_ADMIN"]);
    assert!(caps(&[], &["ALL"]).unwrap().is_empty());
    assert_eq!(
        effective_capabilities(&[], &["ALL".into()], true)
            .unwrap()
            .len(),
        41
    );
}

#[test]
fn unknown_capability() {
    let err = caps(&["SYS_WIZARD"], &[]).unwrap_err();
    assert_eq!(err.to_string(), "unknown capability: \"CAP_SYS_WIZARD\"");
}

#[test]
fn every_name_maps_to_oci() {
    let names: Vec<&str> = ALL_CAPABILITIES.iter().map(|(n, _)| *n).collect();
    assert_eq!(to_oci(&names).len(), 41);
    for (name, cap) in ALL_CAPABILITIES {
        assert_eq!(serde_json::to_value(cap).unwrap(), name);
    }
}

#[test]
fn only_grantable_capabilities_remain() {
    // A host without CAP_SYS_RESOURCE (bit 24), like this project's CI machines.
    let host = Some(!(1u64 << 24));
    let all = effective_capabilities(&[], &[], true).unwrap();
    let kept = available_only(all.clone(), host, &[]).unwrap();
    assert_eq!(kept.len(), all.len() - 1);
    assert!(!kept.contains(&"CAP_SYS_RESOURCE"));
    let add_all = vec!["ALL".to_string()];
    assert!(available_only(all.clone(), host, &add_all).is_ok());
    let explicit = vec!["sys_resource".to_string()];
    assert!(matches!(
        available_only(all.clone(), host, &explicit),
        Err(SpecError::CapabilityUnavailable(c)) if c == "CAP_SYS_RESOURCE"
    ));
    assert_eq!(available_only(all.clone(), None, &explicit).unwrap(), all);
}
