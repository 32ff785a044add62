//! The shared end-to-end harness (crates/berth-testkit), driven by `berth`.
#![allow(dead_code, unused_imports)]

pub use berth_testkit::{berth, busybox_tar, run, unique, wait_output, Client, Daemon, Out};

/// Skips (returns true) unless root.
pub fn skip() -> bool {
    berth_testkit::skip_unless(Client::Berth)
}
