//! Low-level Linux helpers shared by Berth's OS-facing crates: the new mount API, work inside
//! another network namespace from a thread of its own, copying a tree with its metadata, and
//! early writeback of large files.

pub mod copy;
pub mod mountinfo;
pub mod netns;
pub mod newmount;
pub mod writeback;
pub mod xattr;
