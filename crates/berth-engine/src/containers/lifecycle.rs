//! Start, stop, kill, restart, pause, wait, and what happens when a container's process exits
//! (restart policies, `--rm`). Each container has a berth-shim that owns its process; berthd
//! watches the shim's control socket, whose EOF means "exited, exit file written". The same
//! watch is re-established after a daemon restart (live restore).

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::Duration;

use berth_shim::{Control, LogOptions, ShimCommand};
use tokio::process::Command;

use super::{Container, State, Status};
use crate::events::EventType;
use crate::spec::{self, LogConfig, SeccompHost, SpecContext};
use crate::{Engine, Error, Result};

/// Seconds `stop` waits for the stop signal to work before SIGKILL, as dockerd.
const DEFAULT_STOP_TIMEOUT: i64 = 10;
/// How long SIGKILL may take to be reaped before `stop` reports failure.
const KILL_GRACE: Duration = Duration::from_secs(30);

/// `docker wait --condition`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WaitCondition {
    #[default]
    NotRunning,
    NextExit,
    Removed,
}

fn io_err<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> Error + 'a {
    move |source| Error::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}

/// `/etc/resolv.conf` for a container: on a user network `first` alone (the network's DNS
/// server, which forwards to the `--dns` servers or the host's, as Docker's embedded
/// resolver); elsewhere `--dns` or the host's servers minus loopback ones that would point
/// into the container's own network namespace, Google's servers if none is left, as Docker.
fn resolv_conf(first: &[IpAddr], dns: &[String], search: &[String], options: &[String]) -> String {
    let host = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    let mut out = String::new();
    let mut servers: Vec<String> = dns.to_vec();
    if servers.is_empty() {
        servers = host
            .lines()
            .filter_map(|l| l.strip_prefix("nameserver"))
            .map(|s| s.trim().to_string())
            .filter(|s| !s.starts_with("127.") && s != "::1")
            .collect();
    }
    if servers.is_empty() && first.is_empty() {
        servers = vec!["8.8.8.8".into(), "8.8.4.4".into()];
    }
    let search_line = if search.is_empty() {
        host.lines()
            .find(|l| l.starts_with("search "))
            .map(str::to_string)
    } else {
        Some(format!("search {}", search.join(" ")))
    };
    if let Some(s) = search_line {
        out.push_str(&s);
        out.push('\n');
    }
    let servers: Vec<String> = if first.is_empty() {
        servers
    } else {
        first.iter().map(IpAddr::to_string).collect()
    };
    for s in servers {
        out.push_str(&format!("nameserver {s}\n"));
    }
    if !options.is_empty() {
        out.push_str(&format!("options {}\n", options.join(" ")));
    }
    out
}

/// `/etc/hosts`: localhost, `--add-host` entries, the targets of legacy links, and the
/// container's hostname on each of its addresses (127.0.1.1 without one, as with `--network
/// none`), in dockerd's order.
fn hosts_file(
    hostname: &str,
    extra: &[String],
    links: &[(IpAddr, String)],
    addrs: &[IpAddr],
) -> String {
    let mut s = String::from(
        "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n\
         fe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n",
    );
    for e in extra {
        // `host:ip` (and `host=ip` from newer clients); an IPv6 address has colons itself.
        if let Some((host, ip)) = e.split_once('=').or_else(|| e.split_once(':')) {
            s.push_str(&format!("{ip}\t{host}\n"));
        }
    }
    for (ip, names) in links {
        s.push_str(&format!("{ip}\t{names}\n"));
    }
    if addrs.is_empty() {
        s.push_str(&format!("127.0.1.1\t{hostname}\n"));
    }
    for a in addrs {
        s.push_str(&format!("{a}\t{hostname}\n"));
    }
    s
}

/// Log rotation from `--log-opt max-size=10m --log-opt max-file=3`; also checks a create
/// request's log config (with any path).
pub(super) fn log_options(lc: &LogConfig, path: PathBuf) -> Result<Option<LogOptions>> {
    match lc.driver.as_str() {
        "" | "json-file" | "local" => {}
        "none" => return Ok(None),
        other => return Err(Error::UnsupportedLogDriver(other.to_string())),
    }
    let max_size = match lc.config.get("max-size") {
        Some(v) => parse_size(v).ok_or_else(|| Error::BadLogOption(format!("max-size={v}")))?,
        None => 0,
    };
    let max_files = match lc.config.get("max-file") {
        Some(v) => v
            .parse()
            .map_err(|_| Error::BadLogOption(format!("max-file={v}")))?,
        None => 1,
    };
    Ok(Some(LogOptions {
        path,
        max_size,
        max_files,
    }))
}

/// `10m`, `1g`, `512k`, `100` (bytes).
fn parse_size(v: &str) -> Option<u64> {
    let v = v.trim().to_ascii_lowercase();
    let (num, mult) = match v.char_indices().find(|(_, c)| c.is_ascii_alphabetic()) {
        Some((i, _)) => {
            let mult = match &v[i..] {
                "b" => 1,
                "k" | "kb" => 1 << 10,
                "m" | "mb" => 1 << 20,
                "g" | "gb" => 1 << 30,
                _ => return None,
            };
            (&v[..i], mult)
        }
        None => (v.as_str(), 1),
    };
    num.parse::<u64>().ok().map(|n| n * mult)
}

impl Engine {
    /// Runs `<runtime> --root <runtime root> args...`; a failure carries the runtime's stderr.
    pub(crate) async fn runtime(&self, id: &str, args: &[&str]) -> Result<()> {
        let out = Command::new(&self.config().runtime)
            .arg("--root")
            .arg(self.runtime_root())
            .args(args)
            .output()
            .await
            .map_err(io_err("run", &self.config().runtime))?;
        if out.status.success() {
            return Ok(());
        }
        Err(Error::Runtime {
            id: id.to_string(),
            action: args.first().copied().unwrap_or_default().to_string(),
            message: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        })
    }

    /// The shim's sockets live here; short, because a unix socket path must fit in 108 bytes
    /// and the exec root may already be long (a prefix of 24 hex digits is unique enough).
    /// `runtime delete --force`, skipped when the runtime keeps no state for `id` (runc, crun
    /// and berth-runtime all keep `<root>/<id>`): the exit path already deleted it, and every
    /// runtime invocation spared is a process less on the `docker run --rm` path.
    pub(crate) async fn delete_runtime_state(&self, id: &str) {
        if self.runtime_root().join(id).exists() {
            let _ = self.runtime(id, &["delete", "--force", id]).await;
        }
    }

    pub(crate) fn shim_dir(&self, id: &str) -> PathBuf {
        self.config()
            .exec_root
            .join("s")
            .join(id.get(..24).unwrap_or(id))
    }

    /// `docker start`. Returns false when it was already running (the API's 304).
    pub async fn start_container(&self, name_or_id: &str) -> Result<bool> {
        let c = self.container(name_or_id).await?;
        let entry = self.inner.containers.entry(&c.id, &c.state);
        let _op = entry.op.lock().await;
        let c = self.container(&c.id).await?;
        if c.state.status.is_live() {
            return Ok(false);
        }
        if c.state.status == Status::Removing {
            return Err(Error::ContainerRemoving(c.id.clone()));
        }
        let mut state = c.state.clone();
        state.stopped_by_user = false;
        if let Err(e) = self.start_locked(&c, state).await {
            if c.config.options.host_config.auto_remove {
                // As dockerd: a `--rm` container that cannot start is removed, so the client's
                // wait for its removal ends.
                let engine = self.clone();
                let id = c.id.clone();
                tokio::spawn(async move {
                    let _ = engine.remove_container(&id, true, true).await;
                });
            }
            return Err(e);
        }
        Ok(true)
    }

    /// Mounts, writes the bundle, starts the shim and the process. Callers hold the op lock.
    async fn start_locked(&self, c: &Container, mut state: State) -> Result<()> {
        let t0 = std::time::Instant::now();
        let net = match self.setup_networking(c).await {
            Ok(n) => n,
            Err(e) => {
                self.cleanup_after_exit(&c.id).await;
                return Err(e);
            }
        };
        let t_net = t0.elapsed();
        let own_netns = net.netns.is_some();
        let engine = self.clone();
        let container = c.clone();
        let prepared = self
            .with_store(move |store| engine.prepare_bundle(store, &container, &net))
            .await;
        let shim_cmd = match prepared {
            Ok(v) => v,
            Err(e) => {
                self.cleanup_after_exit(&c.id).await;
                return Err(e);
            }
        };
        let t_prepared = t0.elapsed();
        let started = tokio::task::spawn_blocking(move || shim_cmd.spawn())
            .await
            .map_err(Error::from_join)?;
        let t_shim = t0.elapsed();
        let started = match started {
            Ok(s) => s,
            Err(e) => {
                self.cleanup_after_exit(&c.id).await;
                return Err(Error::Shim {
                    id: c.id.clone(),
                    source: e,
                });
            }
        };
        let mode = c.config.options.host_config.network_mode.as_str();
        if !own_netns && mode != "host" && !mode.starts_with("container:") {
            // Its own network namespace: loopback up, as Docker does even for `--network none`.
            let pid = started.pid;
            let up = tokio::task::spawn_blocking(move || berth_sys::netns::loopback_up(pid)).await;
            if let Ok(Err(e)) = up {
                tracing::warn!(container = %c.id, error = %e, "bring up loopback");
            }
        }
        self.connect_waiting_attachers(&c.id).await;
        let t_attached = t0.elapsed();
        if let Err(e) = self.runtime(&c.id, &["start", &c.id]).await {
            self.delete_runtime_state(&c.id).await;
            self.cleanup_after_exit(&c.id).await;
            return Err(e);
        }
        tracing::debug!(
            container = %c.id,
            network_us = t_net.as_micros() as u64,
            prepare_us = (t_prepared - t_net).as_micros() as u64,
            shim_us = (t_shim - t_prepared).as_micros() as u64,
            attach_us = (t_attached - t_shim).as_micros() as u64,
            runtime_start_us = (t0.elapsed() - t_attached).as_micros() as u64,
            "started"
        );
        state.status = Status::Running;
        state.pid = started.pid;
        state.shim_pid = started.shim_pid;
        state.exit_code = 0;
        state.oom_killed = false;
        state.error.clear();
        state.started_at = Some(chrono::Utc::now());
        // The health monitor starts this run from `starting`.
        state.health = None;
        // setup_networking recorded the endpoints in the stored state.
        let stored = self.container(&c.id).await?.state;
        state.networks = stored.networks;
        state.ports = stored.ports;
        self.save_state(&c.id, state).await?;
        self.events().publish(
            EventType::Container,
            "start",
            &c.id,
            self.container_event_attrs(c),
        );
        self.watch_exit(c.id.clone());
        self.start_health_monitor(c, true);
        Ok(())
    }

    /// Everything before the shim, on a blocking thread: rootfs mount, /etc files, the spec.
    fn prepare_bundle(
        &self,
        store: &berth_store::Store,
        c: &Container,
        net: &crate::networks::NetSetup,
    ) -> Result<ShimCommand> {
        let bundle = self.bundle_dir(&c.id);
        let rootfs = bundle.join("rootfs");
        std::fs::create_dir_all(&rootfs).map_err(io_err("create", &rootfs))?;
        let record = store.metadata.get_container(&c.id)?;
        if !is_mountpoint(&rootfs) {
            let mut mounts = store.snapshots.mounts(&record.snapshot_key)?;
            if c.config.options.host_config.auto_remove {
                // Its layer is deleted at exit, so nothing ever needs it on disk; unmounting a
                // non-volatile overlay syncs the whole host filesystem, on the `--rm` exit path.
                mounts
                    .iter_mut()
                    .for_each(berth_store::snapshot::Mount::set_volatile);
            }
            berth_store::snapshot::mount(&mounts, &rootfs)?;
        }
        let image = store.metadata.get_image(&c.image_id)?;
        let image_cfg = super::create::image_config(&image.config)?;
        let opts = &c.config.options;
        let h = &opts.host_config;
        let data = self.data_dir(&c.id);
        let write = |name: &str, text: String| -> Result<PathBuf> {
            let p = data.join(name);
            std::fs::write(&p, text).map_err(io_err("write", &p))?;
            Ok(p)
        };
        let hostname_path = write("hostname", format!("{}\n", c.config.hostname))?;
        let linked = crate::networks::linked(store, c)?;
        let hosts_path = write(
            "hosts",
            hosts_file(
                &c.config.hostname,
                &h.extra_hosts,
                &linked.hosts,
                &net.addrs,
            ),
        )?;
        let resolv_path = write(
            "resolv.conf",
            resolv_conf(&net.nameservers, &h.dns, &h.dns_search, &h.dns_options),
        )?;
        let merged = spec::merge(opts, &image_cfg)?;
        let user = spec::resolve_user(&merged.user, &h.group_add, &rootfs)?;
        let id =
            berth_types::ContainerId::new(&c.id).map_err(|_| Error::InvalidName(c.id.clone()))?;
        let mut ctx = SpecContext::new(id, rootfs.clone(), user);
        ctx.hosts_path = Some(hosts_path);
        ctx.resolv_conf_path = Some(resolv_path);
        ctx.hostname_path = Some(hostname_path);
        ctx.linked_env = linked.env;
        ctx.cgroup_v2 = crate::host::cgroup_v2(Path::new(crate::host::CGROUP_ROOT));
        ctx.seccomp_host = SeccompHost::native(crate::host::kernel_version());
        ctx.host_capabilities = crate::host::bounding_set();
        ctx.init_path = self.config().init.clone();
        ctx.host_hostname = nix::unistd::gethostname()
            .map(|h| h.to_string_lossy().into_owned())
            .unwrap_or_default();
        if let Some(other) = h.network_mode.strip_prefix("container:") {
            let peer = super::find(store, other)?;
            let peer_state: State = serde_json::from_str(&peer.state).map_err(Error::Json)?;
            if !peer_state.status.is_live() {
                return Err(Error::JoinNotRunning(other.to_string()));
            }
            ctx.join.net = Some(PathBuf::from(format!("/proc/{}/ns/net", peer_state.pid)));
        }
        if let Some(netns) = &net.netns {
            ctx.join.net = Some(netns.clone());
        }
        let effective = super::create::with_inherited(opts, &c.config.inherited_mounts);
        let mut built = spec::build_spec(&effective, &image_cfg, &ctx)?;
        ensure_bind_sources(&built.bind_sources)?;
        for req in std::mem::take(&mut built.volume_requests) {
            let point = c
                .config
                .mounts
                .iter()
                .find(|p| p.kind == "volume" && p.destination == req.destination)
                .ok_or_else(|| Error::VolumeNotRecorded {
                    container: c.id.clone(),
                    destination: req.destination.display().to_string(),
                })?;
            let source = self.attach_volume(store, &c.id, point, req.nocopy, &rootfs)?;
            built.mount_volume(&req, &source);
        }
        let config_path = bundle.join("config.json");
        let json = serde_json::to_vec_pretty(&built.spec).map_err(Error::Json)?;
        std::fs::write(&config_path, json).map_err(io_err("write", &config_path))?;
        let shim_dir = self.shim_dir(&c.id);
        // A previous run's sockets and exit file must not be mistaken for this one's.
        let _ = std::fs::remove_dir_all(&shim_dir);
        if let Some(parent) = shim_dir.parent() {
            std::fs::create_dir_all(parent).map_err(io_err("create", parent))?;
        }
        let mut cmd = ShimCommand::new(
            &self.config().shim,
            &c.id,
            &bundle,
            &shim_dir,
            &self.config().runtime,
        );
        cmd.runtime_root = Some(self.runtime_root());
        cmd.log = log_options(
            &c.config.options.host_config.log_config,
            self.log_path(&c.id),
        )?;
        cmd.terminal = opts.tty;
        cmd.stdin = opts.open_stdin;
        Ok(cmd)
    }

    /// Waits (on a blocking thread) for the shim's control socket to close, then records the exit.
    pub(crate) fn watch_exit(&self, id: String) {
        let engine = self.clone();
        tokio::spawn(async move {
            let dir = engine.shim_dir(&id);
            let dir2 = dir.clone();
            let _ = tokio::task::spawn_blocking(move || {
                Control::connect(&dir2).and_then(|mut ctl| ctl.wait_closed())
            })
            .await;
            let exit = tokio::task::spawn_blocking(move || berth_shim::read_exit(&dir))
                .await
                .ok()
                .and_then(|r| r.ok())
                .flatten();
            engine.handle_exit(&id, exit).await;
        });
    }

    /// The process is gone: record how, clean the runtime state and the mount, then apply the
    /// restart policy or `--rm`.
    async fn handle_exit(&self, id: &str, exit: Option<berth_shim::ExitRecord>) {
        let Ok(c) = self.container(id).await else {
            return;
        };
        // Independent (the runtime's state and cgroup; our rootfs mount): overlapped.
        tokio::join!(self.delete_runtime_state(id), self.cleanup_after_exit(id));
        // Its execs died with it; dockerd forgets them too.
        self.inner.containers.execs.forget_container(id);
        let mut state = c.state.clone();
        // cleanup_after_exit took the container off its networks.
        state.networks.clear();
        state.ports.clear();
        state.status = Status::Exited;
        state.exits += 1;
        state.pid = 0;
        state.shim_pid = 0;
        match &exit {
            Some(e) => {
                state.exit_code = e.code;
                state.oom_killed = e.oom_killed;
                state.finished_at = chrono::DateTime::parse_from_rfc3339(&e.finished_at)
                    .ok()
                    .map(|t| t.with_timezone(&chrono::Utc))
                    .or_else(|| Some(chrono::Utc::now()));
            }
            None => {
                // The shim died without writing the exit file (killed, or the host crashed).
                state.exit_code = 255;
                state.error = "container monitor exited without recording the exit status".into();
                state.finished_at = Some(chrono::Utc::now());
            }
        }
        let h = &c.config.options.host_config;
        let restarting = self
            .inner
            .containers
            .entry(id, &state)
            .restarting
            .load(Ordering::SeqCst);
        let auto_remove = h.auto_remove && !restarting;
        let restart = !auto_remove && self.should_restart(&c, &state);
        // Waiting out the back-off is dockerd's `restarting` state: a plain remove is refused.
        if restart {
            state.status = Status::Restarting;
        }
        if let Err(e) = self.save_state(id, state.clone()).await {
            tracing::error!(container = id, error = %e, "record exit");
        }
        let mut attrs = self.container_event_attrs(&c);
        attrs.insert("exitCode".into(), state.exit_code.to_string());
        if state.oom_killed {
            self.events().publish(
                EventType::Container,
                "oom",
                id,
                self.container_event_attrs(&c),
            );
        }
        self.events()
            .publish(EventType::Container, "die", id, attrs);
        if auto_remove {
            let engine = self.clone();
            let id = id.to_string();
            tokio::spawn(async move {
                if let Err(e) = engine.remove_container(&id, true, true).await {
                    tracing::warn!(container = %id, error = %e, "auto-remove");
                }
            });
            return;
        }
        if restart {
            self.schedule_restart(id.to_string(), state.restart_count);
        }
    }

    fn should_restart(&self, c: &Container, state: &State) -> bool {
        let policy = &c.config.options.host_config.restart_policy;
        if state.stopped_by_user {
            return false;
        }
        match policy.name.as_str() {
            "always" | "unless-stopped" => true,
            "on-failure" => {
                state.exit_code != 0
                    && (policy.maximum_retry_count <= 0
                        || i64::from(state.restart_count) < policy.maximum_retry_count)
            }
            _ => false,
        }
    }

    /// Restarts after Docker's back-off: 100 ms doubling per consecutive restart, at most 1 min.
    fn schedule_restart(&self, id: String, restarts: u32) {
        let engine = self.clone();
        let delay = Duration::from_millis(100u64.saturating_mul(1 << restarts.min(10)))
            .min(Duration::from_secs(60));
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            let Ok(c) = engine.container(&id).await else {
                return;
            };
            let entry = engine.inner.containers.entry(&c.id, &c.state);
            let _op = entry.op.lock().await;
            let Ok(c) = engine.container(&id).await else {
                return;
            };
            // A stop, kill or remove during the back-off cancelled the restart.
            if c.state.status != Status::Restarting || c.state.stopped_by_user {
                return;
            }
            let mut state = c.state.clone();
            state.restart_count += 1;
            engine.events().publish(
                EventType::Container,
                "restart",
                &id,
                engine.container_event_attrs(&c),
            );
            if let Err(e) = engine.start_locked(&c, state).await {
                tracing::warn!(container = %id, error = %e, "restart");
            }
        });
    }

    /// Takes the container off its networks, unmounts the rootfs and releases the volumes; the
    /// snapshot (the container's writable
    /// layer) stays.
    pub(crate) async fn cleanup_after_exit(&self, id: &str) {
        self.teardown_networking(id).await;
        let rootfs = self.bundle_dir(id).join("rootfs");
        let engine = self.clone();
        let id = id.to_string();
        let _ = self
            .with_store(move |store| {
                if is_mountpoint(&rootfs) {
                    let _ = berth_store::snapshot::unmount(&rootfs);
                }
                engine.release_volumes(store, &id);
                Ok(())
            })
            .await;
    }

    /// `docker stop`: the stop signal, then SIGKILL after `timeout` seconds (None: the
    /// container's StopTimeout, else 10). Returns false when it was not running (304).
    pub async fn stop_container(&self, name_or_id: &str, timeout: Option<i64>) -> Result<bool> {
        let c = self.container(name_or_id).await?;
        let entry = self.inner.containers.entry(&c.id, &c.state);
        let _op = entry.op.lock().await;
        let c = self.container(&c.id).await?;
        if c.state.status == Status::Restarting {
            self.cancel_restart(&c).await?;
            self.events().publish(
                EventType::Container,
                "stop",
                &c.id,
                self.container_event_attrs(&c),
            );
            return Ok(true);
        }
        if !c.state.status.is_live() {
            return Ok(false);
        }
        let mut state = c.state.clone();
        state.stopped_by_user = true;
        self.save_state(&c.id, state).await?;
        let signal = if c.config.options.stop_signal.is_empty() {
            let image_signal = self.image_stop_signal(&c).await;
            image_signal.unwrap_or_else(|| "SIGTERM".to_string())
        } else {
            c.config.options.stop_signal.clone()
        };
        let timeout = timeout
            .or(c.config.options.stop_timeout)
            .unwrap_or(DEFAULT_STOP_TIMEOUT);
        if c.state.status == Status::Paused {
            // A frozen process cannot handle its stop signal.
            let _ = self.runtime(&c.id, &["resume", &c.id]).await;
        }
        let _ = self.runtime(&c.id, &["kill", &c.id, &signal]).await;
        let mut rx = entry.state.subscribe();
        let exited = |s: &State| !s.status.is_live();
        let wait = Duration::from_secs(timeout.max(0) as u64);
        if timeout < 0
            || tokio::time::timeout(wait, rx.wait_for(exited))
                .await
                .is_err()
        {
            let _ = self.runtime(&c.id, &["kill", &c.id, "SIGKILL"]).await;
            tokio::time::timeout(KILL_GRACE, rx.wait_for(exited))
                .await
                .map_err(|_| Error::StopTimedOut(c.id.clone()))?
                .map_err(|_| Error::StopTimedOut(c.id.clone()))?;
        }
        self.events().publish(
            EventType::Container,
            "stop",
            &c.id,
            self.container_event_attrs(&c),
        );
        Ok(true)
    }

    async fn image_stop_signal(&self, c: &Container) -> Option<String> {
        let image = c.image_id.to_string();
        self.with_store(move |store| {
            let img = store.metadata.get_image(
                &image
                    .parse()
                    .map_err(|_| Error::NoSuchImage(image.clone()))?,
            )?;
            Ok(super::create::image_config(&img.config)?.stop_signal)
        })
        .await
        .ok()
        .filter(|s| !s.is_empty())
    }

    /// `docker kill -s SIGNAL`.
    /// SIGKILL returns once the container has exited (dockerd waits up to 10 s), so a remove
    /// right after it does not meet a running container.
    pub async fn kill_container(&self, name_or_id: &str, signal: Option<&str>) -> Result<()> {
        let c = self.container(name_or_id).await?;
        let entry = self.inner.containers.entry(&c.id, &c.state);
        if c.state.status == Status::Restarting {
            let _op = entry.op.lock().await;
            // dockerd: the kill only cancels the pending restart; no signal, no event.
            return self.cancel_restart(&self.container(&c.id).await?).await;
        }
        if !c.state.status.is_live() {
            return Err(Error::NotRunning(c.id.clone()));
        }
        let signal = signal.filter(|s| !s.is_empty()).unwrap_or("SIGKILL");
        let mut state = c.state.clone();
        state.stopped_by_user = true;
        self.save_state(&c.id, state).await?;
        let mut rx = entry.state.subscribe();
        self.runtime(&c.id, &["kill", &c.id, signal]).await?;
        if matches!(signal, "SIGKILL" | "KILL" | "9") {
            tokio::time::timeout(KILL_GRACE, rx.wait_for(|s| !s.status.is_live()))
                .await
                .map_err(|_| Error::StopTimedOut(c.id.clone()))?
                .map_err(|_| Error::StopTimedOut(c.id.clone()))?;
        }
        let mut attrs = self.container_event_attrs(&c);
        attrs.insert(
            "signal".into(),
            signal.trim_start_matches("SIG").to_string(),
        );
        self.events()
            .publish(EventType::Container, "kill", &c.id, attrs);
        Ok(())
    }

    /// Ends a restart back-off: the container stays exited (the caller holds its op lock).
    pub(super) async fn cancel_restart(&self, c: &Container) -> Result<()> {
        if c.state.status != Status::Restarting {
            return Ok(());
        }
        let mut state = c.state.clone();
        state.status = Status::Exited;
        state.stopped_by_user = true;
        self.save_state(&c.id, state).await
    }

    /// `docker restart`.
    pub async fn restart_container(&self, name_or_id: &str, timeout: Option<i64>) -> Result<()> {
        let c = self.container(name_or_id).await?;
        let entry = self.inner.containers.entry(&c.id, &c.state);
        entry.restarting.store(true, Ordering::SeqCst);
        let restarted = async {
            self.stop_container(&c.id, timeout).await?;
            self.start_container(&c.id).await
        }
        .await;
        entry.restarting.store(false, Ordering::SeqCst);
        restarted?;
        let c = self.container(&c.id).await?;
        self.events().publish(
            EventType::Container,
            "restart",
            &c.id,
            self.container_event_attrs(&c),
        );
        Ok(())
    }

    /// `docker pause` / `docker unpause`.
    pub async fn pause_container(&self, name_or_id: &str, pause: bool) -> Result<()> {
        let c = self.container(name_or_id).await?;
        let entry = self.inner.containers.entry(&c.id, &c.state);
        let _op = entry.op.lock().await;
        let c = self.container(&c.id).await?;
        let (from, to, verb, event) = if pause {
            (Status::Running, Status::Paused, "pause", "pause")
        } else {
            (Status::Paused, Status::Running, "resume", "unpause")
        };
        if c.state.status != from {
            return Err(if pause && c.state.status == Status::Paused {
                Error::AlreadyPaused(c.id.clone())
            } else if !pause {
                Error::NotPaused(c.id.clone())
            } else {
                Error::NotRunning(c.id.clone())
            });
        }
        self.runtime(&c.id, &[verb, &c.id]).await?;
        let mut state = c.state.clone();
        state.status = to;
        self.save_state(&c.id, state).await?;
        self.events().publish(
            EventType::Container,
            event,
            &c.id,
            self.container_event_attrs(&c),
        );
        Ok(())
    }

    /// `docker wait`: the exit code once `condition` holds.
    pub async fn wait_container(
        &self,
        name_or_id: &str,
        condition: WaitCondition,
    ) -> Result<State> {
        let c = self.container(name_or_id).await?;
        let entry = self.inner.containers.entry(&c.id, &c.state);
        let mut rx = entry.state.subscribe();
        drop(entry);
        let result = match condition {
            // An exit ends the wait even when a restart follows (dockerd's restarting state
            // counts as stopped for waiters).
            WaitCondition::NotRunning => rx
                .wait_for(|s| !s.status.is_live())
                .await
                .map(|s| s.clone()),
            WaitCondition::NextExit => {
                let exits = c.state.exits;
                rx.wait_for(|s| s.exits > exits || s.removed)
                    .await
                    .map(|s| s.clone())
            }
            WaitCondition::Removed => rx.wait_for(|s| s.removed).await.map(|s| s.clone()),
        };
        // A closed channel means the entry was dropped: the container is gone.
        Ok(result.unwrap_or_else(|_| rx.borrow().clone()))
    }

    /// Re-attaches to the shims of containers that were running when berthd last stopped; a
    /// shim that is gone means its container exited while we were away.
    pub(crate) async fn restore(&self) -> Result<()> {
        let containers = self
            .list_containers(super::ListOptions {
                all: true,
                ..Default::default()
            })
            .await?;
        for c in containers {
            let dir = self.shim_dir(&c.id);
            let shim_alive = tokio::task::spawn_blocking(move || Control::connect(&dir).is_ok())
                .await
                .unwrap_or(false);
            match c.state.status {
                status if status.is_live() && shim_alive => {
                    tracing::info!(container = %c.id, "re-attached to running container");
                    let engine = self.clone();
                    let id = c.id.clone();
                    self.with_store(move |store| engine.rehold_volumes(store, &id))
                        .await?;
                    self.watch_exit(c.id.clone());
                    self.start_health_monitor(&c, false);
                }
                status if status.is_live() => {
                    let dir = self.shim_dir(&c.id);
                    let exit = tokio::task::spawn_blocking(move || berth_shim::read_exit(&dir))
                        .await
                        .ok()
                        .and_then(|r| r.ok())
                        .flatten();
                    self.handle_exit(&c.id, exit).await;
                }
                Status::Restarting => {
                    // The crash cut the back-off short: clean up, then wait it out again.
                    self.delete_runtime_state(&c.id).await;
                    self.cleanup_after_exit(&c.id).await;
                    self.schedule_restart(c.id.clone(), c.state.restart_count);
                }
                Status::Removing => {
                    // A removal the crash interrupted: finish it.
                    if let Err(e) = self.remove_container(&c.id, true, false).await {
                        tracing::warn!(container = %c.id, error = %e, "finish interrupted removal");
                    }
                }
                _ => {
                    // Not running by our records: a start the crash interrupted may have left a
                    // created runtime container (with its shim and cgroup) and a mounted rootfs.
                    if shim_alive {
                        tracing::info!(container = %c.id, "discarding a start interrupted by a crash");
                    }
                    self.delete_runtime_state(&c.id).await;
                    self.cleanup_after_exit(&c.id).await;
                }
            }
        }
        let engine = self.clone();
        self.with_store(move |store| engine.unmount_idle_volumes(store))
            .await?;
        self.remove_fs_leftovers().await;
        // Nothing is in flight yet, so whatever no image or container references (partial
        // downloads, half-unpacked layers of an interrupted import) can go now.
        let report = self
            .with_store(|store| Ok(store.gc(std::time::SystemTime::now())?))
            .await?;
        if report.bytes_freed > 0 || !report.snapshots.is_empty() {
            tracing::info!(
                bytes = report.bytes_freed,
                snapshots = report.snapshots.len(),
                "removed leftovers of interrupted operations"
            );
        }
        Ok(())
    }
}

/// Host paths to bind: a missing one is created when it came from `-v` (as dockerd), refused
/// when it came from `--mount`.
fn ensure_bind_sources(sources: &[(PathBuf, bool)]) -> Result<()> {
    for (source, create) in sources {
        if source.exists() {
            continue;
        }
        if !create {
            return Err(Error::BindSourceMissing(source.clone()));
        }
        std::fs::create_dir_all(source).map_err(io_err("create bind source", source))?;
    }
    Ok(())
}

/// Whether `path` is the root of a mount (statx's STATX_ATTR_MOUNT_ROOT, Linux 5.8+), which
/// also catches bind mounts within one filesystem.
pub(crate) fn is_mountpoint(path: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let Ok(c_path) = std::ffi::CString::new(path.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: statx fills a plain struct for a NUL-terminated path.
    let mut stx: libc::statx = unsafe { std::mem::zeroed() };
    let rc = unsafe {
        libc::statx(
            libc::AT_FDCWD,
            c_path.as_ptr(),
            libc::AT_SYMLINK_NOFOLLOW,
            0,
            &mut stx,
        )
    };
    rc == 0
        && stx.stx_attributes_mask & libc::STATX_ATTR_MOUNT_ROOT as u64 != 0
        && stx.stx_attributes & libc::STATX_ATTR_MOUNT_ROOT as u64 != 0
}

#[cfg(test)]
mod tests;
