//! `build_spec`'s named steps (containerd's `pkg/oci/spec_opts.go`): each fills its part of the
//! runtime spec from the engine's model and the engine's decisions ([`SpecContext`]), so the
//! CRI adds its own steps instead of translating into Docker's body. Steps not yet here still
//! run inline in [`super::build_spec`] (docs/container-model.md, step 7).

use oci_spec::runtime::{Linux, LinuxResources, Process, Spec};

use crate::model::{IpcMode, PidMode, UtsMode};

use super::build::SpecContext;

pub(super) mod devices;
pub(super) mod hostname;
pub(super) mod init;
pub(super) mod mounts;
pub(super) mod namespaces;
pub(super) mod process;
pub(super) mod resources;
pub(super) mod rlimits;
pub(super) mod seccomp;
pub(super) mod security;
pub(super) mod sysctls;
pub(super) mod user;

/// The spec's process, created default where missing.
fn process(spec: &mut Spec) -> &mut Process {
    spec.process_mut().get_or_insert_with(Process::default)
}

/// The spec's `linux.resources`, created empty where missing, for the steps that fill a part.
pub(super) fn linux_resources(spec: &mut Spec) -> &mut LinuxResources {
    spec.linux_mut()
        .get_or_insert_with(Linux::default)
        .resources_mut()
        .get_or_insert_with(LinuxResources::default)
}

/// Where a namespace of one kind comes from, as the spec says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum NsMode {
    Private,
    Host,
    /// Another container's or the pod's: the context has its path.
    Join,
}

impl From<&IpcMode> for NsMode {
    fn from(mode: &IpcMode) -> Self {
        match mode {
            IpcMode::Private | IpcMode::Shareable | IpcMode::None => Self::Private,
            IpcMode::Host => Self::Host,
            IpcMode::Container(_) | IpcMode::Pod => Self::Join,
        }
    }
}

impl From<&PidMode> for NsMode {
    fn from(mode: &PidMode) -> Self {
        match mode {
            PidMode::Private => Self::Private,
            PidMode::Host => Self::Host,
            PidMode::Container(_) | PidMode::Pod | PidMode::Target(_) => Self::Join,
        }
    }
}

impl From<&UtsMode> for NsMode {
    fn from(mode: &UtsMode) -> Self {
        match mode {
            UtsMode::Private => Self::Private,
            UtsMode::Host => Self::Host,
            UtsMode::Pod => Self::Join,
        }
    }
}
