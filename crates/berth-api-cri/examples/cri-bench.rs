//! The client of `scripts/bench-cri.sh`: times a one-container pod's CRI lifecycle against any
//! CRI endpoint (Berth, containerd), over one HTTP/2 connection as the kubelet keeps one.
//!
//!   cri-bench --endpoint unix:///run/x.sock --image IMG --dir DIR [--host-network] MODE
//!
//! MODE:
//!   sequential N     one untimed lifecycle (pulls the sandbox image where the runtime does),
//!                    then N lifecycles one after the other
//!   concurrent P R   R rounds of P lifecycles at once; each round's wall time
//!   up N             N pods, each with `sleep` running, left running
//!   down             stops and removes every pod this tool made (label berth-bench=1)
//!
//! A lifecycle is what the kubelet calls for a pod that runs and is deleted: RunPodSandbox,
//! CreateContainer, StartContainer, StopContainer (timeout 0), RemoveContainer,
//! StopPodSandbox, RemovePodSandbox. Pods get the cgroup parent `/berth-bench/pod<uid>` (as the
//! kubelet's `/kubepods/.../pod<uid>`) and log directory `DIR/<uid>`. `--host-network` runs
//! them in the host's network namespace: no CNI plugin runs, what is left is the runtime's own.
//!
//! Output: one JSON object on stdout, raw samples in milliseconds, the statistics are the
//! script's: `{"ops": [names], "samples": [[ms per op] per lifecycle], "walls": [ms per round]}`.

use std::collections::HashMap;
use std::future::Future;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use berth_api_cri::proto::image_service_client::ImageServiceClient;
use berth_api_cri::proto::runtime_service_client::RuntimeServiceClient;
use berth_api_cri::proto::*;
use tonic::transport::Channel;

const OPS: [&str; 7] = [
    "RunPodSandbox",
    "CreateContainer",
    "StartContainer",
    "StopContainer",
    "RemoveContainer",
    "StopPodSandbox",
    "RemovePodSandbox",
];
const LABEL: &str = "berth-bench";

type Error = Box<dyn std::error::Error + Send + Sync>;

struct Bench {
    runtime: RuntimeServiceClient<Channel>,
    image: String,
    dir: PathBuf,
    /// The pods' and containers' namespaces; `None`: the runtime's defaults (a pod network).
    namespaces: Option<NamespaceOption>,
    next: AtomicUsize,
}

impl Bench {
    /// A new pod's config; its log directory is made now, as the kubelet makes it.
    fn pod_config(&self) -> Result<PodSandboxConfig, Error> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let uid = format!("{}-{n}", std::process::id());
        let log_directory = self.dir.join(&uid);
        std::fs::create_dir_all(&log_directory)
            .map_err(|e| format!("{}: {e}", log_directory.display()))?;
        Ok(PodSandboxConfig {
            metadata: Some(PodSandboxMetadata {
                name: format!("bench-{uid}"),
                uid: uid.clone(),
                namespace: "berth-bench".into(),
                attempt: 0,
            }),
            // A host-network pod has the host's UTS namespace, and name (the kubelet's too).
            hostname: match self.namespaces {
                None => format!("bench-{n}"),
                Some(_) => String::new(),
            },
            log_directory: log_directory.display().to_string(),
            labels: HashMap::from([(LABEL.to_string(), "1".to_string())]),
            linux: Some(LinuxPodSandboxConfig {
                cgroup_parent: format!("/berth-bench/pod{uid}"),
                security_context: Some(LinuxSandboxSecurityContext {
                    namespace_options: self.namespaces.clone(),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        })
    }

    /// Runs a pod with one `sleep` container; returns the pod id and the container id, and
    /// pushes how long each of the three calls took.
    async fn up(&self, times: &mut Vec<f64>) -> Result<(String, String), Error> {
        let mut rt = self.runtime.clone();
        let config = self.pod_config()?;
        let pod = timed(
            times,
            rt.run_pod_sandbox(RunPodSandboxRequest {
                config: Some(config.clone()),
                runtime_handler: String::new(),
            }),
        )
        .await?
        .pod_sandbox_id;
        let container = ContainerConfig {
            metadata: Some(ContainerMetadata {
                name: "sleep".into(),
                attempt: 0,
            }),
            image: Some(ImageSpec {
                image: self.image.clone(),
                ..Default::default()
            }),
            command: vec!["sleep".into(), "3600".into()],
            log_path: "sleep.log".into(),
            linux: Some(LinuxContainerConfig {
                security_context: Some(LinuxContainerSecurityContext {
                    namespace_options: self.namespaces.clone(),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        };
        let ctr = timed(
            times,
            rt.create_container(CreateContainerRequest {
                pod_sandbox_id: pod.clone(),
                config: Some(container),
                sandbox_config: Some(config),
            }),
        )
        .await?
        .container_id;
        let start = StartContainerRequest {
            container_id: ctr.clone(),
        };
        timed(times, rt.start_container(start)).await?;
        Ok((pod, ctr))
    }

    /// Stops and removes the container, then the pod; pushes how long each call took.
    async fn down(&self, pod: String, ctr: String, times: &mut Vec<f64>) -> Result<(), Error> {
        let mut rt = self.runtime.clone();
        let stop = StopContainerRequest {
            container_id: ctr.clone(),
            timeout: 0,
        };
        timed(times, rt.stop_container(stop)).await?;
        let remove = RemoveContainerRequest { container_id: ctr };
        timed(times, rt.remove_container(remove)).await?;
        let stop = StopPodSandboxRequest {
            pod_sandbox_id: pod.clone(),
        };
        timed(times, rt.stop_pod_sandbox(stop)).await?;
        let remove = RemovePodSandboxRequest {
            pod_sandbox_id: pod,
        };
        timed(times, rt.remove_pod_sandbox(remove)).await?;
        Ok(())
    }

    /// One lifecycle: the duration of each of [`OPS`].
    async fn lifecycle(&self) -> Result<Vec<f64>, Error> {
        let mut times = Vec::with_capacity(OPS.len());
        let (pod, ctr) = self.up(&mut times).await?;
        self.down(pod, ctr, &mut times).await?;
        Ok(times)
    }

    async fn remove_all(&self) -> Result<(), Error> {
        let mut rt = self.runtime.clone();
        let pods = rt
            .list_pod_sandbox(ListPodSandboxRequest {
                filter: Some(PodSandboxFilter {
                    label_selector: HashMap::from([(LABEL.to_string(), "1".to_string())]),
                    ..Default::default()
                }),
            })
            .await?
            .into_inner()
            .items;
        for pod in pods {
            rt.stop_pod_sandbox(StopPodSandboxRequest {
                pod_sandbox_id: pod.id.clone(),
            })
            .await?;
            rt.remove_pod_sandbox(RemovePodSandboxRequest {
                pod_sandbox_id: pod.id,
            })
            .await?;
        }
        Ok(())
    }
}

/// Awaits one call, pushing how long it took (ms).
async fn timed<T>(
    times: &mut Vec<f64>,
    call: impl Future<Output = Result<tonic::Response<T>, tonic::Status>>,
) -> Result<T, Error> {
    let t = Instant::now();
    let response = call.await?;
    times.push(ms(t));
    Ok(response.into_inner())
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}

fn number(args: &mut impl Iterator<Item = String>, what: &str) -> Result<usize, Error> {
    let s = args.next().ok_or(format!("{what}: a number is missing"))?;
    Ok(s.parse().map_err(|e| format!("{what} {s}: {e}"))?)
}

async fn run() -> Result<(), Error> {
    let mut args = std::env::args().skip(1);
    let (mut endpoint, mut image, mut dir, mut namespaces) = (None, None, None, None);
    let mode = loop {
        match args.next().as_deref() {
            Some("--host-network") => {
                namespaces = Some(NamespaceOption {
                    network: NamespaceMode::Node.into(),
                    pid: NamespaceMode::Container.into(),
                    ipc: NamespaceMode::Pod.into(),
                    ..Default::default()
                })
            }
            Some("--endpoint") => endpoint = args.next(),
            Some("--image") => image = args.next(),
            Some("--dir") => dir = args.next().map(PathBuf::from),
            Some(mode) => break mode.to_string(),
            None => return Err("usage: cri-bench --endpoint E --image I --dir D MODE".into()),
        }
    };
    let endpoint = endpoint.ok_or("--endpoint is missing")?;
    let socket = endpoint
        .strip_prefix("unix://")
        .ok_or("--endpoint: only unix:// sockets")?;
    let channel = berth_api_cri::client::connect_unix(socket).await?;
    let bench = Bench {
        runtime: RuntimeServiceClient::new(channel.clone()),
        image: image.ok_or("--image is missing")?,
        dir: dir.ok_or("--dir is missing")?,
        namespaces,
        next: AtomicUsize::new(0),
    };
    // The image is pulled once, untimed (kubelet pulls before it creates).
    ImageServiceClient::new(channel)
        .pull_image(PullImageRequest {
            image: Some(ImageSpec {
                image: bench.image.clone(),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await?;
    let (mut samples, mut walls) = (Vec::new(), Vec::new());
    match mode.as_str() {
        "sequential" => {
            let n = number(&mut args, "sequential")?;
            bench.lifecycle().await?;
            for _ in 0..n {
                samples.push(bench.lifecycle().await?);
            }
        }
        "concurrent" => {
            let pods = number(&mut args, "concurrent")?;
            let rounds = number(&mut args, "rounds")?;
            for _ in 0..rounds {
                let t = Instant::now();
                let all = futures_util::future::join_all((0..pods).map(|_| bench.lifecycle()));
                for r in all.await {
                    samples.push(r?);
                }
                walls.push(ms(t));
            }
        }
        "up" => {
            let n = number(&mut args, "up")?;
            for _ in 0..n {
                bench.up(&mut Vec::new()).await?;
            }
        }
        "down" => bench.remove_all().await?,
        other => return Err(format!("unknown mode {other}").into()),
    }
    println!(
        "{}",
        serde_json::json!({ "ops": OPS, "samples": samples, "walls": walls })
    );
    Ok(())
}

fn main() -> ExitCode {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cri-bench: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cri-bench: {e}");
            ExitCode::FAILURE
        }
    }
}
