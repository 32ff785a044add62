//! Device nodes and the device cgroup (moby `WithDevices`, `oci/devices_linux.go`).

use oci_spec::runtime::{Linux, LinuxDeviceType, Spec};

use super::{linux_resources, SpecContext};
use crate::model::{ContainerSpec, DeviceKind};
use crate::spec::error::SpecError;
use crate::spec::resources::{
    cgroup_rule, default_device_rules, devices_from_request, host_devices, privileged_device_rules,
};

/// Sets `linux.devices` and `linux.resources.devices`: privileged gets every host device and
/// all access, others dockerd's defaults; then the requested devices and rules.
pub(in crate::spec) fn devices(
    spec: &mut Spec,
    model: &ContainerSpec,
    ctx: &SpecContext<'_>,
) -> Result<(), SpecError> {
    let r = &model.resources;
    let (mut devices, mut rules) = if model.security.privileged {
        (host_devices(ctx.devices)?, privileged_device_rules())
    } else {
        (Vec::new(), default_device_rules())
    };
    for request in &r.devices {
        // Privileged already has every node at its own path and may use it.
        let same_path = request
            .container_path
            .as_ref()
            .is_none_or(|p| *p == request.host_path);
        if model.security.privileged && same_path {
            continue;
        }
        let (d, allow) = devices_from_request(request, ctx.devices)?;
        devices.extend(d);
        if !model.security.privileged {
            rules.extend(allow);
        }
    }
    if !model.security.privileged {
        rules.extend(r.device_rules.iter().map(|rule| {
            let typ = match rule.kind {
                DeviceKind::All => None,
                DeviceKind::Char => Some(LinuxDeviceType::C),
                DeviceKind::Block => Some(LinuxDeviceType::B),
            };
            cgroup_rule(rule.allow, typ, rule.major, rule.minor, &rule.access)
        }));
    }
    linux_resources(spec).set_devices(Some(rules));
    spec.linux_mut()
        .get_or_insert_with(Linux::default)
        .set_devices((!devices.is_empty()).then_some(devices));
    Ok(())
}
