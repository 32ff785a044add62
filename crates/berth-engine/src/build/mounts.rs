//! `RUN --mount` (BuildKit's semantics, docs/build.md): what each mount type puts into a RUN
//! container, as host binds and tmpfs mounts of the container's spec and environment variables
//! of its process. Planning ([`Engine::plan_mounts`]) fills in BuildKit's defaults, finds each
//! `from=` and says what the step's cache key holds (never a secret's content); preparing
//! ([`Engine::prepare_mounts`]) makes the host side, held until the RUN is done. The files a
//! RUN writes through a mount never reach its layer; the mount points the runtime had to make
//! are removed from the layer too ([`stubs`]).

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use berth_dockerfile::instructions::{Mount, MountType, Sharing};
use berth_store::metadata::Layer;
use berth_types::Digest;
use serde::Serialize;

use super::cache_mounts::CacheUse;
use super::context::{inside, private_dir};
use super::copy::View;
use super::dispatch::{resolve_workdir, scratch_digest};
use super::stage::{Build, Earlier};
use super::BuildError;
use crate::containers::io_err as io;
use crate::spec::options::MountSpec;
use crate::{Engine, Error, Result};

/// Where BuildKit mounts the script of a `RUN <<EOF` that starts with `#!`.
pub(super) const HEREDOC_DIR: &str = "/dev/pipes";

/// Where a mount's files come from.
enum Origin {
    Context,
    /// A stage's or an image's files.
    Image {
        id: Digest,
        layers: Vec<Layer>,
    },
}

/// One mount, planned: BuildKit's defaults filled in.
pub(super) struct Planned {
    mount: Mount,
    /// Absolute; `None` for a secret given only as an environment variable.
    target: Option<String>,
    origin: Origin,
    /// The cache, secret or SSH agent id.
    id: String,
    /// A secret's file or an SSH agent's socket; `None`: optional and not given, so skipped.
    host: Option<PathBuf>,
    /// What the step's result depends on.
    pub(super) key: MountKey,
}

/// A mount as the cache key sees it.
#[derive(Debug, Serialize)]
pub(super) struct MountKey {
    kind: &'static str,
    target: Option<String>,
    id: String,
    /// `context`, or the image id a stage or image `from=` resolved to.
    from: String,
    source: Option<String>,
    readonly: bool,
    env: Option<String>,
    size: Option<u64>,
    mode: Option<u32>,
    uid: Option<u32>,
    gid: Option<u32>,
    /// The content checksum of a bind's source in the context.
    content: Option<String>,
}

/// What one RUN gets, and what it holds until it is done (dropping removes the scratch
/// directory and the views, and releases the caches).
#[derive(Default)]
pub(super) struct RunMounts {
    pub(super) binds: Vec<MountSpec>,
    /// Target → options, as `--tmpfs`.
    pub(super) tmpfs: BTreeMap<String, String>,
    /// `K=V` for the process only (secrets as env, `SSH_AUTH_SOCK`).
    pub(super) env: Vec<String>,
    /// A secret is in `env`: the step's container (whose record holds its environment) is
    /// never kept.
    pub(super) secret_env: bool,
    /// Paths the runtime mounts on that the parent image lacks ([`stubs`]).
    pub(super) stubs: Vec<PathBuf>,
    _scratch: Option<tempfile::TempDir>,
    _caches: Vec<CacheUse>,
    _views: Vec<View>,
}

/// The heredoc script a `RUN <<EOF` runs as a file (its name, its content).
pub(super) struct Script {
    pub(super) name: String,
    pub(super) content: String,
}

fn base_name(path: &str) -> String {
    Path::new(path)
        .file_name()
        .map_or_else(|| path.to_string(), |n| n.to_string_lossy().into_owned())
}

impl Engine {
    /// Plans the mounts of a RUN of stage `index` whose working directory is `workdir`.
    pub(super) async fn plan_mounts(
        &self,
        mounts: &[Mount],
        workdir: &str,
        b: Build<'_>,
        earlier: Earlier<'_>,
    ) -> Result<Vec<Planned>> {
        let Earlier { index, done } = earlier;
        let mut planned = Vec::new();
        let mut ssh_index = 0;
        for m in mounts {
            let invalid = |reason: &str| -> Error {
                BuildError::Mount {
                    kind: m.kind.as_str(),
                    reason: reason.to_string(),
                }
                .into()
            };
            let target = m.target.as_deref().map(|t| resolve_workdir(workdir, t));
            let (target, id, host) = match m.kind {
                MountType::Bind | MountType::Tmpfs | MountType::Cache => {
                    let target = target.ok_or_else(|| invalid("target is required"))?;
                    if target == "/" {
                        return Err(invalid("cannot mount on /"));
                    }
                    let id = match m.kind {
                        MountType::Cache => m.id.clone().unwrap_or_else(|| target.clone()),
                        _ => String::new(),
                    };
                    (Some(target), id, None)
                }
                MountType::Secret => {
                    let id = m
                        .source
                        .clone()
                        .or_else(|| m.id.clone())
                        .or_else(|| target.as_deref().map(base_name))
                        .ok_or_else(|| invalid("one of source, target or id is required"))?;
                    let target = match (&target, &m.env) {
                        (None, None) => Some(format!("/run/secrets/{}", base_name(&id))),
                        _ => target,
                    };
                    let host = b.context.secrets.file(&id);
                    if host.is_none() && m.required {
                        return Err(BuildError::MissingSecret(id).into());
                    }
                    (target, id, host)
                }
                MountType::Ssh => {
                    let id = m.id.clone().unwrap_or_else(|| "default".into());
                    let target =
                        target.unwrap_or_else(|| format!("/run/buildkit/ssh_agent.{ssh_index}"));
                    ssh_index += 1;
                    let host = b.opts.ssh.get(&id).cloned();
                    if host.is_none() && m.required {
                        return Err(BuildError::MissingSsh(id).into());
                    }
                    (Some(target), id, host)
                }
            };
            let origin = match m.from.as_deref() {
                None => Origin::Context,
                Some(from) => match b.plan.source_stage(index, from) {
                    Some(i) => {
                        let stage = done[i].as_ref().ok_or(BuildError::NoStage)?;
                        Origin::Image {
                            id: stage.image.clone().unwrap_or_else(scratch_digest),
                            layers: stage.layers.clone(),
                        }
                    }
                    None => {
                        let image = self.base_image(from, None, b).await?;
                        Origin::Image {
                            id: image.id,
                            layers: image.layers,
                        }
                    }
                },
            };
            let content = match (m.kind, &origin) {
                (MountType::Bind, Origin::Context) => {
                    let root = b.context.dir.path().to_path_buf();
                    let rel = inside(m.source.as_deref().unwrap_or("/"))?;
                    let digest = tokio::task::spawn_blocking(move || {
                        let fd = std::fs::File::open(&root).map_err(io("open", &root))?;
                        berth_image::context::checksum(
                            std::os::fd::AsFd::as_fd(&fd),
                            &rel,
                            &berth_image::context::ChecksumOptions {
                                follow_final_symlink: true,
                                ..Default::default()
                            },
                        )
                        .map_err(|e| Error::from(BuildError::Context(e)))
                    })
                    .await
                    .map_err(Error::from_join)??;
                    Some(digest.to_string())
                }
                _ => None,
            };
            let key = MountKey {
                kind: m.kind.as_str(),
                target: target.clone(),
                id: id.clone(),
                from: match &origin {
                    Origin::Context => "context".into(),
                    Origin::Image { id, .. } => id.to_string(),
                },
                source: m.source.clone(),
                readonly: m.readonly,
                env: m.env.clone(),
                size: m.size,
                mode: m.mode,
                uid: m.uid,
                gid: m.gid,
                content,
            };
            // One RUN holding a cache twice would wait for itself with `sharing=locked`.
            let twice = m.kind == MountType::Cache
                && planned
                    .iter()
                    .any(|p: &Planned| p.mount.kind == MountType::Cache && p.id == id);
            if twice {
                return Err(BuildError::Unsupported(format!(
                    "RUN --mount=type=cache,id={id} twice in one step"
                ))
                .into());
            }
            planned.push(Planned {
                mount: m.clone(),
                target,
                origin,
                id,
                host,
                key,
            });
        }
        Ok(planned)
    }

    /// Makes the host side of `planned` (and of `script`) for a RUN on `parent_layers`.
    pub(super) async fn prepare_mounts(
        &self,
        planned: &[Planned],
        script: Option<&Script>,
        parent_layers: &[Layer],
        b: Build<'_>,
    ) -> Result<RunMounts> {
        if planned.is_empty() && script.is_none() {
            return Ok(RunMounts::default());
        }
        let tmp = self.config().data_root.join("tmp");
        let scratch = {
            let tmp = tmp.clone();
            tokio::task::spawn_blocking(move || {
                std::fs::create_dir_all(&tmp).map_err(io("create", &tmp))?;
                private_dir(&tmp, "build-run-")
            })
            .await
            .map_err(Error::from_join)??
        };
        let dir = scratch.path().to_path_buf();
        let mut out = RunMounts::default();
        let bind = |source: PathBuf, target: &str, read_only: bool| MountSpec {
            kind: "bind".into(),
            source: source.to_string_lossy().into_owned(),
            target: target.to_string(),
            read_only,
            ..MountSpec::default()
        };
        for (n, p) in planned.iter().enumerate() {
            let m = &p.mount;
            let target = p.target.as_deref().unwrap_or_default();
            match m.kind {
                MountType::Bind => {
                    let source = self.origin_path(p, b, &mut out._views).await?;
                    let source = if m.readonly {
                        source
                    } else {
                        // BuildKit discards what a RUN writes to a bind: it writes to a copy.
                        let copy = dir.join(format!("bind-{n}"));
                        blocking(move || copy_path(&source, &copy).map(|()| copy)).await?
                    };
                    out.binds.push(bind(source, target, m.readonly));
                }
                MountType::Cache => {
                    let sharing = m.sharing.unwrap_or(Sharing::Shared);
                    let fresh = dir.join(format!("cache-{n}"));
                    let (taken, created) = self.use_cache_mount(&p.id, sharing, &fresh).await?;
                    if created {
                        let seed = match (&p.origin, &m.source) {
                            (Origin::Context, None) => None,
                            _ => Some(self.origin_path(p, b, &mut out._views).await?),
                        };
                        let cache = taken.dir.clone();
                        let (mode, uid, gid) = (m.mode, m.uid, m.gid);
                        blocking(move || {
                            if let Some(seed) = seed {
                                berth_sys::copy::copy_tree(&seed, &cache)
                                    .map_err(io("seed cache mount", &cache))?;
                            }
                            set_owner_mode(&cache, mode.unwrap_or(0o755), uid, gid)
                        })
                        .await?;
                    }
                    out.binds.push(bind(taken.dir.clone(), target, m.readonly));
                    out._caches.push(taken);
                }
                MountType::Tmpfs => {
                    // Unlike `--tmpfs`, a build's tmpfs may hold programs to run.
                    let mut options = vec!["exec".to_string()];
                    options.extend(m.size.map(|s| format!("size={s}")));
                    out.tmpfs.insert(target.to_string(), options.join(","));
                }
                MountType::Secret => {
                    let Some(host) = p.host.clone() else { continue };
                    if let Some(env) = &m.env {
                        let content = blocking({
                            let host = host.clone();
                            move || std::fs::read(&host).map_err(io("read secret", &host))
                        })
                        .await?;
                        out.env
                            .push(format!("{env}={}", String::from_utf8_lossy(&content)));
                        out.secret_env = true;
                    }
                    if p.target.is_some() {
                        let copy = dir.join(format!("secret-{n}"));
                        let (mode, uid, gid) = (m.mode, m.uid, m.gid);
                        let copy = blocking(move || {
                            std::fs::copy(&host, &copy).map_err(io("copy secret", &copy))?;
                            set_owner_mode(&copy, mode.unwrap_or(0o400), uid, gid)?;
                            Ok(copy)
                        })
                        .await?;
                        out.binds.push(bind(copy, target, true));
                    }
                }
                MountType::Ssh => {
                    let Some(host) = p.host.clone() else { continue };
                    // Only an agent's socket: a client naming any other host path must not
                    // get it bound into the step. Read-only, which connecting needs no more.
                    let is_socket = std::fs::metadata(&host)
                        .is_ok_and(|m| std::os::unix::fs::FileTypeExt::is_socket(&m.file_type()));
                    if !is_socket {
                        return Err(BuildError::Unsupported(format!(
                            "ssh agent {}: not a socket",
                            host.display()
                        ))
                        .into());
                    }
                    if !out.env.iter().any(|e| e.starts_with("SSH_AUTH_SOCK=")) {
                        out.env.push(format!("SSH_AUTH_SOCK={target}"));
                    }
                    out.binds.push(bind(host, target, true));
                }
            }
        }
        if let Some(script) = script {
            let pipes = dir.join("pipes");
            let file = pipes.join(&script.name);
            let content = script.content.clone();
            blocking(move || {
                std::fs::create_dir(&pipes).map_err(io("create", &pipes))?;
                std::fs::set_permissions(&pipes, std::fs::Permissions::from_mode(0o755))
                    .map_err(io("chmod", &pipes))?;
                std::fs::write(&file, content).map_err(io("write", &file))?;
                std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o755))
                    .map_err(io("chmod", &file))
            })
            .await?;
            out.binds.push(bind(dir.join("pipes"), HEREDOC_DIR, true));
        }
        let targets: Vec<PathBuf> = out
            .binds
            .iter()
            .map(|m| PathBuf::from(&m.target))
            .chain(out.tmpfs.keys().map(PathBuf::from))
            .collect();
        let view = self.view_layers(parent_layers).await?;
        let root = view.path().to_path_buf();
        out.stubs = blocking(move || {
            Ok(stubs(&targets, |p| {
                berth_image::stat_in_root(&root, p).is_ok()
            }))
        })
        .await?;
        drop(view);
        out._scratch = Some(scratch);
        Ok(out)
    }

    /// The host path of a bind's or a cache seed's `source` in its origin (a view of a stage or
    /// image is mounted and kept in `views`), resolved inside that root.
    async fn origin_path(
        &self,
        p: &Planned,
        b: Build<'_>,
        views: &mut Vec<View>,
    ) -> Result<PathBuf> {
        let root = match &p.origin {
            Origin::Context => b.context.dir.path().to_path_buf(),
            Origin::Image { layers, .. } => {
                let view = self.view_layers(layers).await?;
                let root = view.path().to_path_buf();
                views.push(view);
                root
            }
        };
        let rel = inside(p.mount.source.as_deref().unwrap_or("/"))?;
        let resolved = blocking(move || Ok(berth_image::real_path_in_root(&root, &rel)?)).await;
        resolved.map_err(|e| {
            BuildError::Mount {
                kind: p.mount.kind.as_str(),
                reason: format!("source {}: {e}", p.mount.source.as_deref().unwrap_or("/")),
            }
            .into()
        })
    }
}

/// Runs `f` on the blocking pool.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(Error::from_join)?
}

/// Copies a file or a directory tree to `to`, which does not exist yet.
fn copy_path(from: &Path, to: &Path) -> Result<()> {
    let meta = std::fs::metadata(from).map_err(io("stat", from))?;
    if meta.is_dir() {
        std::fs::create_dir(to).map_err(io("create", to))?;
        berth_sys::copy::copy_tree(from, to).map_err(io("copy", to))?;
        berth_sys::copy::set_owner_and_mode(to, &meta).map_err(io("chmod", to))
    } else {
        std::fs::copy(from, to).map(|_| ()).map_err(io("copy", to))
    }
}

/// Owner (root unless given) and permission bits of a mount's file or directory.
fn set_owner_mode(path: &Path, mode: u32, uid: Option<u32>, gid: Option<u32>) -> Result<()> {
    std::os::unix::fs::lchown(path, Some(uid.unwrap_or(0)), Some(gid.unwrap_or(0)))
        .map_err(io("chown", path))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode & 0o7777))
        .map_err(io("chmod", path))
}

/// The mount points the runtime will have to make for `targets` (absolute): for each, the
/// target and its ancestors that `exists` (the parent image) lacks, relative, deepest first, as
/// BuildKit's mount stub cleaner records them. After the RUN, those still empty are removed.
pub(super) fn stubs(targets: &[PathBuf], exists: impl Fn(&Path) -> bool) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = Vec::new();
    for target in targets {
        let rel = target.strip_prefix("/").unwrap_or(target);
        let mut path = rel.to_path_buf();
        loop {
            if path.as_os_str().is_empty() || exists(&path) {
                break;
            }
            if !out.contains(&path) {
                out.push(path.clone());
            }
            if !path.pop() {
                break;
            }
        }
    }
    // Deepest first: a directory is empty once its stubs are gone.
    out.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::stubs;

    #[test]
    fn stubs_are_the_missing_ancestors_deepest_first() {
        let exists = |p: &Path| p == Path::new("run") || p == Path::new("tmp");
        let got = stubs(
            &[
                PathBuf::from("/run/secrets/a"),
                PathBuf::from("/run/secrets/b"),
                PathBuf::from("/tmp"),
                PathBuf::from("/opt/x"),
            ],
            exists,
        );
        assert_eq!(
            got,
            [
                "run/secrets/a",
                "run/secrets/b",
                "run/secrets",
                "opt/x",
                "opt"
            ]
            .map(PathBuf::from)
        );
    }
}
