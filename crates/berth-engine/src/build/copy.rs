//! COPY and ADD: files from the context (or another stage, or an image) into a snapshot of the
//! step's parent, which then becomes the step's layer. No container is made (dockerd makes
//! none either). Both sides are resolved inside their roots (`openat2(RESOLVE_IN_ROOT)`): a
//! symlink in the context or in the image never leads a copy out of either. A source is
//! streamed as a tar from the one root into the other, with the layer unpacker's rules, so
//! ownership (`--chown`, else root for context files) and `--chmod` apply to each entry.

use std::io::Write;
use std::path::{Path, PathBuf};

use berth_dockerfile::ignore::IgnorePatterns;
use berth_dockerfile::{Instruction, InstructionKind};
use berth_store::metadata::Layer;
use berth_types::Digest;
use sha2::{Digest as _, Sha256};

use super::context::inside;
use super::stage::{Build, Made, StageState};
use super::{cache, BuildError};
use crate::containers::fs::RootfsMount;
use crate::{Engine, Error, Result};

/// What a COPY or ADD reads from.
enum Source {
    /// The build context.
    Context,
    /// The files of an image's layers (a stage, or an image by name), read-only.
    Layers(Vec<Layer>),
}

/// One thing to copy: a path in the source root, or a heredoc's content.
enum Item {
    /// `keep`: with `--parents`, the path (its parents) it keeps under the destination.
    Path {
        rel: PathBuf,
        is_dir: bool,
        keep: Option<PathBuf>,
    },
    Inline {
        name: String,
        content: String,
    },
}

/// How every item of one COPY or ADD is placed.
struct Placement {
    dest: String,
    several: bool,
    add: bool,
    /// `--chown`, resolved.
    chown: Option<(u32, u32)>,
    /// The copies' owner: `--chown`, else root for context files, else as they were.
    owner: Option<(u32, u32)>,
    mode: Option<u32>,
    instruction: &'static str,
    /// `--exclude`: paths below a copied directory (relative to it) left out.
    excludes: Option<IgnorePatterns>,
}

/// What a COPY's sources select: `--parents`, `--exclude`.
#[derive(Clone, Default)]
struct Selecting {
    parents: bool,
    excludes: Option<IgnorePatterns>,
}

impl Engine {
    /// COPY or ADD, already expanded.
    pub(super) async fn copy_instruction(
        &self,
        state: &mut StageState,
        step: &Instruction,
        b: Build<'_>,
        index: usize,
        done: &[Option<StageState>],
        shell: &[String],
    ) -> Result<()> {
        let Build {
            plan,
            context,
            reporter,
            ..
        } = b;
        let (name, files, from, chown, chmod, excludes, parents, add) = match &step.kind {
            InstructionKind::Copy(c) => (
                "COPY",
                &c.files,
                c.from.as_deref(),
                c.chown.as_deref(),
                c.chmod.as_deref(),
                &c.excludes,
                c.parents,
                false,
            ),
            InstructionKind::Add(a) => (
                "ADD",
                &a.files,
                None,
                a.chown.as_deref(),
                a.chmod.as_deref(),
                &a.excludes,
                false,
                true,
            ),
            _ => return Err(BuildError::NoStage.into()),
        };
        // `--link` makes the same files; its layer is an ordinary one here (docs/build.md).
        let selecting = Selecting {
            parents,
            excludes: if excludes.is_empty() {
                None
            } else {
                Some(IgnorePatterns::parse(&excludes.join("\n")).map_err(|e| {
                    BuildError::Unsupported(format!("{name} --exclude={}: {e}", excludes.join(",")))
                })?)
            },
        };
        if let Some(url) = files.sources.iter().find(|s| is_url(s)) {
            return Err(BuildError::UrlSource {
                instruction: name,
                url: url.clone(),
            }
            .into());
        }
        let source = match from {
            None => Source::Context,
            Some(from) => match plan.source_stage(index, from) {
                Some(i) => Source::Layers(
                    done[i]
                        .as_ref()
                        .map(|s| s.layers.clone())
                        .ok_or(BuildError::NoStage)?,
                ),
                None => {
                    let image = self.base_image_for_copy(from, b).await.map_err(|e| {
                        BuildError::BadFrom {
                            instruction: name,
                            from: from.to_string(),
                            reason: e.to_string(),
                        }
                    })?;
                    Source::Layers(image)
                }
            },
        };
        // The view and the snapshot below, and the layer until its image's row exists, are
        // referenced by nothing GC knows: none runs until the step is recorded.
        let _gc = self.inner.gc_lock.read().await;
        let mode = chmod.map(parse_mode).transpose()?;
        let workdir = state.config.config.working_dir.clone();
        let dest = absolute_dest(&workdir, &files.dest);
        let several = files.sources.len() + files.inline.len() > 1 || parents;
        if several && !files.dest.ends_with('/') {
            return Err(BuildError::DestinationNotDirectory(name).into());
        }
        // Resolve the sources and checksum them (the cache key) on a view of the source.
        let view = match &source {
            Source::Context => None,
            Source::Layers(layers) => Some(self.view_layers(layers).await?),
        };
        let root: PathBuf = match &view {
            None => context.dir.path().to_path_buf(),
            Some(v) => v.path().to_path_buf(),
        };
        let (items, hash) = {
            let root = root.clone();
            let sources = files.sources.clone();
            let inline: Vec<(String, String)> = files
                .inline
                .iter()
                .map(|f| (f.name.clone(), f.content.clone()))
                .collect();
            let selecting = selecting.clone();
            tokio::task::spawn_blocking(move || {
                resolve_sources(&root, &sources, &inline, name, &selecting)
            })
            .await
            .map_err(Error::from_join)??
        };
        // A wildcard that matched several files needs a directory destination too.
        let several = several || items.len() > 1;
        if several && !files.dest.ends_with('/') {
            return Err(BuildError::DestinationNotDirectory(name).into());
        }
        let owner_text = chown.map(|c| format!("--chown={c}")).unwrap_or_default();
        let mode_text = chmod.map(|c| format!("--chmod={c} ")).unwrap_or_default();
        let text = format!("{mode_text}{owner_text}{hash} in {} ", files.dest);
        let created_by = format!("{} #(nop) {name} {text}", shell.join(" "));
        let mut probe = state.config.config.clone();
        probe.cmd = Some(
            shell
                .iter()
                .cloned()
                .chain([format!("#(nop) {name} {text}")])
                .collect(),
        );
        let parent = state
            .image
            .clone()
            .unwrap_or_else(super::dispatch::scratch_digest);
        let key = cache::key(&parent, &probe, &(add, dest.clone(), parents, excludes));
        if self.try_cache(state, &key, b).await? {
            return Ok(());
        }
        // Ownership: `--chown` (names resolved in the destination image), else root for
        // context files and as they were for another stage's or image's.
        let from_context = matches!(source, Source::Context);
        let chown = chown.map(str::to_string);
        let excludes = selecting.excludes;
        let changed = self
            .change_files(state, move |target| {
                let chown = chown
                    .as_deref()
                    .map(|spec| resolve_owner(target, spec))
                    .transpose()?;
                let placement = Placement {
                    owner: chown.or(from_context.then_some((0, 0))),
                    chown,
                    dest,
                    several,
                    add,
                    mode,
                    instruction: name,
                    excludes,
                };
                for item in &items {
                    copy_item(&root, target, item, &placement)?;
                }
                Ok(())
            })
            .await;
        drop(view);
        let (layer, size) = changed?;
        let made = Made {
            created_by,
            probe,
            config: state.config.config.clone(),
            container: None,
            layer,
            size,
            author: None,
        };
        self.record_step(state, made, key, step.original.clone(), reporter)
            .await
    }

    /// Runs `f` on a writable mount of a snapshot of the state's image (on a blocking thread)
    /// and returns what it changed as a layer, none if nothing; the snapshot is gone either
    /// way.
    pub(super) async fn change_files<F>(
        &self,
        state: &StageState,
        f: F,
    ) -> Result<(Option<Layer>, u64)>
    where
        F: FnOnce(&Path) -> Result<()> + Send + 'static,
    {
        let parent = state.layers.last().map(|l| l.chain_id.clone());
        let snapshot = format!("build-{}", crate::random_hex(16));
        let engine = self.clone();
        tokio::task::spawn_blocking(move || {
            let store = engine.store();
            let changed = store
                .snapshots
                .prepare(&snapshot, parent.as_ref().map(Digest::as_str))
                .map_err(Error::from)
                .and_then(|mounts| {
                    let target = RootfsMount::new(&engine, "build-", &mounts)?;
                    f(&target.path)
                })
                .and_then(|()| {
                    let ingest = format!("build-{}", crate::random_hex(16));
                    super::layer::commit_if_changed(store, &snapshot, parent.as_ref(), &ingest, &[])
                });
            if changed.is_err() {
                let _ = crate::pods::remove_snapshots(store, [snapshot.as_str()]);
            }
            changed
        })
        .await
        .map_err(Error::from_join)?
    }

    /// WORKDIR: the directory is made when missing (root's, 0755, as dockerd makes it); a
    /// layer only if it was.
    pub(super) async fn workdir_step(
        &self,
        state: &mut StageState,
        config: super::image_config::RunConfig,
        shell: &[String],
        dir: &str,
        step: &Instruction,
        b: Build<'_>,
    ) -> Result<()> {
        let _gc = self.inner.gc_lock.read().await;
        let text = format!("#(nop) WORKDIR {dir}");
        let mut probe = config.clone();
        probe.cmd = Some(shell.iter().cloned().chain([text.clone()]).collect());
        let parent = state
            .image
            .clone()
            .unwrap_or_else(super::dispatch::scratch_digest);
        let key = cache::key(&parent, &probe, &());
        if self.try_cache(state, &key, b).await? {
            return Ok(());
        }
        let path = PathBuf::from(dir);
        let (layer, size) = self
            .change_files(state, move |target| ensure_dir(target, &path))
            .await?;
        let made = Made {
            created_by: format!("{} {text}", shell.join(" ")),
            probe,
            config,
            container: None,
            layer,
            size,
            author: None,
        };
        self.record_step(state, made, key, step.original.clone(), b.reporter)
            .await
    }

    /// The layers of the image `name` (pulled if missing), for `COPY --from=<image>`.
    async fn base_image_for_copy(&self, name: &str, b: Build<'_>) -> Result<Vec<Layer>> {
        Ok(self.base_image(name, None, b).await?.layers)
    }

    /// A read-only view of `layers`, mounted; both go when it is dropped.
    pub(super) async fn view_layers(&self, layers: &[Layer]) -> Result<View> {
        let key = format!("build-view-{}", crate::random_hex(16));
        let parent = layers.last().map(|l| l.chain_id.to_string());
        let engine = self.clone();
        tokio::task::spawn_blocking(move || {
            let store = engine.store();
            let mounts = store.snapshots.view(&key, parent.as_deref())?;
            match RootfsMount::new(&engine, "build-view-", &mounts) {
                Ok(mount) => Ok(View {
                    mount: Some(mount),
                    engine: engine.clone(),
                    key,
                }),
                Err(e) => {
                    let _ = crate::pods::remove_snapshots(store, [key.as_str()]);
                    Err(e)
                }
            }
        })
        .await
        .map_err(Error::from_join)?
    }
}

/// A mounted read-only view of an image's layers; unmounted and removed on drop.
pub(super) struct View {
    mount: Option<RootfsMount>,
    engine: Engine,
    key: String,
}

impl View {
    pub(super) fn path(&self) -> &Path {
        self.mount
            .as_ref()
            .map_or(Path::new("/nonexistent"), |m| &m.path)
    }
}

impl Drop for View {
    fn drop(&mut self) {
        // Unmounted first: a mounted snapshot cannot be removed.
        drop(self.mount.take());
        let _ = crate::pods::remove_snapshots(self.engine.store(), [self.key.as_str()]);
    }
}

fn is_url(source: &str) -> bool {
    source.starts_with("http://") || source.starts_with("https://") || source.starts_with("git@")
}

/// `--chmod`: octal permission bits.
fn parse_mode(text: &str) -> Result<u32> {
    u32::from_str_radix(text, 8)
        .ok()
        .filter(|m| *m <= 0o7777)
        .ok_or_else(|| {
            BuildError::Unsupported(format!("--chmod={text} (only octal modes are supported)"))
                .into()
        })
}

/// The destination as an absolute path in the image (relative ones are under WORKDIR); the
/// trailing `/` that makes it a directory is kept.
fn absolute_dest(workdir: &str, dest: &str) -> String {
    if dest.starts_with('/') {
        dest.to_string()
    } else {
        let base = if workdir.is_empty() { "/" } else { workdir };
        let mut d = format!("{}/{dest}", base.trim_end_matches('/'));
        if dest == "." || dest.ends_with("/.") {
            d.push('/');
        }
        d
    }
}

/// The paths the sources name in `root` (wildcards expanded, sorted as Go's glob), and the
/// content hash that goes into the history text and the cache key: `file:<h>`, `dir:<h>`, or
/// `multi:<h>` over several, as dockerd names them. With `--exclude`, matches the patterns name
/// are left out, and so are the paths below a directory they name (relative to it); with
/// `--parents`, each path keeps its parents from the context root, or from a `/./` in the source
/// (BuildKit's pivot: `a/./b/c` keeps `b/c`).
fn resolve_sources(
    root: &Path,
    sources: &[String],
    inline: &[(String, String)],
    instruction: &'static str,
    selecting: &Selecting,
) -> Result<(Vec<Item>, String)> {
    let root_fd = std::fs::File::open(root).map_err(|source| Error::Io {
        action: "open",
        path: root.to_path_buf(),
        source,
    })?;
    let mut items = Vec::new();
    let mut hashes = Vec::new();
    let excluded = |p: &Path| {
        selecting
            .excludes
            .as_ref()
            .is_some_and(|e| e.matches(&p.to_string_lossy()))
    };
    let select = |p: &Path| {
        if excluded(p) {
            berth_image::context::Selection::Exclude
        } else {
            berth_image::context::Selection::Include
        }
    };
    let checksum_opts = berth_image::context::ChecksumOptions {
        select: selecting.excludes.as_ref().map(|_| &select as _),
        ..Default::default()
    };
    for source in sources {
        let rel = inside(source)?;
        let pivot = match source.split_once("/./") {
            Some((base, _)) if selecting.parents => inside(base)?,
            _ => PathBuf::new(),
        };
        let mut matches = if has_wildcard(source) {
            glob(root, &rel)?
        } else {
            vec![rel.clone()]
        };
        if selecting.excludes.is_some() {
            matches.retain(|m| !excluded(m));
            if matches.is_empty() {
                continue;
            }
        }
        if matches.is_empty() {
            return Err(BuildError::SourceMissing {
                instruction,
                path: source.clone(),
            }
            .into());
        }
        for rel in matches {
            let stat =
                berth_image::stat_in_root(root, &rel).map_err(|_| BuildError::SourceMissing {
                    instruction,
                    path: source.clone(),
                })?;
            let is_dir = stat.mode & libc::S_IFMT == libc::S_IFDIR;
            let digest = berth_image::context::checksum(
                std::os::fd::AsFd::as_fd(&root_fd),
                &rel,
                &checksum_opts,
            )
            .map_err(BuildError::Context)?;
            let keep = selecting
                .parents
                .then(|| rel.strip_prefix(&pivot).unwrap_or(&rel).to_path_buf());
            // Where a path lands is part of what a `--parents` copy makes.
            let placed = keep
                .as_ref()
                .map(|k| format!("{}=", k.display()))
                .unwrap_or_default();
            // A file's name lands in a directory destination: it is part of what the step
            // makes (a directory's own name is not, only what is in it).
            let hash = if is_dir {
                format!("dir:{}", digest.hex())
            } else {
                let name = rel.file_name().unwrap_or_default().to_string_lossy();
                format!("file:{}", named(&name, digest.hex().as_bytes()).hex())
            };
            hashes.push(format!("{placed}{hash}"));
            items.push(Item::Path { rel, is_dir, keep });
        }
    }
    for (name, content) in inline {
        hashes.push(format!("file:{}", named(name, content.as_bytes()).hex()));
        items.push(Item::Inline {
            name: name.clone(),
            content: content.clone(),
        });
    }
    let hash = match hashes.as_slice() {
        [one] if items.len() == 1 => one.clone(),
        _ => {
            let joined = hashes.join(",");
            let digest = Digest::sha256_from_bytes(&Sha256::digest(joined.as_bytes()).into());
            format!("multi:{}", digest.hex())
        }
    };
    Ok((items, hash))
}

/// A digest of a file's name and its content (or content digest).
fn named(name: &str, content: &[u8]) -> Digest {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update([0]);
    h.update(content);
    Digest::sha256_from_bytes(&h.finalize().into())
}

fn has_wildcard(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

/// The paths under `root` matching `pattern` (relative), component by component.
fn glob(root: &Path, pattern: &Path) -> Result<Vec<PathBuf>> {
    let mut found = vec![PathBuf::new()];
    for comp in pattern.components() {
        let comp = comp.as_os_str().to_string_lossy().into_owned();
        let mut next = Vec::new();
        for dir in &found {
            if !has_wildcard(&comp) {
                next.push(dir.join(&comp));
                continue;
            }
            let matcher = berth_dockerfile::ignore::IgnorePatterns::parse(&comp)
                .map_err(|e| BuildError::Unsupported(format!("source pattern {comp}: {e}")))?;
            let Ok(fd) = berth_image::open_dir_in_root(root, dir) else {
                continue;
            };
            let mut names: Vec<String> = std::fs::read_dir(format!(
                "/proc/self/fd/{}",
                std::os::fd::AsRawFd::as_raw_fd(&fd)
            ))
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| matcher.matches(n))
            .collect();
            names.sort();
            next.extend(names.into_iter().map(|n| dir.join(n)));
        }
        found = next;
    }
    Ok(found
        .into_iter()
        .filter(|p| berth_image::stat_in_root(root, p).is_ok())
        .collect())
}

/// Copies one item into `target` (the mounted snapshot) at `dest`, as Docker places it: a
/// directory's contents into `dest`; a file to `dest`, or into it when `dest` ends in `/`,
/// names an existing directory, or there are several sources; ADD unpacks a local archive.
/// With `--parents`, a path goes to its kept path under `dest`.
fn copy_item(root: &Path, target: &Path, item: &Item, placement: &Placement) -> Result<()> {
    let Placement {
        ref dest,
        several,
        add,
        chown,
        owner,
        mode,
        instruction,
        ref excludes,
    } = *placement;
    let dest = dest.as_str();
    let dest_is_dir = dest.ends_with('/')
        || several
        || berth_image::stat_in_root(target, Path::new(dest))
            .is_ok_and(|s| s.mode & libc::S_IFMT == libc::S_IFDIR);
    let dest_path = Path::new(dest.trim_end_matches('/'));
    let unpack = |reader: &mut (dyn std::io::Read + Send), name_root: &Path| -> Result<()> {
        let mut opts = berth_image::UnpackOptions::default();
        opts.whiteouts = berth_image::WhiteoutMode::Literal;
        opts.owner = owner;
        opts.mode = mode;
        let dir = berth_image::open_dir_in_root(target, name_root)?;
        berth_image::unpack_layer_at(reader, dir, &opts)?;
        Ok(())
    };
    match item {
        Item::Inline { name, content } => {
            let entry = if dest_is_dir {
                dest_path.join(name)
            } else {
                dest_path.to_path_buf()
            };
            let tar = single_file_tar(&entry, content.as_bytes())?;
            unpack(&mut tar.as_slice(), Path::new("/"))
        }
        Item::Path { rel, is_dir, keep } => {
            if add && !is_dir {
                let mut file = berth_image::open_file_in_root(root, rel)?;
                let archive = berth_image::context::is_archive(&mut file).map_err(|source| {
                    BuildError::Copy {
                        instruction,
                        path: rel.clone(),
                        source,
                    }
                })?;
                if archive {
                    // A local archive is unpacked into the destination directory, its
                    // owners kept unless `--chown` (dockerd's rule).
                    ensure_dir(target, dest_path)?;
                    let dir = berth_image::open_dir_in_root(target, dest_path)?;
                    let mut opts = berth_image::UnpackOptions::default();
                    opts.whiteouts = berth_image::WhiteoutMode::Literal;
                    opts.owner = chown;
                    opts.mode = mode;
                    berth_image::context::unpack_archive_at(file, dir, &opts)
                        .map_err(BuildError::Context)?;
                    return Ok(());
                }
            }
            let name = match keep {
                Some(keep) => dest_path.join(keep),
                None if *is_dir || !dest_is_dir => dest_path.to_path_buf(),
                None => dest_path.join(rel.file_name().unwrap_or_default()),
            };
            // A directory's contents are copied, not the directory: a destination that
            // exists keeps its own mode and owner, one made here is 0755 and the copy's owner.
            let landing = name.clone();
            let before = if *is_dir {
                dir_meta(target, &landing)
            } else {
                None
            };
            let name = name.strip_prefix("/").unwrap_or(&name).to_path_buf();
            let (reader, writer) = std::io::pipe().map_err(|source| Error::Io {
                action: "pipe",
                path: root.to_path_buf(),
                source,
            })?;
            let (src_root, src, entry) = (root.to_path_buf(), rel.clone(), name.clone());
            let excludes = excludes.clone();
            let writing = std::thread::spawn(move || -> Result<()> {
                let mut out = std::io::BufWriter::new(writer);
                let skip = |p: &Path| {
                    excludes
                        .as_ref()
                        .is_some_and(|e| e.matches(&p.to_string_lossy()))
                };
                berth_image::write_tar_of_path(
                    &src_root,
                    &src,
                    std::os::unix::ffi::OsStrExt::as_bytes(entry.as_os_str()),
                    &mut out,
                    Some(&skip),
                )?;
                out.flush().map_err(|source| Error::Io {
                    action: "copy",
                    path: src_root.join(&src),
                    source,
                })
            });
            let mut reader = reader;
            let unpacked = unpack(&mut reader, Path::new("/"));
            drop(reader);
            let written = writing.join().map_err(|_| {
                Error::from(BuildError::Copy {
                    instruction,
                    path: rel.clone(),
                    source: std::io::Error::other("copy thread panicked"),
                })
            })?;
            unpacked.and(written)?;
            if *is_dir {
                let (uid, gid) = owner.unwrap_or((0, 0));
                let meta = before.unwrap_or((mode.unwrap_or(0o755), uid, gid));
                set_dir_meta(target, &landing, meta)?;
            }
            Ok(())
        }
    }
}

/// Mode bits and owner of directory `path` in `root`, when there is one.
fn dir_meta(root: &Path, path: &Path) -> Option<(u32, u32, u32)> {
    let fd = berth_image::open_dir_in_root(root, path).ok()?;
    let st = nix::sys::stat::fstat(&fd).ok()?;
    Some((st.st_mode & 0o7777, st.st_uid, st.st_gid))
}

/// Sets what [`dir_meta`] reads, on the directory resolved inside `root`.
fn set_dir_meta(root: &Path, path: &Path, (mode, uid, gid): (u32, u32, u32)) -> Result<()> {
    let fd = berth_image::open_dir_in_root(root, path)?;
    let failed = |source: nix::Error| Error::Io {
        action: "set mode and owner of",
        path: path.to_path_buf(),
        source: source.into(),
    };
    nix::unistd::fchown(&fd, Some(uid.into()), Some(gid.into())).map_err(failed)?;
    nix::sys::stat::fchmod(&fd, nix::sys::stat::Mode::from_bits_truncate(mode)).map_err(failed)
}

/// `path` as a directory in `target`, parents made as needed (root-owned, 0755).
fn ensure_dir(target: &Path, path: &Path) -> Result<()> {
    let rel = path.strip_prefix("/").unwrap_or(path);
    if rel.as_os_str().is_empty() {
        return Ok(());
    }
    let tar = {
        let mut b = tar::Builder::new(Vec::new());
        let mut h = header(tar::EntryType::Directory, 0o755, 0);
        b.append_data(&mut h, rel, std::io::empty())
            .and_then(|()| b.into_inner())
            .map_err(|source| Error::Io {
                action: "make directory",
                path: path.to_path_buf(),
                source,
            })?
    };
    let mut opts = berth_image::UnpackOptions::default();
    opts.whiteouts = berth_image::WhiteoutMode::Literal;
    let dir = berth_image::open_dir_in_root(target, Path::new("/"))?;
    berth_image::unpack_layer_at(tar.as_slice(), dir, &opts)?;
    Ok(())
}

/// A root-owned tar header made now.
fn header(kind: tar::EntryType, mode: u32, size: u64) -> tar::Header {
    let mut h = tar::Header::new_ustar();
    h.set_entry_type(kind);
    h.set_mode(mode);
    h.set_size(size);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(chrono::Utc::now().timestamp().max(0).unsigned_abs());
    h
}

/// A tar holding one regular file `path` (0644) with `content`: a heredoc's file.
fn single_file_tar(path: &Path, content: &[u8]) -> Result<Vec<u8>> {
    let rel = path.strip_prefix("/").unwrap_or(path);
    let mut b = tar::Builder::new(Vec::new());
    let mut h = header(tar::EntryType::Regular, 0o644, content.len() as u64);
    b.append_data(&mut h, rel, content)
        .and_then(|()| b.into_inner())
        .map_err(|source| Error::Io {
            action: "write heredoc file",
            path: path.to_path_buf(),
            source,
        })
}

/// `--chown=user[:group]`: numbers as they are, names looked up in the image's
/// `/etc/passwd` and `/etc/group` (resolved inside it). A user alone takes its primary group.
fn resolve_owner(root: &Path, spec: &str) -> Result<(u32, u32)> {
    let (user, group) = match spec.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (spec, None),
    };
    let read = |file: &str| -> String {
        berth_image::open_file_in_root(root, Path::new(file))
            .ok()
            .and_then(|mut f| {
                let mut s = String::new();
                std::io::Read::read_to_string(&mut f, &mut s)
                    .ok()
                    .map(|_| s)
            })
            .unwrap_or_default()
    };
    let unknown = |what: &str, name: &str| -> Error {
        BuildError::Unsupported(format!(
            "--chown={spec}: no {what} {name:?} in the image's /etc/{}",
            if what == "user" { "passwd" } else { "group" }
        ))
        .into()
    };
    let passwd = read("/etc/passwd");
    let (uid, primary) = match user.parse::<u32>() {
        Ok(uid) => (uid, uid),
        Err(_) => passwd
            .lines()
            .map(|l| l.split(':').collect::<Vec<_>>())
            .find(|f| f.first() == Some(&user))
            .and_then(|f| Some((f.get(2)?.parse().ok()?, f.get(3)?.parse().ok()?)))
            .ok_or_else(|| unknown("user", user))?,
    };
    let gid = match group {
        None => primary,
        Some(g) => match g.parse::<u32>() {
            Ok(gid) => gid,
            Err(_) => read("/etc/group")
                .lines()
                .map(|l| l.split(':').collect::<Vec<_>>())
                .find(|f| f.first() == Some(&g))
                .and_then(|f| f.get(2)?.parse().ok())
                .ok_or_else(|| unknown("group", g))?,
        },
    };
    Ok((uid, gid))
}
