#!/usr/bin/env bash
# Builds the production berth-runtime and berth-shim: release, statically linked (glibc and
# libseccomp), non-PIE. Prints the path of each binary, one per line.
#
# Why a script and not Cargo.toml: cargo has no stable per-package rustflags (`profile-rustflags`
# is nightly), a crate cannot set `crt-static` from build.rs (link args cannot undo rustc's
# `-Bdynamic -lgcc_s -lc`), and a workspace-wide `[target] rustflags` would also hit every build
# script and proc-macro. With an explicit `--target`, RUSTFLAGS reach only target crates, so
# this scoping is exact.
#
# Static + non-PIE drops the shared-library mappings and the startup relocation pass: peak RSS
# of `berth-runtime run` 3.1 MiB (crun 3.3 MiB), VmRSS of a shim watching a container ~0.9 MiB
# instead of ~1.3 MiB (docs/performance.md, docs/shim.md).
#
# usage: scripts/build-static.sh [PACKAGE...]   (default: berth-runtime berth-shim)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
triple=$(rustc -vV | sed -n 's/^host: //p')
packages=("$@")
[ ${#packages[@]} -gt 0 ] || packages=(berth-runtime berth-shim)
args=()
for p in "${packages[@]}"; do args+=(-p "$p"); done
# libseccomp-sys links the archive from libseccomp-dev when asked to.
LIBSECCOMP_LINK_TYPE=static LIBSECCOMP_LIB_PATH=${LIBSECCOMP_LIB_PATH:-$(pkg-config --variable=libdir libseccomp)} \
RUSTFLAGS="-C target-feature=+crt-static -C relocation-model=static" \
    cargo build --manifest-path "$root/Cargo.toml" --release "${args[@]}" --target "$triple" >&2
for p in "${packages[@]}"; do
    echo "${CARGO_TARGET_DIR:-$root/target}/$triple/release/$p"
done
