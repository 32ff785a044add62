//! Helpers of the image builder's end-to-end tests: contexts on disk, the docker CLI's classic
//! builder, and raw `POST /build` requests (for what the CLI cannot send).

use std::path::Path;
use std::process::Command;

use crate::{run, Daemon, Out};

/// Writes `files` (path, content) under a new directory and returns it.
pub fn context(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    for (path, content) in files {
        let p = dir.path().join(path);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).unwrap_or_else(|e| panic!("{parent:?}: {e}"));
        }
        std::fs::write(&p, content).unwrap_or_else(|e| panic!("{p:?}: {e}"));
    }
    dir
}

impl Daemon {
    /// `docker build args... <dir>` with the classic builder (`DOCKER_BUILDKIT=0`).
    pub fn docker_build(&self, dir: &Path, args: &[&str]) -> Out {
        let mut all = vec!["build"];
        all.extend_from_slice(args);
        let dir = dir.display().to_string();
        all.push(&dir);
        let mut cmd = self.docker_cmd(&all);
        cmd.env("DOCKER_BUILDKIT", "0");
        run(cmd, None)
    }

    /// `POST /build?<query>` with the tar of `dir` as the body, by curl on the daemon's socket:
    /// the response's JSON lines.
    pub fn post_build(&self, dir: &Path, query: &str) -> Out {
        let tar = tempfile::NamedTempFile::new().unwrap_or_else(|e| panic!("tempfile: {e}"));
        let mut cmd = Command::new("tar");
        cmd.arg("-C").arg(dir).arg("-cf").arg(tar.path()).arg(".");
        run(cmd, None).ok();
        let mut cmd = Command::new("curl");
        cmd.args(["-sS", "--unix-socket"])
            .arg(&self.socket)
            .args([
                "-X",
                "POST",
                "-H",
                "Content-Type: application/x-tar",
                "--data-binary",
            ])
            .arg(format!("@{}", tar.path().display()))
            .arg(format!("http://localhost/v1.44/build?{query}"));
        run(cmd, None)
    }
}
