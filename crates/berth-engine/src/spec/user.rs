//! `--user` and `--group-add` resolution against the container's own /etc/passwd and /etc/group,
//! with runc's `user.GetExecUser` rules (what dockerd uses).

use std::path::{Component, Path, PathBuf};

use super::error::SpecError;
use crate::model::GroupPolicy;

/// The ids the container process runs with.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ResolvedUser {
    pub uid: u32,
    pub gid: u32,
    /// As dockerd sets them: the primary gid, the user's supplementary groups (only when the group
    /// was not given explicitly), then `--group-add`.
    pub additional_gids: Vec<u32>,
}

/// Resolves `user` (`""`, `name`, `uid`, `name:group`, `uid:gid`, ...) and `group_add` in the
/// image's rootfs.
///
/// Reads `/etc/passwd` and `/etc/group` of `rootfs`, resolving symlinks as if `rootfs` were `/`,
/// so a malicious image cannot make the daemon read host files. Missing files count as empty,
/// which still allows numeric ids.
///
/// `policy` [`GroupPolicy::Strict`] leaves out the groups /etc/group makes the user a member of
/// (the CRI's SupplementalGroupsPolicy): only the primary group and `group_add` remain.
pub fn resolve_user(
    user: &str,
    group_add: &[String],
    policy: GroupPolicy,
    rootfs: &Path,
) -> Result<ResolvedUser, SpecError> {
    let passwd = read_in_root(rootfs, "etc/passwd")?;
    let group = read_in_root(rootfs, "etc/group")?;
    resolve_from(user, group_add, policy, &passwd, &group)
}

struct PasswdEntry<'a> {
    name: &'a str,
    uid: u32,
    gid: u32,
}

struct GroupEntry<'a> {
    name: &'a str,
    gid: u32,
    members: Vec<&'a str>,
}

fn passwd_entries(text: &str) -> impl Iterator<Item = PasswdEntry<'_>> {
    text.lines().filter_map(|line| {
        let mut f = line.split(':');
        let name = f.next()?;
        let _password = f.next()?;
        let uid = f.next()?.trim().parse().ok()?;
        let gid = f.next()?.trim().parse().ok()?;
        Some(PasswdEntry { name, uid, gid })
    })
}

fn group_entries(text: &str) -> impl Iterator<Item = GroupEntry<'_>> {
    text.lines().filter_map(|line| {
        let mut f = line.split(':');
        let name = f.next()?;
        let _password = f.next()?;
        let gid = f.next()?.trim().parse().ok()?;
        let members = f
            .next()
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|m| !m.is_empty())
            .collect();
        Some(GroupEntry { name, gid, members })
    })
}

/// The resolution itself, on file contents: runc `GetExecUser` then docker's `getUser`.
fn resolve_from(
    spec: &str,
    group_add: &[String],
    policy: GroupPolicy,
    passwd: &str,
    group: &str,
) -> Result<ResolvedUser, SpecError> {
    let (user_arg, group_arg) = match spec.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (spec, None),
    };
    // The default user is uid 0, looked up like any other so root's groups apply.
    let user_arg = if user_arg.is_empty() { "0" } else { user_arg };
    let numeric_uid = user_arg.parse::<u32>().ok();

    let matched = passwd_entries(passwd)
        .find(|e| e.name == user_arg || numeric_uid.is_some_and(|uid| uid == e.uid));
    let (uid, mut gid, user_name) = match (&matched, numeric_uid) {
        (Some(e), _) => (e.uid, e.gid, Some(e.name)),
        (None, Some(uid)) => (uid, 0, None),
        (None, None) => {
            return Err(SpecError::UserNotFound {
                user: user_arg.to_string(),
            })
        }
    };

    let mut supplementary = Vec::new();
    match group_arg.filter(|g| !g.is_empty()) {
        Some(g) => gid = lookup_group(g, group)?,
        None if policy == GroupPolicy::Strict => {}
        None => {
            if let Some(name) = user_name {
                supplementary = group_entries(group)
                    .filter(|e| e.members.contains(&name))
                    .map(|e| e.gid)
                    .collect();
            }
        }
    }

    let mut additional_gids = vec![gid];
    additional_gids.extend(supplementary);
    for g in group_add {
        additional_gids.push(lookup_group(g, group)?);
    }
    Ok(ResolvedUser {
        uid,
        gid,
        additional_gids,
    })
}

/// A group by name (first match wins) or, failing that, a numeric gid.
fn lookup_group(arg: &str, group: &str) -> Result<u32, SpecError> {
    let numeric = arg.parse::<u32>().ok();
    group_entries(group)
        .find(|e| e.name == arg || numeric == Some(e.gid))
        .map(|e| e.gid)
        .or(numeric)
        .ok_or_else(|| SpecError::GroupNotFound {
            group: arg.to_string(),
        })
}

/// Reads `relative` inside `root`, following symlinks as the container would see them: absolute
/// targets restart at `root`, and `..` never climbs above it. A missing file reads as empty.
fn read_in_root(root: &Path, relative: &str) -> Result<String, SpecError> {
    let path = resolve_in_root(root, Path::new(relative))?;
    match std::fs::read(&path) {
        Ok(bytes) => Ok(String::from_utf8_lossy(&bytes).into_owned()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
        Err(source) => Err(SpecError::ReadUserDb { path, source }),
    }
}

fn resolve_in_root(root: &Path, relative: &Path) -> Result<PathBuf, SpecError> {
    const MAX_LINKS: usize = 40;
    // Components still to walk, in reverse so `pop` yields the next one.
    let mut pending: Vec<std::ffi::OsString> = Vec::new();
    push_components(&mut pending, relative);
    let mut resolved: Vec<std::ffi::OsString> = Vec::new();
    let mut links = 0;
    while let Some(part) = pending.pop() {
        if part == ".." {
            resolved.pop();
            continue;
        }
        let candidate: PathBuf = root.join(resolved.iter().collect::<PathBuf>()).join(&part);
        match std::fs::symlink_metadata(&candidate) {
            Ok(meta) if meta.file_type().is_symlink() => {
                links += 1;
                if links > MAX_LINKS {
                    return Err(SpecError::SymlinkLoop { path: candidate });
                }
                let target =
                    std::fs::read_link(&candidate).map_err(|source| SpecError::ReadUserDb {
                        path: candidate.clone(),
                        source,
                    })?;
                if target.is_absolute() {
                    resolved.clear();
                }
                push_components(&mut pending, &target);
            }
            _ => resolved.push(part),
        }
    }
    Ok(root.join(resolved.iter().collect::<PathBuf>()))
}

/// Pushes `path`'s normal and `..` components so that the first one is popped first.
fn push_components(pending: &mut Vec<std::ffi::OsString>, path: &Path) {
    let parts: Vec<std::ffi::OsString> = path
        .components()
        .filter_map(|c| match c {
            Component::Normal(p) => Some(p.to_os_string()),
            Component::ParentDir => Some("..".into()),
            _ => None,
        })
        .collect();
    pending.extend(parts.into_iter().rev());
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
