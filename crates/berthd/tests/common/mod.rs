//! The shared end-to-end harness (crates/berth-testkit), driven by the real `docker` CLI.
#![allow(dead_code, unused_imports)]

pub mod dockerd;
pub mod registry;

pub use berth_testkit::{busybox_tar, free_port, run, unique, Client, Daemon, Out};

/// Skips (returns true) unless root and the docker CLI are available.
pub fn skip() -> bool {
    berth_testkit::skip_unless(Client::Docker)
}

/// bollard on a daemon's socket, at bollard's own API version.
pub fn bollard_client(d: &Daemon) -> bollard::Docker {
    bollard::Docker::connect_with_unix(
        &d.socket.display().to_string(),
        60,
        bollard::API_DEFAULT_VERSION,
    )
    .unwrap_or_else(|e| panic!("bollard: {e}"))
}
