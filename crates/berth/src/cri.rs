//! The CRI connection of `berth pod` and `berth ps --namespace k8s.io`: berthd's gRPC
//! RuntimeService on its CRI socket, as crictl talks to it. Pods and their containers exist
//! only there; the Docker API does not list them, as dockerd does not list containerd's
//! `k8s.io` namespace.

use anyhow::{anyhow, bail, Context, Result};
use berth_api_cri::proto::runtime_service_client::RuntimeServiceClient;
use berth_api_cri::proto::{ListPodSandboxRequest, PodSandbox, PodSandboxFilter};
use tonic::transport::Channel;

/// The RuntimeService client, cheap to clone (the generated calls take `&mut self`).
#[derive(Debug, Clone)]
pub struct Cri {
    pub runtime: RuntimeServiceClient<Channel>,
}

impl Cri {
    /// Connects now, so that a missing daemon is reported before any command runs.
    pub async fn connect(url: &str) -> Result<Self> {
        let path = url
            .strip_prefix("unix://")
            .with_context(|| format!("--cri-socket {url}: only unix:// sockets are supported"))?
            .to_string();
        let channel = berth_api_cri::client::connect_unix(path)
            .await
            .map_err(|e| {
                let cause =
                    std::error::Error::source(&e).map_or(e.to_string(), ToString::to_string);
                anyhow!(
                    "cannot connect to the CRI at {url} ({cause}): is berthd running with the \
                     CRI on? (set --cri-socket or BERTH_CRI_SOCKET to choose another socket)"
                )
            })?;
        Ok(Self {
            runtime: RuntimeServiceClient::new(channel),
        })
    }

    /// The pods ListPodSandbox answers for `filter`.
    pub async fn pods(&self, filter: PodSandboxFilter) -> Result<Vec<PodSandbox>> {
        Ok(self
            .runtime
            .clone()
            .list_pod_sandbox(ListPodSandboxRequest {
                filter: Some(filter),
            })
            .await
            .map_err(rpc)?
            .into_inner()
            .items)
    }

    /// The full id of the pod `name` names exactly or as a unique prefix: the server resolves
    /// prefixes in ListPodSandbox's id filter (an ambiguous one matches nothing).
    pub async fn pod_id(&self, name: &str) -> Result<String> {
        let filter = PodSandboxFilter {
            id: name.to_string(),
            ..Default::default()
        };
        let pods = self.pods(filter).await?;
        match pods.as_slice() {
            [pod] => Ok(pod.id.clone()),
            _ => bail!("no such pod sandbox: {name}"),
        }
    }
}

/// A failed call as the server's message (tonic's `Display` adds code, details and metadata).
pub fn rpc(status: tonic::Status) -> anyhow::Error {
    anyhow!("{}", status.message())
}
