//! The shim's state directory. Until startup succeeds every file the shim creates there is
//! tracked and removed on drop, so a failed create leaves nothing behind (nor the directory, if
//! the shim made it).

use std::fs;
use std::io;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use crate::error::{io_err, ShimError};

pub struct StateDir {
    dir: PathBuf,
    created_dir: bool,
    /// Files to remove if startup fails; emptied by [`StateDir::keep`].
    tracked: Vec<PathBuf>,
}

impl StateDir {
    /// Uses `dir`, creating it (mode 0700; its parent must exist) when missing.
    pub fn open(dir: &Path) -> Result<Self, ShimError> {
        let created_dir = match fs::DirBuilder::new().mode(0o700).create(dir) {
            Ok(()) => true,
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && dir.is_dir() => false,
            Err(e) => return Err(io_err("create state dir", dir)(e)),
        };
        Ok(Self {
            dir: dir.to_path_buf(),
            created_dir,
            tracked: Vec::new(),
        })
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// `path(name)`, removed if startup fails. A stale file from an earlier shim is removed now.
    pub fn track(&mut self, name: &str) -> Result<PathBuf, ShimError> {
        let path = self.path(name);
        match fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_err("remove stale", &path)(e)),
        }
        self.tracked.push(path.clone());
        Ok(path)
    }

    /// Removes `path` on failure too, for files outside the directory (a new log file).
    pub fn track_outside(&mut self, path: &Path) {
        self.tracked.push(path.to_path_buf());
    }

    /// Writes `name` through a temporary file and rename, so readers never see half of it.
    pub fn write_atomic(dir: &Path, name: &str, contents: &str) -> Result<(), ShimError> {
        let tmp = dir.join(format!(".{name}.tmp"));
        let path = dir.join(name);
        fs::write(&tmp, contents).map_err(io_err("write", &tmp))?;
        fs::rename(&tmp, &path).map_err(io_err("rename into", &path))
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Startup succeeded: from now on the files belong to the running shim.
    pub fn keep(mut self) {
        self.tracked.clear();
        self.created_dir = false;
    }
}

impl Drop for StateDir {
    fn drop(&mut self) {
        for path in &self.tracked {
            let _ = fs::remove_file(path);
        }
        if self.created_dir {
            let _ = fs::remove_dir(&self.dir);
        }
    }
}
