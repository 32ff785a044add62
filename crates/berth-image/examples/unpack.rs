//! Unpacks one layer blob into a directory and prints what `unpack_layer` reports, with the
//! wall time; used for the throughput numbers in `docs/layers.md`.
//!
//! `cargo run --release -p berth-image --example unpack -- LAYER DEST [--flatten]`

use std::time::Instant;

use berth_image::{unpack_layer, UnpackOptions};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [layer, dest, rest @ ..] = args.as_slice() else {
        return Err("usage: unpack LAYER DEST [--flatten]".into());
    };
    let opts = if rest.iter().any(|a| a == "--flatten") {
        UnpackOptions::flattened()
    } else {
        UnpackOptions::default()
    };
    std::fs::create_dir_all(dest)?;
    let file = std::fs::File::open(layer)?;
    let start = Instant::now();
    let stats = unpack_layer(file, dest.as_ref(), &opts)?;
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{:?}: {} entries, {} MB uncompressed ({} MB compressed) in {secs:.2} s = {:.0} MB/s\n\
         diff_id {}\ndigest  {}",
        stats.compression,
        stats.entries,
        stats.uncompressed_size / 1_000_000,
        stats.compressed_size / 1_000_000,
        stats.uncompressed_size as f64 / 1e6 / secs,
        stats.diff_id,
        stats.compressed_digest,
    );
    Ok(())
}
