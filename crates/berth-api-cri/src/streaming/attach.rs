//! Attach's backend: the streams of the container's own process (engine attach), resized as
//! the client's terminal is.

use berth_engine::containers::{AttachOptions, Status};
use berth_engine::Engine;
use berth_k8s_streaming::{CommandIo, Outcome, RemoteCommand};

pub(super) struct Attach {
    pub(super) engine: Engine,
    pub(super) container_id: String,
}

impl RemoteCommand for Attach {
    async fn run(self, io: CommandIo) -> Outcome {
        // Checked again: the engine's attach to a container that is not running waits for its
        // next start (Docker's `start -a`), which a CRI container may never have.
        match self.engine.pod_container(&self.container_id).await {
            Ok(c) if c.container.state.status == Status::Running => {}
            Ok(_) => {
                return Outcome::Failed(format!("container {} is not running", self.container_id))
            }
            Err(e) => return Outcome::Failed(e.to_string()),
        }
        let opts = AttachOptions {
            stdin: io.stdin.is_some(),
        };
        let attached = match self.engine.attach_container(&self.container_id, opts).await {
            Ok(pending) => pending.connect().await,
            Err(e) => Err(e),
        };
        let attached = match attached {
            Ok(attached) => attached,
            Err(e) => return Outcome::Failed(e.to_string()),
        };
        let (engine, id) = (&self.engine, self.container_id.as_str());
        super::exec::relay(attached, io, move |size| async move {
            if let Err(e) = engine.resize_container(id, size.height, size.width).await {
                tracing::debug!(container = id, "resize: {e}");
            }
        })
        .await;
        // The container's output ended (it exited, or its streams closed): the attach is
        // done, successfully, as containerd reports it; the exit is ContainerStatus's.
        Outcome::Exited(0)
    }
}
