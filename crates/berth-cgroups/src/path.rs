use std::fmt;
use std::path::Path;

use crate::error::{Error, Result};
use crate::fsutil;

/// A container's cgroup, as named by the OCI `linux.cgroupsPath`.
///
/// An absolute path ("/a/b") is relative to each hierarchy's root; a relative one ("a/b") is
/// relative to the cgroup of the calling process. Without a path, runc's default
/// "/<container id>" is used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CgroupPath {
    relative: bool,
    /// Normal components only; "." and ".." are resolved once the anchor is known.
    components: Vec<String>,
}

impl CgroupPath {
    pub fn parse(cgroups_path: Option<&str>, container_id: &str) -> Result<Self> {
        let raw = match cgroups_path {
            Some(p) if !p.is_empty() => p,
            _ => {
                if container_id.is_empty()
                    || container_id.contains('/')
                    || container_id == "."
                    || container_id == ".."
                {
                    return Err(Error::InvalidPath {
                        path: container_id.to_owned(),
                        reason: "the container id is not a valid directory name",
                    });
                }
                return Ok(Self {
                    relative: false,
                    components: vec![container_id.to_owned()],
                });
            }
        };
        let relative = !raw.starts_with('/');
        // runc only uses "slice:prefix:name" with --systemd-cgroup; without systemd support
        // we must refuse it rather than create a directory literally named that way.
        if relative && raw.split(':').count() == 3 {
            return Err(Error::SystemdCgroupUnsupported(raw.to_owned()));
        }
        let components: Vec<String> = raw
            .split('/')
            .filter(|c| !c.is_empty() && *c != ".")
            .map(str::to_owned)
            .collect();
        if components.is_empty() {
            return Err(Error::InvalidPath {
                path: raw.to_owned(),
                reason: "it names the hierarchy root",
            });
        }
        Ok(Self {
            relative,
            components,
        })
    }

    pub fn is_relative(&self) -> bool {
        self.relative
    }

    /// The cgroup relative to a hierarchy's mount point. `own` is the caller's cgroup in that
    /// hierarchy (already relative to the mount), needed only for relative paths. ".." never
    /// climbs above the mount point, so a cgroupsPath cannot escape the hierarchy.
    pub(crate) fn resolve(&self, own: &str) -> Result<String> {
        let base = if self.relative { own } else { "" };
        let mut out: Vec<&str> = Vec::new();
        for c in base
            .split('/')
            .chain(self.components.iter().map(String::as_str))
        {
            match c {
                "" | "." => {}
                ".." => {
                    out.pop();
                }
                c => out.push(c),
            }
        }
        if out.is_empty() {
            return Err(Error::InvalidPath {
                path: self.to_string(),
                reason: "it resolves to the hierarchy root",
            });
        }
        Ok(out.join("/"))
    }
}

impl fmt::Display for CgroupPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.relative {
            f.write_str("/")?;
        }
        f.write_str(&self.components.join("/"))
    }
}

/// The calling process's cgroups, from /proc/self/cgroup ("id:controllers:path" lines).
pub(crate) struct OwnCgroups(String);

impl OwnCgroups {
    pub fn read() -> Result<Self> {
        fsutil::read(Path::new("/proc/self/cgroup")).map(Self)
    }

    #[cfg(test)]
    pub fn from_content(content: &str) -> Self {
        Self(content.to_owned())
    }

    /// The cgroup of the hierarchy holding `controller` ("" selects the v2 hierarchy).
    pub fn path_of(&self, controller: &'static str) -> Result<&str> {
        self.0
            .lines()
            .find_map(|line| {
                let mut parts = line.splitn(3, ':');
                let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
                let hit = if controller.is_empty() {
                    controllers.is_empty()
                } else {
                    controllers.split(',').any(|c| c == controller)
                };
                hit.then_some(path)
            })
            .ok_or(Error::OwnCgroupNotFound { controller })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
