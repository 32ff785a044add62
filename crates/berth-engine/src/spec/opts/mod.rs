//! `build_spec`'s named steps (containerd's `pkg/oci/spec_opts.go`): each fills its part of the
//! runtime spec from the engine's model and the engine's decisions ([`SpecContext`]), so the
//! CRI adds its own steps instead of translating into Docker's body. Steps not yet here still
//! run inline in [`super::build_spec`] (docs/container-model.md, step 7).

use oci_spec::runtime::{Linux, LinuxResources, Process, Spec};

use super::build::SpecContext;

pub(super) mod hostname;
pub(super) mod resources;
pub(super) mod rlimits;

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
