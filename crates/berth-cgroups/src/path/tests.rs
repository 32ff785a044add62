use super::*;

#[test]
fn default_is_container_id_under_root() {
    let p = CgroupPath::parse(None, "abc").unwrap();
    assert_eq!(p.to_string(), "/abc");
    assert_eq!(p.resolve("/ignored").unwrap(), "abc");
    assert_eq!(CgroupPath::parse(Some(""), "abc").unwrap(), p);
    assert!(CgroupPath::parse(None, "a/b").is_err());
    assert!(CgroupPath::parse(None, "..").is_err());
}

#[test]
fn absolute_and_relative() {
    let abs = CgroupPath::parse(Some("/a//b/./c/"), "x").unwrap();
    assert!(!abs.is_relative());
    assert_eq!(abs.resolve("/own").unwrap(), "a/b/c");
    let rel = CgroupPath::parse(Some("a/b"), "x").unwrap();
    assert!(rel.is_relative());
    assert_eq!(
        rel.resolve("/user.slice/s.scope").unwrap(),
        "user.slice/s.scope/a/b"
    );
    assert_eq!(rel.resolve("/").unwrap(), "a/b");
}

#[test]
fn dotdot_cannot_escape_the_hierarchy() {
    let p = CgroupPath::parse(Some("/../../etc/x"), "x").unwrap();
    assert_eq!(p.resolve("").unwrap(), "etc/x");
    let rel = CgroupPath::parse(Some("../sibling"), "x").unwrap();
    assert_eq!(rel.resolve("/a/b").unwrap(), "a/sibling");
    assert!(CgroupPath::parse(Some("/"), "x").is_err());
    assert!(CgroupPath::parse(Some("/a/.."), "x")
        .unwrap()
        .resolve("")
        .is_err());
}

#[test]
fn systemd_paths_are_refused() {
    assert!(matches!(
        CgroupPath::parse(Some("system.slice:berth:abc"), "abc"),
        Err(Error::SystemdCgroupUnsupported(_))
    ));
}

#[test]
fn own_cgroups() {
    let own = OwnCgroups::from_content(
        "9:name=systemd:/sys\n4:memory:/process_api/f\n2:cpu,cpuacct:/c\n0::/unified\n",
    );
    assert_eq!(own.path_of("memory").unwrap(), "/process_api/f");
    assert_eq!(own.path_of("cpuacct").unwrap(), "/c");
    assert_eq!(own.path_of("name=systemd").unwrap(), "/sys");
    assert_eq!(own.path_of("").unwrap(), "/unified");
    assert!(own.path_of("pids").is_err());
}
