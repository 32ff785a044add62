//! Container RPCs, one file per RPC or small group, and the protobuf ↔ engine conversions
//! they share (convert.rs): the engine gets a typed request and never sees protobuf.

mod convert;
mod create;
mod lifecycle;
mod list;
mod update;

pub(super) use create::create_container;
pub(super) use lifecycle::{remove_container, start_container, stop_container};
pub(super) use list::{container_status, list_containers};
pub(super) use update::{reopen_container_log, update_container_resources};
