//! Low-level Linux helpers shared by Berth's OS-facing crates.

pub mod newmount;
