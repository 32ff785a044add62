//! Loading a bundle's config.json and checking what the kernel calls would otherwise reject obscurely.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use oci_spec::runtime::{LinuxNamespaceType, Spec};

use crate::error::{Error, Result};

/// A parsed bundle: the spec plus the raw bytes (kept so the state dir gets an exact copy).
pub struct Bundle {
    pub dir: PathBuf,
    pub config_path: PathBuf,
    pub spec: Spec,
    pub raw: Vec<u8>,
    pub rootfs: PathBuf,
}

pub fn load_bundle(dir: &Path) -> Result<Bundle> {
    let dir = std::fs::canonicalize(dir).map_err(|source| Error::ReadConfig {
        path: dir.to_path_buf(),
        source,
    })?;
    let config_path = dir.join("config.json");
    let raw = std::fs::read(&config_path).map_err(|source| Error::ReadConfig {
        path: config_path.clone(),
        source,
    })?;
    let spec: Spec = serde_json::from_slice(&raw).map_err(|source| Error::ParseConfig {
        path: config_path.clone(),
        source,
    })?;
    let rootfs = validate(&config_path, &dir, &spec)?;
    Ok(Bundle {
        dir,
        config_path,
        spec,
        raw,
        rootfs,
    })
}

fn invalid(path: &Path, field: &str, reason: impl Into<String>) -> Error {
    Error::InvalidConfig {
        path: path.to_path_buf(),
        field: field.to_string(),
        reason: reason.into(),
    }
}

/// Semantic checks; returns the absolute rootfs path.
fn validate(config: &Path, bundle: &Path, spec: &Spec) -> Result<PathBuf> {
    if !spec.version().starts_with("1.") {
        return Err(invalid(
            config,
            "ociVersion",
            format!("{:?} is not a 1.x runtime spec version", spec.version()),
        ));
    }
    let root = spec
        .root()
        .as_ref()
        .ok_or_else(|| invalid(config, "root", "missing"))?;
    let rootfs = bundle.join(root.path());
    if !rootfs.is_dir() {
        return Err(invalid(
            config,
            "root.path",
            format!("{} is not a directory", rootfs.display()),
        ));
    }
    let process = spec
        .process()
        .as_ref()
        .ok_or_else(|| invalid(config, "process", "missing"))?;
    if process.args().as_ref().is_none_or(|a| a.is_empty()) {
        return Err(invalid(
            config,
            "process.args",
            "must name the program to run",
        ));
    }
    if !process.cwd().is_absolute() {
        return Err(invalid(
            config,
            "process.cwd",
            format!("{} is not absolute", process.cwd().display()),
        ));
    }
    for (i, m) in spec.mounts().iter().flatten().enumerate() {
        if m.destination().as_os_str().is_empty() {
            return Err(invalid(
                config,
                &format!("mounts[{i}].destination"),
                "empty",
            ));
        }
    }
    let linux = spec
        .linux()
        .as_ref()
        .ok_or_else(|| invalid(config, "linux", "missing"))?;
    let mut seen = HashSet::new();
    let mut new_user = false;
    for ns in linux.namespaces().iter().flatten() {
        if !seen.insert(ns.typ()) {
            return Err(invalid(
                config,
                "linux.namespaces",
                format!("{} listed twice", ns.typ()),
            ));
        }
        if let Some(p) = ns.path() {
            if !p.exists() {
                return Err(invalid(
                    config,
                    "linux.namespaces",
                    format!("{} path {} does not exist", ns.typ(), p.display()),
                ));
            }
        } else if ns.typ() == LinuxNamespaceType::User {
            new_user = true;
        }
    }
    let has_maps = linux.uid_mappings().as_ref().is_some_and(|m| !m.is_empty());
    if new_user && !has_maps {
        return Err(invalid(
            config,
            "linux.uidMappings",
            "a new user namespace needs uid and gid mappings",
        ));
    }
    if !seen.contains(&LinuxNamespaceType::User) && has_maps {
        return Err(invalid(
            config,
            "linux.uidMappings",
            "mappings given without a user namespace",
        ));
    }
    if linux.time_offsets().is_some() && !seen.contains(&LinuxNamespaceType::Time) {
        return Err(invalid(
            config,
            "linux.timeOffsets",
            "offsets given without a time namespace",
        ));
    }
    if (spec.hostname().is_some() || spec.domainname().is_some())
        && !seen.contains(&LinuxNamespaceType::Uts)
    {
        return Err(invalid(
            config,
            "hostname",
            "setting a hostname needs a uts namespace",
        ));
    }
    if !seen.contains(&LinuxNamespaceType::Mount) {
        refuse_mounts_in_host_namespace(config, spec, linux)?;
    }
    if let Some(policy) = linux.memory_policy() {
        crate::process::memory_policy_args(policy)
            .map_err(|reason| invalid(config, "linux.memoryPolicy", reason))?;
    }
    if linux.intel_rdt().is_some() {
        return Err(Error::Unsupported(
            "linux.intelRdt (no resctrl filesystem)".into(),
        ));
    }
    Ok(rootfs)
}

/// Without a mount namespace the container shares the runtime's mount table: anything mounted
/// for it (runc mounts all of these there) would change the host's and outlive the container.
fn refuse_mounts_in_host_namespace(
    config: &Path,
    spec: &Spec,
    linux: &oci_spec::runtime::Linux,
) -> Result<()> {
    let listed = |n: Option<usize>| n.is_some_and(|n| n > 0);
    let asks = [
        ("mounts", listed(spec.mounts().as_ref().map(Vec::len))),
        (
            "linux.maskedPaths",
            listed(linux.masked_paths().as_ref().map(Vec::len)),
        ),
        (
            "linux.readonlyPaths",
            listed(linux.readonly_paths().as_ref().map(Vec::len)),
        ),
        (
            "linux.devices",
            listed(linux.devices().as_ref().map(Vec::len)),
        ),
        (
            "linux.rootfsPropagation",
            linux.rootfs_propagation().is_some(),
        ),
        (
            "root.readonly",
            spec.root().as_ref().and_then(|r| r.readonly()) == Some(true),
        ),
    ];
    match asks.iter().find(|(_, asked)| *asked) {
        Some((field, _)) => Err(invalid(
            config,
            field,
            "needs a mount namespace: without one in linux.namespaces it would be made in the \
             host's mount table",
        )),
        None => Ok(()),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
