use super::*;
use crate::spec::caps::{effective_capabilities, DEFAULT_CAPABILITIES};

const AMD64: SeccompHost = SeccompHost {
    arch: "amd64",
    kernel: Some((6, 1)),
};

fn default_for(caps: &[&str], host: SeccompHost) -> LinuxSeccomp {
    convert(&default_profile(), caps, host).unwrap().unwrap()
}

/// Every rule mentioning `name`, as (action, args).
fn rules_for<'a>(s: &'a LinuxSeccomp, name: &str) -> Vec<&'a LinuxSyscall> {
    s.syscalls()
        .iter()
        .flatten()
        .filter(|r| r.names().iter().any(|n| n == name))
        .collect()
}

fn unconditionally_allowed(s: &LinuxSeccomp, name: &str) -> bool {
    rules_for(s, name)
        .iter()
        .any(|r| r.action() == LinuxSeccompAction::ScmpActAllow && r.args().is_none())
}

#[test]
fn default_denies_with_eperm_on_native_arches() {
    let s = default_for(&DEFAULT_CAPABILITIES, AMD64);
    assert_eq!(s.default_action(), LinuxSeccompAction::ScmpActErrno);
    assert_eq!(s.default_errno_ret(), Some(1));
    assert_eq!(
        s.architectures().as_deref(),
        Some(&[Arch::ScmpArchX86_64, Arch::ScmpArchX86, Arch::ScmpArchX32][..])
    );
    let arm = default_for(
        &DEFAULT_CAPABILITIES,
        SeccompHost {
            arch: "arm64",
            kernel: None,
        },
    );
    assert_eq!(
        arm.architectures().as_deref(),
        Some(&[Arch::ScmpArchAarch64, Arch::ScmpArchArm][..])
    );
    assert!(unconditionally_allowed(&arm, "set_tls"));
    assert!(!unconditionally_allowed(&s, "set_tls"));
    assert!(unconditionally_allowed(&s, "arch_prctl"));
}

#[test]
fn privileged_syscalls_follow_capabilities() {
    let plain = default_for(&DEFAULT_CAPABILITIES, AMD64);
    for name in ["mount", "umount2", "unshare", "setns", "reboot", "bpf"] {
        assert!(!unconditionally_allowed(&plain, name), "{name}");
    }
    assert!(unconditionally_allowed(&plain, "read"));
    assert!(
        unconditionally_allowed(&plain, "chroot"),
        "CAP_SYS_CHROOT is a default cap"
    );
    // Kernel >= 4.8: ptrace is safe to allow without CAP_SYS_PTRACE.
    assert!(unconditionally_allowed(&plain, "ptrace"));
    let old_kernel = default_for(
        &DEFAULT_CAPABILITIES,
        SeccompHost {
            arch: "amd64",
            kernel: Some((4, 4)),
        },
    );
    assert!(!unconditionally_allowed(&old_kernel, "ptrace"));

    let s = |add: &str| effective_capabilities(&[add.to_string()], &[], false).unwrap();
    let admin = default_for(&s("SYS_ADMIN"), AMD64);
    for name in ["mount", "umount2", "unshare", "setns", "clone", "clone3"] {
        assert!(unconditionally_allowed(&admin, name), "{name}");
    }
    assert!(rules_for(&admin, "clone3")
        .iter()
        .all(|r| r.action() == LinuxSeccompAction::ScmpActAllow));
    assert!(unconditionally_allowed(
        &default_for(&s("SYS_BOOT"), AMD64),
        "reboot"
    ));
    assert!(!unconditionally_allowed(&admin, "reboot"));
}

#[test]
fn clone_is_filtered_by_namespace_flags_without_sys_admin() {
    let s = default_for(&DEFAULT_CAPABILITIES, AMD64);
    let clone = rules_for(&s, "clone");
    assert_eq!(clone.len(), 1);
    let args = clone[0].args().as_deref().unwrap();
    assert_eq!(args.len(), 1);
    assert_eq!(args[0].index(), 0);
    assert_eq!(args[0].value(), 2_114_060_288);
    assert_eq!(args[0].op(), LinuxSeccompOperator::ScmpCmpMaskedEq);
    let clone3 = rules_for(&s, "clone3");
    assert_eq!(clone3.len(), 1);
    assert_eq!(clone3[0].action(), LinuxSeccompAction::ScmpActErrno);
    assert_eq!(clone3[0].errno_ret(), Some(38));

    let s390 = default_for(
        &DEFAULT_CAPABILITIES,
        SeccompHost {
            arch: "s390x",
            kernel: None,
        },
    );
    let clone = rules_for(&s390, "clone");
    assert_eq!(clone.len(), 1);
    assert_eq!(clone[0].args().as_deref().unwrap()[0].index(), 1);
}

#[test]
fn personality_and_socket_argument_filters() {
    let s = default_for(&DEFAULT_CAPABILITIES, AMD64);
    let values: Vec<u64> = rules_for(&s, "personality")
        .iter()
        .map(|r| r.args().as_deref().unwrap()[0].value())
        .collect();
    assert_eq!(values, [0, 8, 0x20000, 0x20008, 0xffff_ffff]);
    let socket = rules_for(&s, "socket");
    let arg = socket[0].args().as_deref().unwrap()[0];
    assert_eq!(
        (arg.value(), arg.op()),
        (40, LinuxSeccompOperator::ScmpCmpNe)
    );
}

#[test]
fn allow_list_has_no_duplicates_and_no_privileged_calls() {
    let mut seen = HashSet::new();
    for name in ALLOWED {
        assert!(seen.insert(name), "{name} listed twice");
    }
    for name in [
        "mount",
        "reboot",
        "kexec_load",
        "init_module",
        "unshare",
        "clone",
        "bpf",
    ] {
        assert!(!seen.contains(&name), "{name}");
    }
}

/// Catches typos: every name must be a syscall libseccomp knows on some architecture, except
/// the few newer than the host's libseccomp.
#[test]
fn every_syscall_name_is_real() {
    use libseccomp::{ScmpArch, ScmpSyscall};
    const NEWER_THAN_LIBSECCOMP_2_5: &[&str] = &[
        "cachestat",
        "fchmodat2",
        "futex_requeue",
        "futex_wait",
        "futex_wake",
        "map_shadow_stack",
    ];
    let arches = [
        ScmpArch::X8664,
        ScmpArch::X86,
        ScmpArch::Aarch64,
        ScmpArch::Arm,
        ScmpArch::S390X,
        ScmpArch::Ppc64Le,
        ScmpArch::Riscv64,
    ];
    for rule in default_profile().syscalls {
        for name in rule.names {
            let known = arches
                .iter()
                .any(|&a| ScmpSyscall::from_name_by_arch(&name, a).is_ok());
            assert!(
                known || NEWER_THAN_LIBSECCOMP_2_5.contains(&name.as_str()),
                "{name} is not a syscall"
            );
        }
    }
}

#[test]
fn custom_profile_in_docker_format() {
    let json = r#"{
        "defaultAction": "SCMP_ACT_ALLOW",
        "archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": null}],
        "syscalls": [
            {"names": ["chmod"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13},
            {"name": "mkdir", "action": "SCMP_ACT_ERRNO"},
            {"names": ["mount"], "action": "SCMP_ACT_ALLOW",
             "includes": {"caps": ["CAP_SYS_ADMIN"]}},
            {"names": ["kill"], "action": "SCMP_ACT_ERRNO",
             "args": [{"index": 1, "value": 9, "valueTwo": 0, "op": "SCMP_CMP_EQ"}]}
        ]
    }"#;
    let p = parse_profile(json).unwrap();
    let s = convert(&p, &DEFAULT_CAPABILITIES, AMD64).unwrap().unwrap();
    assert_eq!(s.default_action(), LinuxSeccompAction::ScmpActAllow);
    assert_eq!(
        s.architectures().as_deref(),
        Some(&[Arch::ScmpArchX86_64][..])
    );
    let names: Vec<&str> = s
        .syscalls()
        .iter()
        .flatten()
        .map(|r| r.names()[0].as_str())
        .collect();
    assert_eq!(names, ["chmod", "mkdir", "kill"]);
    assert_eq!(rules_for(&s, "chmod")[0].errno_ret(), Some(13));
    let kill = rules_for(&s, "kill")[0].args().as_deref().unwrap()[0];
    assert_eq!((kill.index(), kill.value(), kill.value_two()), (1, 9, None));
}

#[test]
fn profile_errors() {
    let bad = |json: &str| convert(&parse_profile(json).unwrap(), &[], AMD64).unwrap_err();
    assert!(matches!(
        bad(
            r#"{"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86"],
                "archMap": [{"architecture": "SCMP_ARCH_X86_64"}]}"#
        ),
        SpecError::SeccompProfile(_)
    ));
    assert!(matches!(
        bad(r#"{"defaultAction": "SCMP_ACT_ALLOW",
                "syscalls": [{"name": "a", "names": ["b"], "action": "SCMP_ACT_ERRNO"}]}"#),
        SpecError::SeccompProfile(_)
    ));
    assert!(matches!(
        parse_profile("{not json"),
        Err(SpecError::SeccompProfileJson(_))
    ));
    // An empty profile disables filtering, as in Docker.
    assert!(convert(&parse_profile("{}").unwrap(), &[], AMD64)
        .unwrap()
        .is_none());
}
