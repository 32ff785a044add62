//! The OCI bundle of a start: the mounted rootfs, the generated /etc files, `config.json`, and
//! the shim command that will run it.

use std::path::{Path, PathBuf};

use berth_shim::ShimCommand;

use super::etc_files::{hosts_file, resolv_conf};
use super::log_options::shim_log;
use super::{io_err, Container, Extension, State};
use crate::spec::{self, MountType, SeccompHost, SpecContext};
use crate::{Engine, Error, Result};

impl Engine {
    /// Everything before the shim, on a blocking thread: rootfs mount, /etc files, the spec;
    /// the shim command and the ids the process will run with.
    pub(super) fn prepare_bundle(
        &self,
        store: &berth_store::Store,
        c: &Container,
        net: &crate::networks::NetSetup,
    ) -> Result<(ShimCommand, spec::ResolvedUser)> {
        let bundle = self.bundle_dir(&c.id);
        let rootfs = bundle.join("rootfs");
        std::fs::create_dir_all(&rootfs).map_err(io_err("create", &rootfs))?;
        let record = store.metadata.get_container(&c.id)?;
        if !is_mountpoint(&rootfs) {
            let mut mounts = store.snapshots.mounts(&record.snapshot_key)?;
            if c.config.spec.auto_remove || c.config.spec.owner.pod().is_some() {
                // Its layer is deleted at exit (`--rm`), or never mounted again (a pod's
                // container runs once: the kubelet makes a new one), so nothing needs it on
                // disk after a host crash; unmounting a non-volatile overlay syncs the whole
                // host filesystem, on the exit path (10-30 ms here, seconds under I/O load).
                mounts
                    .iter_mut()
                    .for_each(berth_store::snapshot::Mount::set_volatile);
            }
            match (&c.config.spec.namespaces.user, c.config.spec.owner.pod()) {
                (Some(user), Some(pod)) => {
                    self.mount_pod_rootfs(store, pod.as_str(), user, &c.id, &mounts, &rootfs)?
                }
                _ => berth_store::snapshot::mount(&mounts, &rootfs)?,
            }
        }
        let image = store.metadata.get_image(&c.image_id)?;
        let image_cfg = super::create::image_config(&image.config)?;
        let user = c
            .config
            .spec
            .process
            .user
            .clone()
            .filter(|u| !u.is_empty())
            .unwrap_or_else(|| image_cfg.user.clone());
        let security = &c.config.spec.security;
        let user = spec::resolve_user(&user, &security.groups, security.group_policy, &rootfs)?;
        let id =
            berth_types::ContainerId::new(&c.id).map_err(|_| Error::InvalidName(c.id.clone()))?;
        let mut ctx = SpecContext::new(id, rootfs.clone(), user.clone());
        ctx.cgroup_v2 = crate::host::cgroup_v2(Path::new(crate::host::CGROUP_ROOT));
        ctx.seccomp_host = SeccompHost::native(crate::host::kernel_version());
        ctx.host_capabilities = crate::host::bounding_set();
        ctx.init_path = self.config().init.clone();
        ctx.host_hostname = nix::unistd::gethostname()
            .map(|h| h.to_string_lossy().into_owned())
            .unwrap_or_default();
        let user_mounts = match (&c.config.extension, c.config.spec.owner.pod()) {
            (Some(Extension::DockerCreate(opts)), _) => {
                self.docker_context(store, c, net, &mut ctx)?;
                let effective = super::create::with_inherited(opts, &c.config.inherited_mounts);
                spec::docker_user_mounts(&effective, &image_cfg)?
            }
            (_, Some(pod)) => {
                self.pod_container_context(store, pod.as_str(), &c.config.spec, &mut ctx)?;
                let images = self.mount_image_mounts(store, c)?;
                spec::model_user_mounts(&c.config.spec.storage, &images)?
            }
            (_, None) => return Err(Error::NoDockerBody(c.id.clone())),
        };
        let mut built = spec::build_spec(&c.config.spec, &image_cfg, &ctx, user_mounts)?;
        ensure_bind_sources(&built.bind_sources)?;
        for req in std::mem::take(&mut built.volume_requests) {
            let point = c
                .config
                .mounts
                .iter()
                .find(|p| p.kind == MountType::Volume && p.destination == req.destination)
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
        let mut cmd = self.shim_command(&c.id, &bundle, &shim_dir);
        if let Some((log, format)) = shim_log(&c.config.spec.log, self.log_path(&c.id))? {
            cmd.log = Some(log);
            cmd.log_format = format;
        }
        cmd.terminal = c.config.spec.process.tty;
        cmd.stdin = c.config.spec.process.stdin;
        Ok((cmd, user))
    }
}

impl Engine {
    /// The /etc files and namespaces of a Docker API container: generated in its data
    /// directory from its networks and links; peers' namespaces for `container:` modes.
    fn docker_context(
        &self,
        store: &berth_store::Store,
        c: &Container,
        net: &crate::networks::NetSetup,
        ctx: &mut SpecContext<'_>,
    ) -> Result<()> {
        let dns = &c.config.spec.network.dns;
        let data = self.data_dir(&c.id);
        let write = |name: &str, text: String| -> Result<PathBuf> {
            let p = data.join(name);
            std::fs::write(&p, text).map_err(io_err("write", &p))?;
            Ok(p)
        };
        ctx.hostname_path = Some(write("hostname", format!("{}\n", c.config.hostname))?);
        let linked = crate::networks::linked(store, c, &net.endpoints)?;
        ctx.hosts_path = Some(write(
            "hosts",
            hosts_file(
                &c.config.hostname,
                &c.config.spec.network.extra_hosts,
                &linked.hosts,
                &net.addrs(),
            ),
        )?);
        ctx.resolv_conf_path = Some(write(
            "resolv.conf",
            resolv_conf(&net.nameservers, &dns.servers, &dns.search, &dns.options),
        )?);
        ctx.linked_env = linked.env;
        if let Some(other) = c.config.spec.network.mode.joined_container() {
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
