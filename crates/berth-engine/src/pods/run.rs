//! RunPodSandbox: record, namespace, then CNI ADD while pause starts (berthd runs the runtime
//! itself: pause has no shim; in a pod's own user namespace, pause first: it makes the
//! namespace), /etc files, ready. A failure at any step undoes all of them and leaves no record.

use std::path::{Path, PathBuf};

use berth_store::metadata::PodRecord;

use super::sandbox_spec::{check_cgroup_parent, sandbox_spec};
use super::stop::Undo;
use super::{network, PodError, PodEventKind, PodPhase, PodSpec, PodState};
use crate::containers::{hosts_file, io_err, resolv_conf, runtime};
use crate::{Engine, Error, Result};

/// In pause's bundle directory: the pid the runtime writes, and the runtime's stderr, which
/// pause inherits.
const PAUSE_PID_FILE: &str = "pause.pid";
const PAUSE_STDERR_FILE: &str = "pause.stderr";
/// The nice value pause's runtime (and pause) runs at. RunPodSandbox waits for both the CNI
/// ADD and pause's start, which run side by side; the ADD (three plugin processes one after
/// the other) is the longer, so pause's start yields the CPU to it: 28.8 vs 30.6 ms for a pod's
/// start on 2 CPUs (docs/performance.md). Pause only sleeps once started.
const PAUSE_NICE: i32 = 10;
/// A copy of the pause binary being written beside `rootfs/`, before its rename into it.
const PAUSE_TEMP_PREFIX: &str = "pause-";

impl Engine {
    /// Makes a ready sandbox for `spec` and returns its id. The CRI identity (name,
    /// namespace, uid, attempt) names one sandbox while it exists (`AlreadyExists`).
    pub async fn run_pod(&self, spec: PodSpec) -> Result<String> {
        self.to_completion(|engine| async move { engine.run_pod_now(spec).await })
            .await
    }

    async fn run_pod_now(&self, mut spec: PodSpec) -> Result<String> {
        check_cgroup_parent(&spec.cgroup_parent)?;
        // Kubernetes' rule too: a user namespace of the pod's own cannot own, nor map ids
        // for, what the host's namespaces hold.
        if spec.namespaces.user.is_some() {
            let ns = &spec.namespaces;
            for (host, which) in [
                (ns.host_network, "network"),
                (ns.host_ipc, "IPC"),
                (ns.pid == super::PidMode::Node, "PID"),
            ] {
                if host {
                    return Err(PodError::UserNamespaceHostNamespace(which).into());
                }
            }
        }
        // containerd's rule: no hostname asked is the node's, in the pod's UTS namespace,
        // /etc/hostname and its containers' HOSTNAME alike.
        if spec.hostname.is_empty() {
            spec.hostname = nix::unistd::gethostname()
                .map(|h| h.to_string_lossy().into_owned())
                .unwrap_or_default();
        }
        let pause = self.config().pause.clone().ok_or(PodError::NoPause)?;
        let id = crate::random_hex(32);
        let op = self.inner.pods.op(&id);
        let _op = op.lock().await;
        let t0 = std::time::Instant::now();
        let mut state = PodState::default();
        if !spec.namespaces.host_network {
            let dir = self.config().pods.cni_conf_dir.clone();
            let list = tokio::task::spawn_blocking(move || crate::pod_network::first_network(&dir))
                .await
                .map_err(Error::from_join)?
                .map_err(PodError::NetworkNotReady)?;
            state.network = Some(list);
            state.netns = Some(self.pod_run_dir(&id).join("netns"));
        }
        let record = PodRecord {
            id: id.clone(),
            name: spec.name.clone(),
            namespace: spec.namespace.clone(),
            uid: spec.uid.clone(),
            attempt: spec.attempt,
            config: serde_json::to_string(&spec).map_err(Error::Json)?,
            state: serde_json::to_string(&state).map_err(Error::Json)?,
            created: chrono::Utc::now(),
        };
        self.with_store(move |store| Ok(store.metadata.create_pod(&record)?))
            .await?;
        let recorded = t0.elapsed();
        if let Err(e) = self.make_pod(&id, &spec, pause, &mut state).await {
            self.discard_pod(&id, &state).await;
            return Err(e);
        }
        tracing::debug!(
            pod = %id,
            record_us = recorded.as_micros() as u64,
            make_us = (t0.elapsed() - recorded).as_micros() as u64,
            "sandbox ready"
        );
        self.watch_pause(id.clone(), state.pid, state.pid_start);
        self.publish_pod_event(&id, PodEventKind::Created);
        self.publish_pod_event(&id, PodEventKind::Started);
        Ok(id)
    }

    /// Everything after the record, each step recording what it made in `state`.
    async fn make_pod(
        &self,
        id: &str,
        spec: &PodSpec,
        pause: PathBuf,
        state: &mut PodState,
    ) -> Result<()> {
        let rootfs = self.pause_rootfs();
        let dirs = [self.pod_dir(id), self.pod_run_dir(id)];
        let netns = state.netns.clone();
        let pod = id.to_string();
        // A namespace made here would belong to the host's user namespace: in a pod of its own,
        // pause makes it, and it is pinned once pause exists.
        let own_user = spec.namespaces.user.is_some();
        let made_here = netns.clone().filter(|_| !own_user);
        let t0 = std::time::Instant::now();
        // Only what the plugins need comes first; the rest of pause's setup overlaps them.
        tokio::task::spawn_blocking(move || -> Result<()> {
            for dir in &dirs {
                std::fs::create_dir_all(dir).map_err(io_err("create", dir))?;
            }
            if let Some(path) = &made_here {
                berth_sys::netns::create_pinned(path).map_err(|source| PodError::Netns {
                    pod,
                    path: path.clone(),
                    source,
                })?;
            }
            Ok(())
        })
        .await
        .map_err(Error::from_join)??;
        if own_user {
            // Pause makes the namespace: it runs before the network can be attached.
            self.start_pause(id, spec, state, (&pause, &rootfs), false)
                .await?;
            let (pod, pid) = (id.to_string(), state.pid);
            if let Some(path) = state.netns.clone() {
                tokio::task::spawn_blocking(move || {
                    berth_sys::netns::pin_process(pid, &path).map_err(|source| PodError::Netns {
                        pod,
                        path,
                        source,
                    })
                })
                .await
                .map_err(Error::from_join)??;
            }
            self.attach_pod_network(id, spec, state).await?;
            runtime::run(self.runtime().start(id)).await?;
        } else {
            // The namespace is pinned already: the plugins and pause's start (each ~10 ms of
            // separate processes) overlap. Each records what it made, so a failure of either
            // undoes both.
            let mut paused = state.clone();
            let prepared = t0.elapsed();
            let ((attached, t_net), (started, t_pause)) = tokio::join!(
                timed(t0, self.attach_pod_network(id, spec, state)),
                timed(
                    t0,
                    self.start_pause(id, spec, &mut paused, (&pause, &rootfs), true)
                )
            );
            tracing::debug!(
                pod = id,
                prepare_us = prepared.as_micros() as u64,
                network_us = (t_net - prepared).as_micros() as u64,
                pause_us = (t_pause - prepared).as_micros() as u64,
                "sandbox started"
            );
            (state.pid, state.pid_start) = (paused.pid, paused.pid_start);
            attached.and(started)?;
        }
        // /etc/hosts names the pod's addresses, which only now exist.
        let (engine, pod, spec2, state2) =
            (self.clone(), id.to_string(), spec.clone(), state.clone());
        tokio::task::spawn_blocking(move || engine.write_pod_files(&pod, &spec2, &state2))
            .await
            .map_err(Error::from_join)??;
        state.phase = PodPhase::Ready;
        self.save_pod_state(id, state).await
    }

    /// The pause binary `(pause, rootfs)` in place, the pod's /dev/shm, pause's bundle, and
    /// `runtime create`, or `run` if `start`, run by berthd itself: pause has no output and
    /// no exit status anyone reads, so it needs no shim (one process less per pod); berthd
    /// watches it through a pidfd. Its pid and start time go into `state`.
    async fn start_pause(
        &self,
        id: &str,
        spec: &PodSpec,
        state: &mut PodState,
        (pause, rootfs): (&Path, &Path),
        start: bool,
    ) -> Result<()> {
        // Once per daemon, one RunPodSandbox at a time.
        let (pause, root) = (pause.to_path_buf(), rootfs.to_path_buf());
        self.inner
            .pods
            .pause_installed
            .get_or_try_init(|| async move {
                tokio::task::spawn_blocking(move || install_pause(&pause, &root))
                    .await
                    .map_err(Error::from_join)?
            })
            .await?;
        let engine = self.clone();
        let (pod, spec2, state2) = (id.to_string(), spec.clone(), state.clone());
        let root = rootfs.to_path_buf();
        let shm = (!spec.namespaces.host_ipc).then(|| self.pod_shm(id));
        let stderr = tokio::task::spawn_blocking(move || {
            if let Some(shm) = &shm {
                mount_shm(shm)?;
            }
            engine.prepare_sandbox(&pod, &spec2, &state2, &root)
        })
        .await
        .map_err(Error::from_join)??;
        let bundle = self.pod_run_dir(id);
        let pid_file = bundle.join(PAUSE_PID_FILE);
        let args = berth_runtime_client::CreateArgs {
            id,
            bundle: &bundle,
            pid_file: &pid_file,
            console_socket: None,
        };
        let cmd = if start {
            self.runtime().run_detached(&args)
        } else {
            self.runtime().create(&args)
        };
        let stderr_path = bundle.join(PAUSE_STDERR_FILE);
        runtime::run_leaving_container(cmd, stderr, &stderr_path, PAUSE_NICE).await?;
        let text = tokio::fs::read_to_string(&pid_file)
            .await
            .map_err(io_err("read", &pid_file))?;
        state.pid = text.trim().parse().map_err(|_| PodError::PausePid {
            pod: id.to_string(),
            text: text.clone(),
        })?;
        // Read at once: pause only exits when killed, and one gone already leaves the start
        // time 0, which no process has, so its watcher finds the pod not ready.
        state.pid_start = berth_sys::process::stat(state.pid).map_or(0, |s| s.start_time);
        Ok(())
    }

    /// CNI ADD on the pod's pinned namespace (none with the host's network).
    async fn attach_pod_network(
        &self,
        id: &str,
        spec: &PodSpec,
        state: &mut PodState,
    ) -> Result<()> {
        if let (Some(list), Some(netns)) = (state.network.clone(), state.netns.clone()) {
            let rt = network::runtime_conf(id, spec, &netns, &self.pod_cidrs());
            let cni = self.pod_cni();
            state.ips = tokio::task::spawn_blocking(move || network::attach(&cni, &list, &rt))
                .await
                .map_err(Error::from_join)??;
        }
        Ok(())
    }

    /// Pause's bundle, and the file its runtime's (then its own) stderr goes to.
    fn prepare_sandbox(
        &self,
        id: &str,
        spec: &PodSpec,
        state: &PodState,
        rootfs: &Path,
    ) -> Result<std::fs::File> {
        let cid = berth_types::ContainerId::new(id).map_err(|_| Error::InvalidName(id.into()))?;
        let netns = state
            .netns
            .as_deref()
            .filter(|_| spec.namespaces.user.is_none());
        let oci = sandbox_spec(&cid, spec, rootfs, netns)?;
        let bundle = self.pod_run_dir(id);
        let config = bundle.join("config.json");
        let json = serde_json::to_vec(&oci).map_err(Error::Json)?;
        std::fs::write(&config, json).map_err(io_err("write", &config))?;
        let stderr = bundle.join(PAUSE_STDERR_FILE);
        std::fs::File::create(&stderr).map_err(io_err("create", &stderr))
    }

    /// The hostname, hosts and resolv.conf files the pod's containers bind.
    fn write_pod_files(&self, id: &str, spec: &PodSpec, state: &PodState) -> Result<()> {
        let dir = self.pod_dir(id);
        let write = |name: &str, text: String| -> Result<()> {
            let p = dir.join(name);
            std::fs::write(&p, text).map_err(io_err("write", &p))
        };
        let host_file = |path: &str| std::fs::read_to_string(path).unwrap_or_default();
        if spec.namespaces.host_network {
            let hostname = nix::unistd::gethostname()
                .map(|h| h.to_string_lossy().into_owned())
                .unwrap_or_default();
            write("hostname", format!("{hostname}\n"))?;
            write("hosts", host_file("/etc/hosts"))?;
        } else {
            write("hostname", format!("{}\n", spec.hostname))?;
            write("hosts", hosts_file(&spec.hostname, &[], &[], &state.ips))?;
        }
        // containerd's rule: the pod's DNS config when the kubelet gives one, else the host's.
        write(
            "resolv.conf",
            match &spec.dns {
                Some(d) => resolv_conf(&[], &d.servers, &d.searches, &d.options),
                None => host_file("/etc/resolv.conf"),
            },
        )
    }

    /// Undoes a pod that never became ready: its resources, files and record. When a
    /// resource cannot be released, the record stays, not ready, naming what is left: the
    /// kubelet's garbage collection removes such sandboxes (RemovePodSandbox tries again).
    pub(super) async fn discard_pod(&self, id: &str, state: &PodState) {
        if let Err(e) = self.release_pod(id, state, Undo::All).await {
            tracing::warn!(pod = id, error = %e, "undo a sandbox that did not start; it stays, not ready, for RemovePodSandbox");
            let left = PodState {
                phase: PodPhase::NotReady,
                ..state.clone()
            };
            if let Err(e) = self.save_pod_state(id, &left).await {
                tracing::warn!(pod = id, error = %e, "record a sandbox that did not start");
            }
            return;
        }
        self.remove_pod_files(id).await;
        let pod = id.to_string();
        if let Err(e) = self
            .with_store(move |store| Ok(store.metadata.delete_pod(&pod)?))
            .await
        {
            tracing::warn!(pod = id, error = %e, "remove the record of a sandbox that did not start");
        }
        self.inner.pods.forget(id);
    }
}

/// `f`'s output and when, since `t0`, it was ready.
async fn timed<T>(
    t0: std::time::Instant,
    f: impl std::future::Future<Output = T>,
) -> (T, std::time::Duration) {
    let out = f.await;
    (out, t0.elapsed())
}

/// The pod's /dev/shm, which its containers share with its IPC namespace (containerd's
/// sandbox shm, same size as Docker's default).
fn mount_shm(path: &Path) -> Result<()> {
    use nix::mount::MsFlags;
    std::fs::create_dir_all(path).map_err(io_err("create", path))?;
    let data = format!("mode=1777,size={}", crate::spec::DEFAULT_SHM_SIZE);
    nix::mount::mount(
        Some("shm"),
        path,
        Some("tmpfs"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
        Some(data.as_str()),
    )
    .map_err(|e| io_err("mount tmpfs at", path)(e.into()))
}

/// Makes the mount points and puts the pause binary at `<rootfs>/pause` unless the same bytes
/// are there: written beside and renamed, so running sandboxes keep the file they started with.
/// Copies a crash left half-written beside it go first (installs never run concurrently).
pub(super) fn install_pause(pause: &Path, rootfs: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let want = std::fs::read(pause).map_err(io_err("read", pause))?;
    // The default mounts' points: the root is read-only once the runtime has set it up.
    for dir in ["proc", "dev", "sys"] {
        let dir = rootfs.join(dir);
        std::fs::create_dir_all(&dir).map_err(io_err("create", &dir))?;
    }
    let target = rootfs.join("pause");
    if std::fs::read(&target).is_ok_and(|have| have == want) {
        return Ok(());
    }
    let parent = rootfs.parent().unwrap_or(rootfs);
    for entry in std::fs::read_dir(parent)
        .map_err(io_err("read", parent))?
        .flatten()
    {
        if entry
            .file_name()
            .to_string_lossy()
            .starts_with(PAUSE_TEMP_PREFIX)
        {
            let _ = std::fs::remove_file(entry.path());
        }
    }
    let tmp = parent.join(format!("{PAUSE_TEMP_PREFIX}{}", crate::random_hex(8)));
    std::fs::write(&tmp, &want).map_err(io_err("write", &tmp))?;
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o755))
        .map_err(io_err("chmod", &tmp))?;
    std::fs::rename(&tmp, &target).map_err(io_err("rename", &target))
}
