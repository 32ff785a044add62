//! The CRI RuntimeService: one file per RPC or small group (as containerd's CRI server): pod
//! sandboxes (`pods/`), their containers (`containers/`), stats (`stats/`), container events
//! (`events.rs`), and ExecSync, Exec, Attach and PortForward (the last three through the
//! streaming server, `crate::streaming`). The Stream* RPCs send what their List RPC returns,
//! in batches (`crate::batches`).

mod attach;
mod config;
mod containers;
mod events;
mod exec;
mod metrics;
mod pods;
mod port_forward;
mod stats;
mod status;
mod version;

use berth_engine::Engine;
use tonic::{Request, Response, Status};

use crate::batches::{batches, Batches};
use crate::error::no_checkpoint;
use crate::proto::runtime_service_server::RuntimeService;
use crate::proto::*;
use crate::streaming::StreamServer;

pub(crate) struct Runtime {
    engine: Engine,
    cpu_rates: stats::CpuRates,
    /// Where Exec, Attach and PortForward send their clients; `None` when berthd runs none.
    streaming: Option<StreamServer>,
}

impl Runtime {
    pub(crate) fn new(engine: Engine, streaming: Option<StreamServer>) -> Self {
        Self {
            engine,
            cpu_rates: stats::CpuRates::default(),
            streaming,
        }
    }
}

#[tonic::async_trait]
impl RuntimeService for Runtime {
    type StreamPodSandboxesStream = Batches<StreamPodSandboxesResponse>;
    type StreamContainersStream = Batches<StreamContainersResponse>;
    type StreamContainerStatsStream = Batches<StreamContainerStatsResponse>;
    type StreamPodSandboxStatsStream = Batches<StreamPodSandboxStatsResponse>;
    type GetContainerEventsStream = events::ContainerEvents;
    type StreamPodSandboxMetricsStream = Batches<StreamPodSandboxMetricsResponse>;

    async fn version(
        &self,
        request: Request<VersionRequest>,
    ) -> Result<Response<VersionResponse>, Status> {
        version::version(self, request).await
    }

    async fn run_pod_sandbox(
        &self,
        request: Request<RunPodSandboxRequest>,
    ) -> Result<Response<RunPodSandboxResponse>, Status> {
        pods::run_pod_sandbox(self, request).await
    }

    async fn stop_pod_sandbox(
        &self,
        request: Request<StopPodSandboxRequest>,
    ) -> Result<Response<StopPodSandboxResponse>, Status> {
        pods::stop_pod_sandbox(self, request).await
    }

    async fn remove_pod_sandbox(
        &self,
        request: Request<RemovePodSandboxRequest>,
    ) -> Result<Response<RemovePodSandboxResponse>, Status> {
        pods::remove_pod_sandbox(self, request).await
    }

    async fn pod_sandbox_status(
        &self,
        request: Request<PodSandboxStatusRequest>,
    ) -> Result<Response<PodSandboxStatusResponse>, Status> {
        pods::pod_sandbox_status(self, request).await
    }

    async fn list_pod_sandbox(
        &self,
        request: Request<ListPodSandboxRequest>,
    ) -> Result<Response<ListPodSandboxResponse>, Status> {
        pods::list_pod_sandbox(self, request).await
    }

    async fn stream_pod_sandboxes(
        &self,
        request: Request<StreamPodSandboxesRequest>,
    ) -> Result<Response<Self::StreamPodSandboxesStream>, Status> {
        let filter = request.into_inner().filter;
        let list = pods::list_pod_sandbox(self, Request::new(ListPodSandboxRequest { filter }));
        let items = list.await?.into_inner().items;
        Ok(Response::new(batches(&items, |pod_sandboxes| {
            StreamPodSandboxesResponse { pod_sandboxes }
        })))
    }

    async fn create_container(
        &self,
        request: Request<CreateContainerRequest>,
    ) -> Result<Response<CreateContainerResponse>, Status> {
        containers::create_container(self, request).await
    }

    async fn start_container(
        &self,
        request: Request<StartContainerRequest>,
    ) -> Result<Response<StartContainerResponse>, Status> {
        containers::start_container(self, request).await
    }

    async fn stop_container(
        &self,
        request: Request<StopContainerRequest>,
    ) -> Result<Response<StopContainerResponse>, Status> {
        containers::stop_container(self, request).await
    }

    async fn remove_container(
        &self,
        request: Request<RemoveContainerRequest>,
    ) -> Result<Response<RemoveContainerResponse>, Status> {
        containers::remove_container(self, request).await
    }

    async fn list_containers(
        &self,
        request: Request<ListContainersRequest>,
    ) -> Result<Response<ListContainersResponse>, Status> {
        containers::list_containers(self, request).await
    }

    async fn stream_containers(
        &self,
        request: Request<StreamContainersRequest>,
    ) -> Result<Response<Self::StreamContainersStream>, Status> {
        let filter = request.into_inner().filter;
        let list =
            containers::list_containers(self, Request::new(ListContainersRequest { filter }));
        let items = list.await?.into_inner().containers;
        Ok(Response::new(batches(&items, |containers| {
            StreamContainersResponse { containers }
        })))
    }

    async fn container_status(
        &self,
        request: Request<ContainerStatusRequest>,
    ) -> Result<Response<ContainerStatusResponse>, Status> {
        containers::container_status(self, request).await
    }

    async fn update_container_resources(
        &self,
        request: Request<UpdateContainerResourcesRequest>,
    ) -> Result<Response<UpdateContainerResourcesResponse>, Status> {
        containers::update_container_resources(self, request).await
    }

    async fn reopen_container_log(
        &self,
        request: Request<ReopenContainerLogRequest>,
    ) -> Result<Response<ReopenContainerLogResponse>, Status> {
        containers::reopen_container_log(self, request).await
    }

    async fn exec_sync(
        &self,
        request: Request<ExecSyncRequest>,
    ) -> Result<Response<ExecSyncResponse>, Status> {
        exec::exec_sync(self, request).await
    }

    async fn exec(&self, request: Request<ExecRequest>) -> Result<Response<ExecResponse>, Status> {
        exec::exec(self, request).await
    }

    async fn attach(
        &self,
        request: Request<AttachRequest>,
    ) -> Result<Response<AttachResponse>, Status> {
        attach::attach(self, request).await
    }

    async fn port_forward(
        &self,
        request: Request<PortForwardRequest>,
    ) -> Result<Response<PortForwardResponse>, Status> {
        port_forward::port_forward(self, request).await
    }

    async fn container_stats(
        &self,
        request: Request<ContainerStatsRequest>,
    ) -> Result<Response<ContainerStatsResponse>, Status> {
        stats::container_stats(self, request).await
    }

    async fn list_container_stats(
        &self,
        request: Request<ListContainerStatsRequest>,
    ) -> Result<Response<ListContainerStatsResponse>, Status> {
        stats::list_container_stats(self, request).await
    }

    async fn stream_container_stats(
        &self,
        request: Request<StreamContainerStatsRequest>,
    ) -> Result<Response<Self::StreamContainerStatsStream>, Status> {
        let filter = request.into_inner().filter;
        let list =
            stats::list_container_stats(self, Request::new(ListContainerStatsRequest { filter }));
        let items = list.await?.into_inner().stats;
        Ok(Response::new(batches(&items, |container_stats| {
            StreamContainerStatsResponse { container_stats }
        })))
    }

    async fn pod_sandbox_stats(
        &self,
        request: Request<PodSandboxStatsRequest>,
    ) -> Result<Response<PodSandboxStatsResponse>, Status> {
        stats::pod_sandbox_stats(self, request).await
    }

    async fn list_pod_sandbox_stats(
        &self,
        request: Request<ListPodSandboxStatsRequest>,
    ) -> Result<Response<ListPodSandboxStatsResponse>, Status> {
        stats::list_pod_sandbox_stats(self, request).await
    }

    async fn stream_pod_sandbox_stats(
        &self,
        request: Request<StreamPodSandboxStatsRequest>,
    ) -> Result<Response<Self::StreamPodSandboxStatsStream>, Status> {
        let filter = request.into_inner().filter;
        let list = stats::list_pod_sandbox_stats(
            self,
            Request::new(ListPodSandboxStatsRequest { filter }),
        );
        let items = list.await?.into_inner().stats;
        Ok(Response::new(batches(&items, |pod_sandbox_stats| {
            StreamPodSandboxStatsResponse { pod_sandbox_stats }
        })))
    }

    async fn update_runtime_config(
        &self,
        request: Request<UpdateRuntimeConfigRequest>,
    ) -> Result<Response<UpdateRuntimeConfigResponse>, Status> {
        config::update_runtime_config(self, request).await
    }

    async fn status(
        &self,
        request: Request<StatusRequest>,
    ) -> Result<Response<StatusResponse>, Status> {
        status::status(self, request).await
    }

    async fn checkpoint_container(
        &self,
        _: Request<CheckpointContainerRequest>,
    ) -> Result<Response<CheckpointContainerResponse>, Status> {
        Err(no_checkpoint())
    }

    async fn get_container_events(
        &self,
        request: Request<GetEventsRequest>,
    ) -> Result<Response<Self::GetContainerEventsStream>, Status> {
        events::get_container_events(self, request).await
    }

    async fn list_metric_descriptors(
        &self,
        request: Request<ListMetricDescriptorsRequest>,
    ) -> Result<Response<ListMetricDescriptorsResponse>, Status> {
        metrics::list_metric_descriptors(request).await
    }

    async fn list_pod_sandbox_metrics(
        &self,
        request: Request<ListPodSandboxMetricsRequest>,
    ) -> Result<Response<ListPodSandboxMetricsResponse>, Status> {
        metrics::list_pod_sandbox_metrics(self, request).await
    }

    async fn stream_pod_sandbox_metrics(
        &self,
        _: Request<StreamPodSandboxMetricsRequest>,
    ) -> Result<Response<Self::StreamPodSandboxMetricsStream>, Status> {
        let list =
            metrics::list_pod_sandbox_metrics(self, Request::new(ListPodSandboxMetricsRequest {}));
        let items = list.await?.into_inner().pod_metrics;
        Ok(Response::new(batches(&items, |pod_sandbox_metrics| {
            StreamPodSandboxMetricsResponse {
                pod_sandbox_metrics,
            }
        })))
    }

    async fn runtime_config(
        &self,
        request: Request<RuntimeConfigRequest>,
    ) -> Result<Response<RuntimeConfigResponse>, Status> {
        config::runtime_config(self, request).await
    }

    async fn update_pod_sandbox_resources(
        &self,
        request: Request<UpdatePodSandboxResourcesRequest>,
    ) -> Result<Response<UpdatePodSandboxResourcesResponse>, Status> {
        pods::update_pod_sandbox_resources(self, request).await
    }
}
