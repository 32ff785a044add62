//! `docker exec`: another process in a running container. Each exec gets its own berth-shim in
//! `--exec-process` mode, with a runtime-spec `process.json` derived from the container's own
//! process (env merged, user resolved in the rootfs, cwd, terminal, capabilities).
//!
//! Exec records live in memory only, like dockerd's: they are gone after a daemon restart and
//! are dropped when their container exits. An attached exec is started with `--wait-attach`,
//! and the engine connects to the shim's attach socket while the shim is still starting, so the
//! process runs only once its output has somewhere to go.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use berth_shim::{AttachMode, Control};
use oci_spec::runtime::{Capabilities, Process, Spec};
use tokio::net::UnixStream;
use tokio::sync::watch;

use super::{io_err, AttachStream, Status};
use crate::events::EventType;
use crate::{Engine, Error, Result};

mod output;
mod process;

pub use output::{OutputKind, OutputReader};
pub use process::{ExecHandle, ExecSyncExit, ExecSyncOutput};

/// Exit code dockerd records when the exec could not be started at all.
const EXEC_START_FAILED: i32 = 126;
/// How long an exec's exit is awaited after its output ended before inspect shows it running.
const EXIT_RECORD_WAIT: Duration = Duration::from_secs(5);

/// What `POST /containers/{id}/exec` asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExecConfig {
    pub cmd: Vec<String>,
    /// `KEY=value` entries that override the container's environment.
    pub env: Vec<String>,
    /// Empty: the container's user.
    pub user: String,
    /// Empty: the container's working directory.
    pub working_dir: String,
    pub tty: bool,
    pub attach_stdin: bool,
    pub attach_stdout: bool,
    pub attach_stderr: bool,
    pub privileged: bool,
    /// Docker's `DetachKeys` as the client sent it (empty: the default); the API layer
    /// validates and interprets it.
    pub detach_keys: String,
}

/// Where an exec is in its life.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExecState {
    pub started: bool,
    pub running: bool,
    pub pid: i32,
    /// Set once the process has exited (or could not start).
    pub exit_code: Option<i32>,
}

/// An exec as inspect reports it.
#[derive(Debug, Clone)]
pub struct Exec {
    pub id: String,
    pub container_id: String,
    pub config: ExecConfig,
    pub state: ExecState,
}

/// `POST /exec/{id}/start` options.
#[derive(Debug, Clone, Copy, Default)]
pub struct ExecStartOptions {
    /// Return at once; the output is discarded.
    pub detach: bool,
    /// Initial pty size (rows, cols), so a tty process never sees 0x0.
    pub console_size: Option<(u16, u16)>,
}

pub(crate) struct ExecEntry {
    id: String,
    container_id: String,
    config: ExecConfig,
    state: watch::Sender<ExecState>,
}

/// Every exec of every container, keyed by exec id.
#[derive(Default)]
pub(crate) struct Execs {
    map: Mutex<HashMap<String, Arc<ExecEntry>>>,
}

impl Execs {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<ExecEntry>>> {
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn get(&self, id: &str) -> Result<Arc<ExecEntry>> {
        self.lock()
            .get(id)
            .cloned()
            .ok_or_else(|| Error::NoSuchExec(id.to_string()))
    }

    /// Ids of a container's execs (inspect's `ExecIDs`).
    pub(crate) fn of_container(&self, container_id: &str) -> Vec<String> {
        let mut ids: Vec<String> = self
            .lock()
            .values()
            .filter(|e| e.container_id == container_id)
            .map(|e| e.id.clone())
            .collect();
        ids.sort();
        ids
    }

    /// Drops the records of a container's finished execs (its processes died with it).
    pub(crate) fn forget_container(&self, container_id: &str) {
        self.lock()
            .retain(|_, e| e.container_id != container_id || e.state.borrow().running);
    }

    fn forget(&self, id: &str) {
        self.lock().remove(id);
    }
}

fn env_key(entry: &str) -> &str {
    entry.split_once('=').map_or(entry, |(k, _)| k)
}

/// The exec's process: the container's process with the exec's args, env, user, cwd, terminal
/// and capabilities, as dockerd derives it.
fn exec_process(
    base: &Process,
    cfg: &ExecConfig,
    user: Option<crate::spec::ResolvedUser>,
    console_size: Option<(u16, u16)>,
) -> Process {
    let mut p = base.clone();
    p.set_args(Some(cfg.cmd.clone()));
    // The container's TERM comes from its own tty setting; the exec's tty decides here.
    let mut env: Vec<String> = base
        .env()
        .clone()
        .unwrap_or_default()
        .into_iter()
        .filter(|e| env_key(e) != "TERM")
        .collect();
    if cfg.tty {
        env.push("TERM=xterm".into());
    }
    for entry in &cfg.env {
        let key = env_key(entry);
        match env.iter().position(|e| env_key(e) == key) {
            Some(i) => env[i] = entry.clone(),
            None => env.push(entry.clone()),
        }
    }
    p.set_env(Some(env));
    p.set_terminal(Some(cfg.tty));
    p.set_console_size(None);
    if let (true, Some((rows, cols))) = (cfg.tty, console_size) {
        if rows > 0 && cols > 0 {
            let size = oci_spec::runtime::BoxBuilder::default()
                .height(u64::from(rows))
                .width(u64::from(cols))
                .build()
                .ok();
            p.set_console_size(size);
        }
    }
    if !cfg.working_dir.is_empty() {
        p.set_cwd(PathBuf::from(&cfg.working_dir));
    }
    if let Some(u) = user {
        let mut user = p.user().clone();
        user.set_uid(u.uid);
        user.set_gid(u.gid);
        user.set_additional_gids((!u.additional_gids.is_empty()).then_some(u.additional_gids));
        p.set_user(user);
    }
    if cfg.privileged {
        // Every capability the daemon itself may hand out: asking for one outside its bounding
        // set (a restricted host or a daemon in a container) makes the runtime's capset fail.
        let bounding = crate::host::bounding_set();
        let all: Capabilities = crate::spec::ALL_CAPABILITIES
            .iter()
            .enumerate()
            .filter(|(bit, _)| bounding.is_none_or(|b| b & (1u64 << bit) != 0))
            .map(|(_, (_, c))| *c)
            .collect();
        let mut caps = p.capabilities().clone().unwrap_or_default();
        caps.set_bounding(Some(all.clone()));
        caps.set_effective(Some(all.clone()));
        caps.set_permitted(Some(all.clone()));
        // Without ambient/inheritable, a non-root exec user loses them at execve, as in Docker.
        p.set_capabilities(Some(caps));
    }
    p
}

impl Engine {
    /// The exec's shim state directory: short, like the container's (108-byte socket paths).
    fn exec_dir(&self, exec_id: &str) -> PathBuf {
        self.config()
            .exec_root
            .join("x")
            .join(exec_id.get(..24).unwrap_or(exec_id))
    }

    /// `docker exec` step 1: records what to run. The container must be running.
    pub async fn create_exec(&self, name_or_id: &str, config: ExecConfig) -> Result<String> {
        if config.cmd.is_empty() {
            return Err(Error::ExecNoCommand);
        }
        let c = self.container(name_or_id).await?;
        match c.state.status {
            Status::Running => {}
            Status::Paused => return Err(Error::ExecPaused(c.id.clone())),
            _ => return Err(Error::NotRunning(c.id.clone())),
        }
        let id = crate::random_hex(32);
        let entry = Arc::new(ExecEntry {
            id: id.clone(),
            container_id: c.id.clone(),
            config,
            state: watch::Sender::new(ExecState::default()),
        });
        let action = format!("exec_create: {}", entry.config.cmd.join(" "));
        self.inner.containers.execs.lock().insert(id.clone(), entry);
        let mut attrs = self.container_event_attrs(&c);
        attrs.insert("execID".into(), id.clone());
        self.events()
            .publish(EventType::Container, &action, &c.id, attrs);
        Ok(id)
    }

    /// `GET /exec/{id}/json`.
    pub fn exec_inspect(&self, exec_id: &str) -> Result<Exec> {
        let e = self.inner.containers.execs.get(exec_id)?;
        let state = e.state.borrow().clone();
        Ok(Exec {
            id: e.id.clone(),
            container_id: e.container_id.clone(),
            config: e.config.clone(),
            state,
        })
    }

    /// Ids of the container's known execs.
    pub fn exec_ids(&self, container_id: &str) -> Vec<String> {
        self.inner.containers.execs.of_container(container_id)
    }

    /// `docker exec` step 2: starts the process. Attached (not `detach`), returns the stream;
    /// its output ends when the process has exited.
    pub async fn start_exec(
        &self,
        exec_id: &str,
        opts: ExecStartOptions,
    ) -> Result<Option<AttachStream>> {
        let e = self.inner.containers.execs.get(exec_id)?;
        let mut claimed = false;
        e.state.send_if_modified(|s| {
            claimed = !s.started;
            s.started = true;
            claimed
        });
        if !claimed {
            return Err(Error::ExecStarted(exec_id.to_string()));
        }
        match self.spawn_exec(&e, opts).await {
            Ok(stream) => Ok(stream),
            Err(err) => {
                e.state.send_modify(|s| {
                    s.running = false;
                    s.exit_code = Some(EXEC_START_FAILED);
                });
                Err(err)
            }
        }
    }

    async fn spawn_exec(
        &self,
        e: &Arc<ExecEntry>,
        opts: ExecStartOptions,
    ) -> Result<Option<AttachStream>> {
        let c = self.container(&e.container_id).await?;
        if c.state.status == Status::Paused {
            return Err(Error::ExecPaused(c.id.clone()));
        }
        if c.state.status != Status::Running {
            return Err(Error::NotRunning(c.id.clone()));
        }
        let bundle = self.bundle_dir(&c.id);
        let dir = self.exec_dir(&e.id);
        let cfg = e.config.clone();
        let group_add = c.config.spec.security.groups.clone();
        let group_policy = c.config.spec.security.group_policy;
        let dir2 = dir.clone();
        let bundle2 = bundle.clone();
        let process_file = tokio::task::spawn_blocking(move || -> Result<PathBuf> {
            let config_path = bundle2.join("config.json");
            let text = std::fs::read(&config_path).map_err(io_err("read", &config_path))?;
            let spec: Spec = serde_json::from_slice(&text).map_err(Error::Json)?;
            let base = spec.process().clone().unwrap_or_default();
            let user = if cfg.user.is_empty() {
                None
            } else {
                Some(crate::spec::resolve_user(
                    &cfg.user,
                    &group_add,
                    group_policy,
                    &bundle2.join("rootfs"),
                )?)
            };
            let process = exec_process(&base, &cfg, user, opts.console_size);
            if let Some(parent) = dir2.parent() {
                std::fs::create_dir_all(parent).map_err(io_err("create", parent))?;
            }
            let _ = std::fs::remove_dir_all(&dir2);
            std::os::unix::fs::DirBuilderExt::mode(&mut std::fs::DirBuilder::new(), 0o700)
                .create(&dir2)
                .map_err(io_err("create", &dir2))?;
            let file = dir2.join("process.json");
            let json = serde_json::to_vec(&process).map_err(Error::Json)?;
            std::fs::write(&file, json).map_err(io_err("write", &file))?;
            Ok(file)
        })
        .await
        .map_err(Error::from_join)??;

        let mut cmd = self.shim_command(&c.id, &bundle, &dir);
        cmd.terminal = e.config.tty;
        cmd.stdin = e.config.attach_stdin && !opts.detach;
        cmd.exec_process = Some(process_file);
        cmd.wait_attach = !opts.detach;
        let mode = if cmd.stdin {
            AttachMode::StdinOnce
        } else {
            AttachMode::Output
        };
        let detach = opts.detach;
        let spawned = tokio::task::spawn_blocking(move || {
            if detach {
                cmd.spawn().map(|s| (s, None))
            } else {
                cmd.spawn_attached(mode).map(|(s, sock)| (s, Some(sock)))
            }
        })
        .await
        .map_err(Error::from_join)?;
        let (started, sock) = match spawned {
            Ok(v) => v,
            Err(source) => {
                let _ = std::fs::remove_dir_all(&dir);
                return Err(Error::ExecStart {
                    id: c.id.clone(),
                    source,
                });
            }
        };
        e.state.send_modify(|s| {
            s.running = true;
            s.pid = started.pid;
        });
        let mut attrs = self.container_event_attrs(&c);
        attrs.insert("execID".into(), e.id.clone());
        self.events().publish(
            EventType::Container,
            &format!("exec_start: {}", e.config.cmd.join(" ")),
            &c.id,
            attrs.clone(),
        );
        self.watch_exec_exit(e.clone(), dir.clone(), attrs);
        let Some(sock) = sock else {
            return Ok(None);
        };
        sock.set_nonblocking(true)
            .map_err(io_err("attach to", &dir))?;
        let stream = UnixStream::from_std(sock).map_err(io_err("attach to", &dir))?;
        Ok(Some(AttachStream {
            stream,
            tty: e.config.tty,
            stdin_once: mode == AttachMode::StdinOnce,
        }))
    }

    /// Records the exit once the exec's shim closes its control socket, then removes its state.
    fn watch_exec_exit(
        &self,
        e: Arc<ExecEntry>,
        dir: PathBuf,
        mut attrs: BTreeMap<String, String>,
    ) {
        let engine = self.clone();
        tokio::spawn(async move {
            let dir2 = dir.clone();
            let exit = tokio::task::spawn_blocking(move || {
                // A short exec may be gone before we connect: the exit file is there then.
                let _ = Control::connect(&dir2).and_then(|mut ctl| ctl.wait_closed());
                let exit = berth_shim::read_exit(&dir2);
                let _ = std::fs::remove_dir_all(&dir2);
                exit
            })
            .await
            .ok()
            .and_then(|r| r.ok())
            .flatten();
            // No exit record: the shim was killed; dockerd reports such an exec as failed too.
            let code = exit.map_or(EXEC_START_FAILED, |x| x.code);
            e.state.send_modify(|s| {
                s.running = false;
                s.exit_code = Some(code);
            });
            attrs.insert("exitCode".into(), code.to_string());
            engine
                .events()
                .publish(EventType::Container, "exec_die", &e.container_id, attrs);
        });
    }

    /// Waits until the exec has exited (bounded), returning its state then.
    pub async fn wait_exec(&self, exec_id: &str) -> Result<ExecState> {
        let e = self.inner.containers.execs.get(exec_id)?;
        let mut rx = e.state.subscribe();
        let done = |s: &ExecState| s.exit_code.is_some();
        let _ = tokio::time::timeout(EXIT_RECORD_WAIT, rx.wait_for(done)).await;
        let state = rx.borrow().clone();
        Ok(state)
    }

    /// `POST /exec/{id}/resize`.
    pub async fn resize_exec(&self, exec_id: &str, rows: u16, cols: u16) -> Result<()> {
        let e = self.inner.containers.execs.get(exec_id)?;
        // The CLI sends the first resize right after start; give the shim a moment to exist.
        let mut rx = e.state.subscribe();
        let _ = tokio::time::timeout(
            Duration::from_secs(2),
            rx.wait_for(|s| s.running || s.exit_code.is_some()),
        )
        .await;
        if !e.state.borrow().running {
            return Err(Error::ExecNotRunning(exec_id.to_string()));
        }
        let dir = self.exec_dir(exec_id);
        let id = e.container_id.clone();
        tokio::task::spawn_blocking(move || {
            Control::connect(&dir).and_then(|mut ctl| ctl.resize(rows, cols))
        })
        .await
        .map_err(Error::from_join)?
        .map_err(|source| Error::Shim { id, source })
    }

    /// Runs `cmd` in the container to completion (for healthchecks): its exit code and up to
    /// `max_output` bytes of combined output, or `None` when it outlived `timeout` (it is
    /// killed). The same path as the CRI's ExecSync, with the outputs merged.
    pub(crate) async fn run_exec_captured(
        &self,
        container_id: &str,
        cmd: Vec<String>,
        timeout: Duration,
        max_output: usize,
    ) -> Result<(Option<i32>, String)> {
        let config = ExecConfig {
            cmd,
            attach_stdout: true,
            attach_stderr: true,
            ..Default::default()
        };
        // Like dockerd, probe execs are not kept around for inspect: the handle forgets it.
        let (handle, attached) = self.exec_attached(container_id, config, None).await?;
        let mut output = output::Capped::new(max_output);
        let mut reader = OutputReader::new(attached.stream, attached.tty);
        let run = async {
            while let Ok(Some((_, data))) = reader.next().await {
                output.push(&data);
            }
            handle.wait().await
        };
        // At the deadline `run`, and the handle in it, are dropped: that kills the process.
        let code = match tokio::time::timeout(timeout, run).await {
            Ok(code) => Some(code?),
            Err(_) => None,
        };
        Ok((code, String::from_utf8_lossy(&output.bytes).into_owned()))
    }
}

#[cfg(test)]
mod tests;
