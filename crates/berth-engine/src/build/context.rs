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

/// An unpacked context, removed on drop.
pub(super) struct Context {
    pub(super) dir: BuildContext,
}

impl Engine {
    /// Unpacks `body` into a new directory under `<data-root>/tmp/`.
    pub(super) async fn unpack_context(&self, body: impl Read + Send + 'static) -> Result<Context> {
        let tmp = self.config().data_root.join("tmp");
        let dest = tmp.join(format!("build-{}", crate::random_hex(12)));
        let dir = tokio::task::spawn_blocking(move || {
            std::fs::create_dir_all(&tmp).map_err(|source| Error::Io {
                action: "create",
                path: tmp.clone(),
                source,
            })?;
            let limits = Limits {
                max_bytes: MAX_CONTEXT_BYTES,
                max_entries: MAX_CONTEXT_ENTRIES,
            };
            berth_image::context::extract(body, &dest, limits)
                .map_err(|e| Error::from(BuildError::Context(e)))
        })
        .await
        .map_err(Error::from_join)??;
        Ok(Context { dir })
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
            match read(&rel) {
                Ok(text) => Ok((rel, text)),
                Err(e) if default && e.kind() == berth_types::ErrorKind::NotFound => {
                    let lower = PathBuf::from(DEFAULT_DOCKERFILE.to_lowercase());
                    read(&lower).map(|text| (lower, text))
                }
                Err(e) => Err(e),
            }
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
