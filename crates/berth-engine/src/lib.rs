//! berth-engine: containers, images, networks and volumes behind one command/response contract.
//!
//! The API adapters (Docker, CRI) parse requests into engine types; the engine decides what to run
//! and hands an OCI runtime spec to berth-runtime. [`spec`] is the pure part of that: it turns a
//! container-create request plus the image config into the spec dockerd would have produced.

pub mod spec;
