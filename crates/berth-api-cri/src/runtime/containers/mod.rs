#![allow(dead_code)] // Wired into the RPCs by the cri-containers branch.
//! The CRI's containers of pod sandboxes: the protobuf ↔ engine conversions their RPCs share.
//! The engine gets a typed [`berth_engine::pods::PodContainerRequest`] and never sees protobuf.

pub(super) mod convert;
pub(super) mod report;

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
