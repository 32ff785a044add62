//! The CRI's containers of pod sandboxes: one file per RPC or small group, and the protobuf ↔
//! engine conversions they share (convert.rs for requests, report.rs for answers). The engine
//! gets a typed [`berth_engine::pods::PodContainerRequest`] and never sees protobuf.

mod convert;
mod create;
mod lifecycle;
mod list;
mod report;
mod update;

pub(super) use convert::user_namespace;
pub(super) use create::create_container;
pub(super) use lifecycle::{remove_container, start_container, stop_container};
pub(super) use list::{container_status, list_containers};
pub(super) use report::{container_status as status_report, metadata};
pub(super) use update::{reopen_container_log, update_container_resources};

#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(in crate::runtime) mod tests;
