//! File access shared by the v1 and v2 backends. Every helper attaches the path (and for writes the
//! controller) to its error, so callers never need to add context themselves.

use std::fs::{self, File, OpenOptions};
use std::io::{self, ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::thread::sleep;
use std::time::Duration;

use crate::error::{Error, Result};

/// One cgroup directory seen through one controller, so every error can name both.
#[derive(Clone, Copy)]
pub(crate) struct Ctl<'a> {
    pub dir: &'a Path,
    pub controller: &'static str,
}

impl<'a> Ctl<'a> {
    pub fn new(dir: &'a Path, controller: &'static str) -> Self {
        Self { dir, controller }
    }

    pub fn path(&self, file: &str) -> PathBuf {
        self.dir.join(file)
    }

    /// Opens `file` for writing. Never creates it: cgroupfs refuses new files anyway, and a
    /// missing file means the controller or feature is absent, which callers report or ignore.
    pub fn writer(&self, file: &str) -> Result<Writer> {
        let path = self.path(file);
        match OpenOptions::new().write(true).truncate(true).open(&path) {
            Ok(file) => Ok(Writer {
                file,
                path,
                controller: self.controller,
            }),
            Err(e) if e.kind() == ErrorKind::NotFound => Err(Error::FileMissing {
                controller: self.controller,
                path,
            }),
            Err(source) => Err(Error::Write {
                controller: self.controller,
                path,
                value: String::new(),
                source,
            }),
        }
    }

    pub fn write(&self, file: &str, value: &str) -> Result<()> {
        self.writer(file)?.write(value)
    }

    /// Writes each value with its own write(2) on one open file: cgroupfs parses every write
    /// separately, so this sets several lines (devices, io.max) for the cost of one open.
    pub fn write_each<S: AsRef<str>>(
        &self,
        file: &str,
        values: impl IntoIterator<Item = S>,
    ) -> Result<()> {
        let mut w = self.writer(file)?;
        values.into_iter().try_for_each(|v| w.write(v.as_ref()))
    }

    /// Like [`Ctl::write`], but a missing file is not an error (optional kernel features).
    pub fn write_if_exists(&self, file: &str, value: &str) -> Result<()> {
        match self.write(file, value) {
            Err(Error::FileMissing { .. }) => Ok(()),
            other => other,
        }
    }

    pub fn read(&self, file: &str) -> Result<String> {
        read(&self.path(file))
    }

    pub fn read_u64(&self, file: &str) -> Result<u64> {
        let path = self.path(file);
        parse_u64(&path, &read(&path)?)
    }

    pub fn read_u64_opt(&self, file: &str) -> Result<Option<u64>> {
        let path = self.path(file);
        read_opt(&path)?.map(|s| parse_u64(&path, &s)).transpose()
    }

    /// Reads a flat keyed file ("key value" per line, e.g. memory.stat) into pairs.
    pub fn read_keyed_opt(&self, file: &str) -> Result<Option<Vec<(String, u64)>>> {
        let path = self.path(file);
        let Some(content) = read_opt(&path)? else {
            return Ok(None);
        };
        content
            .lines()
            .filter(|l| !l.is_empty())
            .map(|line| {
                let (k, v) = line
                    .split_once(' ')
                    .ok_or_else(|| parse_error(&path, line))?;
                Ok((k.to_owned(), parse_u64(&path, v)?))
            })
            .collect::<Result<Vec<_>>>()
            .map(Some)
    }

    pub fn exists(&self, file: &str) -> bool {
        self.path(file).exists()
    }
}

/// An open cgroup file; each [`Writer::write`] is one write(2), parsed by the kernel on its own.
pub(crate) struct Writer {
    file: File,
    path: PathBuf,
    controller: &'static str,
}

impl Writer {
    pub fn write(&mut self, value: &str) -> Result<()> {
        self.file
            .write_all(value.as_bytes())
            .map_err(|source| Error::Write {
                controller: self.controller,
                path: self.path.clone(),
                value: value.to_owned(),
                source,
            })
    }
}

pub(crate) fn read(path: &Path) -> Result<String> {
    fs::read_to_string(path).map_err(|source| Error::Read {
        path: path.to_owned(),
        source,
    })
}

pub(crate) fn read_opt(path: &Path) -> Result<Option<String>> {
    match fs::read_to_string(path) {
        Ok(s) => Ok(Some(s)),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(source) => Err(Error::Read {
            path: path.to_owned(),
            source,
        }),
    }
}

/// Parses a cgroup number; "max" (v2's "unlimited") becomes `u64::MAX`.
pub(crate) fn parse_u64(path: &Path, s: &str) -> Result<u64> {
    match s.trim() {
        "max" => Ok(u64::MAX),
        t => t.parse().map_err(|_| parse_error(path, s)),
    }
}

pub(crate) fn parse_error(path: &Path, content: &str) -> Error {
    Error::Parse {
        path: path.to_owned(),
        content: content.to_owned(),
    }
}

/// Value of `key` in a flat keyed file's content ("key value" lines).
pub(crate) fn keyed_value(path: &Path, content: &str, key: &str) -> Result<Option<u64>> {
    content
        .lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(' '))
        .map(|v| parse_u64(path, v))
        .transpose()
}

/// Creates one directory level, reporting whether it was new.
pub(crate) fn mkdir(path: &Path) -> Result<bool> {
    match fs::create_dir(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == ErrorKind::AlreadyExists => Ok(false),
        Err(source) => Err(Error::Create {
            path: path.to_owned(),
            source,
        }),
    }
}

/// Removes a cgroup directory and any child cgroups the container created. A missing directory
/// is success, so removal is idempotent.
pub(crate) fn remove_cgroup(path: &Path) -> Result<()> {
    let mut delay = Duration::from_millis(1);
    loop {
        // rmdir first: it is the only syscall needed in the common case of no child cgroups.
        let err = match fs::remove_dir(path) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
            Err(e) => e,
        };
        if !is_busy(&err) || delay > Duration::from_millis(256) {
            return Err(Error::Remove {
                path: path.to_owned(),
                source: err,
            });
        }
        // Without child cgroups to remove, the directory is busy with tasks that are still
        // exiting; they leave shortly after being reaped.
        if !remove_children(path)? {
            sleep(delay);
        }
        delay *= 2;
    }
}

/// cgroupfs reports child cgroups and live tasks as EBUSY; ENOTEMPTY appears only on fake trees.
fn is_busy(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::EBUSY) | Some(libc::ENOTEMPTY))
}

/// Removes child cgroups, reporting whether there were any.
fn remove_children(path: &Path) -> Result<bool> {
    let children = sub_cgroups(path)?;
    for child in &children {
        remove_cgroup(child)?;
    }
    Ok(!children.is_empty())
}

/// Child cgroup directories of `path` (empty if `path` vanished meanwhile).
pub(crate) fn sub_cgroups(path: &Path) -> Result<Vec<PathBuf>> {
    let entries = match fs::read_dir(path) {
        Ok(e) => e,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(Error::Read {
                path: path.to_owned(),
                source,
            })
        }
    };
    let mut dirs = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| Error::Read {
            path: path.to_owned(),
            source,
        })?;
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            dirs.push(entry.path());
        }
    }
    Ok(dirs)
}

/// Every pid in `dir`'s cgroup.procs and in those of its descendants.
pub(crate) fn pids_recursive(dir: &Path, out: &mut Vec<i32>) -> Result<()> {
    let procs = dir.join("cgroup.procs");
    let Some(content) = read_opt(&procs)? else {
        return Ok(());
    };
    for line in content.lines().filter(|l| !l.is_empty()) {
        out.push(line.trim().parse().map_err(|_| parse_error(&procs, line))?);
    }
    for child in sub_cgroups(dir)? {
        pids_recursive(&child, out)?;
    }
    Ok(())
}

/// Polls `done` with growing sleeps until it returns true or about two seconds have passed.
pub(crate) fn poll_until(mut done: impl FnMut() -> Result<bool>) -> Result<bool> {
    let mut delay = Duration::from_micros(100);
    let mut waited = Duration::ZERO;
    while waited < Duration::from_secs(2) {
        if done()? {
            return Ok(true);
        }
        sleep(delay);
        waited += delay;
        delay = (delay * 2).min(Duration::from_millis(50));
    }
    done()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
