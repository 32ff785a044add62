#!/usr/bin/env bash
# The main job on a fresh machine: install what is needed, build berth-runtime, make a busybox
# bundle from Debian's busybox-static and run a container in it. Needs root.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v busybox >/dev/null || [ ! -e /usr/include/seccomp.h ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update
    apt-get install -y busybox-static libseccomp-dev pkg-config
fi
cargo build --release -p berth-runtime
runtime=$PWD/target/release/berth-runtime

work=$(mktemp -d /tmp/berth-demo.XXXXXX)
trap 'rm -rf "$work"' EXIT
scripts/make-busybox-bundle.sh "$work/bundle" "" /bin/sh -c \
    'echo "hello from a berth container: hostname=$(hostname) pid=$$ uid=$(id -u)"; ls /'
cd "$work/bundle"
"$runtime" --root "$work/state" run "demo-$$"
