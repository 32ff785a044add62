//! Privileges and confinement: capabilities, seccomp, LSM labels, masked paths, sysctls, groups.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Changes to the default capability set. Names are canonical (`CAP_NET_ADMIN`) or `ALL`; the
/// precedence (add ALL beats drop ALL, drop before add) applies when the spec is built.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CapChanges {
    pub add: Vec<String>,
    pub drop: Vec<String>,
}

/// The seccomp filter.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Seccomp {
    /// Docker's default profile (what the CRI calls `RuntimeDefault`).
    #[default]
    Default,
    Unconfined,
    /// A profile file on the host (the CRI's `localhost/<path>`).
    Localhost(PathBuf),
    /// A Docker-format profile given inline (`seccomp=<json>`), already checked to parse.
    Inline(String),
}

/// An SELinux label's parts; unset parts keep the default's.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SelinuxLabel {
    pub user: Option<String>,
    pub role: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub level: Option<String>,
}

/// SELinux labelling. Berth enforces none yet; the request is kept so inspect and a later
/// implementation see it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Selinux {
    #[default]
    Default,
    /// `label=disable`.
    Disabled,
    Label(SelinuxLabel),
}

/// An AppArmor profile. Not enforced yet, as SELinux.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AppArmor {
    #[default]
    Default,
    Unconfined,
    Profile(String),
}

/// How /proc is mounted: with the default masked and read-only paths, or without them (the
/// CRI's `Unmasked`, Docker's `systempaths=unconfined`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProcMount {
    #[default]
    Default,
    Unmasked,
}

/// Whether the image's groups of the user are kept beside the requested ones (the CRI's
/// `SupplementalGroupsPolicy`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupPolicy {
    /// The user's groups from the image's /etc/group, plus the requested ones (Docker's way).
    #[default]
    Merge,
    /// Only the primary group and the requested ones.
    Strict,
}

/// The container's privileges and confinement.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Security {
    /// All capabilities and devices, no seccomp, no masked paths, writable /sys.
    pub privileged: bool,
    pub capabilities: CapChanges,
    pub no_new_privileges: bool,
    pub seccomp: Seccomp,
    pub apparmor: AppArmor,
    pub selinux: Selinux,
    pub proc_mount: ProcMount,
    /// `None`: the defaults for `proc_mount`; `Some`: exactly these.
    pub masked_paths: Option<Vec<String>>,
    pub readonly_paths: Option<Vec<String>>,
    pub readonly_rootfs: bool,
    /// Mount the cgroup filesystem read-write (Docker's `writable-cgroups`).
    pub writable_cgroups: bool,
    pub sysctls: BTreeMap<String, String>,
    /// Supplementary groups by name or number, resolved in the image.
    pub groups: Vec<String>,
    pub group_policy: GroupPolicy,
}
