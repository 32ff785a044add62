//! Status: the runtime is ready once berthd serves; the pods' network is ready when the CNI
//! configuration directory has a network (the kubelet keeps a node NotReady until then).

use std::collections::HashMap;
use std::path::PathBuf;

use berth_engine::pod_network::PodNetworkStatus;
use serde::Serialize;
use tonic::{Request, Response, Status};

use super::Runtime;
use crate::proto::{
    RuntimeCondition, RuntimeFeatures, RuntimeHandler, RuntimeHandlerFeatures, RuntimeStatus,
    StatusRequest, StatusResponse,
};

const RUNTIME_READY: &str = "RuntimeReady";
const NETWORK_READY: &str = "NetworkReady";
/// The reason containerd and CRI-O give; tools match on it.
const NETWORK_NOT_READY: &str = "NetworkPluginNotReady";

/// `info["config"]` of a verbose Status (`crictl info`).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ConfigInfo {
    cni_conf_dir: PathBuf,
    cni_bin_dir: PathBuf,
    /// The CNI network pods get (the directory's first), when there is one.
    pod_network: Option<String>,
    pod_cidrs: Vec<String>,
    cgroup_driver: &'static str,
    api_versions: [&'static str; 2],
}

pub(super) async fn status(
    rt: &Runtime,
    request: Request<StatusRequest>,
) -> Result<Response<StatusResponse>, Status> {
    let network = rt
        .engine
        .pod_network_status()
        .await
        .map_err(crate::error::engine)?;
    let (network_ready, reason, message, cni_status, pod_network) = match network {
        PodNetworkStatus::Ready { network } => {
            (true, "", String::new(), "OK".into(), Some(network))
        }
        PodNetworkStatus::NotReady { message } => (
            false,
            NETWORK_NOT_READY,
            format!("Network plugin returns error: {message}"),
            message,
            None,
        ),
    };
    let conditions = vec![
        RuntimeCondition {
            r#type: RUNTIME_READY.into(),
            status: true,
            reason: String::new(),
            message: String::new(),
        },
        RuntimeCondition {
            r#type: NETWORK_READY.into(),
            status: network_ready,
            reason: reason.into(),
            message,
        },
    ];
    let mut info = HashMap::new();
    if request.get_ref().verbose {
        let pods = &rt.engine.config().pods;
        let config = ConfigInfo {
            cni_conf_dir: pods.cni_conf_dir.clone(),
            cni_bin_dir: pods.cni_bin_dir.clone(),
            pod_network,
            pod_cidrs: rt
                .engine
                .pod_cidrs()
                .iter()
                .map(ToString::to_string)
                .collect(),
            cgroup_driver: "cgroupfs",
            api_versions: ["v1", "v1alpha2"],
        };
        info.insert("config".to_string(), json(&config)?);
        // containerd's key: "OK", or why pods have no network.
        info.insert("lastCNILoadStatus".to_string(), json(&cni_status)?);
    }
    Ok(Response::new(StatusResponse {
        status: Some(RuntimeStatus { conditions }),
        info,
        // One handler, the default. The kubelet refuses recursive read-only mounts unless
        // the handler says it has them.
        runtime_handlers: vec![RuntimeHandler {
            name: String::new(),
            features: Some(RuntimeHandlerFeatures {
                recursive_read_only_mounts: berth_engine::host::recursive_readonly_mounts(),
                // A pod's containers need overlayfs over id-mapped layers.
                user_namespaces: berth_engine::host::idmapped_layers(),
            }),
        }],
        // Strict supplemental groups are resolved at start (berth-engine spec::resolve_user).
        features: Some(RuntimeFeatures {
            supplemental_groups_policy: true,
            user_namespaces_host_network: false,
        }),
    }))
}

fn json(value: &impl Serialize) -> Result<String, Status> {
    serde_json::to_string(value).map_err(|e| Status::internal(e.to_string()))
}
