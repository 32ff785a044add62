//! `RUN --mount=type=cache`: persistent directories kept by berthd under
//! `<data-root>/build/cache-mounts/<sha256 of the id>`, bind-mounted into RUN containers, never
//! part of a layer. They outlive builds and restarts of berthd, until
//! [`Engine::prune_build_cache_mounts`]. Sharing (BuildKit's): `shared` lets concurrent RUNs use
//! one directory, `locked` makes them take turns (one lock per id), `private` gives a RUN a fresh
//! directory, discarded after it, while another uses the cache.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use berth_dockerfile::instructions::Sharing;
use berth_types::Digest;
use sha2::{Digest as _, Sha256};

use crate::containers::io_err as io;
use crate::{Engine, Error, Result};

/// The cache mounts in use, by directory name.
#[derive(Debug, Default)]
pub(crate) struct CacheMounts {
    in_use: Mutex<HashMap<String, Users>>,
}

#[derive(Debug, Default)]
struct Users {
    count: usize,
    /// Taken for a whole RUN by `sharing=locked` users.
    turn: Arc<tokio::sync::Mutex<()>>,
}

/// What a prune of the cache mounts freed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheMountsPruned {
    pub removed: usize,
    pub bytes: u64,
}

/// A cache directory held by one RUN; released on drop.
pub(super) struct CacheUse {
    pub(super) dir: PathBuf,
    engine: Engine,
    name: Option<String>,
    _turn: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl Drop for CacheUse {
    fn drop(&mut self) {
        let Some(name) = &self.name else { return };
        let mut in_use = self
            .engine
            .inner_cache_mounts()
            .in_use
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(users) = in_use.get_mut(name) {
            users.count -= 1;
            if users.count == 0 {
                in_use.remove(name);
            }
        }
    }
}

/// The directory name of cache `id`: ids are free text (often a path).
pub(super) fn dir_name(id: &str) -> String {
    Digest::sha256_from_bytes(&Sha256::digest(id.as_bytes()).into())
        .hex()
        .to_string()
}

impl Engine {
    fn cache_mounts_root(&self) -> PathBuf {
        self.config().data_root.join("build/cache-mounts")
    }

    /// Takes cache `id` for one RUN as `sharing` says; `fresh` is where a private use goes when
    /// the cache is busy. The second value says whether the directory was just made (to seed).
    pub(super) async fn use_cache_mount(
        &self,
        id: &str,
        sharing: Sharing,
        fresh: &Path,
    ) -> Result<(CacheUse, bool)> {
        let name = dir_name(id);
        let turn = {
            let mut in_use = self
                .inner_cache_mounts()
                .in_use
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let users = in_use.entry(name.clone()).or_default();
            if sharing == Sharing::Private && users.count > 0 {
                drop(in_use);
                create_dir(fresh)?;
                let taken = CacheUse {
                    dir: fresh.to_path_buf(),
                    engine: self.clone(),
                    name: None,
                    _turn: None,
                };
                return Ok((taken, true));
            }
            users.count += 1;
            users.turn.clone()
        };
        let mut taken = CacheUse {
            dir: self.cache_mounts_root().join(&name),
            engine: self.clone(),
            name: Some(name),
            _turn: None,
        };
        if sharing == Sharing::Locked {
            taken._turn = Some(turn.lock_owned().await);
        }
        let dir = taken.dir.clone();
        let created = tokio::task::spawn_blocking(move || match std::fs::metadata(&dir) {
            Ok(_) => Ok(false),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => create_dir(&dir).map(|()| true),
            Err(e) => Err(io("stat", &dir)(e)),
        })
        .await
        .map_err(Error::from_join)??;
        Ok((taken, created))
    }

    /// Removes every cache mount no RUN uses now (`builder prune`), and says how much that
    /// freed. A RUN starting meanwhile gets a new, empty directory.
    pub async fn prune_build_cache_mounts(&self) -> Result<CacheMountsPruned> {
        let root = self.cache_mounts_root();
        let engine = self.clone();
        tokio::task::spawn_blocking(move || {
            let entries = match std::fs::read_dir(&root) {
                Ok(e) => e,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    return Ok(CacheMountsPruned::default())
                }
                Err(e) => return Err(io("read", &root)(e)),
            };
            let mut pruned = CacheMountsPruned::default();
            for entry in entries {
                let entry = entry.map_err(io("read", &root))?;
                let name = entry.file_name().to_string_lossy().into_owned();
                // A prune that stopped half-way left these.
                let leftover = name.starts_with(".removing-");
                let doomed = root.join(if leftover {
                    name.clone()
                } else {
                    format!(".removing-{name}")
                });
                if !leftover {
                    // Renamed under the lock: no RUN takes it from now on.
                    let in_use = engine
                        .inner_cache_mounts()
                        .in_use
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner);
                    if in_use.contains_key(&name) {
                        continue;
                    }
                    std::fs::rename(entry.path(), &doomed).map_err(io("rename", &entry.path()))?;
                }
                pruned.bytes += tree_size(&doomed);
                std::fs::remove_dir_all(&doomed).map_err(io("remove", &doomed))?;
                if !leftover {
                    pruned.removed += 1;
                }
            }
            Ok(pruned)
        })
        .await
        .map_err(Error::from_join)?
    }
}

fn create_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(io("create", dir))
}

/// Bytes of the files under `dir` (symlinks not followed), as far as it can be read.
fn tree_size(dir: &Path) -> u64 {
    let mut total = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            match entry.metadata() {
                Ok(m) if m.is_dir() => stack.push(entry.path()),
                Ok(m) => total += m.len(),
                Err(_) => {}
            }
        }
    }
    total
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::dir_name;

    #[test]
    fn ids_name_distinct_directories_of_hex() {
        let a = dir_name("/root/.cache");
        assert_eq!(a.len(), 64);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, dir_name("/root/.cache/"));
        assert_eq!(a, dir_name("/root/.cache"));
    }
}
