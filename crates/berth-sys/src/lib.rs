//! Low-level Linux helpers shared by Berth's OS-facing crates: the new mount API, work inside
//! another network namespace from a thread of its own, copying a tree with its metadata, early
//! writeback of large files, the mount points of the mount table, other processes by pidfd, and
//! read-only views of a program's directory.

pub mod copy;
pub mod exe_view;
pub mod mountinfo;
pub mod netns;
pub mod newmount;
pub mod process;
pub mod writeback;
pub mod xattr;
