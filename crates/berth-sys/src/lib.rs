//! Low-level Linux helpers shared by Berth's OS-facing crates: the new mount API, and work
//! inside another network namespace from a thread of its own.

pub mod netns;
pub mod newmount;
