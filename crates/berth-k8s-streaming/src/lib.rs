//! The server side of the Kubernetes streaming protocols that a CRI runtime's streaming server
//! speaks to the kubelet, crictl and critest: exec, attach and port-forward, over SPDY/3.1 and
//! over WebSocket. Independent of the engine: the CRI adapter supplies the backends
//! ([`RemoteCommand`], [`PortForward`]) and routes requests to [`remote_command`] and
//! [`port_forward`].

mod http;
mod portforward;
pub mod remotecommand;
pub mod spdy;
mod ws;

use std::time::Duration;

pub use http::{port_forward, remote_command, ServerConfig, Upgrade};
pub use portforward::PortForward;
pub use remotecommand::{CommandIo, Outcome, RemoteCommand, StreamOptions, TerminalSize};

/// Why serving a streaming connection failed.
#[derive(Debug, thiserror::Error)]
pub enum StreamingError {
    #[error("taking over the upgraded connection: {0}")]
    Upgrade(#[source] hyper::Error),
    #[error(transparent)]
    Session(#[from] spdy::SessionError),
    #[error(transparent)]
    Stream(#[from] spdy::StreamError),
    #[error("WebSocket: {0}")]
    WebSocket(#[from] tokio_tungstenite::tungstenite::Error),
    #[error("the client did not open the expected streams within {0:?}")]
    StreamsTimeout(Duration),
    #[error("the client went away before the command could start")]
    ClientGone,
}
