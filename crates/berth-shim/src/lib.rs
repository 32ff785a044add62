//! berth-shim: the per-container monitor berthd starts for every container (like conmon or
//! containerd-shim). The binary owns the container's stdio, writes its log (Docker's json-file
//! or the kubelet's CRI format), serves attach and control sockets and records the exit status,
//! so containers outlive daemon restarts and crashes. This library is the part berthd links: the wire formats ([`protocol`]) and a small
//! blocking client ([`client`]). The design is in docs/shim.md.

pub mod client;
pub mod protocol;

pub use client::{
    attach, read_exit, read_frame, ClientError, Control, Frame, LogOptions, ShimCommand, Started,
};
pub use protocol::{AttachMode, ControlRequest, ExitRecord, LogFormat, Stream};
