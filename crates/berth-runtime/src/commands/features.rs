use anyhow::Result;
use serde_json::json;

/// runtime-spec features.md document; lists only what berth-runtime implements.
pub fn features() -> Result<i32> {
    let caps: Vec<String> = caps::all()
        .iter()
        .map(|c| c.to_string())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    // Time namespaces came with Linux 5.6 and need CONFIG_TIME_NS.
    let mut namespaces = vec!["cgroup", "ipc", "mount", "network", "pid", "user", "uts"];
    if std::path::Path::new("/proc/self/ns/time").exists() {
        namespaces.insert(5, "time");
    }
    // The recursive ones (`rro`, ...) come from the table the mount code applies.
    let mut mount_options: Vec<&str> = "async atime bind defaults dev diratime dirsync exec idmap \
        lazytime loud mand noatime nodev nodiratime noexec nolazytime nomand norelatime \
        nostrictatime nosuid private rbind relatime remount ridmap ro rprivate rshared rslave \
        runbindable rw shared silent slave strictatime suid sync tmpcopyup unbindable"
        .split_whitespace()
        .chain(berth_oci::rootfs::recursive_option_names())
        .collect();
    mount_options.sort_unstable();
    let doc = json!({
        "ociVersionMin": "1.0.0",
        "ociVersionMax": berth_oci::OCI_VERSION,
        "hooks": ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"],
        "mountOptions": mount_options,
        "linux": {
            "namespaces": namespaces,
            "capabilities": caps,
            "cgroup": {"v1": true, "v2": true, "systemd": false, "systemdUser": false, "rdma": true},
            "seccomp": {
                "enabled": true,
                "actions": ["SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG", "SCMP_ACT_NOTIFY", "SCMP_ACT_TRACE", "SCMP_ACT_TRAP"],
                "operators": ["SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_LE", "SCMP_CMP_LT", "SCMP_CMP_MASKED_EQ", "SCMP_CMP_NE"],
                "archs": ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM", "SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64", "SCMP_ARCH_MIPS64N32", "SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC", "SCMP_ARCH_PPC64", "SCMP_ARCH_PPC64LE", "SCMP_ARCH_RISCV64", "SCMP_ARCH_S390", "SCMP_ARCH_S390X", "SCMP_ARCH_X32", "SCMP_ARCH_X86", "SCMP_ARCH_X86_64"],
                "knownFlags": ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_LOG"],
                "supportedFlags": ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_LOG"]
            },
            "apparmor": {"enabled": std::path::Path::new("/sys/kernel/security/apparmor").exists()},
            "selinux": {"enabled": std::path::Path::new("/sys/fs/selinux/enforce").exists()},
            "intelRdt": {"enabled": false},
            "mountExtensions": {"idmap": {"enabled": berth_sys::newmount::mount_setattr_supported()}}
        },
        "annotations": {"org.opencontainers.runc.checkpoint.enabled": "false", "io.github.berth.version": env!("CARGO_PKG_VERSION")}
    });
    println!("{}", serde_json::to_string_pretty(&doc)?);
    Ok(0)
}
