//! `--user` and `--group-add` resolution against the container's own /etc/passwd and /etc/group,
//! with runc's `user.GetExecUser` rules (what dockerd uses).

use std::path::{Component, Path, PathBuf};

use super::error::SpecError;

/// The ids the container process runs with.
#[derive(Debug, Clone, PartialEq, Eq)]
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
pub fn resolve_user(
    user: &str,
    group_add: &[String],
    rootfs: &Path,
) -> Result<ResolvedUser, SpecError> {
    let passwd = read_in_root(rootfs, "etc/passwd")?;
    let group = read_in_root(rootfs, "etc/group")?;
    resolve_from(user, group_add, &passwd, &group)
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
mod tests {
    use super::*;

    const PASSWD: &str = "root:x:0:0:root:/root:/bin/sh\n\
        daemon:x:2:2:daemon:/sbin:/sbin/nologin\n\
        app:x:1000:1000:App:/home/app:/bin/sh\n\
        broken line\n";
    const GROUP: &str = "root:x:0:root\n\
        bin:x:1:root,bin,daemon\n\
        daemon:x:2:root,bin,daemon\n\
        wheel:x:10:root\n\
        app:x:1000:\n\
        docker:x:999:app\n\
        audio:x:29:\n";

    fn fake_rootfs() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("etc")).unwrap();
        std::fs::write(dir.path().join("etc/passwd"), PASSWD).unwrap();
        std::fs::write(dir.path().join("etc/group"), GROUP).unwrap();
        dir
    }

    fn resolve(user: &str, add: &[&str]) -> Result<(u32, u32, Vec<u32>), SpecError> {
        let root = fake_rootfs();
        let add: Vec<String> = add.iter().map(|s| s.to_string()).collect();
        resolve_user(user, &add, root.path()).map(|u| (u.uid, u.gid, u.additional_gids))
    }

    #[test]
    fn user_forms() {
        // Default user: root with root's supplementary groups, as `docker run alpine id` shows.
        assert_eq!(resolve("", &[]).unwrap(), (0, 0, vec![0, 0, 1, 2, 10]));
        assert_eq!(resolve("app", &[]).unwrap(), (1000, 1000, vec![1000, 999]));
        assert_eq!(resolve("1000", &[]).unwrap(), (1000, 1000, vec![1000, 999]));
        // Explicit group: no supplementary groups.
        assert_eq!(resolve("app:audio", &[]).unwrap(), (1000, 29, vec![29]));
        assert_eq!(resolve("1000:5", &[]).unwrap(), (1000, 5, vec![5]));
        // Unknown numeric uid: fine, gid 0.
        assert_eq!(resolve("4242", &[]).unwrap(), (4242, 0, vec![0]));
        assert_eq!(resolve("4242:4242", &[]).unwrap(), (4242, 4242, vec![4242]));
    }

    #[test]
    fn group_add() {
        assert_eq!(
            resolve("app", &["audio", "777"]).unwrap(),
            (1000, 1000, vec![1000, 999, 29, 777])
        );
        assert!(matches!(
            resolve("app", &["nosuch"]),
            Err(SpecError::GroupNotFound { .. })
        ));
    }

    #[test]
    fn unknown_names_fail() {
        assert!(matches!(
            resolve("nosuch", &[]),
            Err(SpecError::UserNotFound { .. })
        ));
        assert!(matches!(
            resolve("app:nosuch", &[]),
            Err(SpecError::GroupNotFound { .. })
        ));
    }

    #[test]
    fn missing_files_allow_numeric_ids_only() {
        let empty = tempfile::tempdir().unwrap();
        let r = resolve_user("12:34", &[], empty.path()).unwrap();
        assert_eq!((r.uid, r.gid), (12, 34));
        assert!(resolve_user("app", &[], empty.path()).is_err());
    }

    #[test]
    fn symlinks_cannot_escape_the_rootfs() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("passwd"), "evil:x:0:0::/:/bin/sh\n").unwrap();
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir(root.path().join("etc")).unwrap();
        // Both an absolute and a climbing relative link stay inside the rootfs.
        let abs = outside.path().join("passwd");
        std::os::unix::fs::symlink(&abs, root.path().join("etc/passwd")).unwrap();
        assert!(matches!(
            resolve_user("evil", &[], root.path()),
            Err(SpecError::UserNotFound { .. })
        ));
        std::fs::remove_file(root.path().join("etc/passwd")).unwrap();
        let climbing = PathBuf::from("../../../../../../..").join(abs.strip_prefix("/").unwrap());
        std::os::unix::fs::symlink(&climbing, root.path().join("etc/passwd")).unwrap();
        assert!(resolve_user("evil", &[], root.path()).is_err());

        // A link that stays inside is followed.
        std::fs::remove_file(root.path().join("etc/passwd")).unwrap();
        std::fs::write(root.path().join("etc/passwd.real"), PASSWD).unwrap();
        std::os::unix::fs::symlink("/etc/passwd.real", root.path().join("etc/passwd")).unwrap();
        assert_eq!(resolve_user("app", &[], root.path()).unwrap().uid, 1000);
    }

    #[test]
    fn symlink_loops_are_reported() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir(root.path().join("etc")).unwrap();
        std::os::unix::fs::symlink("/etc/passwd", root.path().join("etc/passwd")).unwrap();
        assert!(matches!(
            resolve_user("", &[], root.path()),
            Err(SpecError::SymlinkLoop { .. })
        ));
    }
}
