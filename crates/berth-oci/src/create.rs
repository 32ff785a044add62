//! `create` (and the first half of `run`): reserve the id, set up the cgroup, fork the
//! container process into its namespaces and wait until it reports ready.

use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use berth_sys::process::stat as proc_stat;
use berth_types::{ContainerId, ContainerStatus};
use nix::fcntl::{open, OFlag};
use nix::sys::signal::{kill, Signal};
use nix::sys::stat::Mode;
use nix::unistd::Pid;
use oci_spec::runtime::{LinuxDeviceCgroup, LinuxDeviceType, LinuxNamespaceType, LinuxResources};

use crate::channel::{self, Message};
use crate::console::Console;
use crate::error::{io, sys, Error, Result};
use crate::init::{self, InitContext};
use crate::rootfs::{self, CgroupMountSource};
use crate::spec::load_bundle;
use crate::state::{Container, StateRoot, EXEC_FIFO};
use crate::{hooks, idmap, namespaces, seccomp};

pub struct CreateOptions {
    pub id: String,
    pub bundle: PathBuf,
    pub pid_file: Option<PathBuf>,
    pub console: Console,
    pub no_pivot: bool,
    pub no_new_keyring: bool,
    pub preserve_fds: u32,
    /// `run`: the process starts right away instead of waiting for `start`.
    pub start_immediately: bool,
}

pub struct Created {
    pub container: Container,
    pub pty_master: Option<OwnedFd>,
}

/// Undoes a half-made container unless disarmed.
struct Cleanup {
    dir: PathBuf,
    cgroup: Option<berth_cgroups::Manager>,
    children: Vec<i32>,
    armed: bool,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        for pid in &self.children {
            let _ = kill(Pid::from_raw(*pid), Signal::SIGKILL);
            let _ = nix::sys::wait::waitpid(Pid::from_raw(*pid), None);
        }
        if let Some(cg) = &self.cgroup {
            let _ = cg.remove();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub fn create(root: &StateRoot, opts: CreateOptions) -> Result<Created> {
    let id = ContainerId::new(&opts.id)?;
    let _span = tracing::debug_span!("create", container = %id).entered();
    let t0 = std::time::Instant::now();
    let bundle = load_bundle(&opts.bundle)?;
    let spec = &bundle.spec;
    let (Some(process), Some(linux)) = (spec.process().as_ref(), spec.linux().as_ref()) else {
        return Err(Error::InvalidConfig {
            path: bundle.config_path,
            field: "process/linux".into(),
            reason: "missing".into(),
        });
    };
    let ns_list = linux.namespaces().as_deref().unwrap_or_default();
    let plan = namespaces::plan(ns_list);
    // Checked before anything exists, so a bad idmapped mount leaves nothing to clean up.
    let idmaps =
        rootfs::idmap_requests(spec.mounts().as_deref().unwrap_or_default(), plan.has_user)?;
    let seccomp = linux
        .seccomp()
        .as_ref()
        .map(|s| seccomp::compile_cached(s, &root.seccomp_cache()))
        .transpose()?;
    tracing::debug!(
        clone = ?plan.clone_flags,
        unshare = ?plan.unshare_flags,
        joins = ?plan.joins,
        second_fork = plan.second_fork,
        idmapped_mounts = idmaps.len(),
        seccomp = seccomp.is_some(),
        elapsed_us = t0.elapsed().as_micros(),
        "bundle {} loaded, namespaces planned",
        bundle.dir.display()
    );

    let dir = root.reserve(&id)?;
    let mut cleanup = Cleanup {
        dir: dir.clone(),
        cgroup: None,
        children: Vec::new(),
        armed: true,
    };
    Container::save_config(&dir, &bundle.raw)?;
    let cgroups_path = linux
        .cgroups_path()
        .as_ref()
        .map(|p| p.display().to_string());

    let cg_err = |source| Error::Cgroup {
        id: id.to_string(),
        source,
    };
    let cgroup = cleanup
        .cgroup
        .insert(crate::cgroup_manager(cgroups_path.as_deref(), id.as_str()).map_err(cg_err)?);
    cgroup.create().map_err(cg_err)?;
    cgroup.apply(&with_default_devices(linux)).map_err(cg_err)?;
    let cgroup_mount = cgroup_mount_source(cgroup);
    tracing::debug!(
        paths = ?cgroup.paths(),
        version = ?cgroup.version(),
        elapsed_us = t0.elapsed().as_micros(),
        "cgroup created, resources applied"
    );

    let fifo = if opts.start_immediately {
        None
    } else {
        Some(make_exec_fifo(&dir)?)
    };
    let terminal = process.terminal().unwrap_or(false);
    let (console, caller_console) =
        crate::console::sockets(&opts.console, terminal, || Error::InvalidConfig {
            path: bundle.config_path.clone(),
            field: "process.terminal".into(),
            reason: "terminal is true but no --console-socket was given".into(),
        })?;
    let (parent_ch, child_ch) = channel::pair()?;
    let ns_fds = namespaces::open_joins(&plan.joins)?;
    let keyring_name = (!opts.no_new_keyring).then(|| id.as_str().to_string());

    let cgroup_dir = cleanup.cgroup.as_ref().and_then(|cg| cg.cgroup_dir_fd());
    // Without clone3 placement (v1), the child moves itself in: far cheaper than our writing
    // its pid (berth_cgroups::SelfPlacement).
    let self_placement = match (&cgroup_dir, cleanup.cgroup.as_ref()) {
        (None, Some(cg)) => cg.self_placement().map_err(cg_err)?,
        _ => None,
    };
    let child_joins = self_placement.is_some();
    let (pid, placed) = init::clone_into_cgroup(
        plan.clone_flags.bits() as libc::c_long,
        cgroup_dir.as_ref().map(AsFd::as_fd),
    )?;
    if pid == 0 {
        drop(parent_ch);
        let ctx = InitContext {
            spec,
            process,
            rootfs: &bundle.rootfs,
            plan: &plan,
            ns_fds,
            channel: &child_ch,
            fifo,
            console,
            seccomp,
            cgroup_mount,
            cgroup_join: self_placement.map(|p| (id.to_string(), p)),
            no_pivot: opts.no_pivot,
            new_keyring: keyring_name.as_deref(),
            preserve_fds: opts.preserve_fds,
        };
        init::child_main(&child_ch, || init::container_init(ctx));
    }
    tracing::debug!(
        pid,
        into_cgroup = placed,
        elapsed_us = t0.elapsed().as_micros(),
        "container process cloned"
    );
    drop(child_ch);
    drop(ns_fds);
    drop(console);
    drop(fifo);
    drop(self_placement);
    cleanup.children.push(pid);

    if plan.new_user {
        idmap::write_id_maps(
            pid,
            linux.uid_mappings().as_deref().unwrap_or_default(),
            linux.gid_mappings().as_deref().unwrap_or_default(),
        )?;
    }
    if !idmaps.is_empty() {
        send_idmapped_mounts(&idmaps, &plan, pid, &parent_ch)?;
    }
    if let Some(cg) = cleanup.cgroup.as_ref().filter(|_| !placed && !child_joins) {
        cg.add_task(pid).map_err(cg_err)?;
    }
    if let Some(adj) = process.oom_score_adj() {
        set_oom_score_adj(pid, adj)?;
    }
    parent_ch.send(&Message::Go)?;

    let mut init_pid = pid;
    if plan.second_fork {
        init_pid = match parent_ch.expect("InitPid").map_err(init_failed)? {
            Message::InitPid(p) => p,
            Message::Failed(e) => return Err(Error::Setup(e)),
            _ => return Err(Error::Init("container process sent no pid".into())),
        };
        cleanup.children.push(init_pid);
        let _ = nix::sys::wait::waitpid(Pid::from_raw(pid), None);
    }
    let start_time = proc_stat(init_pid)
        .map(|s| s.start_time)
        .unwrap_or_default();
    let mut container = Container {
        id: id.clone(),
        pid: init_pid,
        pid_start_time: start_time,
        bundle: bundle.dir.clone(),
        rootfs: bundle.rootfs.clone(),
        created: chrono::Utc::now(),
        annotations: spec.annotations().clone().unwrap_or_default(),
        cgroups_path,
        own_pid_ns: plan.new_pid,
        dir: dir.clone(),
    };
    let pty_master = match &caller_console {
        Some(sock) => Some(crate::console::recv_fd(std::os::fd::AsFd::as_fd(sock))?),
        None => None,
    };
    loop {
        match parent_ch.recv_with_fd().map_err(init_failed)? {
            (Message::SeccompListener, Some(fd)) => {
                let state = container.state_json(ContainerStatus::Creating);
                seccomp::forward_listener(linux.seccomp().as_ref(), fd.as_fd(), &state, init_pid)?;
                parent_ch.send(&Message::SeccompDone)?;
            }
            (Message::RunHooks, _) => {
                let state = container.state_json(ContainerStatus::Creating);
                let h = spec.hooks().as_ref();
                for (list, phase) in [
                    (h.and_then(|h| h.prestart().as_deref()), "prestart"),
                    (
                        h.and_then(|h| h.create_runtime().as_deref()),
                        "createRuntime",
                    ),
                ] {
                    if let Some(list) = list.filter(|l| !l.is_empty()) {
                        hooks::run_hooks(list, &state, phase)?;
                    }
                }
                parent_ch.send(&Message::HooksDone(
                    String::from_utf8_lossy(&state).into_owned(),
                ))?;
            }
            (Message::Ready, _) => break,
            (Message::Failed(e), _) => return Err(Error::Setup(e)),
            (other, _) => {
                return Err(Error::Init(format!(
                    "unexpected message {other:?} from container process"
                )))
            }
        }
    }
    container.pid_start_time = proc_stat(init_pid)
        .map(|s| s.start_time)
        .unwrap_or(start_time);
    container.save()?;
    if let Some(pid_file) = &opts.pid_file {
        write_pid_file(pid_file, init_pid)?;
    }
    tracing::debug!(
        pid = init_pid,
        elapsed_us = t0.elapsed().as_micros(),
        "container created"
    );
    cleanup.armed = false;
    Ok(Created {
        container,
        pty_master,
    })
}

fn init_failed(e: channel::ChannelError) -> Error {
    match e {
        channel::ChannelError::Closed => {
            Error::Init("container process exited during setup".into())
        }
        other => other.into(),
    }
}

pub(crate) fn write_pid_file(path: &Path, pid: i32) -> Result<()> {
    // Write then rename, so readers (containerd, podman) never see a partial pid.
    let tmp = path.with_extension("berth-tmp");
    std::fs::write(&tmp, pid.to_string()).map_err(io("write pid file", &tmp))?;
    std::fs::rename(&tmp, path).map_err(io("write pid file", path))
}

/// Makes exec.fifo and returns an O_PATH fd of the state dir holding it: the container process
/// reopens the fifo through it, needing no /proc in its root (one without a mount namespace of
/// its own, or without a /proc mount, has none).
fn make_exec_fifo(dir: &Path) -> Result<OwnedFd> {
    let path = dir.join(EXEC_FIFO);
    nix::unistd::mkfifo(&path, Mode::from_bits_truncate(0o622))
        .map_err(sys(format!("mkfifo {}", path.display())))?;
    // mkfifo honours the umask; start must be able to find it writable for any container user.
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o622))
        .map_err(io("chmod", &path))?;
    // Searchable (runc's mode): the container process may no longer be root when it reopens it.
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o711))
        .map_err(io("chmod", dir))?;
    open(
        dir,
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(sys(format!("open {}", dir.display())))
}

/// The device cgroup rules: the spec's, then the devices every container gets (as runc appends
/// them), then the spec's `linux.devices`, so mknod of the default nodes is always allowed.
fn with_default_devices(linux: &oci_spec::runtime::Linux) -> LinuxResources {
    let mut res = linux.resources().clone().unwrap_or_default();
    let mut rules = res.devices().clone().unwrap_or_default();
    let rule = |typ, major: Option<i64>, minor: Option<i64>, access: &str| {
        let mut r = LinuxDeviceCgroup::default();
        r.set_allow(true);
        r.set_typ(Some(typ));
        r.set_major(major);
        r.set_minor(minor);
        r.set_access(Some(access.to_string()));
        r
    };
    use LinuxDeviceType::{B, C};
    rules.push(rule(C, None, None, "m"));
    rules.push(rule(B, None, None, "m"));
    for (major, minor) in [
        (1, Some(3)),
        (1, Some(5)),
        (1, Some(7)),
        (1, Some(8)),
        (1, Some(9)),
        (5, Some(0)),
        (5, Some(1)),
        (5, Some(2)),
        (136, None),
        (10, Some(200)),
    ] {
        rules.push(rule(C, Some(major), minor, "rwm"));
    }
    for d in linux.devices().iter().flatten() {
        rules.push(rule(d.typ(), Some(d.major()), Some(d.minor()), "rwm"));
    }
    res.set_devices(Some(rules));
    res
}

fn cgroup_mount_source(cg: &berth_cgroups::Manager) -> CgroupMountSource {
    let paths = cg.paths();
    match cg.version() {
        berth_cgroups::CgroupVersion::V2 => {
            CgroupMountSource::V2(paths.into_iter().next().unwrap_or_default())
        }
        berth_cgroups::CgroupVersion::V1 => CgroupMountSource::V1(
            paths
                .into_iter()
                .filter_map(|p| {
                    let name = p
                        .strip_prefix("/sys/fs/cgroup")
                        .ok()?
                        .components()
                        .next()?
                        .as_os_str()
                        .to_string_lossy()
                        .into_owned();
                    Some((name, p))
                })
                .collect(),
        ),
    }
}

/// Idmaps the requested sources and passes the trees to the container process (`pid`), which
/// attaches them while mounting. The container's own user namespace is ready here: its maps
/// were just written.
fn send_idmapped_mounts(
    requests: &[rootfs::IdmapRequest],
    plan: &namespaces::NamespacePlan,
    pid: i32,
    ch: &channel::Channel,
) -> Result<()> {
    let userns_path = if plan.new_user {
        Some(PathBuf::from(format!("/proc/{pid}/ns/user")))
    } else {
        plan.joins
            .iter()
            .find(|(t, _)| *t == LinuxNamespaceType::User)
            .map(|(_, p)| p.clone())
    };
    let userns = userns_path
        .map(|p| {
            open(&p, OFlag::O_RDONLY | OFlag::O_CLOEXEC, Mode::empty())
                .map_err(sys(format!("open user namespace {}", p.display())))
        })
        .transpose()?;
    let trees = idmap::prepare(requests, userns.as_ref().map(AsFd::as_fd))?;
    for (index, tree) in &trees {
        ch.send_with_fd(&Message::IdmappedMount(*index), tree.as_fd())?;
    }
    Ok(())
}

/// Sets oom_score_adj; a value below the current one needs CAP_SYS_RESOURCE, so when the host
/// withholds it we keep the current (lowest allowed) value instead of failing the container.
fn set_oom_score_adj(pid: i32, adj: i32) -> Result<()> {
    let path = format!("/proc/{pid}/oom_score_adj");
    match std::fs::write(&path, adj.to_string()) {
        Err(e) if e.raw_os_error() == Some(libc::EACCES) && adj < 0 => Ok(()),
        other => other.map_err(io("write", path)),
    }
}
