//! Storage under the Berth engine, modelled on containerd's: a content-addressed blob store
//! ([`content`]), an overlayfs snapshotter ([`snapshot`]), the metadata database of images and
//! containers ([`metadata`]) and the garbage collector that ties them together ([`gc`]).
//!
//! Everything is synchronous; the daemon calls it from `spawn_blocking`. Layout on disk, schema
//! and GC rules are described in `docs/storage.md`.

pub mod content;
mod error;
mod fsutil;
pub mod snapshot;
mod sqlite;

pub use error::{Error, Result};
