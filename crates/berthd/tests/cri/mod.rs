//! A CRI gRPC client on a test daemon's private CRI socket: the generated v1 clients, and
//! calls by path for `runtime.v1alpha2` (which is not generated: the server rewrites it).
#![allow(dead_code)]

mod containers;
mod pods;

use std::path::Path;

use berth_api_cri::proto::image_service_client::ImageServiceClient;
use berth_api_cri::proto::runtime_service_client::RuntimeServiceClient;
use tonic::codegen::http::uri::PathAndQuery;
use tonic::transport::Channel;

pub use berth_api_cri::proto::*;
// Each test binary includes this module; not all of them run pods.
#[allow(unused_imports)]
pub use containers::*;
#[allow(unused_imports)]
pub use pods::*;
pub use tonic::{Code, Status};

#[derive(Clone)]
pub struct Cri {
    pub runtime: RuntimeServiceClient<Channel>,
    pub images: ImageServiceClient<Channel>,
    channel: Channel,
}

pub async fn connect(socket: &Path) -> Cri {
    let channel = berth_api_cri::client::connect_unix(socket)
        .await
        .unwrap_or_else(|e| panic!("connect to the CRI socket: {e}"));
    Cri {
        runtime: RuntimeServiceClient::new(channel.clone()),
        images: ImageServiceClient::new(channel.clone()),
        channel,
    }
}

impl Cri {
    /// `/runtime.v1alpha2.<service>/<method>`, as a kubelet 1.20 calls it.
    pub async fn v1alpha2<Req, Resp>(
        &self,
        service: &str,
        method: &str,
        request: Req,
    ) -> Result<Resp, Status>
    where
        Req: prost::Message + Send + Sync + 'static,
        Resp: prost::Message + Default + Send + Sync + 'static,
    {
        self.call(&format!("/runtime.v1alpha2.{service}/{method}"), request)
            .await
    }

    /// A unary call on any path.
    pub async fn call<Req, Resp>(&self, path: &str, request: Req) -> Result<Resp, Status>
    where
        Req: prost::Message + Send + Sync + 'static,
        Resp: prost::Message + Default + Send + Sync + 'static,
    {
        let mut grpc = tonic::client::Grpc::new(self.channel.clone());
        grpc.ready()
            .await
            .map_err(|e| Status::unavailable(e.to_string()))?;
        let path = PathAndQuery::try_from(path).unwrap_or_else(|e| panic!("{path}: {e}"));
        grpc.unary(
            tonic::Request::new(request),
            path,
            tonic_prost::ProstCodec::default(),
        )
        .await
        .map(tonic::Response::into_inner)
    }
}

/// Imports busybox through the Docker API as `name`, with the config change `change`;
/// returns the image id.
pub fn import(d: &berth_testkit::Daemon, name: &str, change: &str) -> String {
    let tar = berth_testkit::busybox_tar().display().to_string();
    d.berth(&["import", "-c", change, &tar, name]).ok();
    d.berth(&["image", "inspect", "--format", "{{.Id}}", name])
        .ok()
        .text()
}

/// An ImageSpec naming `image`.
pub fn spec(image: &str) -> Option<ImageSpec> {
    Some(ImageSpec {
        image: image.to_string(),
        ..Default::default()
    })
}

#[track_caller]
pub fn assert_code<T: std::fmt::Debug>(result: Result<T, Status>, code: Code, message: &str) {
    match result {
        Err(status) => {
            assert_eq!(status.code(), code, "{status:?}");
            assert!(
                status.message().contains(message),
                "{:?} does not contain {message:?}",
                status.message()
            );
        }
        Ok(ok) => panic!("expected {code:?}, got {ok:?}"),
    }
}

/// crictl on a test daemon's CRI socket (runtime and image endpoints, no /etc/crictl.yaml).
pub struct Crictl {
    bin: std::ffi::OsString,
    endpoint: String,
}

impl Crictl {
    /// `None` (saying why) when `BERTH_TEST_CRICTL` is not set: scripts/test.sh sets it to
    /// what `scripts/build-cri-tools.sh crictl` prints.
    pub fn for_socket(socket: &Path) -> Option<Self> {
        let Some(bin) = std::env::var_os("BERTH_TEST_CRICTL") else {
            eprintln!(
                "skipped: BERTH_TEST_CRICTL is not set (scripts/test.sh sets it to what \
                 scripts/build-cri-tools.sh crictl prints)"
            );
            return None;
        };
        Some(Self {
            bin,
            endpoint: format!("unix://{}", socket.display()),
        })
    }

    pub fn command(&self, args: &[&str]) -> std::process::Command {
        let mut cmd = std::process::Command::new(&self.bin);
        cmd.args(["--runtime-endpoint", &self.endpoint])
            .args(["--image-endpoint", &self.endpoint])
            .args(["--config", "/dev/null"])
            .args(args);
        cmd
    }

    pub fn run(&self, args: &[&str]) -> berth_testkit::Out {
        berth_testkit::run(self.command(args), None)
    }

    pub fn run_with_stdin(&self, args: &[&str], stdin: &[u8]) -> berth_testkit::Out {
        berth_testkit::run(self.command(args), Some(stdin))
    }
}
