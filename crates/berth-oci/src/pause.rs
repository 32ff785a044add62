//! `pause` / `resume` through the cgroup freezer, and `update` of live resources.

use berth_types::ContainerStatus;
use oci_spec::runtime::LinuxResources;

use crate::error::{Error, Result};
use crate::state::{Container, StateRoot};

fn cgroup_of(c: &Container) -> Result<berth_cgroups::Manager> {
    crate::cgroup_manager(c.cgroups_path.as_deref(), c.id.as_str()).map_err(|source| {
        Error::Cgroup {
            id: c.id.to_string(),
            source,
        }
    })
}

pub fn pause(root: &StateRoot, id: &str) -> Result<()> {
    let c = root.load(id)?;
    let status = c.status();
    if status != ContainerStatus::Running && status != ContainerStatus::Created {
        return Err(Error::WrongStatus {
            id: id.to_string(),
            status,
            action: "pause",
            expected: "running",
        });
    }
    cgroup_of(&c)?.freeze().map_err(|source| Error::Cgroup {
        id: id.to_string(),
        source,
    })
}

pub fn resume(root: &StateRoot, id: &str) -> Result<()> {
    let c = root.load(id)?;
    let status = c.status();
    if status != ContainerStatus::Paused {
        return Err(Error::WrongStatus {
            id: id.to_string(),
            status,
            action: "resume",
            expected: "paused",
        });
    }
    cgroup_of(&c)?.thaw().map_err(|source| Error::Cgroup {
        id: id.to_string(),
        source,
    })
}

pub fn update(root: &StateRoot, id: &str, resources: &LinuxResources) -> Result<()> {
    let c = root.load(id)?;
    if c.status() == ContainerStatus::Stopped {
        return Err(Error::NotRunning(id.to_string()));
    }
    cgroup_of(&c)?
        .apply(resources)
        .map_err(|source| Error::Cgroup {
            id: id.to_string(),
            source,
        })
}
