//! Talking to image registries (the OCI distribution protocol, through `oci-client`): which
//! endpoint serves a reference (mirrors, TLS with `certs.d`, insecure plain HTTP), the
//! credentials sent (`X-Registry-Auth`, anonymous, basic, bearer-token challenges), and the
//! manifest formats (Docker v2.2, OCI, manifest lists and indexes with platform selection).
//!
//! Async; the engine streams blobs from here straight into its store.

mod auth;
mod error;
mod hosts;
mod manifest;
mod session;

pub use auth::Credentials;
pub use error::{Attempt, BlockedWhy, Error, Result};
pub use hosts::{Endpoint, RegistryConfig};
pub use manifest::{media, Descriptor, Manifest, Platform, ResolvedManifest};
pub use session::{BlobStream, Distribution, RawManifest, Session};
