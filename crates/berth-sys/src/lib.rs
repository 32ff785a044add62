//! Low-level Linux helpers shared by Berth's OS-facing crates: the new mount API, work inside
//! another network namespace from a thread of its own, and copying a tree with its metadata.

pub mod copy;
pub mod netns;
pub mod newmount;
pub mod xattr;
