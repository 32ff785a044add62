//! The build context on disk: the request body unpacked (berth-image confines every entry to
//! the directory), under `<data-root>/tmp/`, which a start of berthd clears after a crash, and
//! removed when the build ends. The Dockerfile is read from it the way dockerd finds it.

use std::io::Read;
use std::path::{Component, Path, PathBuf};

use berth_dockerfile::Dockerfile;
use berth_image::context::BuildContext;
use berth_image::Limits;

use super::BuildError;
use crate::{Engine, Error, Result};

/// Most a context may unpack to, and how many entries it may hold: far beyond real projects,
/// short of a client filling the disk or the inode table.
const MAX_CONTEXT_BYTES: u64 = 64 << 30;
const MAX_CONTEXT_ENTRIES: u64 = 4_000_000;

/// The Dockerfile's name when the request names none; dockerd falls back to the lower-case
/// one when only that exists.
const DEFAULT_DOCKERFILE: &str = "Dockerfile";

/// Where the client puts the build's secrets in the context (docs/build.md).
const SECRETS_DIR: &str = ".berth-build-secrets";
/// The moved directory's name inside the private one.
const SECRETS_SUBDIR: &str = "s";

/// An unpacked context, removed on drop, and the secrets taken out of it.
pub(super) struct Context {
    pub(super) dir: BuildContext,
    pub(super) secrets: Secrets,
}

/// The build's secrets: a private (0700) directory outside the context, one file per id the
/// request declared, removed on drop.
pub(super) struct Secrets {
    dir: Option<tempfile::TempDir>,
    ids: Vec<String>,
}

impl Secrets {
    /// The file holding secret `id`, if the client sent it.
    pub(super) fn file(&self, id: &str) -> Option<PathBuf> {
        let dir = self.dir.as_ref()?;
        if !self.ids.iter().any(|i| i == id) || !valid_secret_id(id) {
            return None;
        }
        // Resolved inside the directory: an entry of the tar may be a symlink.
        let root = dir.path().join(SECRETS_SUBDIR);
        let path = berth_image::real_path_in_root(&root, Path::new(id)).ok()?;
        std::fs::symlink_metadata(&path)
            .is_ok_and(|m| m.is_file())
            .then_some(path)
    }
}

/// A new directory under `tmp` only root may enter (secrets go there), removed on drop.
pub(super) fn private_dir(tmp: &Path, prefix: &str) -> Result<tempfile::TempDir> {
    let io = |source| Error::Io {
        action: "create",
        path: tmp.to_path_buf(),
        source,
    };
    let dir = tempfile::Builder::new()
        .prefix(prefix)
        .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o700))
        .tempdir_in(tmp)
        .map_err(io)?;
    Ok(dir)
}

/// A secret id names one file of the secrets directory.
fn valid_secret_id(id: &str) -> bool {
    !id.is_empty() && id != "." && id != ".." && !id.contains('/')
}

/// Moves the secrets directory out of the unpacked context `root` into a new private directory
/// under `tmp`, before anything reads the context (COPY must never see it). Anything else by
/// that name is removed.
fn take_secrets(root: &Path, tmp: &Path, ids: Vec<String>) -> Result<Secrets> {
    let found = root.join(SECRETS_DIR);
    let io = |action: &'static str, path: &Path| {
        let path = path.to_path_buf();
        move |source| Error::Io {
            action,
            path,
            source,
        }
    };
    let meta = match std::fs::symlink_metadata(&found) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(Secrets { dir: None, ids })
        }
        Err(e) => return Err(io("stat", &found)(e)),
    };
    if !meta.is_dir() {
        std::fs::remove_file(&found).map_err(io("remove", &found))?;
        return Ok(Secrets { dir: None, ids });
    }
    let dir = private_dir(tmp, "build-secrets-")?;
    // Below the 0700 directory, whatever mode the tar gave the moved one.
    let dest = dir.path().join(SECRETS_SUBDIR);
    std::fs::rename(&found, &dest).map_err(io("move", &found))?;
    Ok(Secrets {
        dir: Some(dir),
        ids,
    })
}

impl Engine {
    /// Unpacks `body` into a new directory under `<data-root>/tmp/`.
    /// The secrets `secrets` declares are moved out of it ([`Secrets`]).
    pub(super) async fn unpack_context(
        &self,
        body: impl Read + Send + 'static,
        secrets: Vec<String>,
    ) -> Result<Context> {
        let tmp = self.config().data_root.join("tmp");
        let dest = tmp.join(format!("build-{}", crate::random_hex(12)));
        let (dir, secrets) = tokio::task::spawn_blocking(move || {
            std::fs::create_dir_all(&tmp).map_err(|source| Error::Io {
                action: "create",
                path: tmp.clone(),
                source,
            })?;
            let limits = Limits {
                max_bytes: MAX_CONTEXT_BYTES,
                max_entries: MAX_CONTEXT_ENTRIES,
            };
            let dir = berth_image::context::extract(body, &dest, limits)
                .map_err(|e| Error::from(BuildError::Context(e)))?;
            let secrets = take_secrets(dir.path(), &tmp, secrets)?;
            Ok::<_, Error>((dir, secrets))
        })
        .await
        .map_err(Error::from_join)??;
        Ok(Context { dir, secrets })
    }
}

impl Context {
    /// Reads and parses the Dockerfile `name` (empty: the default) from the context.
    pub(super) async fn dockerfile(&self, name: &str) -> Result<Dockerfile> {
        let asked = if name.is_empty() {
            DEFAULT_DOCKERFILE
        } else {
            name
        };
        let rel = inside(asked)?;
        let root = self.dir.path().to_path_buf();
        let default = name.is_empty();
        let (shown, text) = tokio::task::spawn_blocking(move || {
            let read = |rel: &Path| -> Result<Vec<u8>> {
                let mut file = berth_image::open_file_in_root(&root, rel)?;
                let mut text = Vec::new();
                std::io::Read::read_to_end(&mut file, &mut text).map_err(|source| Error::Io {
                    action: "read",
                    path: root.join(rel),
                    source,
                })?;
                Ok(text)
            };
            let found = match read(&rel) {
                Ok(text) => Ok((rel, text)),
                Err(e) if default && e.kind() == berth_types::ErrorKind::NotFound => {
                    let lower = PathBuf::from(DEFAULT_DOCKERFILE.to_lowercase());
                    read(&lower).map(|text| (lower, text))
                }
                Err(e) => Err(e),
            }?;
            remove_ignored_build_files(&root, &found.0, &read);
            Ok::<_, Error>(found)
        })
        .await
        .map_err(Error::from_join)?
        .map_err(|_| BuildError::NoDockerfile(asked.to_string()))?;
        let shown = shown.to_string_lossy().into_owned();
        if text.is_empty() {
            return Err(BuildError::EmptyDockerfile(shown).into());
        }
        let text = String::from_utf8_lossy(&text);
        Dockerfile::parse(&shown, &text).map_err(|e| BuildError::Dockerfile(e).into())
    }
}

/// dockerd's `removeDockerfile`: the Dockerfile and `.dockerignore` leave the context when
/// `.dockerignore` names them (a client sends both whatever the patterns say; a Dockerfile
/// from stdin comes as `.dockerfile.<random>` named there), so `COPY .` does not copy them.
/// Other patterns are the client's to apply. Best effort: an unreadable file stays.
fn remove_ignored_build_files(
    root: &Path,
    dockerfile: &Path,
    read: &dyn Fn(&Path) -> Result<Vec<u8>>,
) {
    let ignore = Path::new(berth_dockerfile::ignore::DOCKERIGNORE);
    let Ok(text) = read(ignore) else {
        return;
    };
    let Ok(patterns) =
        berth_dockerfile::ignore::IgnorePatterns::parse(&String::from_utf8_lossy(&text))
    else {
        return;
    };
    for path in [dockerfile, ignore] {
        if patterns.matches(&path.to_string_lossy()) {
            if let Err(e) = berth_image::remove_no_follow(root, path, berth_image::Removal::All) {
                tracing::warn!(path = %path.display(), error = %e, "remove an ignored build file");
            }
        }
    }
}

/// `path` relative to the context root, refused when it leads outside (`../x`); a leading `/`
/// or `./` means the context root, as dockerd reads `dockerfile=/Custom.Dockerfile`.
pub(super) fn inside(path: &str) -> Result<PathBuf> {
    let mut rel = PathBuf::new();
    for c in Path::new(path).components() {
        match c {
            Component::Normal(n) => rel.push(n),
            Component::RootDir | Component::CurDir => {}
            Component::ParentDir if rel.pop() => {}
            Component::ParentDir | Component::Prefix(_) => {
                return Err(BuildError::OutsideContext(path.to_string()).into())
            }
        }
    }
    Ok(rel)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
