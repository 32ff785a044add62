//! Python clients of the Docker API (the `docker` SDK, docker-compose 1.29 uses it too) in a
//! virtualenv made from a pinned requirements file, cached under /var/cache keyed by its text.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use crate::{run, run_within, Daemon, Out};

const CACHE: &str = "/var/cache/berth-test";

/// The venv for `requirements` (made on first use, then reused by every test and run), or why
/// there is none: no python3, or the packages cannot be installed (no registry).
pub fn venv(requirements: &Path) -> Result<PathBuf, String> {
    // One pip at a time: tests of one binary ask in parallel.
    static LOCK: OnceLock<Mutex<()>> = OnceLock::new();
    let _guard = LOCK.get_or_init(Mutex::default).lock();
    let text = std::fs::read_to_string(requirements)
        .map_err(|e| format!("{}: {e}", requirements.display()))?;
    let mut h = DefaultHasher::new();
    text.hash(&mut h);
    let dir = PathBuf::from(CACHE).join(format!("python-{:016x}", h.finish()));
    let python = dir.join("bin/python3");
    if dir.join(".complete").exists() {
        return Ok(python);
    }
    let _ = std::fs::remove_dir_all(&dir);
    let made = run(
        {
            let mut c = Command::new("python3");
            c.args(["-m", "venv"]).arg(&dir);
            c
        },
        None,
    );
    if made.code != 0 {
        return Err(format!("python3 -m venv: {}", made.all()));
    }
    let pip = run_within(
        {
            let mut c = Command::new(dir.join("bin/pip"));
            c.args(["install", "--quiet", "--disable-pip-version-check", "-r"])
                .arg(requirements);
            c
        },
        None,
        Duration::from_secs(300),
    );
    if pip.code != 0 {
        let _ = std::fs::remove_dir_all(&dir);
        return Err(format!(
            "pip install -r {}: {}",
            requirements.display(),
            pip.all()
        ));
    }
    std::fs::write(dir.join(".complete"), "").map_err(|e| e.to_string())?;
    Ok(python)
}

/// Runs pytest on `file` against `daemon` (DOCKER_HOST, the busybox image as BERTH_TEST_IMAGE,
/// the daemon's /20 of user-network subnets as BERTH_TEST_POOL), verbose, without writing a
/// cache into the source tree.
pub fn pytest(python: &Path, daemon: &Daemon, file: &Path) -> Out {
    let image = daemon.busybox();
    let mut c = Command::new(python);
    c.args(["-m", "pytest", "-v", "-p", "no:cacheprovider", "--tb=short"])
        .arg(file)
        .env("DOCKER_HOST", daemon.host())
        .env("BERTH_TEST_IMAGE", image)
        .env("BERTH_TEST_ROOT", daemon.root.path())
        .env(
            "BERTH_TEST_POOL",
            daemon.net.subnet(0).replace("/24", "/20"),
        )
        .env("PYTHONDONTWRITEBYTECODE", "1");
    run_within(c, None, Duration::from_secs(600))
}
