//! berth-oci: the OCI runtime library behind `berth-runtime`.
//!
//! Synchronous and single-threaded on purpose: `create` and `exec` fork with `clone(2)`,
//! which is only sound when the calling process has one thread. No tokio here.
//!
//! The library never prints. It reports its steps as `tracing` debug events inside a span per
//! operation carrying the container id; whoever links it decides where they go (berth-runtime
//! writes them with `--debug`). Without a subscriber they cost one check each.

// unwrap_used is denied workspace-wide; expect() panics just the same on bad input.
#![cfg_attr(not(test), deny(clippy::expect_used))]

mod channel;
mod console;
mod create;
mod delete;
mod error;
mod exec;
mod hooks;
mod idmap;
mod init;
mod kill;
mod namespaces;
mod pause;
mod process;
pub mod rootfs;
mod seccomp;
mod spec;
mod start;
mod state;
mod supervise;
mod syscall;

pub use console::Console;
pub use create::{create, CreateOptions, Created};
pub use delete::delete;
pub use error::{Error, Result};
pub use exec::{exec, ExecOptions, Execed};
pub use kill::{kill, parse_signal};
pub use pause::{pause, resume, update};
pub use start::start;
pub use state::{Container, OciState, StateRoot, OCI_VERSION};
pub use supervise::supervise;

/// The cgroup of a container, on whichever cgroup version the host runs.
pub fn cgroup_manager(
    cgroups_path: Option<&str>,
    id: &str,
) -> berth_cgroups::Result<berth_cgroups::Manager> {
    berth_cgroups::Manager::new(std::path::Path::new("/sys/fs/cgroup"), cgroups_path, id)
}
