use super::*;

#[test]
fn finds_executables_on_path_or_by_path() {
    let env = vec!["PATH=/nonexistent:/bin:/usr/bin".to_string()];
    assert!(find_executable("sh", &env).unwrap().ends_with("sh"));
    assert!(find_executable("/bin/sh", &env).is_ok());
    let err = find_executable("no-such-program-xyz", &env)
        .unwrap_err()
        .to_string();
    assert!(err.contains("executable file not found"), "{err}");
}

#[test]
fn oci_capability_names_map_to_kernel_caps() {
    let set: Capabilities =
        serde_json::from_str(r#"["CAP_CHOWN","CAP_NET_RAW","SYS_ADMIN"]"#).unwrap();
    let caps = to_caps(&Some(set));
    assert!(
        caps.contains(&Cap::CAP_CHOWN)
            && caps.contains(&Cap::CAP_NET_RAW)
            && caps.contains(&Cap::CAP_SYS_ADMIN)
    );
    assert_eq!(caps.len(), 3);
}

#[test]
fn memory_policy_modes_nodes_and_flags() {
    use oci_spec::runtime::{LinuxMemoryPolicy, MemoryPolicyFlagType, MemoryPolicyModeType};
    let policy = |mode, nodes: Option<&str>, flags: Vec<MemoryPolicyFlagType>| {
        let mut p = LinuxMemoryPolicy::default();
        p.set_mode(mode);
        p.set_nodes(nodes.map(str::to_owned));
        p.set_flags(Some(flags));
        memory_policy_args(&p)
    };
    let bind = policy(MemoryPolicyModeType::MpolBind, Some("0-2,65"), vec![]).unwrap();
    assert_eq!(bind.mode, 2);
    assert_eq!(bind.nodemask, vec![0b111, 0b10]);
    let interleave = policy(
        MemoryPolicyModeType::MpolInterleave,
        Some("1"),
        vec![MemoryPolicyFlagType::MpolFStaticNodes],
    )
    .unwrap();
    assert_eq!(interleave.mode, 3 | 1 << 15);
    assert!(policy(MemoryPolicyModeType::MpolBind, None, vec![]).is_err());
    assert!(policy(MemoryPolicyModeType::MpolDefault, Some("0"), vec![]).is_err());
    assert!(policy(MemoryPolicyModeType::MpolBind, Some("3-1"), vec![]).is_err());
    assert!(policy(MemoryPolicyModeType::MpolBind, Some("x"), vec![]).is_err());
    assert!(policy(
        MemoryPolicyModeType::MpolBind,
        Some("0"),
        vec![
            MemoryPolicyFlagType::MpolFStaticNodes,
            MemoryPolicyFlagType::MpolFRelativeNodes
        ]
    )
    .is_err());
    assert_eq!(
        policy(MemoryPolicyModeType::MpolLocal, None, vec![])
            .unwrap()
            .nodemask,
        Vec::<libc::c_ulong>::new()
    );
}
