//! The Kubernetes Container Runtime Interface (CRI) over the Berth engine: gRPC `runtime.v1`
//! generated from the vendored `api.proto` (kubernetes/cri-api v0.36.3, `proto/README.md`),
//! and `runtime.v1alpha2` served by the same code through a path rewrite (`api_version.rs`).
//!
//! An adapter, as `berth-api-docker` is: each RPC parses its protobuf request into engine
//! calls and the engine's answer back into protobuf; the engine never sees protobuf. One file
//! per RPC or small group, as containerd's CRI server. Engine errors become gRPC codes in one
//! place (`error.rs`). berthd serves [`service`] on its CRI socket with HTTP/2, and the
//! streaming server ([`StreamServer`], exec, attach and port-forward) on a TCP port. Without
//! the `server` feature the crate is only [`proto`] (and its clients with `client`), for the CLI.

mod api_version;
#[cfg(feature = "server")]
mod batches;
#[cfg(feature = "client")]
pub mod client;
#[cfg(feature = "server")]
mod error;
#[cfg(feature = "server")]
mod images;
#[cfg(feature = "server")]
mod legacy_authority;
#[cfg(feature = "server")]
mod runtime;
#[cfg(feature = "server")]
mod streaming;

/// The generated `runtime.v1` messages, services (and clients with the `client` feature).
/// Their doc comments are the proto's, not written for rustdoc: not linted.
#[allow(clippy::all)]
pub mod proto {
    tonic::include_proto!("runtime.v1");
}

pub use api_version::{ApiVersion, V1alpha2, V1alpha2Layer};
#[cfg(feature = "server")]
pub use legacy_authority::LegacyAuthority;
#[cfg(feature = "server")]
pub use streaming::StreamServer;

#[cfg(feature = "server")]
use berth_engine::Engine;
#[cfg(feature = "server")]
use tower::Layer;

/// The CRI's RuntimeService and ImageService, answering `runtime.v1` and `runtime.v1alpha2`
/// paths alike: a tower service of HTTP/2 requests.
pub type CriService = V1alpha2<tonic::service::Routes>;

/// The CRI service on `engine`; Exec, Attach and PortForward hand out URLs on `streaming`
/// (without one they answer Unavailable).
#[cfg(feature = "server")]
pub fn service(engine: Engine, streaming: Option<StreamServer>) -> CriService {
    let routes =
        tonic::service::Routes::new(proto::runtime_service_server::RuntimeServiceServer::new(
            runtime::Runtime::new(engine.clone(), streaming),
        ))
        .add_service(proto::image_service_server::ImageServiceServer::new(
            images::Images::new(engine),
        ));
    V1alpha2Layer.layer(routes)
}
