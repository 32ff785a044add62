//! PortForward's backend: each forwarded connection is the engine's connection to
//! `localhost:<port>` in the pod's network namespace.

use berth_engine::Engine;
use berth_k8s_streaming::PortForward;

pub(super) struct PodPorts {
    pub(super) engine: Engine,
    pub(super) pod_id: String,
}

impl PortForward for PodPorts {
    type Conn = tokio::net::TcpStream;

    async fn connect(&self, port: u16) -> std::io::Result<Self::Conn> {
        self.engine
            .connect_in_pod(&self.pod_id, port)
            .await
            .map_err(|e| std::io::Error::other(e.to_string()))
    }
}
