//! RuntimeConfig (what the kubelet must do: the cgroup driver) and UpdateRuntimeConfig (what
//! the kubelet tells the runtime: the pod CIDR).

use ipnet::IpNet;
use tonic::{Request, Response, Status};

use super::Runtime;
use crate::error::RequestError;
use crate::proto::{
    CgroupDriver, LinuxRuntimeConfiguration, RuntimeConfigRequest, RuntimeConfigResponse,
    UpdateRuntimeConfigRequest, UpdateRuntimeConfigResponse,
};

pub(super) async fn runtime_config(
    _: &Runtime,
    _: Request<RuntimeConfigRequest>,
) -> Result<Response<RuntimeConfigResponse>, Status> {
    // Containers' cgroups are made by path (cgroupfs), never through systemd.
    Ok(Response::new(RuntimeConfigResponse {
        linux: Some(LinuxRuntimeConfiguration {
            cgroup_driver: CgroupDriver::Cgroupfs.into(),
        }),
    }))
}

pub(super) async fn update_runtime_config(
    rt: &Runtime,
    request: Request<UpdateRuntimeConfigRequest>,
) -> Result<Response<UpdateRuntimeConfigResponse>, Status> {
    let cidr = request
        .into_inner()
        .runtime_config
        .and_then(|c| c.network_config)
        .map(|n| n.pod_cidr)
        .unwrap_or_default();
    // Empty means "no change" (the proto: runtimes should omit it).
    if !cidr.is_empty() {
        rt.engine
            .set_pod_cidrs(parse_cidrs(&cidr)?)
            .await
            .map_err(crate::error::engine)?;
    }
    Ok(Response::new(UpdateRuntimeConfigResponse {}))
}

/// A dual-stack kubelet sends both families comma-separated (`10.244.1.0/24,fd00:1::/64`).
fn parse_cidrs(text: &str) -> Result<Vec<IpNet>, RequestError> {
    text.split(',')
        .map(str::trim)
        .map(|c| {
            c.parse::<IpNet>().map_err(|source| RequestError::PodCidr {
                cidr: c.to_string(),
                source,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pod_cidrs_single_and_dual_stack() {
        let v4: IpNet = "10.244.1.0/24".parse().unwrap_or_else(|e| panic!("{e}"));
        let v6: IpNet = "fd00:1::/64".parse().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(parse_cidrs("10.244.1.0/24").ok(), Some(vec![v4]));
        assert_eq!(
            parse_cidrs("10.244.1.0/24, fd00:1::/64").ok(),
            Some(vec![v4, v6])
        );
        let err = parse_cidrs("10.244.1.0/24,nope")
            .err()
            .map(|e| e.to_string());
        assert!(
            err.as_deref()
                .is_some_and(|e| e.starts_with("pod CIDR \"nope\"")),
            "{err:?}"
        );
    }
}
