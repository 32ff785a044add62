#!/usr/bin/env bash
# Builds the production berth-shim: release, statically linked glibc, non-PIE.
#
# Why here and not in Cargo.toml: cargo has no stable per-package rustflags (`profile-rustflags`
# is nightly), a crate cannot set `crt-static` from build.rs (link args cannot undo rustc's
# `-Bdynamic -lgcc_s -lc`), and a workspace-wide `[target] rustflags` would also hit berth-runtime
# and every proc-macro. With an explicit `--target`, RUSTFLAGS reach only target crates, never
# build scripts or proc-macros, so this scoping is exact.
#
# Static + non-PIE saves the shared-library mappings and the startup relocation pass: VmRSS of a
# shim watching a container drops from ~1.3 MiB to ~0.9 MiB (docs/shim.md, "Memory").
#
# usage: scripts/build-shim.sh   → $CARGO_TARGET_DIR/<triple>/release/berth-shim (printed)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
triple=$(rustc -vV | sed -n 's/^host: //p')
RUSTFLAGS="-C target-feature=+crt-static -C relocation-model=static" \
    cargo build --manifest-path "$root/Cargo.toml" --release -p berth-shim --bin berth-shim \
    --target "$triple"
echo "${CARGO_TARGET_DIR:-$root/target}/$triple/release/berth-shim"
