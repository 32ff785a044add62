//! berthd driven by the Docker SDK for Python (PyPI `docker`, pinned in sdk/requirements.txt):
//! one pytest module per area, each against its own private berthd, every test a behaviour
//! where the SDK needs dockerd's exact answer (issue 12).
#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};

use berth_testkit::python;
use common::Daemon;

fn sdk_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sdk")
}

/// Runs one pytest module against a fresh berthd; skips (printing why) without root, the docker
/// CLI (used for the image import) or a Python with the SDK.
fn pytest(module: &str) {
    if common::skip() {
        return;
    }
    let python = match python::venv(&sdk_dir().join("requirements.txt")) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("skipping: no Python SDK: {e}");
            return;
        }
    };
    let d = Daemon::start();
    let out = python::pytest(&python, &d, &sdk_dir().join(module));
    assert_eq!(
        out.code,
        0,
        "{}\n--- berthd log ---\n{}",
        out.all(),
        d.log()
    );
    assert!(d.leaked_mounts().is_empty(), "{:?}", d.leaked_mounts());
}

#[test]
fn containers() {
    pytest("test_containers.py");
}

#[test]
fn exec_and_attach() {
    pytest("test_exec_attach.py");
}

#[test]
fn networks() {
    pytest("test_networks.py");
}

#[test]
fn images_volumes_archive() {
    pytest("test_images_volumes.py");
}

#[test]
fn system() {
    pytest("test_system.py");
}
