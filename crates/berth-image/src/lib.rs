//! Image layers for Berth: recognising and decoding layer compression, applying a layer tar to
//! a directory that becomes an overlayfs lower layer, and writing a layer tar back from an
//! overlay upper directory; and build contexts ([`context`]), extracted by the same unpacker.
//! Registry pull/push and save/load will live here too.
//!
//! Everything is synchronous: the work is disk- and CPU-bound, and a caller that needs async
//! runs it on a blocking thread. The unpacker is a security boundary; its rules are in
//! [`unpack`](unpack_layer) and `docs/layers.md`.

mod compression;
pub mod context;
mod diff;
mod error;
mod hash;
mod reader;
mod rootfs;
mod sys;
mod unpack;

pub use compression::{gzip_layer, Compression, Decompressor};
pub use diff::{
    changes, write_layer_from_dir, write_layer_from_dir_without, write_tar_from_dir, Change,
    ChangeKind, LayerDigest,
};
pub use error::{Error, Result};
pub use rootfs::{
    open_dir_in_root, open_file_in_root, real_path_in_root, remove_no_follow, stat_in_root,
    write_tar_of_path, PathStat, Removal,
};
pub use unpack::{unpack_layer, unpack_layer_at, Limits, UnpackOptions, UnpackStats, WhiteoutMode};
